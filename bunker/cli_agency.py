"""`bunker agency inbox|decide`: an agency's steps, through the HTTP gateway with that agency's own token.

The operator principal only reads; a decision is an agency's act, so these commands carry the agency's
bearer token (`--token`, or `BUNKER_TOKEN`) to the gateway (`--gateway`, default from the settings) and
get exactly the answers its own system would, refusals included.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

agency_app = typer.Typer(help="An agency's inbox and decisions, through the gateway with its own token.",
                         no_args_is_help=True)

_TIMEOUT_S = 35.0  # the gateway waits up to 30 s for a step to be confirmed
Token = Annotated[str, typer.Option(envvar="BUNKER_TOKEN", show_envvar=True, help="the agency's bearer token")]
GatewayUrl = Annotated[str | None, typer.Option("--gateway", help="gateway base URL (default: from the settings)")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable (the gateway's answer)")]


def _cli():
    from bunker import cli

    return cli


def _call(method: str, gateway: str | None, token: str, path: str, **kw: Any) -> httpx.Response:
    cli = _cli()
    base = gateway or cli.settings().gateway_url
    try:
        with httpx.Client(base_url=base, timeout=_TIMEOUT_S) as http:
            return http.request(method, path, headers={"Authorization": f"Bearer {token}", **kw.pop("headers", {})}, **kw)
    except httpx.HTTPError as e:
        cli.err.print(f"error: cannot reach the gateway at {base}: {e}")
        raise typer.Exit(2) from None


def _refused(r: httpx.Response) -> None:
    """Print the gateway's error (one JSON shape, gateway/errors.py) and exit 1."""
    cli = _cli()
    try:
        e = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        cli.err.print(f"error {r.status_code}: {r.text[:500]}")
        raise typer.Exit(1) from None
    cli.err.print(f"error {r.status_code} {e['code']}: {e['message']}", highlight=False)
    for f in e.get("fields", []):
        cli.err.print(f"  {f['field']}: {f['message']}", highlight=False)
    raise typer.Exit(1)


@agency_app.command("inbox")
def inbox(
    body: Annotated[str, typer.Argument(help="the body whose inbox it is, as its token says: commerce, "
                                        "district:nansha, customs_gz, …")],
    token: Token,
    kind: Annotated[str | None, typer.Option(help="only one kind of task, e.g. joint_review")] = None,
    gateway: GatewayUrl = None,
    as_json: AsJson = False,
) -> None:
    """The steps waiting on BODY, soonest deadline first (GET /inbox)."""
    cli = _cli()
    r = _call("GET", gateway, token, "/inbox", params={"kind": kind} if kind else None)
    if r.status_code != 200:
        _refused(r)
    answer = r.json()
    if answer["body"] != body:
        cli.err.print(f"error: this token is {answer['body']}'s, not {body}'s", highlight=False)
        raise typer.Exit(2)
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    table = Table("task", "file", "enterprise", "step", "due (last day)", title=f"inbox of {body}: {len(answer['tasks'])}")
    for t in answer["tasks"]:
        due = f"{t['due_date'] or ''}{' (provisional)' if t['provisional'] else ''}"
        table.add_row(t["task_id"], t["application_id"], t.get("enterprise_name") or "", t["label"], due)
    cli.out.print(table)


@agency_app.command("decide")
def decide(
    task: Annotated[str, typer.Argument(help="the task id, e.g. BB-2026-000001/joint_review/customs_gz")],
    data: Annotated[str, typer.Option(help="the decision as JSON, or @FILE (see POST /tasks/{task_id}/decision)")],
    token: Token,
    key: Annotated[str | None, typer.Option(help="Idempotency-Key (default: a new one, printed; retry with it)")] = None,
    gateway: GatewayUrl = None,
    as_json: AsJson = False,
) -> None:
    """Complete a step (POST /tasks/TASK/decision). A retry with the same --key is applied once."""
    cli = _cli()
    try:
        text = Path(data[1:]).read_text(encoding="utf-8") if data.startswith("@") else data
        decision = json.loads(text)
    except (OSError, ValueError) as e:
        cli.err.print(f"error: --data is not JSON (or @FILE): {e}")
        raise typer.Exit(2) from None
    key = key or str(uuid.uuid4())
    r = _call("POST", gateway, token, f"/tasks/{task}/decision", json=decision, headers={"Idempotency-Key": key})
    if r.status_code != 200:
        cli.err.print(f"Idempotency-Key: {key}", highlight=False)
        _refused(r)
    answer = r.json()
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    replayed = " (already applied with this key: the same answer)" if r.headers.get("Idempotent-Replayed") else ""
    cli.out.print(f"{task}: {answer['detail']} — now {answer['stage']}{replayed}", highlight=False)
    cli.out.print(f"Idempotency-Key: {key} · Web UI: {answer['web_ui']}", highlight=False)

"""`bunker permits list`, `bunker permit show|history`: the operator's view of permits (read-only).

The register and one permit come from the read model (PostgreSQL), as the gateway's `GET /permits` and
`GET /permits/{id}` answer them; `show` adds the Permit workflow's own `status` when Temporal answers,
and `history` reads Temporal's history of every run of the file's workflow (bunker/history.py).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

permits_app = typer.Typer(help="The register of applications and permits (read model).", no_args_is_help=True)
permit_app = typer.Typer(help="One permit in force: its state, and its Temporal history.", no_args_is_help=True)

_LIVE_TIMEOUT_S = 2.0


def _cli():
    # bunker.cli registers these sub-apps, so it is imported lazily here, never at module level.
    from bunker import cli

    return cli


def _dump(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, default=str))


# ---------------------------------------------------------------- permits list
@permits_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="e.g. in_force, joint_review, terminated")] = None,
    district: Annotated[str | None, typer.Option(help="e.g. nansha")] = None,
    expiring_within: Annotated[int | None, typer.Option(
        "--expiring-within", metavar="N", min=0, help="permits in force whose validity ends within N days")] = None,
    dormant: Annotated[bool, typer.Option("--dormant", help="only permits without supply for 6 months (Art. 23)")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="only files with a step past the end of its period")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable (as GET /permits answers)")] = False,
) -> None:
    """Applications and permits by case number, with their next deadline and who they wait on."""
    from gateway.views import RegisterEntry
    from store import register

    cli = _cli()
    s = cli.settings()
    filters = register.Filters(status=status, district=district, expiring_within_days=expiring_within,
                               dormant=True if dormant else None, overdue=True if overdue else None)

    async def go():
        async with cli.database(s) as pool:
            return await register.files(pool, filters, limit=limit)

    entries = [RegisterEntry.of(r, s) for r in cli.run(go())]
    if as_json:
        _dump([e.model_dump(mode="json") for e in entries])
        return
    table = Table("case", "status", "enterprise", "district", "permit", "valid until", "next deadline", "waiting on",
                  "flags", title=f"{len(entries)} file(s)")
    for e in entries:
        flags = ", ".join(f for f in ("dormant" if e.dormant else "",
                                      f"{e.overdue_tasks} overdue" if e.overdue_tasks else "") if f)
        nxt = e.next_deadline
        table.add_row(
            f"[link={e.web_ui}]{e.application_id}[/link]", e.stage if e.stage and e.stage != e.status else e.status,
            e.enterprise_name or "", e.district or "", e.permit_number or "", str(e.valid_until or ""),
            f"{nxt.due_date}{' (prov.)' if nxt.provisional else ''} {nxt.label}" if nxt else "",
            ", ".join(e.pending), flags)
    cli.out.print(table)


# ---------------------------------------------------------------- permit show
@permit_app.command("show")
def show(permit_id: Annotated[str, typer.Argument(metavar="ID", help="the case number, e.g. BB-2026-000001")],
         as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Status, validity, deadlines, the steps waiting on each body, and the timeline of events."""
    from gateway.views import FileView, TaskView
    from store.event_store import read_stream

    cli = _cli()
    s = cli.settings()

    async def go():
        async with cli.database(s) as pool:
            row = await pool.fetchrow("SELECT * FROM permits WHERE stream_id = $1", permit_id)
            tasks = await pool.fetch("SELECT * FROM tasks WHERE stream_id = $1 ORDER BY ends_at NULLS LAST, task_id",
                                     permit_id)
            events = await read_stream(pool, permit_id)
        live = await _live(s, permit_id) if row is not None and row["kind"] == "permit" else (None, None)
        return row, tasks, events, live

    row, tasks, events, (live, live_error) = cli.run(go())
    if row is None:
        cli.err.print(f"no permit {permit_id}")
        raise typer.Exit(1)
    if row["kind"] != "permit":
        cli.err.print(f"{permit_id} is an application ({row['status']}), not a permit: "
                      f"`bunker application show {permit_id}`")
        raise typer.Exit(1)
    view, task_views = FileView.of(row, s), [TaskView.of(t) for t in tasks]
    if as_json:
        _dump({**view.model_dump(mode="json"), "dormant": row["dormant"], "dormant_since": row["dormant_since"],
               "tasks": [t.model_dump(mode="json") for t in task_views], "live": live, "live_error": live_error,
               "events": [{"version": e.version, "type": e.event_type, "article": e.article, "actor": e.actor,
                           "occurred_at": e.occurred_at, "payload": e.payload} for e in events]})
        return
    out = cli.out
    out.print(f"[bold]{view.enterprise_name}[/bold] permit [bold]{view.permit_number}[/bold] ({permit_id}): "
              f"[bold]{view.status}[/bold]{' · ' + view.stage if view.stage and view.stage != view.status else ''}",
              highlight=False)
    out.print(f"valid {view.valid_from} – {view.valid_until} · district {view.district} · policy {view.policy_version}"
              + (f" · [yellow]dormant since {row['dormant_since']:%Y-%m-%d}[/yellow] (Art. 23)" if row["dormant"] else ""),
              highlight=False)
    if view.next_deadline:
        d = view.next_deadline
        out.print(f"next deadline: {d.label} — {d.due_date} (until 24:00 Asia/Shanghai)"
                  f"{' (provisional)' if d.provisional else ''}", highlight=False)
    if view.pending:
        out.print("waiting on: " + ", ".join(view.pending), highlight=False)
    out.print(f"Web UI: {view.web_ui}", highlight=False)
    if live is not None:
        filings = ", ".join(f"{b} {'✓' if done else '…'}" for b, done in live["filings"].items())
        out.print(f"Art. 13 filings: {filings} · run {live['runs']}"
                  + (f" · {live['procedure']} under way ({live['procedure_stage']})" if live["procedure"] else ""),
                  highlight=False)
    elif live_error:
        out.print(f"[dim](the workflow's own status is not available: {live_error})[/dim]")
    if task_views:
        now = datetime.now(UTC)
        steps = Table("step", "body", "due (last day)", "", title="open steps")
        for t in task_views:
            late = t.ends_at is not None and t.ends_at < now
            steps.add_row(t.label, t.body, f"{t.due_date or ''}{' (provisional)' if t.provisional else ''}",
                          "[red]OVERDUE[/red]" if late else "")
        out.print(steps)
    timeline = Table("#", "event", "article", "actor", "occurred at (UTC)", title="timeline")
    for e in events:
        timeline.add_row(str(e.version), e.event_type, e.article, e.actor, f"{e.occurred_at:%Y-%m-%d %H:%M}")
    out.print(timeline)


async def _live(s, permit_id: str) -> tuple[dict | None, str | None]:
    """The Permit workflow's `status` query, if Temporal answers within 2 s (connection included)."""
    from bunker import services
    from bunker.temporal import connect

    async def ask() -> dict:
        client = await connect(s.temporal_target, s.temporal_namespace)
        handle = client.get_workflow_handle(services.application_workflow_id(permit_id))
        return await handle.query("status", result_type=dict)

    try:
        return await asyncio.wait_for(ask(), _LIVE_TIMEOUT_S), None
    except TimeoutError:
        return None, "timeout"
    except Exception as e:  # the read model stands in; say why the live part is missing
        return None, type(e).__name__


# ---------------------------------------------------------------- permit history
@permit_app.command("history")
def history(
    permit_id: Annotated[str, typer.Argument(metavar="ID", help="the case number, e.g. BB-2026-000001")],
    everything: Annotated[bool, typer.Option("--all", help="also workflow-task and search-attribute events")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """The Temporal history of every run of the file's workflow (the application's, the permit's, and each
    continued run), in the regulation's words: activities and timers by their summaries, the updates each
    body sent (accepted, done or rejected), signals, hand-overs."""
    from temporalio.service import RPCError, RPCStatusCode

    from bunker import history as h
    from bunker import services
    from bunker.runtime import connect_temporal

    cli = _cli()
    s = cli.settings()
    workflow_id = services.application_workflow_id(permit_id)

    async def go():
        client = await connect_temporal(s.temporal_target, s.temporal_namespace, wait_s=5)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} events"),
                      console=cli.err, transient=True) as progress:
            task = progress.add_task(f"reading the history of {workflow_id}", total=None)

            def arrived(run: int, events: int) -> None:
                progress.update(task, description=f"{workflow_id}: run {run} read", advance=events)

            runs = await h.fetch_runs(client, workflow_id, arrived)
        return runs, h.summarise(client.data_converter.payload_converter, runs, everything=everything)

    try:
        runs, lines = cli.run(go())
    except RPCError as e:
        if e.status is not RPCStatusCode.NOT_FOUND:
            raise
        cli.err.print(f"no workflow {workflow_id} in namespace {s.temporal_namespace}")
        raise typer.Exit(1) from None
    if as_json:
        _dump({"workflow_id": workflow_id, "web_ui": s.workflow_url(workflow_id),
               "runs": [{"run": r.number, "run_id": r.run_id, "workflow_type": r.workflow_type, "events": len(r.events),
                         "lines": [line.as_json() for line in lines if line.run == r.number]} for r in runs]})
        return
    cli.out.print(f"{workflow_id}: {len(runs)} run(s) · Web UI {s.workflow_url(workflow_id)}", highlight=False)
    for r in runs:
        table = Table("#", "time (UTC)", "what", "detail",
                      title=f"run {r.number} · {r.workflow_type} · {r.run_id} · {len(r.events)} events")
        for line in (x for x in lines if x.run == r.number):
            style = {"update": "cyan", "hand-over": "bold magenta", "continue": "magenta", "end": "bold"}.get(line.kind)
            table.add_row(str(line.event_id), f"{line.at:%Y-%m-%d %H:%M:%S}", line.text, line.detail, style=style)
        cli.out.print(table)

"""`bunker scenario run FILE...`: scripted lifecycles under time skipping (docs/scenario-format.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

scenario_app = typer.Typer(help="Scripted lifecycles of an application, under time skipping.", no_args_is_help=True)

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


@scenario_app.command("run")
def scenario_run(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="scenario YAML files")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines only: the timeline, then one line per check")] = False,
    log_level: Annotated[str, typer.Option(help="log level of the worker and servers (stderr)")] = "error",
) -> None:
    """Run each FILE on its own embedded Temporal (time skipping) + PostgreSQL; print the event timeline,
    then whether every expectation held. Exit code 1 if one did not."""
    from bunker import logs
    from bunker.scenario_format import ScenarioError, load

    try:
        scenarios = [(load(f), f) for f in files]
    except ScenarioError as e:
        _err.print(escape(str(e)))
        raise typer.Exit(2) from None
    logs.configure("auto", log_level)
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLevelName(log_level.upper())))

    async def go() -> bool:
        from bunker.scenario_harness import standalone
        from bunker.scenario_runner import run

        ok = True
        async with standalone() as harness:
            for scenario, path in scenarios:
                result = await run(scenario, harness, str(path))
                _print(result, as_json)
                ok &= result.ok
        return ok

    try:
        ok = asyncio.run(go())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(0 if ok else 1)


def _print(result: Any, as_json: bool) -> None:
    def line(obj: dict[str, Any]) -> None:
        print(json.dumps(obj, ensure_ascii=False, default=str), flush=True)

    for row in result.timeline:
        line({**row, "scenario": result.name})
    if as_json:
        for c in result.checks:
            line({"scenario": result.name, "check": c.what, "ok": c.ok, "detail": c.detail})
        line({"scenario": result.name, "file": result.source, "ok": result.ok, "seconds": round(result.seconds, 2)})
        return
    _out.print(f"[bold]{escape(result.name)}[/bold] ({escape(result.source)})")
    for c in result.checks:
        if c.ok:
            _out.print(f"  [green]ok[/green]      {escape(c.what)}" + (f" [dim]({escape(c.detail)})[/dim]" if c.detail else ""))
        else:
            _out.print(f"  [red]FAILED[/red]  {escape(c.what)}: {escape(c.detail)}")
    failed = sum(not c.ok for c in result.checks)
    verdict = "[green]every expectation held[/green]" if not failed else f"[red]{failed} of {len(result.checks)} failed[/red]"
    _out.print(f"  {verdict} in {result.seconds:.1f} s")

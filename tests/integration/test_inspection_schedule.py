"""The yearly Schedule of the Art. 22 inspection: created once by bootstrap however often it runs, the
scheduled campaign run by `trigger`, and its body (waiting for the first working day of March) under
time skipping, since schedules themselves are not time-skipped."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from temporalio.client import ScheduleActionStartWorkflow

from bunker.bootstrap import bootstrap
from bunker.inspections import SCHEDULE_ID, SCHEDULED_WORKFLOW_ID
from bunker.settings import Settings
from tests.integration.supervision_helpers import count_events, enterprise_app, start_permit, today, wait_for
from workers.worker import build_worker
from workflows.inspection_campaign import CampaignInput, CampaignProgress, InspectionCampaign


@pytest.fixture
def queue() -> str:
    return f"schedule-{uuid.uuid4()}"


async def _schedule_ids(client) -> list[str]:
    return [s.id async for s in await client.list_schedules()]


async def test_bootstrap_creates_the_inspection_schedule_once_however_often_it_runs(client, pool, queue, tmp_path):
    settings = Settings(temporal_task_queue=queue, data_dir=tmp_path)
    await bootstrap(settings, client, pool)
    await bootstrap(settings, client, pool)

    async def listed():
        ids = await _schedule_ids(client)
        return SCHEDULE_ID in ids and ids
    assert (await wait_for(listed, "the schedule in the list")).count(SCHEDULE_ID) == 1

    desc = await client.get_schedule_handle(SCHEDULE_ID).describe()
    (calendar,) = desc.schedule.spec.calendars
    assert [(r.start, r.end) for r in calendar.month] == [(3, 3)]
    assert [(r.start, r.end) for r in calendar.day_of_month] == [(1, 1)]
    assert desc.schedule.spec.time_zone_name == "Asia/Shanghai"
    action = desc.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.id, action.task_queue) == ("InspectionCampaign", SCHEDULED_WORKFLOW_ID, queue)


async def test_the_scheduled_body_waits_for_the_first_working_day_of_march(temporal_env, client, pool, queue, tmp_path):
    # 1 March 2031 is a Saturday: the campaign the schedule starts that day begins on Monday 3 March.
    async with build_worker(client, pool, queue, reports_dir=tmp_path):
        handle = await client.start_workflow(
            InspectionCampaign.run, CampaignInput(year=2031, wait_for_first_working_day=True),
            id=f"inspection-campaign/{uuid.uuid4()}", task_queue=queue)
        result = await handle.result()
    assert (result.phase, result.year, result.start_day, result.total) == ("done", 2031, date(2031, 3, 3), 0)
    opened = await pool.fetchrow("SELECT start_day FROM inspection_campaigns WHERE year = 2031")
    assert opened["start_day"] == date(2031, 3, 3)


async def test_the_scheduled_campaign_inspects_the_permits_in_force_when_triggered(
    temporal_env, client, pool, queue, tmp_path
):
    async with build_worker(client, pool, queue, reports_dir=tmp_path):
        permits = [await start_permit(temporal_env, client, pool, queue, enterprise_app(i)) for i in range(2)]
        await bootstrap(Settings(temporal_task_queue=queue, data_dir=tmp_path), client, pool)
        schedule = client.get_schedule_handle(SCHEDULE_ID)
        await schedule.trigger()

        async def started():
            recent = (await schedule.describe()).info.recent_actions
            return recent and recent[-1].action.workflow_id
        workflow_id = await wait_for(started, "the triggered campaign")
        assert workflow_id.startswith(SCHEDULED_WORKFLOW_ID)
        result = await client.get_workflow_handle(workflow_id, result_type=CampaignProgress).result()

    assert (result.year, result.start_day, result.total, result.done) == (today().year, today(), 2, 2)
    assert (tmp_path / f"inspections-{today().year}.md").exists()
    for stream_id, handle in permits:
        assert await count_events(pool, stream_id, "InspectionRecorded") == 1
        await handle.terminate("test done")

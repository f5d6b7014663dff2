"""A worker that does not know the campaign's batch activity `inspect_permits` (an older release, during a
rolling deploy) refuses it at once, and the run goes one permit at a time: each permit inspected once."""

from __future__ import annotations

import uuid

from bunker import inspections as campaigns
from tests.integration.campaign_helpers import activities_scheduled, campaign_worker, inspected_once, start_permits
from tests.integration.supervision_helpers import today

PERMITS = 8


async def test_a_worker_without_the_batch_activity_inspects_one_permit_at_a_time(temporal_env, client, pool, tmp_path):
    queue, year = f"unbatched-{uuid.uuid4()}", today().year
    async with campaign_worker(client, pool, queue, tmp_path, batches=False):
        permits = await start_permits(temporal_env, client, pool, queue, PERMITS)
        handle = await campaigns.start_campaign(client, queue, year, workflow_id=f"inspection-campaign/{uuid.uuid4()}",
                                                page_size=5, concurrency=2)
        result = await handle.result()
        assert (result.done, result.outcomes, result.runs) == (PERMITS, {"clear": PERMITS}, 3)
        # Each page's run tries one batch (refused at once: NotFoundError is not retried), then goes alone.
        kinds = await activities_scheduled(client, handle)
        assert (kinds["inspect_permits"], kinds["inspect_permit"]) == (2, PERMITS)
        await inspected_once(client, pool, permits, year)

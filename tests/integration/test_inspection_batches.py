"""The campaign inspects a page in batches (`inspect_permits`); a permit a batch could not inspect is
inspected again alone, and each permit is inspected once. (A worker without the batch activity:
test_inspection_unbatched.py, on a database of its own.)"""

from __future__ import annotations

import uuid

from temporalio import activity

from activities.inspection import BatchItem, InspectionActivities, InspectPermits
from bunker import inspections as campaigns
from tests.integration.campaign_helpers import activities_scheduled, campaign_worker, inspected_once, start_permits
from tests.integration.supervision_helpers import today

PERMITS = 8


async def test_a_permit_a_batch_could_not_inspect_is_inspected_alone_afterwards(temporal_env, client, pool, tmp_path):
    queue, year = f"batches-{uuid.uuid4()}", today().year
    real = InspectionActivities(pool, client, tmp_path)
    left: list[str] = []

    @activity.defn(name="inspect_permits")
    async def inspect_permits(req: InspectPermits) -> list[BatchItem]:
        """The real batch, except that the first permit it is given meets its worker away (and is left)."""
        if left:
            return await real.inspect_permits(req)
        left.append(req.stream_ids[0])
        rest = await real.inspect_permits(InspectPermits(year=req.year, stream_ids=req.stream_ids[1:]))
        return [BatchItem(stream_id=left[0], error="RPCError: the permit's worker is away")] + rest

    async with campaign_worker(client, pool, queue, tmp_path, inspect_permits=inspect_permits):
        permits = await start_permits(temporal_env, client, pool, queue, PERMITS)
        handle = await campaigns.start_campaign(client, queue, year, workflow_id=f"inspection-campaign/{uuid.uuid4()}",
                                                page_size=PERMITS, concurrency=4)
        result = await handle.result()
        assert (result.done, result.outcomes, result.failed) == (PERMITS, {"clear": PERMITS}, [])
        # One page: two batches of four, then the permit left by the first, alone.
        kinds = await activities_scheduled(client, handle)
        assert (kinds["inspect_permits"], kinds["inspect_permit"]) == (2, 1)
        await inspected_once(client, pool, permits, year)


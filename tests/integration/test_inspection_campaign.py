"""The annual supervisory inspection (Art. 22) over many permits, on the real stack: the four items
assessed from the ledger, the approved matters and the violation register; breaches ordered rectified
within the time limit; one rectified in time, one escalated to an Art. 25 termination proposal."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from bunker import inspections as campaigns
from bunker import services, supervision
from domain.authority import Actor
from domain.bodies import Body, District
from domain.calendar import SHANGHAI
from domain.ledger import Movement
from tests.fixtures.applications import lease_tanker
from tests.integration.campaign_helpers import activities_scheduled, campaign_worker
from tests.integration.histories import replay_and_keep
from tests.integration.licensing_helpers import events_of
from tests.integration.supervision_helpers import (
    COMMERCE, count_events, credit_code, enterprise_app, start_permit, today, wait_for,
)
from workflows.inspection_campaign import InspectionCampaign
from workflows.permit import Permit
from workflows.permit_messages import RectificationReport, RectificationVerdict

PERMITS = 24
LEASE, VIOLATION, METERLESS = 3, 7, 5  # the permits with something to find


def _movement(voucher: str, at: datetime, kind: str, **kw) -> Movement:
    base = dict(voucher_no=voucher, kind=kind, occurred_at=at, depot="T1", product="低硫燃料油 VLSFO 0.5%S",
                vouchers=[f"INV-{voucher}"], customs_declaration_no=f"D-{voucher}")
    if kind == "supply":
        base |= dict(quantity_t=Decimal("100"), vessel_imo="IMO9074729", vessel_name="EVER GIVEN", bdn_no=f"BDN-{voucher}")
    else:
        base |= dict(quantity_t=Decimal("5000"), customs_declaration_no=None)
    return Movement(**(base | kw))


async def test_a_campaign_over_24_permits_finds_an_expired_lease_a_violation_and_a_missing_meter(
    temporal_env, client, pool, tmp_path
):
    queue, year, on = f"campaign-{uuid.uuid4()}", today().year, today()
    async with campaign_worker(client, pool, queue, tmp_path):
        permits: dict[int, tuple[str, object]] = {}
        for i in range(PERMITS):
            app = enterprise_app(i)
            valid_from = None
            if i == LEASE:  # its tanker's lease ended yesterday, and nothing replaced it
                app = lease_tanker(app, start=on - timedelta(days=400), end=on - timedelta(days=1))
            if i == METERLESS:  # in force last year, when it supplied once without a meter reading
                valid_from = date(year - 1, 6, 1)
            permits[i] = await start_permit(temporal_env, client, pool, queue, app, valid_from=valid_from)

        at = datetime(year - 1, 7, 1, 9, tzinfo=SHANGHAI)
        await services.report_ledger(client, pool, permits[METERLESS][0], "b1", [
            _movement("R1", at, "receipt"),
            _movement("S1", at + timedelta(hours=2), "supply", mass_flow_meter_t=Decimal("100")),
            _movement("S2", at + timedelta(hours=4), "supply"),  # no mass-flow-meter quantity
        ], now=at + timedelta(hours=5))
        # Customs found smuggling (Art. 19(9)); the market regulator a minor quality matter elsewhere.
        smuggling = await supervision.record_violation(pool, Actor(body=Body.CUSTOMS_GZ, name="缉私科"), supervision.ViolationIn(
            credit_code=credit_code(VIOLATION), act=9, severity="major", found_on=on,
            description="擅自将保税油在境内销售 / bonded oil sold ashore", evidence_ref="穗关缉字〔2026〕17号"))
        assert smuggling["confirmed_by"] == "customs_gz"
        await supervision.record_violation(pool, Actor(body=Body.MARKET), supervision.ViolationIn(
            credit_code=credit_code(11), act=7, severity="minor", found_on=on, description="油品标识不清",
            evidence_ref="穗市监罚〔2026〕3号", penalty="警告", penalty_decided_on=on))

        handle = await campaigns.start_campaign(client, queue, year, workflow_id=f"inspection-campaign/{uuid.uuid4()}",
                                                page_size=5, concurrency=4)
        result = await handle.result()

        assert (result.phase, result.total, result.done, result.start_day) == ("done", PERMITS, PERMITS, on)
        assert result.outcomes == {"clear": PERMITS - 3, "breach": 3}
        assert result.runs == PERMITS // 5 + 2  # one run per page, then the report
        # Pages of 5 (the last of 4), 4 permits in flight: batches of 4 and 1 (the last page one batch);
        # nobody inspected alone.
        assert await activities_scheduled(client, handle) == {
            "open_inspection_campaign": 1, "inspection_page": PERMITS // 5 + 2, "inspect_permits": 4 * 2 + 1,
            "write_inspection_report": 1}
        progress = await handle.query(InspectionCampaign.progress)
        assert progress.phase == "done" and progress.report.permits == PERMITS
        await replay_and_keep(client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id),
                              "inspection-campaign-first-page")
        await replay_and_keep(client.get_workflow_handle(handle.id, run_id=(await handle.describe()).run_id),
                              "inspection-campaign-report")

        # Each permit has exactly one inspection of the year on its stream; the breaches became orders.
        for i, (stream_id, _) in permits.items():
            assert await count_events(pool, stream_id, "InspectionRecorded") == 1, stream_id
            ordered = await count_events(pool, stream_id, "RectificationOrdered")
            assert ordered == (1 if i in (LEASE, VIOLATION, METERLESS) else 0), stream_id

        lease_id, lease_h = permits[LEASE]
        item3 = next(i for i in (await events_of(pool, lease_id, "InspectionRecorded"))[0].payload["items"] if i["item"] == 3)
        assert item3["outcome"] == "breach" and any("lease" in f for f in item3["findings"])
        smuggler_id, smuggler_h = permits[VIOLATION]
        recorded = (await events_of(pool, smuggler_id, "InspectionRecorded"))[0]
        assert recorded.actor == "commerce" and recorded.payload["inspector"].startswith("市商务局")
        assert any(b.startswith("(4)") and "Art. 19(9)" in b for b in recorded.payload["breaches"])
        meter = (await events_of(pool, permits[METERLESS][0], "InspectionRecorded"))[0].payload
        assert any(b.startswith("(2)") and "S2" in b for b in meter["breaches"])
        minor = (await events_of(pool, permits[11][0], "InspectionRecorded"))[0].payload["items"][3]
        assert minor["outcome"] == "ok" and "Art. 19(7)" in minor["findings"][0]  # minor: noted, not a breach

        # The order's time limit (policy.rectification_workdays) is in both inboxes.
        order = (await events_of(pool, smuggler_id, "RectificationOrdered"))[0]
        inbox = {r["kind"]: r for r in await pool.fetch("SELECT * FROM tasks WHERE stream_id = $1", smuggler_id)}
        assert inbox["report_rectification"]["body"] == f"enterprise:{credit_code(VIOLATION)}"
        assert inbox["verify_rectification"]["due_date"].isoformat() == order.payload["due_date"]

        # Rectified in time: the enterprise reports, commerce verifies; the time limit passes quietly.
        owner = Actor(body=Body.ENTERPRISE, credit_code=credit_code(LEASE))
        await lease_h.execute_update(Permit.report_rectification, RectificationReport(
            actor=owner, description="已续签加油船舶租赁合同 / tanker lease renewed"))
        await lease_h.execute_update(Permit.verify_rectification, RectificationVerdict(
            actor=COMMERCE, rectified=True, remarks="核验续签合同属实"))
        await temporal_env.fast_forward(lease_h, timedelta(days=40))
        assert await count_events(pool, lease_id, "RectificationVerified") == 1
        assert await count_events(pool, lease_id, "RectificationFailed") == 0

        # Nothing reported by the time limit: escalated, and termination proposed under Art. 25(4).
        await temporal_env.fast_forward(smuggler_h, timedelta(days=40))
        failed = await wait_for(lambda: events_of(pool, smuggler_id, "RectificationFailed"), "escalation")
        assert failed[0].actor == "system"
        proposed = (await events_of(pool, smuggler_id, "TerminationProposed"))[-1]
        assert proposed.payload["cause"] == "4" and f"rectification of {year}" in proposed.payload["basis"]
        assert (await smuggler_h.query(Permit.status)).stage.startswith("termination")

        # The report, by district and by outcome.
        rows = list(csv.DictReader(io.StringIO((tmp_path / f"inspections-{year}.csv").read_text(encoding="utf-8"))))
        assert len(rows) == PERMITS and sum(r["outcome"] == "breach" for r in rows) == 3
        assert {r["district"] for r in rows} == {d.value for d in District}
        md = (tmp_path / f"inspections-{year}.md").read_text(encoding="utf-8")
        assert "| **合计 total** | **21** | **3** |" in md and permits[VIOLATION][0] in md
        assert (await campaigns.report(pool, year))[1] == md  # the CLI's view from the database is the same

        for _, h in permits.values():
            await h.terminate("test done")

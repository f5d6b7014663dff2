"""Living for years: bounded histories across continue-as-new, policy versions, moved deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bunker import services
from domain.bodies import JOINT_REVIEW_PANEL, Body
from domain.changes import ChangeKind
from domain.calendar import WorkingCalendar, baseline_schedule
from domain.policy import POLICIES, policy
from store import event_store
from store.holidays import save_schedule
from tests.fixtures.applications import valid_application
from tests.integration.licensing_helpers import (
    APPLICANT, NANSHA, advance_to, agency, events_of, permit_in_force, run_procedure, start, types,
)
from workflows.licensing import PermitApplication
from workflows.licensing_messages import Accept
from workflows.permit import Permit
from workflows.permit_messages import ApplyChange, ApplyRenewal, ConfirmFiling


async def test_a_five_year_permit_keeps_every_run_under_2000_history_events(temporal_env, client, pool, task_queue):
    stream, h = await permit_in_force(temporal_env, client, task_queue, history_limit=250)
    for body in (Body.MARKET, Body.CUSTOMS_GZ, Body.MSA, Body.BORDER):
        await h.execute_update(Permit.confirm_filing, ConfirmFiling(actor=agency(body), body=body, reference="F-1"))
    first_until = (await h.query(Permit.status)).valid_until
    for term in range(2):  # two renewals: 2 + 2 + 1 years
        until = (await h.query(Permit.status)).valid_until
        await advance_to(temporal_env, h, until - timedelta(days=45))
        today = WorkingCalendar.local_date(await temporal_env.get_current_time(h))
        await h.execute_update(Permit.apply_renewal, ApplyRenewal(actor=APPLICANT, application=valid_application(today)))
        await run_procedure(h, JOINT_REVIEW_PANEL)
        await advance_to(temporal_env, h, until + timedelta(days=3))
    await advance_to(temporal_env, h, first_until + timedelta(days=3 * 365))
    status = await h.query(Permit.status)
    assert status.status == "in_force" and status.runs >= 2
    assert status.valid_until.year == first_until.year + 4
    lengths = []
    async for run in client.list_workflows(f'WorkflowId = "application/{stream}"'):
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        lengths.append(len(history.events))
    assert len(lengths) == status.runs and max(lengths) < 2000, lengths
    recorded = await event_store.read_stream(pool, stream)
    assert [e.version for e in recorded] == list(range(1, len(recorded) + 1))  # nothing lost across hand-overs
    assert [e.event_type for e in recorded].count("ValidityRenewed") == 2
    assert (await event_store.verify(pool, stream))[1] is None
    await h.terminate("test done")


async def test_a_new_policy_version_governs_new_applications_only(temporal_env, client, pool, task_queue, monkeypatch):
    before_id, before = await start(temporal_env, client, pool, task_queue)
    today = WorkingCalendar.local_date(datetime.now(UTC))
    # A successor version (as the 2024 measures replaced these) with other time limits, in force from today.
    monkeypatch.setitem(POLICIES, "gz-2026t", policy("gz-2022").revise(
        version="gz-2026t", title_zh="试行后续版本（测试）", in_force_from=today, decision_workdays=15))
    after_id, after = await start(temporal_env, client, pool, task_queue)
    for h in (before, after):
        await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
    old, new = (await before.query(PermitApplication.status)), (await after.query(PermitApplication.status))
    assert (old.policy_version, new.policy_version) == ("gz-2022", "gz-2026t")
    due = {s.policy_version: next(d for d in s.deadlines if d.label.startswith("ALL 42")).due_date for s in (old, new)}
    cal = WorkingCalendar()
    assert due["gz-2022"] == cal.add_workdays(old.accepted_on, 20).date
    assert due["gz-2026t"] == cal.add_workdays(new.accepted_on, 15).date
    received = await events_of(pool, after_id, "ApplicationReceived")
    assert received[0].payload["policy_version"] == "gz-2026t"
    for h in (before, after):
        await h.terminate("test done")


def _decision(status):
    return next(d for d in status.procedure_deadlines if d.label.startswith("ALL 42"))


async def test_loading_the_official_schedule_moves_a_provisional_deadline(temporal_env, client, pool, task_queue):
    stream, h = await permit_in_force(temporal_env, client, task_queue)
    # Well into the permit's life a change is applied: its ALL 42 decision deadline lies in a year whose
    # official schedule is not published yet, so it is provisional.
    await temporal_env.fast_forward(h, timedelta(days=600))
    today = WorkingCalendar.local_date(await temporal_env.get_current_time(h))
    change = valid_application(today).model_copy(update={"scope_cross_district_direct_supply": True})
    await h.execute_update(Permit.apply_change, ApplyChange(actor=APPLICANT, change=ChangeKind.ADD_CROSS_DISTRICT_SUPPLY,
                                                            description="增加跨关区直供", application=change))
    await h.execute_update("accept", Accept(actor=NANSHA))
    decision = _decision(await h.query(Permit.status))
    year = decision.due_date.year
    cal = WorkingCalendar()
    assert decision.provisional and not cal.is_official(year)
    # The State Council's notice for that year (test data): the five working days before the deadline
    # become holidays, so the same count of working days ends later.
    base = baseline_schedule(year)
    extra, d = set(), decision.due_date
    while len(extra) < 5:
        if d.year == year and cal.is_working_day(d):
            extra.add(d)
        d -= timedelta(days=1)
    official = base.model_copy(update={"holidays": frozenset(base.holidays | extra), "official": True,
                                       "source": "test notice"})
    await save_schedule(pool, official, loaded_by="test")
    try:
        assert await services.recompute_provisional_deadlines(client, pool) >= 1
        for _ in range(100):  # the signal is handled asynchronously: bounded wait for its event
            if "DeadlinesRecomputed" in await types(pool, stream):
                break
            await temporal_env.fast_forward(h, timedelta(seconds=1))
        moved = _decision(await h.query(Permit.status))
        expected = WorkingCalendar({year: official}).add_workdays(decision.start, decision.workdays)
        assert (moved.due_date, moved.provisional) == (expected.date, expected.provisional)
        assert moved.due_date > decision.due_date
        assert (await events_of(pool, stream, "DeadlinesRecomputed"))[0].article == "ALL 82"
    finally:
        await pool.execute("DELETE FROM holiday_schedules WHERE year = $1", year)
    await h.terminate("test done")

"""Reproduction (not a test): an approval that never becomes a permit.

The main coroutine of workflows/procedure.py sets `self.stage = Stage.DECISION` after the submission step
returns, which can overwrite the APPROVED that a decide update set meanwhile; the procedure then returns
DECISION and PermitApplication.run does not hand over to the Permit workflow. Run:
    .venv/bin/python tests/chaos/repro_stage_race.py
(about 1 in 5 files, no fault needed: commerce and the government act as soon as their tasks show).
"""
import asyncio
import sys
from datetime import UTC, datetime
from temporalio.client import WorkflowUpdateFailedError
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from bunker import services
from bunker.scenario_harness import standalone
from domain.authority import Actor
from domain.bodies import JOINT_REVIEW_PANEL, Body, District
from domain.calendar import WorkingCalendar
from domain.examples import example_application
from workflows.licensing_messages import Accept, Decide, PreliminaryOpinion, ReviewDecision, Submission

NANSHA = Actor(body=Body.DISTRICT, district=District.NANSHA)

async def until_accepted(h, name, msg):
    while True:
        try:
            return await h.execute_update(name, msg)
        except WorkflowUpdateFailedError as e:
            if getattr(e.cause, "type", "") != "WrongStage":
                raise
            await asyncio.sleep(0.005)

async def one(hs, i):
    env, pool, q = hs.env, hs.pool, hs.task_queue
    with env.with_time_skipping_disabled():
        st = await services.submit_application(env.client, pool, q, example_application(WorkingCalendar.local_date(datetime.now(UTC))))
    h = services.application_handle(env.client, st.application_id)
    await h.execute_update("accept", Accept(actor=NANSHA))
    await h.execute_update("preliminary_review", PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
    *first, last = JOINT_REVIEW_PANEL
    for b in first:
        await h.execute_update("joint_review", ReviewDecision(actor=Actor(body=b), agency=b, decision="approve"))
    # Commerce and the government act as soon as their task shows (the read model shows it early):
    review = asyncio.create_task(h.execute_update("joint_review", ReviewDecision(actor=Actor(body=last), agency=last, decision="approve")))
    await until_accepted(h, "submit_to_government", Submission(actor=Actor(body=Body.COMMERCE), recommendation="approve", consolidated_opinion="同意"))
    out = await until_accepted(h, "decide", Decide(actor=Actor(body=Body.MUNICIPAL_GOV), approve=True))
    await review
    for _ in range(100):
        d = await h.describe()
        if d.workflow_type == "Permit" or d.status.name != "RUNNING":
            break
        await asyncio.sleep(0.05)
    row = await pool.fetchrow("SELECT status, stage FROM permits WHERE stream_id=$1", st.application_id)
    print(i, st.application_id, "decide answered:", str(out)[:60], "| workflow:", d.workflow_type, d.status.name, "| read model:", dict(row))
    return d.workflow_type == "Permit"

async def main():
    async with standalone() as hs:
        ok = [await one(hs, i) for i in range(5)]
        print("handed over:", sum(ok), "of", len(ok))
asyncio.run(main())

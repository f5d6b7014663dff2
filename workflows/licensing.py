"""The licensing procedure, from the application to the government's decision (Art. 5–12, 24).

Read `run` top to bottom: it is the procedure of the measures. Each step waits for the body the
measures name (an update from that body's system, checked by a validator), under a statutory or
internal deadline computed on the working-day calendar. The decision clock (ALL 42, Art. 12) runs
beside the steps from the day of acceptance; it pauses (ALL 45) and can be extended once (Art. 12).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import Deadline, DeadlineRequest, WorkdaysRequest
    from activities.licensing import AssessRequest, BanRequest
    from domain.application import Application
    from domain.authority import Actor, NotAuthorised, Step, authorise
    from domain.bodies import JOINT_REVIEW_PANEL, Body
    from domain.calendar import WorkingCalendar
    from domain.eligibility import Assessment
    from domain.events import EventType as E
    from domain.findings import Finding
    from domain.policy import Policy, policy
    from domain.status import OpenTask, StatusSnapshot
    from workflows import search_attributes as sa
    from workflows.journal import Journal
    from workflows.licensing_messages import (
        CLOSED_STAGES, Accept, AnswerQuestion, Decide, DeadlineView, ExtendDeadline, FalseMaterials,
        LicensingInput, LicensingStatus, NotifyCorrections, Outcome, PauseClock, PreliminaryOpinion,
        ResumeClock, ReviewDecision, Stage, SubmitCorrections, Submission, Withdraw,
    )
    from domain.notices import notice
    from domain.eligibility import years_after
    from domain.calendar import SHANGHAI

SYSTEM = "system"
_ACT = timedelta(seconds=30)


class _Withdrawn(Exception):
    pass


def _refuse(kind: str, message: str) -> ApplicationError:
    # The type tells the gateway which HTTP answer to give (403 / 409 / 422).
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name="PermitApplication")
class PermitApplication:
    @workflow.init
    def __init__(self, inp: LicensingInput) -> None:
        self._id = inp.application_id
        self._app: Application = inp.application
        self._policy: Policy = policy(inp.policy_version)
        self._received_on = WorkingCalendar.local_date(inp.received_at)
        self._stage = Stage.COMPLETENESS
        self._deadlines: dict[str, DeadlineView] = {}
        self._findings: list[Finding] = []
        self._district_act: Accept | NotifyCorrections | FalseMaterials | None = None
        self._notified_items: set[str] = set()
        self._corrections: SubmitCorrections | None = None
        self._accepted_on: date | None = None
        self._prelim: PreliminaryOpinion | None = None
        self._reviews: dict[Body, ReviewDecision] = {}
        self._questions: dict[Body, str] = {}
        self._submission: Submission | None = None
        self._decision: Decide | None = None
        self._withdrawal: Withdraw | None = None
        self._paused: PauseClock | None = None
        self._paused_on: date | None = None
        self._clock_moved = False
        self._extensions = 0
        self._permit_number: str | None = None
        self._valid: tuple[date, date] | None = None
        self._banned = False
        self._is_received = False
        self._journal = Journal(self._id, self._snapshot, self._search_attributes, self._details)

    # ------------------------------------------------------------------ the procedure
    @workflow.run
    async def run(self, inp: LicensingInput) -> LicensingStatus:
        try:
            await self._receive(inp)
            if await self._completeness():  # Art. 9
                clock = asyncio.create_task(self._decision_clock())  # ALL 42, Art. 12
                await self._preliminary_review()  # Art. 9
                await self._joint_review()  # Art. 10
                await self._submit_to_government()  # Art. 10
                await self._decide()  # Art. 11-12
                await clock
        except _Withdrawn:
            pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _receive(self, inp: LicensingInput) -> None:
        assessment = await self._assess(self._app, self._received_on)
        self._findings = assessment.findings
        self._deadlines["notice"] = await self._deadline(
            "Art. 9 completeness notice", self._received_on, self._policy.completeness_notice_workdays
        )
        await self._journal.record(
            E.APPLICATION_RECEIVED, self._app_actor(),
            received_on=self._received_on, enterprise=self._app.enterprise.name,
            credit_code=self._app.enterprise.credit_code, district=self._app.enterprise.district.value,
            policy_version=self._policy.version, findings=self._findings,
            notice_deadline=self._deadlines["notice"].due_date,
        )
        self._is_received = True

    async def _completeness(self) -> bool:
        """Art. 9: accept, one notice of all corrections, or false materials (Art. 24); else deemed accepted."""
        materials_since = self._received_on
        while True:
            self._stage = Stage.COMPLETENESS
            if not await self._wait(lambda: self._district_act is not None, "notice"):
                # No notice in time: accepted from the day the (complete) materials were received.
                self._deadlines["notice"] = self._deadlines["notice"].model_copy(update={"state": "overdue"})
                await self._accept(SYSTEM, materials_since, E.DEEMED_ACCEPTED)
                return True
            self._deadlines["notice"] = self._deadlines["notice"].model_copy(update={"state": "met"})
            act, self._district_act = self._district_act, None
            if isinstance(act, Accept):
                await self._accept(act.actor.code, self._today(), E.ACCEPTED)
                return True
            if isinstance(act, FalseMaterials):
                await self._not_accepted(act)
                return False
            assert isinstance(act, NotifyCorrections)
            await self._wait(lambda: self._corrections is not None)
            corrected, self._corrections = self._corrections, None
            self._app = corrected.application
            materials_since = self._today()
            assessment = await self._assess(self._app, materials_since)
            self._findings = assessment.findings
            self._deadlines["notice"] = await self._deadline(
                "Art. 9 completeness notice", materials_since, self._policy.completeness_notice_workdays
            )
            self._stage = Stage.COMPLETENESS
            await self._journal.record(
                E.CORRECTIONS_SUBMITTED, corrected.actor.code, received_on=materials_since,
                findings=self._findings, notice_deadline=self._deadlines["notice"].due_date,
            )

    async def _accept(self, actor: str, accepted_on: date, type_: E) -> None:
        self._stage = Stage.PRELIMINARY_REVIEW
        self._deadlines["preliminary_review"] = await self._deadline(
            "Art. 9 preliminary review", accepted_on, self._policy.preliminary_review_workdays
        )
        self._deadlines["decision"] = await self._deadline(
            "ALL 42 decision", accepted_on, self._policy.decision_workdays
        )
        await self._journal.record(
            type_, actor, accepted_on=accepted_on, decision_deadline=self._deadlines["decision"].due_date,
            decision_deadline_provisional=self._deadlines["decision"].provisional,
            **notice("accepted", accepted_on=accepted_on, due=self._deadlines["decision"].due_date),
        )
        self._accepted_on = accepted_on

    async def _not_accepted(self, act: FalseMaterials) -> None:
        """Art. 24 / ALL 78: not accepted, and no new application for the ban period."""
        self._stage = Stage.NOT_ACCEPTED
        await self._journal.record(E.FALSE_MATERIALS_FOUND, act.actor.code, reason=act.reason)
        ends_on = await workflow.execute_activity(
            "register_ban",
            BanRequest(
                credit_code=self._app.enterprise.credit_code, stream_id=self._id, article="24",
                reason=act.reason, starts_on=self._today(), years=self._policy.false_materials_ban_years,
            ),
            result_type=date, start_to_close_timeout=_ACT,
        )
        await self._journal.record(
            E.APPLICANT_BANNED, SYSTEM, ban_ends_on=ends_on, **notice("banned", ends_on=ends_on, reason=act.reason)
        )
        self._banned = True

    async def _preliminary_review(self) -> None:
        """Art. 9: the district's opinion within 5 working days of acceptance, sent to commerce."""
        await self._await_with_escalation(lambda: self._prelim is not None, "preliminary_review", self._district(), "9")
        self._stage = Stage.JOINT_REVIEW

    async def _joint_review(self) -> None:
        """Art. 10: the six departments review in parallel, each under its own sub-deadline."""
        opened = self._today()
        await self._journal.record(E.JOINT_REVIEW_OPENED, Body.COMMERCE.value, panel=[b.value for b in JOINT_REVIEW_PANEL])
        await asyncio.gather(*(self._agency_review(agency, opened) for agency in JOINT_REVIEW_PANEL))
        self._stage = Stage.SUBMISSION

    async def _agency_review(self, agency: Body, opened: date) -> None:
        key = f"review:{agency.value}"
        while True:
            reminder = await self._deadline(
                f"{agency.value} joint review reminder", opened, self._policy.joint_review_reminder_workdays
            )
            self._deadlines[key] = await self._deadline(
                f"{agency.value} joint review", opened, self._policy.joint_review_workdays
            )
            answered = lambda: agency in self._reviews or agency in self._questions  # noqa: E731
            if not await self._wait(answered, deadline=reminder):
                await self._journal.record(E.DEADLINE_REMINDER, SYSTEM, article="10", body=agency.value,
                                           step="joint_review", due_date=self._deadlines[key].due_date)
            if not await self._wait(answered, key):
                self._mark(key, "overdue")
                # Escalated to commerce, never dropped: the review stays open until the agency answers.
                await self._journal.record(E.DEADLINE_ESCALATED, SYSTEM, article="10", body=agency.value,
                                           step="joint_review", to=Body.COMMERCE.value)
                await self._wait(answered)
            if agency in self._reviews:
                self._mark(key, "met")
                return
            # A question to the applicant: the agency's clock starts again when the answer arrives.
            await self._wait(lambda: agency not in self._questions)
            opened = self._today()

    async def _submit_to_government(self) -> None:
        """Art. 10: commerce submits with the consolidated opinions."""
        self._deadlines["submission"] = await self._deadline(
            "Art. 10 submission to the government", self._today(), self._policy.submission_workdays
        )
        await self._journal.record(E.DEADLINE_REMINDER, SYSTEM, article="10", body=Body.COMMERCE.value,
                                   step="submit_to_government", due_date=self._deadlines["submission"].due_date,
                                   reviews={b.value: r.decision for b, r in self._reviews.items()})
        await self._await_with_escalation(lambda: self._submission is not None, "submission", Body.COMMERCE.value, "10")
        self._stage = Stage.DECISION

    async def _decide(self) -> None:
        """Art. 11: the government approves, or refuses in writing with reasons."""
        await self._wait(lambda: self._decision is not None)

    async def _decision_clock(self) -> None:
        """ALL 42 / Art. 12: the decision deadline from acceptance; paused (ALL 45) and extended (Art. 12)."""
        while self._stage not in CLOSED_STAGES:
            if self._paused is not None:
                await workflow.wait_condition(lambda: self._paused is None or self._closed())
                continue
            self._clock_moved = False
            try:
                await workflow.wait_condition(
                    lambda: self._closed() or self._clock_moved or self._paused is not None,
                    timeout=self._until(self._deadlines["decision"].ends_at),
                    timeout_summary=self._deadlines["decision"].label,
                )
            except asyncio.TimeoutError:
                # There is no deemed approval of a new permit: the lapse is recorded and escalated.
                self._mark("decision", "overdue")
                await self._journal.record(E.DEADLINE_OVERDUE, SYSTEM, body=Body.MUNICIPAL_GOV.value,
                                           step="decide", due_date=self._deadlines["decision"].due_date)
                await self._journal.record(E.DEADLINE_ESCALATED, SYSTEM, article="12",
                                           body=Body.MUNICIPAL_GOV.value, step="decide", to="government head")
                await workflow.wait_condition(lambda: self._closed() or self._clock_moved)

    # ------------------------------------------------------------------ waiting, deadlines
    async def _wait(self, done: Callable[[], bool], key: str | None = None, deadline: DeadlineView | None = None) -> bool:
        """Wait for `done` (or withdrawal); with a deadline, False if it passed first."""
        dl = deadline or (self._deadlines[key] if key else None)
        cond = lambda: done() or self._withdrawal is not None  # noqa: E731
        if dl is None:
            await workflow.wait_condition(cond)
        elif not cond():
            remaining = self._until(dl.ends_at)
            try:
                if remaining <= timedelta(0):
                    raise asyncio.TimeoutError
                await workflow.wait_condition(cond, timeout=remaining, timeout_summary=dl.label)
            except asyncio.TimeoutError:
                if self._withdrawal is None:
                    return False
        if self._withdrawal is not None:
            raise _Withdrawn
        return True

    async def _await_with_escalation(self, done: Callable[[], bool], key: str, body: str, article: str) -> None:
        """A step with a deadline: overdue when it passes, escalated after the red-card period, never dropped."""
        if await self._wait(done, key):
            self._mark(key, "met")
            return
        self._mark(key, "overdue")
        dl = self._deadlines[key]
        await self._journal.record(E.DEADLINE_OVERDUE, SYSTEM, article=article, body=body, step=key, due_date=dl.due_date)
        red = await self._deadline(f"{dl.label} escalation", dl.due_date, self._policy.overdue_red_card_workdays)
        if not await self._wait(done, deadline=red):
            to = Body.MUNICIPAL_GOV.value if body == Body.COMMERCE.value else Body.COMMERCE.value
            await self._journal.record(E.DEADLINE_ESCALATED, SYSTEM, article=article, body=body, step=key, to=to)
            await self._wait(done)

    async def _deadline(self, label: str, start: date, workdays: int) -> DeadlineView:
        d = await workflow.execute_activity(
            "compute_deadline", DeadlineRequest(label=label, start=start, workdays=workdays),
            result_type=Deadline, start_to_close_timeout=_ACT, summary=label,
        )
        return DeadlineView(label=label, due_date=d.due_date, ends_at=d.ends_at, provisional=d.provisional)

    async def _assess(self, app: Application, on: date) -> Assessment:
        return await workflow.execute_activity(
            "assess_application", AssessRequest(application=app, on=on, policy_version=self._policy.version),
            result_type=Assessment, start_to_close_timeout=_ACT, summary="Art. 5-7 assessment",
        )

    def _mark(self, key: str, state: str) -> None:
        self._deadlines[key] = self._deadlines[key].model_copy(update={"state": state})

    def _until(self, instant: datetime) -> timedelta:
        return instant - workflow.now()

    def _today(self) -> date:
        return WorkingCalendar.local_date(workflow.now())

    def _closed(self) -> bool:
        return self._stage in CLOSED_STAGES

    def _district(self) -> str:
        return f"district:{self._app.enterprise.district.value}"

    def _app_actor(self) -> str:
        return f"enterprise:{self._app.enterprise.credit_code}"

    # ------------------------------------------------------------------ updates: the bodies act
    def _check(self, actor: Actor, step: Step, *stages: Stage, agency: Body | None = None) -> None:
        try:
            authorise(actor, step, district=self._app.enterprise.district,
                      credit_code=self._app.enterprise.credit_code, agency=agency)
        except NotAuthorised as e:
            workflow.logger.warning("refused: %s", e)
            raise _refuse("NotAuthorised", str(e)) from None
        if self._stage in CLOSED_STAGES:
            raise _refuse("AlreadyDecided", f"the application is closed: {self._stage.value}")
        if stages and self._stage not in stages:
            raise _refuse("WrongStage", f"{step.value} is not open at stage {self._stage.value}")

    @workflow.update
    async def accept(self, msg: Accept) -> Outcome:
        await self._received()
        self._district_act = msg
        await workflow.wait_condition(lambda: self._accepted_on is not None)
        return self._outcome(f"accepted on {self._accepted_on}")

    @accept.validator
    def _v_accept(self, msg: Accept) -> None:
        self._check(msg.actor, Step.ACCEPT, Stage.COMPLETENESS)
        if self._district_act is not None:
            raise _refuse("AlreadyDecided", "the district has already acted on these materials")

    @workflow.update
    async def notify_corrections(self, msg: NotifyCorrections) -> Outcome:
        """Art. 9 一次告知: one notice listing every correction, pre-filled from the findings."""
        await self._received()
        items = self._findings + [i for i in msg.items if i.item not in {f.item for f in self._findings}]
        if self._notified_items:  # after a correction: only matters the corrected materials first raised
            items = [i for i in items if i.item not in self._notified_items]
        self._notified_items |= {i.item for i in items}
        self._district_act = msg
        self._stage = Stage.CORRECTIONS
        self._deadlines["notice"] = self._deadlines["notice"].model_copy(update={"state": "met"})
        await self._journal.record(E.CORRECTIONS_NOTIFIED, msg.actor.code, items=items,
                                   **notice("corrections", items=items))
        return self._outcome(f"{len(items)} corrections notified")

    @notify_corrections.validator
    def _v_notify(self, msg: NotifyCorrections) -> None:
        self._check(msg.actor, Step.NOTIFY_CORRECTIONS, Stage.COMPLETENESS)
        if self._district_act is not None:
            raise _refuse("AlreadyDecided", "the district has already acted on these materials")
        if self._notified_items:
            new = {f.item for f in self._findings} | {i.item for i in msg.items}
            if not new - self._notified_items:
                raise _refuse("AlreadyDecided", "one notice only (Art. 9 一次告知): a second notice may raise only "
                              "matters first raised by the corrected materials")

    @workflow.update
    async def find_false_materials(self, msg: FalseMaterials) -> Outcome:
        await self._received()
        self._district_act = msg
        await workflow.wait_condition(lambda: self._banned)
        return self._outcome("not accepted (Art. 24)")

    @find_false_materials.validator
    def _v_false(self, msg: FalseMaterials) -> None:
        self._check(msg.actor, Step.FIND_FALSE_MATERIALS, Stage.COMPLETENESS)
        if self._district_act is not None:
            raise _refuse("AlreadyDecided", "the district has already acted on these materials")

    @workflow.update
    async def submit_corrections(self, msg: SubmitCorrections) -> Outcome:
        await self._received()
        self._corrections = msg
        await workflow.wait_condition(lambda: self._stage is not Stage.CORRECTIONS)
        return self._outcome("corrected materials received")

    @submit_corrections.validator
    def _v_corrections(self, msg: SubmitCorrections) -> None:
        self._check(msg.actor, Step.SUBMIT_CORRECTIONS, Stage.CORRECTIONS)
        if msg.application.enterprise.credit_code != self._app.enterprise.credit_code:
            raise _refuse("Invalid", "corrections may not change the applicant (credit code)")

    @workflow.update
    async def preliminary_review(self, msg: PreliminaryOpinion) -> Outcome:
        await self._received()
        self._prelim = msg
        await self._journal.record(E.PRELIMINARY_REVIEW_GIVEN, msg.actor.code, favourable=msg.favourable,
                                   opinion=msg.opinion, to=Body.COMMERCE.value)
        return self._outcome("preliminary opinion sent to commerce")

    @preliminary_review.validator
    def _v_prelim(self, msg: PreliminaryOpinion) -> None:
        self._check(msg.actor, Step.PRELIMINARY_REVIEW, Stage.PRELIMINARY_REVIEW)
        if self._prelim is not None:
            raise _refuse("AlreadyDecided", f"preliminary opinion already given: {self._prelim.opinion}")

    @workflow.update
    async def joint_review(self, msg: ReviewDecision) -> Outcome:
        await self._received()
        if msg.decision == "question":
            self._questions[msg.agency] = msg.reasons
            await self._journal.record(E.AGENCY_QUESTION_ASKED, msg.actor.code, agency=msg.agency.value,
                                       question=msg.reasons, **notice("question", agency=msg.agency, question=msg.reasons))
        else:
            self._reviews[msg.agency] = msg
            await self._journal.record(E.AGENCY_REVIEW_GIVEN, msg.actor.code, agency=msg.agency.value,
                                       decision=msg.decision, reasons=msg.reasons)
        return self._outcome(f"{msg.agency.value}: {msg.decision}")

    @joint_review.validator
    def _v_review(self, msg: ReviewDecision) -> None:
        self._check(msg.actor, Step.JOINT_REVIEW, Stage.JOINT_REVIEW, agency=msg.agency)
        if msg.agency in self._reviews:
            r = self._reviews[msg.agency]
            raise _refuse("AlreadyDecided", f"{msg.agency.value} already decided: {r.decision} {r.reasons}".strip())
        if msg.agency in self._questions:
            raise _refuse("WrongStage", f"{msg.agency.value}'s question is waiting for the applicant's answer")
        if msg.decision == "object" and not msg.reasons.strip():
            raise _refuse("Invalid", "an objection must give its reasons (Art. 10-11)")

    @workflow.update
    async def answer_question(self, msg: AnswerQuestion) -> Outcome:
        await self._received()
        self._questions.pop(msg.agency)
        await self._journal.record(E.AGENCY_QUESTION_ANSWERED, msg.actor.code, agency=msg.agency.value, answer=msg.answer)
        return self._outcome(f"answer sent to {msg.agency.value}")

    @answer_question.validator
    def _v_answer(self, msg: AnswerQuestion) -> None:
        self._check(msg.actor, Step.ANSWER_QUESTION, Stage.JOINT_REVIEW)
        if msg.agency not in self._questions:
            raise _refuse("WrongStage", f"no open question from {msg.agency.value}")

    @workflow.update
    async def submit_to_government(self, msg: Submission) -> Outcome:
        await self._received()
        self._submission = msg
        await self._journal.record(E.SUBMITTED_TO_GOVERNMENT, msg.actor.code, recommendation=msg.recommendation,
                                   consolidated_opinion=msg.consolidated_opinion,
                                   reviews={b.value: [r.decision, r.reasons] for b, r in self._reviews.items()})
        return self._outcome("submitted to the municipal government")

    @submit_to_government.validator
    def _v_submit(self, msg: Submission) -> None:
        self._check(msg.actor, Step.SUBMIT_TO_GOVERNMENT, Stage.SUBMISSION)
        if self._submission is not None:
            raise _refuse("AlreadyDecided", f"already submitted: {self._submission.recommendation}")

    @workflow.update
    async def decide(self, msg: Decide) -> Outcome:
        await self._received()
        self._decision = msg
        if msg.approve:
            decided_on = self._today()
            self._permit_number = await workflow.execute_activity(
                "next_permit_number", decided_on.year, result_type=str, start_to_close_timeout=_ACT)
            # Art. 14: valid 2 years from the decision.
            until = years_after(decided_on, self._policy.validity_years) - timedelta(days=1)
            self._valid = (decided_on, until)
            self._stage = Stage.APPROVED
            self._mark("decision", "met" if self._deadlines["decision"].state != "overdue" else "overdue")
            await self._journal.record(E.APPROVED, msg.actor.code, permit_number=self._permit_number,
                                       valid_from=decided_on, valid_until=until, reasons=msg.reasons,
                                       **notice("approved", number=self._permit_number, until=until))
            return self._outcome(f"approved: {self._permit_number}, valid until {until}")
        self._stage = Stage.REFUSED
        self._mark("decision", "met" if self._deadlines["decision"].state != "overdue" else "overdue")
        await self._journal.record(E.REFUSED, msg.actor.code, reasons=msg.reasons,
                                   **notice("refused", reasons=msg.reasons))
        return self._outcome("refused in writing with reasons")

    @decide.validator
    def _v_decide(self, msg: Decide) -> None:
        if self._decision is not None:
            raise _refuse("AlreadyDecided", f"already decided: {'approved' if self._decision.approve else 'refused'}")
        self._check(msg.actor, Step.DECIDE, Stage.DECISION)
        if not msg.approve and not msg.reasons.strip():
            raise _refuse("Invalid", "a refusal must give its reasons in writing (Art. 11)")

    @workflow.update
    async def pause_clock(self, msg: PauseClock) -> Outcome:
        """ALL 45: time for hearings, testing, inspection or expert review is not counted."""
        await self._received()
        self._paused, self._paused_on = msg, self._today()
        self._mark("decision", "paused")
        await self._journal.record(E.DECISION_CLOCK_PAUSED, msg.actor.code, cause=msg.cause,
                                   expected_workdays=msg.expected_workdays, reason=msg.reason,
                                   **notice("paused", cause=msg.cause, days=msg.expected_workdays, reason=msg.reason))
        return self._outcome("decision clock paused")

    @pause_clock.validator
    def _v_pause(self, msg: PauseClock) -> None:
        self._check(msg.actor, Step.PAUSE_CLOCK, Stage.PRELIMINARY_REVIEW, Stage.JOINT_REVIEW, Stage.SUBMISSION, Stage.DECISION)
        if self._paused is not None:
            raise _refuse("AlreadyDecided", f"the clock is already paused since {self._paused_on}")

    @workflow.update
    async def resume_clock(self, msg: ResumeClock) -> Outcome:
        await self._received()
        paused_on, today = self._paused_on, self._today()
        days = await workflow.execute_activity(
            "count_workdays", WorkdaysRequest(start=paused_on, end=today), result_type=int, start_to_close_timeout=_ACT)
        old = self._deadlines["decision"]
        self._deadlines["decision"] = await self._deadline(old.label, old.due_date, days)
        self._paused, self._paused_on, self._clock_moved = None, None, True
        await self._journal.record(E.DECISION_CLOCK_RESUMED, msg.actor.code, paused_on=paused_on, resumed_on=today,
                                   paused_workdays=days, decision_deadline=self._deadlines["decision"].due_date)
        return self._outcome(f"resumed; deadline moved by {days} working days to {self._deadlines['decision'].due_date}")

    @resume_clock.validator
    def _v_resume(self, msg: ResumeClock) -> None:
        self._check(msg.actor, Step.RESUME_CLOCK)
        if self._paused is None:
            raise _refuse("WrongStage", "the decision clock is not paused")

    @workflow.update
    async def extend_deadline(self, msg: ExtendDeadline) -> Outcome:
        """Art. 12: once, by 10 working days, with the head's approval; the applicant is told why."""
        await self._received()
        self._extensions += 1
        old = self._deadlines["decision"]
        self._deadlines["decision"] = await self._deadline(old.label, old.due_date, self._policy.decision_extension_workdays)
        self._clock_moved = True
        new_due = self._deadlines["decision"].due_date
        await self._journal.record(E.DECISION_DEADLINE_EXTENDED, msg.actor.code, approver=msg.approver,
                                   reason=msg.reason, previous_due=old.due_date, decision_deadline=new_due,
                                   **notice("extended", until=new_due, reason=msg.reason))
        return self._outcome(f"extended to {new_due}")

    @extend_deadline.validator
    def _v_extend(self, msg: ExtendDeadline) -> None:
        self._check(msg.actor, Step.EXTEND_DEADLINE, Stage.PRELIMINARY_REVIEW, Stage.JOINT_REVIEW, Stage.SUBMISSION, Stage.DECISION)
        if self._extensions >= self._policy.decision_extensions_allowed:
            raise _refuse("AlreadyDecided", "the decision deadline may be extended once only (Art. 12)")

    @workflow.update
    async def withdraw(self, msg: Withdraw) -> Outcome:
        await self._received()
        self._withdrawal = msg
        self._stage = Stage.WITHDRAWN
        await self._journal.record(E.WITHDRAWN, msg.actor.code, reason=msg.reason)
        return self._outcome("withdrawn")

    @withdraw.validator
    def _v_withdraw(self, msg: Withdraw) -> None:
        self._check(msg.actor, Step.WITHDRAW)

    async def _received(self) -> None:
        # A body may answer before the receipt is recorded (an update can arrive with the first task).
        await workflow.wait_condition(lambda: self._is_received)

    def _outcome(self, detail: str) -> Outcome:
        return Outcome(applied=True, stage=self._stage, detail=detail)

    # ------------------------------------------------------------------ what others see
    @workflow.query
    def status(self) -> LicensingStatus:
        nxt = self._next_deadline()
        return LicensingStatus(
            application_id=self._id, stage=self._stage, accepted_on=self._accepted_on, next_deadline=nxt,
            deadlines=list(self._deadlines.values()), pending=[t.body for t in self._tasks()],
            findings=self._findings, reviews={b.value: r.decision for b, r in self._reviews.items()},
            permit_number=self._permit_number, valid_from=self._valid[0] if self._valid else None,
            valid_until=self._valid[1] if self._valid else None, policy_version=self._policy.version,
        )

    def _next_deadline(self) -> DeadlineView | None:
        open_ = [d for d in self._deadlines.values() if d.state in ("open", "overdue")]
        return min(open_, key=lambda d: d.ends_at) if open_ and not self._closed() else None

    def _tasks(self) -> list[OpenTask]:
        def task(kind: str, body: str, key: str | None, suffix: str = "") -> OpenTask:
            d = self._deadlines.get(key) if key else None
            return OpenTask(task_id=f"{self._id}/{kind}{suffix}", body=body, kind=kind,
                            label=d.label if d else kind.replace("_", " "), due_date=d.due_date if d else None,
                            ends_at=d.ends_at if d else None, provisional=d.provisional if d else None)

        s = self._stage
        if s is Stage.COMPLETENESS:
            return [task("completeness", self._district(), "notice")]
        if s is Stage.CORRECTIONS:
            return [task("submit_corrections", self._app_actor(), None)]
        if s is Stage.PRELIMINARY_REVIEW and self._prelim is None:
            return [task("preliminary_review", self._district(), "preliminary_review")]
        if s is Stage.JOINT_REVIEW:
            return [task("joint_review", a.value, f"review:{a.value}", f"/{a.value}") for a in JOINT_REVIEW_PANEL
                    if a not in self._reviews and a not in self._questions] + [
                task("answer_question", self._app_actor(), None, f"/{a.value}") for a in self._questions]
        if s is Stage.SUBMISSION:
            return [task("submit_to_government", Body.COMMERCE.value, "submission")]
        if s is Stage.DECISION:
            return [task("decide", Body.MUNICIPAL_GOV.value, "decision")]
        return []

    def _snapshot(self) -> StatusSnapshot:
        nxt = self._next_deadline()
        e = self._app.enterprise
        return StatusSnapshot(
            kind="application", status=self._stage.value, stage=self._stage.value, enterprise_name=e.name,
            credit_code=e.credit_code, district=e.district.value, permit_number=self._permit_number,
            policy_version=self._policy.version, workflow_id=workflow.info().workflow_id,
            next_deadline_at=nxt.ends_at if nxt else None, next_deadline_label=nxt.label if nxt else None,
            next_deadline_provisional=nxt.provisional if nxt else None,
            pending=sorted({t.body for t in self._tasks()}), tasks=self._tasks(),
            valid_from=self._valid[0] if self._valid else None, valid_until=self._valid[1] if self._valid else None,
        )

    def _search_attributes(self):
        nxt = self._next_deadline()
        e = self._app.enterprise
        pairs = [sa.STATUS.value_set(self._stage.value), sa.STAGE.value_set(self._stage.value),
                 sa.DISTRICT.value_set(e.district.value), sa.ENTERPRISE.value_set(e.name),
                 sa.CREDIT_CODE.value_set(e.credit_code)]
        pairs.append(sa.NEXT_DEADLINE.value_set(nxt.ends_at) if nxt else sa.NEXT_DEADLINE.value_unset())
        if self._permit_number:
            pairs.append(sa.PERMIT_NUMBER.value_set(self._permit_number))
        if self._valid:
            pairs.append(sa.PERMIT_EXPIRY.value_set(WorkingCalendar.deadline_end(self._valid[1])))
        return pairs

    def _details(self) -> str:
        nxt = self._next_deadline()
        lines = [f"**{self._app.enterprise.name}** · {self._id} · stage **{self._stage.value}**"]
        if nxt:
            lines.append(f"next deadline: {nxt.label} — {nxt.due_date}{' (provisional)' if nxt.provisional else ''}"
                         f"{' OVERDUE' if nxt.state == 'overdue' else ''}")
        pending = sorted({t.body for t in self._tasks()})
        if pending:
            lines.append("waiting on: " + ", ".join(pending))
        if self._permit_number:
            lines.append(f"permit {self._permit_number} valid {self._valid[0]} – {self._valid[1]}")
        return "\n\n".join(lines)

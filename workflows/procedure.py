"""The licensing procedure of Art. 9–12 as a component: one for a new application, and again for a
renewal (Art. 14) or a change of approved matters (Art. 15), each on its own clocks.

It runs inside a workflow (PermitApplication, or Permit for renewals and changes) and records through
that workflow's journal. Read `run` top to bottom: it is the procedure of the measures. Each step waits
for the body the measures name (an update from that body's system, checked by a validator), under a
statutory or internal deadline on the working-day calendar. The decision clock runs beside the steps
from the day of acceptance: ALL 42 (20 working days, paused under ALL 45, extended once under Art. 12)
for applications and changes; the permit's expiry for a renewal, when it lapses into deemed renewal
(ALL 50).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import Deadline, DeadlineRequest, WorkdaysRequest
    from activities.licensing import AssessRequest, BanRequest
    from domain.application import Application
    from domain.authority import Actor, NotAuthorised, Step, authorise
    from domain.bodies import Body
    from domain.calendar import WorkingCalendar
    from domain.eligibility import Assessment
    from domain.events import EventType as E
    from domain.findings import Finding
    from domain.notices import notice
    from domain.policy import Policy
    from domain.status import OpenTask
    from workflows import short_calls
    from workflows.journal import Journal
    from workflows.licensing_messages import (
        CLOSED_STAGES, Accept, AnswerQuestion, Decide, DeadlineView, ExtendDeadline, FalseMaterials,
        NotifyCorrections, Outcome, PauseClock, PreliminaryOpinion, ProcedureKind, ResumeClock, ReviewDecision,
        Stage, SubmitCorrections, Submission, Withdraw,
    )

SYSTEM = "system"
ACTIVITY_TIMEOUT = timedelta(seconds=30)

# workflow.patched ids, one per change to the commands a running file replays (see docs/operations.md).
JOINT_REVIEW_CARDS = "joint-review-deadlines-first-and-cards"
UPDATES_WAIT_FOR_NEXT_STAGE = "updates-return-at-the-next-stage"
DECISION_LAPSE_TO_HOLDERS = "decision-lapse-carded-to-the-bodies-holding-the-file"

# What a decision records: the owner says which event and what it carries (a permit number, a new
# validity, the changed matters).
DecisionHook = Callable[[Decide], Awaitable[tuple[E, dict]]]


class Withdrawn(Exception):
    pass


async def compute_deadline(label: str, start: date, workdays: int) -> DeadlineView:
    """A statutory period on the working-day calendar, through the activity (answer kept in history)."""
    d = await short_calls.call(
        "compute_deadline", DeadlineRequest(label=label, start=start, workdays=workdays),
        result_type=Deadline, summary=label,
    )
    return DeadlineView(label=label, due_date=d.due_date, ends_at=d.ends_at, provisional=d.provisional,
                        start=start, workdays=workdays)


def authorised(actor: Actor, step: Step, app: Application, **kw) -> None:
    """Refuse (and log) unless `actor` is the body the measures name for `step` on this file."""
    try:
        authorise(actor, step, district=app.enterprise.district, credit_code=app.enterprise.credit_code, **kw)
    except NotAuthorised as e:
        workflow.logger.warning("refused: %s", e)
        raise refuse("NotAuthorised", str(e)) from None


def district_of(app: Application) -> str:
    return f"district:{app.enterprise.district.value}"


def applicant_of(app: Application) -> str:
    return f"enterprise:{app.enterprise.credit_code}"


def refuse(kind: str, message: str) -> ApplicationError:
    # The type tells the gateway which HTTP answer to give (403 / 409 / 422).
    return ApplicationError(message, type=kind, non_retryable=True)


class Procedure:
    def __init__(
        self,
        *,
        kind: ProcedureKind,
        case_id: str,
        application: Application,
        policy: Policy,
        received_on: date,
        journal: Journal,
        panel: tuple[Body, ...],
        on_decision: DecisionHook,
        lapses_into_deemed_renewal_on: date | None = None,
    ) -> None:
        self.kind = kind
        self.case_id = case_id
        self.app = application
        self.policy = policy
        self.received_on = received_on
        self.journal = journal
        self.panel = panel
        self._on_decision = on_decision
        self._renewal_expiry = lapses_into_deemed_renewal_on
        self.stage = Stage.COMPLETENESS
        self.deadlines: dict[str, DeadlineView] = {}
        self.findings: list[Finding] = []
        self.accepted_on: date | None = None
        self.reviews: dict[Body, ReviewDecision] = {}
        self._district_act: Accept | NotifyCorrections | FalseMaterials | None = None
        self._notified_items: set[str] = set()
        self._corrections: SubmitCorrections | None = None
        self._prelim: PreliminaryOpinion | None = None
        self._questions: dict[Body, str] = {}
        self._submission: Submission | None = None
        self._decision: Decide | None = None
        self._withdrawal: Withdraw | None = None
        self._paused: PauseClock | None = None
        self._paused_on: date | None = None
        self._clock_moved = False
        self._extensions = 0
        self._banned = False
        self._is_received = False
        self._internal: dict[str, DeadlineView] = {}  # reminders and escalations: not owed by anyone
        self._epoch = 0  # bumped when deadlines are recomputed, so every wait re-arms its timer
        self._cards = False
        # Each update returns once the file has reached its next stable state, so a caller's next step
        # (or its read of the inbox) never races the workflow.
        self._panel_open = False
        self._submission_open = False

    # ------------------------------------------------------------------ the procedure
    async def run(self) -> Stage:
        try:
            await self._receive()
            if await self._completeness():  # Art. 9
                clock = asyncio.create_task(self._decision_clock())  # ALL 42, Art. 12 (ALL 50 for renewals)
                await self._preliminary_review()  # Art. 9
                await self._joint_review()  # Art. 10
                await self._submit_to_government()  # Art. 10
                await self._decide()  # Art. 11-12
                await clock
        except Withdrawn:
            pass
        return self.stage

    async def _receive(self) -> None:
        assessment = await self._assess(self.app, self.received_on)
        self.findings = assessment.findings
        self.deadlines["notice"] = await self.deadline(
            "Art. 9 completeness notice", self.received_on, self.policy.completeness_notice_workdays
        )
        await self.journal.record(
            self._received_event(), self.applicant,
            received_on=self.received_on, enterprise=self.app.enterprise.name,
            credit_code=self.app.enterprise.credit_code, district=self.app.enterprise.district.value,
            policy_version=self.policy.version, findings=self.findings,
            notice_deadline=self.deadlines["notice"].due_date,
        )
        self._is_received = True

    def _received_event(self) -> E:
        return {ProcedureKind.APPLICATION: E.APPLICATION_RECEIVED, ProcedureKind.RENEWAL: E.RENEWAL_APPLIED,
                ProcedureKind.CHANGE: E.CHANGE_APPLIED}[self.kind]

    async def _completeness(self) -> bool:
        """Art. 9: accept, one notice of all corrections, or false materials (Art. 24); else deemed accepted."""
        materials_since = self.received_on
        while True:
            self.stage = Stage.COMPLETENESS
            if not await self.wait(lambda: self._district_act is not None, "notice"):
                # No notice in time: accepted from the day the (complete) materials were received.
                self.mark("notice", "overdue")
                await self._accept(SYSTEM, materials_since, E.DEEMED_ACCEPTED)
                return True
            self.mark("notice", "met")
            act, self._district_act = self._district_act, None
            if isinstance(act, Accept):
                await self._accept(act.actor.code, self.today(), E.ACCEPTED)
                return True
            if isinstance(act, FalseMaterials):
                await self._not_accepted(act)
                return False
            assert isinstance(act, NotifyCorrections)
            await self.wait(lambda: self._corrections is not None)
            corrected, self._corrections = self._corrections, None
            self.app = corrected.application
            materials_since = self.today()
            assessment = await self._assess(self.app, materials_since)
            self.findings = assessment.findings
            self.deadlines["notice"] = await self.deadline(
                "Art. 9 completeness notice", materials_since, self.policy.completeness_notice_workdays
            )
            self.stage = Stage.COMPLETENESS
            await self.journal.record(
                E.CORRECTIONS_SUBMITTED, corrected.actor.code, received_on=materials_since,
                findings=self.findings, notice_deadline=self.deadlines["notice"].due_date,
            )

    async def _accept(self, actor: str, accepted_on: date, type_: E) -> None:
        self.stage = Stage.PRELIMINARY_REVIEW
        self.deadlines["preliminary_review"] = await self.deadline(
            "Art. 9 preliminary review", accepted_on, self.policy.preliminary_review_workdays
        )
        if self._renewal_expiry is None:
            self.deadlines["decision"] = await self.deadline("ALL 42 decision", accepted_on, self.policy.decision_workdays)
        else:  # Art. 14: the government decides before the permit expires; ALL 50 deems it renewed otherwise
            cal_end = WorkingCalendar.deadline_end(self._renewal_expiry)
            self.deadlines["decision"] = DeadlineView(label="Art. 14 renewal decision before expiry",
                                                      due_date=self._renewal_expiry, ends_at=cal_end, provisional=False)
        await self.journal.record(
            type_, actor, accepted_on=accepted_on, decision_deadline=self.deadlines["decision"].due_date,
            decision_deadline_provisional=self.deadlines["decision"].provisional,
            **notice("accepted", accepted_on=accepted_on, due=self.deadlines["decision"].due_date),
        )
        self.accepted_on = accepted_on

    async def _not_accepted(self, act: FalseMaterials) -> None:
        """Art. 24 / ALL 78: not accepted, and no new application for the ban period."""
        self.stage = Stage.NOT_ACCEPTED
        await self.journal.record(E.FALSE_MATERIALS_FOUND, act.actor.code, reason=act.reason)
        ends_on = await workflow.execute_activity(
            "register_ban",
            BanRequest(
                credit_code=self.app.enterprise.credit_code, stream_id=self.case_id, article="24",
                reason=act.reason, starts_on=self.today(), years=self.policy.false_materials_ban_years,
            ),
            result_type=date, start_to_close_timeout=ACTIVITY_TIMEOUT, summary="Art. 24 ban registry",
        )
        await self.journal.record(
            E.APPLICANT_BANNED, SYSTEM, ban_ends_on=ends_on, **notice("banned", ends_on=ends_on, reason=act.reason)
        )
        self._banned = True

    async def _preliminary_review(self) -> None:
        """Art. 9: the district's opinion within 5 working days of acceptance, sent to commerce."""
        await self._await_with_escalation(lambda: self._prelim is not None, "preliminary_review", self.district, "9")
        self._advance(Stage.PRELIMINARY_REVIEW, Stage.JOINT_REVIEW)

    async def _joint_review(self) -> None:
        """Art. 10: the departments review in parallel, each under its own sub-deadline."""
        opened = self.today()
        # Newer files compute every reviewer's deadline before the panel opens, so each inbox shows it
        # from the first moment, and an overdue review gets a yellow card, then a red one, like every step.
        self._cards = workflow.patched(JOINT_REVIEW_CARDS)
        if self._cards:
            for agency in self.panel:
                await self._review_deadlines(agency, opened)
        await self.journal.record(E.JOINT_REVIEW_OPENED, Body.COMMERCE.value, panel=[b.value for b in self.panel])
        self._panel_open = True
        await asyncio.gather(*(self._agency_review(agency, opened) for agency in self.panel))
        self._advance(Stage.JOINT_REVIEW, Stage.SUBMISSION)

    async def _review_deadlines(self, agency: Body, opened: date) -> None:
        self._internal[f"reminder:{agency.value}"] = await self.deadline(
            f"{agency.value} joint review reminder", opened, self.policy.joint_review_reminder_workdays
        )
        self.deadlines[f"review:{agency.value}"] = await self.deadline(
            f"{agency.value} joint review", opened, self.policy.joint_review_workdays
        )

    async def _agency_review(self, agency: Body, opened: date) -> None:
        key, reminder = f"review:{agency.value}", f"reminder:{agency.value}"
        first = True
        while True:
            if not (first and self._cards):
                await self._review_deadlines(agency, opened)
            first = False
            answered = lambda: agency in self.reviews or agency in self._questions  # noqa: E731
            if not await self.wait(answered, reminder):
                await self.journal.record(E.DEADLINE_REMINDER, SYSTEM, article="10", body=agency.value,
                                          step="joint_review", due_date=self.deadlines[key].due_date)
            if self._cards:
                # Escalated, never dropped: the review stays open until the agency answers.
                await self._await_with_escalation(answered, key, agency.value, "10")
            elif not await self.wait(answered, key):
                self.mark(key, "overdue")
                await self.journal.record(E.DEADLINE_ESCALATED, SYSTEM, article="10", body=agency.value,
                                          step="joint_review", to=Body.COMMERCE.value)
                await self.wait(answered)
            if agency in self.reviews:
                self.mark(key, "met")
                return
            # A question to the applicant: the agency's clock starts again when the answer arrives.
            await self.wait(lambda: agency not in self._questions)
            opened = self.today()

    async def _submit_to_government(self) -> None:
        """Art. 10: commerce submits with the consolidated opinions."""
        self.deadlines["submission"] = await self.deadline(
            "Art. 10 submission to the government", self.today(), self.policy.submission_workdays
        )
        await self.journal.record(E.DEADLINE_REMINDER, SYSTEM, article="10", body=Body.COMMERCE.value,
                                  step="submit_to_government", due_date=self.deadlines["submission"].due_date,
                                  reviews={b.value: r.decision for b, r in self.reviews.items()})
        self._submission_open = True
        await self._await_with_escalation(lambda: self._submission is not None, "submission", Body.COMMERCE.value, "10")
        self._advance(Stage.SUBMISSION, Stage.DECISION)

    async def _decide(self) -> None:
        """Art. 11: the government approves, or refuses in writing with reasons."""
        await self.wait(lambda: self._decision is not None or self.stage is Stage.DEEMED_RENEWED)

    async def _decision_clock(self) -> None:
        """ALL 42 / Art. 12: the decision deadline from acceptance; paused (ALL 45) and extended (Art. 12).
        For a renewal the deadline is the expiry, and its lapse is a deemed renewal (ALL 50)."""
        while self.stage not in CLOSED_STAGES:
            if self._paused is not None:
                await workflow.wait_condition(lambda: self._paused is None or self.closed())
                continue
            self._clock_moved = False
            try:
                await workflow.wait_condition(
                    lambda: self.closed() or self._clock_moved or self._paused is not None,
                    timeout=self.until(self.deadlines["decision"].ends_at),
                    timeout_summary=self.deadlines["decision"].label,
                )
            except asyncio.TimeoutError:
                if self.kind is ProcedureKind.RENEWAL:
                    await self._deemed_renewed()
                    return
                # There is no deemed approval of a new permit: the lapse is recorded and escalated.
                self.mark("decision", "overdue")
                if workflow.patched(DECISION_LAPSE_TO_HOLDERS):
                    await self._decision_lapsed()
                else:
                    await self.journal.record(E.DEADLINE_OVERDUE, SYSTEM, body=Body.MUNICIPAL_GOV.value,
                                              step="decide", due_date=self.deadlines["decision"].due_date)
                    await self.journal.record(E.DEADLINE_ESCALATED, SYSTEM, article="12",
                                              body=Body.MUNICIPAL_GOV.value, step="decide", to="government head")
                await workflow.wait_condition(lambda: self.closed() or self._clock_moved)

    def holders(self) -> list[str]:
        """The bodies that hold the file up at this moment: whose inbox its open step is in."""
        if self.stage in (Stage.COMPLETENESS, Stage.PRELIMINARY_REVIEW):
            return [district_of(self.app)]
        if self.stage is Stage.JOINT_REVIEW:
            waiting = [a.value for a in self.panel if a not in self.reviews and a not in self._questions]
            return waiting or [Body.COMMERCE.value]  # every review in (or asked): commerce consolidates
        if self.stage is Stage.SUBMISSION:
            return [Body.COMMERCE.value]
        return [Body.MUNICIPAL_GOV.value]

    async def _decision_lapsed(self) -> None:
        """ALL 42 lapsed: the yellow and red card go to the bodies still holding the file (a panel agency
        that has not answered, the district, commerce), not to the government, which may never have seen
        it; each is escalated to the body above it. The government's own lapse goes to its head."""
        due = self.deadlines["decision"].due_date
        for body in self.holders():
            step = "decide" if body == Body.MUNICIPAL_GOV.value else self.stage.value
            await self.journal.record(E.DEADLINE_OVERDUE, SYSTEM, body=body, step=step, due_date=due,
                                      period="ALL 42 decision")
            to = {Body.MUNICIPAL_GOV.value: "government head", Body.COMMERCE.value: Body.MUNICIPAL_GOV.value}.get(
                body, Body.COMMERCE.value)
            await self.journal.record(E.DEADLINE_ESCALATED, SYSTEM, article="12", body=body, step=step, to=to,
                                      period="ALL 42 decision")

    async def _deemed_renewed(self) -> None:
        self.stage = Stage.DEEMED_RENEWED
        self.mark("decision", "overdue")
        type_, data = await self._on_decision(Decide(actor=Actor(body=Body.SYSTEM), approve=True,
                                                     reasons="ALL 50: no decision before expiry"))
        await self.journal.record(E.DEEMED_RENEWED, SYSTEM, **data)

    def _advance(self, from_: Stage, to: Stage) -> None:
        # Handlers move the stage too (a submission opens the decision, a decision closes the file): the
        # procedure only ever moves forward from where it stands, never back over a handler's move.
        if self.stage is from_:
            self.stage = to

    # ------------------------------------------------------------------ waiting, deadlines
    async def wait(self, done: Callable[[], bool], key: str | None = None) -> bool:
        """Wait for `done` (or withdrawal); with the deadline `key`, False if it passed first.

        A deadline may move while we wait (an official holiday schedule loaded): the timer is re-armed.
        """
        cond = lambda: done() or self._withdrawal is not None  # noqa: E731
        if key is None:
            await workflow.wait_condition(cond)
        while not cond():
            dl, epoch = self._deadline_of(key), self._epoch
            remaining = self.until(dl.ends_at)
            try:
                if remaining <= timedelta(0):
                    raise asyncio.TimeoutError
                await workflow.wait_condition(lambda: cond() or self._epoch != epoch,
                                              timeout=remaining, timeout_summary=dl.label)
            except asyncio.TimeoutError:
                if self._withdrawal is None:
                    return False
        if self._withdrawal is not None:
            raise Withdrawn
        return True

    def _deadline_of(self, key: str) -> DeadlineView:
        return self.deadlines[key] if key in self.deadlines else self._internal[key]

    async def recompute_provisional(self) -> list[DeadlineView]:
        """Recompute open provisional deadlines on the calendar as it now is; returns the ones that moved."""
        moved = []
        for table in (self.deadlines, self._internal):
            for key, d in list(table.items()):
                if not d.provisional or d.state not in ("open", "paused") or d.start is None:
                    continue
                new = await self.deadline(d.label, d.start, d.workdays)
                table[key] = new.model_copy(update={"state": d.state})
                if (new.due_date, new.provisional) != (d.due_date, d.provisional):
                    moved.append(table[key])
        if moved:
            self._epoch += 1
            self._clock_moved = True
        return moved

    async def _await_with_escalation(self, done: Callable[[], bool], key: str, body: str, article: str) -> None:
        """A step with a deadline: overdue when it passes (yellow card), escalated after the red-card period,
        never dropped."""
        if await self.wait(done, key):
            if self.deadlines[key].state != "overdue":
                self.mark(key, "met")
            return
        self.mark(key, "overdue")
        dl = self.deadlines[key]
        await self.journal.record(E.DEADLINE_OVERDUE, SYSTEM, article=article, body=body, step=key, due_date=dl.due_date)
        self._internal[f"{key}:escalation"] = await self.deadline(
            f"{dl.label} escalation", dl.due_date, self.policy.overdue_red_card_workdays)
        if not await self.wait(done, f"{key}:escalation"):
            to = Body.MUNICIPAL_GOV.value if body == Body.COMMERCE.value else Body.COMMERCE.value
            await self.journal.record(E.DEADLINE_ESCALATED, SYSTEM, article=article, body=body, step=key, to=to)
            await self.wait(done)

    async def deadline(self, label: str, start: date, workdays: int) -> DeadlineView:
        return await compute_deadline(label, start, workdays)

    async def _assess(self, app: Application, on: date) -> Assessment:
        return await short_calls.call(
            "assess_application", AssessRequest(application=app, on=on, policy_version=self.policy.version),
            result_type=Assessment, summary="Art. 5-7 assessment",
        )

    def mark(self, key: str, state: str) -> None:
        self.deadlines[key] = self.deadlines[key].model_copy(update={"state": state})

    def until(self, instant: datetime) -> timedelta:
        return instant - workflow.now()

    def today(self) -> date:
        return WorkingCalendar.local_date(workflow.now())

    def closed(self) -> bool:
        return self.stage in CLOSED_STAGES

    @property
    def district(self) -> str:
        return district_of(self.app)

    @property
    def applicant(self) -> str:
        return applicant_of(self.app)

    # ------------------------------------------------------------------ the bodies act (validators, then handlers)
    async def received(self) -> None:
        # A body may answer before the receipt is recorded (an update can arrive with the first task).
        await workflow.wait_condition(lambda: self._is_received)

    def check(self, actor: Actor, step: Step, *stages: Stage, agency: Body | None = None) -> None:
        authorised(actor, step, self.app, agency=agency)
        if agency is not None and agency not in self.panel:
            raise refuse("NotAuthorised", f"{agency.value} is not on the review panel of this {self.kind.value}")
        if self.stage in CLOSED_STAGES:
            raise refuse("AlreadyDecided", f"the {self.kind.value} is closed: {self.stage.value}")
        if stages and self.stage not in stages:
            raise refuse("WrongStage", f"{step.value} is not open at stage {self.stage.value}")

    def check_district_act(self, msg: Accept | NotifyCorrections | FalseMaterials, step: Step) -> None:
        self.check(msg.actor, step)
        if self.accepted_on is not None:
            raise refuse("AlreadyDecided", f"accepted on {self.accepted_on} (Art. 9)")
        self.check(msg.actor, step, Stage.COMPLETENESS)
        if self._district_act is not None:
            raise refuse("AlreadyDecided", "the district has already acted on these materials")
        if isinstance(msg, NotifyCorrections) and self._notified_items:
            new = {f.item for f in self.findings} | {i.item for i in msg.items}
            if not new - self._notified_items:
                raise refuse("AlreadyDecided", "one notice only (Art. 9 一次告知): a second notice may raise only "
                             "matters first raised by the corrected materials")
        if isinstance(msg, NotifyCorrections) and not self.findings and not msg.items:
            raise refuse("Invalid", "nothing to correct: the assessment found nothing and the notice lists no item; "
                         "accept the application instead (Art. 9)")

    async def accept(self, msg: Accept) -> Outcome:
        self._district_act = msg
        await workflow.wait_condition(lambda: self.accepted_on is not None)
        return self.outcome(f"accepted on {self.accepted_on}")

    async def notify_corrections(self, msg: NotifyCorrections) -> Outcome:
        """Art. 9 一次告知: one notice listing every correction, pre-filled from the findings."""
        items = self.findings + [i for i in msg.items if i.item not in {f.item for f in self.findings}]
        if self._notified_items:  # after a correction: only matters the corrected materials first raised
            items = [i for i in items if i.item not in self._notified_items]
        self._notified_items |= {i.item for i in items}
        self._district_act = msg
        self.stage = Stage.CORRECTIONS
        self.mark("notice", "met")
        await self.journal.record(E.CORRECTIONS_NOTIFIED, msg.actor.code, items=items,
                                  **notice("corrections", items=items))
        return self.outcome(f"{len(items)} corrections notified")

    async def find_false_materials(self, msg: FalseMaterials) -> Outcome:
        self._district_act = msg
        await workflow.wait_condition(lambda: self._banned)
        return self.outcome("not accepted (Art. 24)")

    def check_corrections(self, msg: SubmitCorrections) -> None:
        self.check(msg.actor, Step.SUBMIT_CORRECTIONS, Stage.CORRECTIONS)
        if msg.application.enterprise.credit_code != self.app.enterprise.credit_code:
            raise refuse("Invalid", "corrections may not change the applicant (credit code)")

    async def submit_corrections(self, msg: SubmitCorrections) -> Outcome:
        self._corrections = msg
        await workflow.wait_condition(lambda: self.stage is not Stage.CORRECTIONS)
        return self.outcome("corrected materials received")

    def check_preliminary_review(self, msg: PreliminaryOpinion) -> None:
        self.check(msg.actor, Step.PRELIMINARY_REVIEW)
        if self._prelim is not None:
            raise refuse("AlreadyDecided", f"preliminary opinion already given: {self._prelim.opinion}")
        self.check(msg.actor, Step.PRELIMINARY_REVIEW, Stage.PRELIMINARY_REVIEW)

    async def preliminary_review(self, msg: PreliminaryOpinion) -> Outcome:
        self._prelim = msg
        await self.journal.record(E.PRELIMINARY_REVIEW_GIVEN, msg.actor.code, favourable=msg.favourable,
                                  opinion=msg.opinion, to=Body.COMMERCE.value)
        if workflow.patched(UPDATES_WAIT_FOR_NEXT_STAGE):
            await workflow.wait_condition(lambda: self._panel_open or self.closed())
        return self.outcome("preliminary opinion sent to commerce")

    def check_joint_review(self, msg: ReviewDecision) -> None:
        self.check(msg.actor, Step.JOINT_REVIEW, Stage.JOINT_REVIEW, agency=msg.agency)
        if msg.agency in self.reviews:
            r = self.reviews[msg.agency]
            raise refuse("AlreadyDecided", f"{msg.agency.value} already decided: {r.decision} {r.reasons}".strip())
        if msg.agency in self._questions:
            raise refuse("WrongStage", f"{msg.agency.value}'s question is waiting for the applicant's answer")
        if msg.decision in ("object", "question") and not msg.reasons.strip():
            raise refuse("Invalid", f"{'an objection' if msg.decision == 'object' else 'a question'} must give its "
                         "reasons (Art. 10-11)")

    async def joint_review(self, msg: ReviewDecision) -> Outcome:
        if msg.decision == "question":
            self._questions[msg.agency] = msg.reasons
            await self.journal.record(E.AGENCY_QUESTION_ASKED, msg.actor.code, agency=msg.agency.value,
                                      question=msg.reasons, **notice("question", agency=msg.agency, question=msg.reasons))
        else:
            self.reviews[msg.agency] = msg
            await self.journal.record(E.AGENCY_REVIEW_GIVEN, msg.actor.code, agency=msg.agency.value,
                                      decision=msg.decision, reasons=msg.reasons)
            last = all(a in self.reviews for a in self.panel)
            if last and workflow.patched(UPDATES_WAIT_FOR_NEXT_STAGE):  # commerce's submission opens
                await workflow.wait_condition(lambda: self._submission_open or self.closed())
        return self.outcome(f"{msg.agency.value}: {msg.decision}")

    def check_answer(self, msg: AnswerQuestion) -> None:
        self.check(msg.actor, Step.ANSWER_QUESTION, Stage.JOINT_REVIEW)
        if msg.agency not in self._questions:
            raise refuse("WrongStage", f"no open question from {msg.agency.value}")

    async def answer_question(self, msg: AnswerQuestion) -> Outcome:
        self._questions.pop(msg.agency)
        await self.journal.record(E.AGENCY_QUESTION_ANSWERED, msg.actor.code, agency=msg.agency.value, answer=msg.answer)
        return self.outcome(f"answer sent to {msg.agency.value}")

    def check_submission(self, msg: Submission) -> None:
        self.check(msg.actor, Step.SUBMIT_TO_GOVERNMENT)
        if self._submission is not None:
            raise refuse("AlreadyDecided", f"already submitted: {self._submission.recommendation}")
        self.check(msg.actor, Step.SUBMIT_TO_GOVERNMENT, Stage.SUBMISSION)

    async def submit_to_government(self, msg: Submission) -> Outcome:
        if workflow.patched(UPDATES_WAIT_FOR_NEXT_STAGE):  # recorded after the step's opening, in order
            await workflow.wait_condition(lambda: self._submission_open or self.closed())
        self._submission = msg
        self.stage = Stage.DECISION  # the government's task is in its inbox with this very event
        await self.journal.record(E.SUBMITTED_TO_GOVERNMENT, msg.actor.code, recommendation=msg.recommendation,
                                  consolidated_opinion=msg.consolidated_opinion,
                                  reviews={b.value: [r.decision, r.reasons] for b, r in self.reviews.items()})
        return self.outcome("submitted to the municipal government")

    def check_decide(self, msg: Decide) -> None:
        if self._decision is not None:
            raise refuse("AlreadyDecided", f"already decided: {'approved' if self._decision.approve else 'refused'}")
        self.check(msg.actor, Step.DECIDE, Stage.DECISION)
        if not msg.approve and not msg.reasons.strip():
            raise refuse("Invalid", "a refusal must give its reasons in writing (Art. 11)")

    async def decide(self, msg: Decide) -> Outcome:
        self._decision = msg
        overdue = self.deadlines["decision"].state == "overdue"
        type_, data = await self._on_decision(msg)
        self.stage = Stage.APPROVED if msg.approve else Stage.REFUSED
        self.mark("decision", "overdue" if overdue else "met")
        await self.journal.record(type_, msg.actor.code, reasons=msg.reasons, **data)
        return self.outcome(data.get("notice_en", self.stage.value))

    def check_pause(self, msg: PauseClock) -> None:
        self.check(msg.actor, Step.PAUSE_CLOCK, Stage.PRELIMINARY_REVIEW, Stage.JOINT_REVIEW, Stage.SUBMISSION, Stage.DECISION)
        if self.kind is ProcedureKind.RENEWAL:
            raise refuse("Invalid", "a renewal must be decided before expiry (Art. 14, ALL 50): its clock does not pause")
        if self._paused is not None:
            raise refuse("AlreadyDecided", f"the clock is already paused since {self._paused_on}")

    async def pause_clock(self, msg: PauseClock) -> Outcome:
        """ALL 45: time for hearings, testing, inspection or expert review is not counted."""
        self._paused, self._paused_on = msg, self.today()
        self.mark("decision", "paused")
        await self.journal.record(E.DECISION_CLOCK_PAUSED, msg.actor.code, cause=msg.cause,
                                  expected_workdays=msg.expected_workdays, reason=msg.reason,
                                  **notice("paused", cause=msg.cause, days=msg.expected_workdays, reason=msg.reason))
        return self.outcome("decision clock paused")

    def check_resume(self, msg: ResumeClock) -> None:
        self.check(msg.actor, Step.RESUME_CLOCK)
        if self._paused is None:
            raise refuse("WrongStage", "the decision clock is not paused")

    async def resume_clock(self, msg: ResumeClock) -> Outcome:
        paused_on, today = self._paused_on, self.today()
        days = await short_calls.call(
            "count_workdays", WorkdaysRequest(start=paused_on, end=today), result_type=int,
            summary="ALL 45 working days paused")
        old = self.deadlines["decision"]
        self.deadlines["decision"] = await self.deadline(old.label, old.due_date, days)
        self._paused, self._paused_on, self._clock_moved = None, None, True
        await self.journal.record(E.DECISION_CLOCK_RESUMED, msg.actor.code, paused_on=paused_on, resumed_on=today,
                                  paused_workdays=days, decision_deadline=self.deadlines["decision"].due_date)
        return self.outcome(f"resumed; deadline moved by {days} working days to {self.deadlines['decision'].due_date}")

    def check_extend(self, msg: ExtendDeadline) -> None:
        self.check(msg.actor, Step.EXTEND_DEADLINE, Stage.PRELIMINARY_REVIEW, Stage.JOINT_REVIEW, Stage.SUBMISSION, Stage.DECISION)
        if self.kind is ProcedureKind.RENEWAL:
            raise refuse("Invalid", "a renewal must be decided before expiry (Art. 14, ALL 50): it cannot be extended")
        if self._extensions >= self.policy.decision_extensions_allowed:
            raise refuse("AlreadyDecided", "the decision deadline may be extended once only (Art. 12)")
        if self.deadlines.get("decision") and self.deadlines["decision"].state == "overdue":
            raise refuse("Invalid", "the decision period has already lapsed: an extension is approved within it (Art. 12)")

    async def extend_deadline(self, msg: ExtendDeadline) -> Outcome:
        """Art. 12: once, by 10 working days, with the head's approval; the applicant is told why."""
        self._extensions += 1
        old = self.deadlines["decision"]
        self.deadlines["decision"] = await self.deadline(old.label, old.due_date, self.policy.decision_extension_workdays)
        if self._paused is not None:
            self.mark("decision", "paused")
        self._clock_moved = True
        new_due = self.deadlines["decision"].due_date
        await self.journal.record(E.DECISION_DEADLINE_EXTENDED, msg.actor.code, approver=msg.approver,
                                  reason=msg.reason, previous_due=old.due_date, decision_deadline=new_due,
                                  **notice("extended", until=new_due, reason=msg.reason))
        return self.outcome(f"extended to {new_due}")

    def check_withdraw(self, msg: Withdraw) -> None:
        self.check(msg.actor, Step.WITHDRAW)

    async def withdraw(self, msg: Withdraw) -> Outcome:
        self._withdrawal = msg
        self.stage = Stage.WITHDRAWN
        await self.journal.record(E.WITHDRAWN, msg.actor.code, reason=msg.reason, procedure=self.kind.value)
        return self.outcome("withdrawn")

    def outcome(self, detail: str) -> Outcome:
        return Outcome(applied=True, stage=self.stage, detail=detail)

    # ------------------------------------------------------------------ what others see
    def next_deadline(self) -> DeadlineView | None:
        open_ = [d for d in self.deadlines.values() if d.state in ("open", "overdue")]
        return min(open_, key=lambda d: d.ends_at) if open_ and not self.closed() else None

    @property
    def questions(self) -> dict[Body, str]:
        return self._questions

    def tasks(self) -> list[OpenTask]:
        def task(kind: str, body: str, key: str | None, suffix: str = "") -> OpenTask:
            d = self.deadlines.get(key) if key else None
            return OpenTask(task_id=f"{self.case_id}/{kind}{suffix}", body=body, kind=kind,
                            label=d.label if d else kind.replace("_", " "), due_date=d.due_date if d else None,
                            ends_at=d.ends_at if d else None, provisional=d.provisional if d else None)

        s = self.stage
        if s is Stage.COMPLETENESS:
            return [task("completeness", self.district, "notice")]
        if s is Stage.CORRECTIONS:
            return [task("submit_corrections", self.applicant, None)]
        if s is Stage.PRELIMINARY_REVIEW and self._prelim is None:
            return [task("preliminary_review", self.district, "preliminary_review")]
        if s is Stage.JOINT_REVIEW:
            return [task("joint_review", a.value, f"review:{a.value}", f"/{a.value}") for a in self.panel
                    if a not in self.reviews and a not in self._questions] + [
                task("answer_question", self.applicant, None, f"/{a.value}") for a in self._questions]
        if s is Stage.SUBMISSION:
            return [task("submit_to_government", Body.COMMERCE.value, "submission")]
        if s is Stage.DECISION:
            return [task("decide", Body.MUNICIPAL_GOV.value, "decision")]
        return []

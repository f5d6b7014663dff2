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
from typing import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.licensing import AssessRequest, BanRequest
    from domain.application import Application
    from domain.authority import Actor
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
        CLOSED_STAGES, Accept, Decide, DeadlineView, FalseMaterials,
        NotifyCorrections, Outcome, PauseClock, PreliminaryOpinion, ProcedureKind, ReviewDecision,
        Stage, SubmitCorrections, Submission, Withdraw,
    )
    from workflows.procedure_acts import BodiesAct
    from workflows.procedure_common import (
        ACTIVITY_TIMEOUT, DECISION_LAPSE_TO_HOLDERS, JOINT_REVIEW_CARDS, SYSTEM, DecisionHook, Withdrawn,
        applicant_of, compute_deadline, district_of,
    )


class Procedure(BodiesAct):
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
        return await short_calls.read(
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

"""What the bodies may do in a licensing procedure (Art. 9-12, 14, 15): for each step, the validator's
check (refuse before anything is written: wrong body, wrong stage, already decided) and the handler's act.

A mixin of `Procedure` (workflows/procedure.py), which owns the state these read and the stages they move.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import WorkdaysRequest
    from domain.authority import Actor, Step
    from domain.bodies import Body
    from domain.events import EventType as E
    from domain.notices import notice
    from workflows import short_calls
    from workflows.licensing_messages import (
        CLOSED_STAGES, Accept, AnswerQuestion, Decide, ExtendDeadline, FalseMaterials,
        NotifyCorrections, Outcome, PauseClock, PreliminaryOpinion, ProcedureKind, ResumeClock, ReviewDecision,
        Stage, SubmitCorrections, Submission, Withdraw,
    )
    from workflows.procedure_common import UPDATES_WAIT_FOR_NEXT_STAGE, authorised, refuse


class BodiesAct:
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
        days = await short_calls.read(
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

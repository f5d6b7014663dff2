"""The updates through which the bodies act in a licensing procedure (Art. 9–12, 14, 15).

Shared by the application workflow and the permit workflow (renewals, changes): each says which
procedure is open. Validators refuse before anything is written (a refused update leaves no history);
handlers wait until the file is received, then act.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.authority import Step
    from workflows.licensing_messages import (
        Accept, AnswerQuestion, Decide, ExtendDeadline, FalseMaterials, NotifyCorrections, Outcome, PauseClock,
        PreliminaryOpinion, ResumeClock, ReviewDecision, SubmitCorrections, Submission, Withdraw,
    )
    from workflows.procedure import Procedure


class ProcedureUpdates:
    def _open_procedure(self) -> Procedure:
        """The procedure messages go to; raises an ApplicationError when none is open."""
        raise NotImplementedError

    async def _ready(self) -> Procedure:
        p = self._open_procedure()
        await p.received()
        return p

    @workflow.update
    async def accept(self, msg: Accept) -> Outcome:
        return await (await self._ready()).accept(msg)

    @accept.validator
    def _v_accept(self, msg: Accept) -> None:
        self._open_procedure().check_district_act(msg, Step.ACCEPT)

    @workflow.update
    async def notify_corrections(self, msg: NotifyCorrections) -> Outcome:
        return await (await self._ready()).notify_corrections(msg)

    @notify_corrections.validator
    def _v_notify(self, msg: NotifyCorrections) -> None:
        self._open_procedure().check_district_act(msg, Step.NOTIFY_CORRECTIONS)

    @workflow.update
    async def find_false_materials(self, msg: FalseMaterials) -> Outcome:
        return await (await self._ready()).find_false_materials(msg)

    @find_false_materials.validator
    def _v_false(self, msg: FalseMaterials) -> None:
        self._open_procedure().check_district_act(msg, Step.FIND_FALSE_MATERIALS)

    @workflow.update
    async def submit_corrections(self, msg: SubmitCorrections) -> Outcome:
        return await (await self._ready()).submit_corrections(msg)

    @submit_corrections.validator
    def _v_corrections(self, msg: SubmitCorrections) -> None:
        self._open_procedure().check_corrections(msg)

    @workflow.update
    async def preliminary_review(self, msg: PreliminaryOpinion) -> Outcome:
        return await (await self._ready()).preliminary_review(msg)

    @preliminary_review.validator
    def _v_prelim(self, msg: PreliminaryOpinion) -> None:
        self._open_procedure().check_preliminary_review(msg)

    @workflow.update
    async def joint_review(self, msg: ReviewDecision) -> Outcome:
        return await (await self._ready()).joint_review(msg)

    @joint_review.validator
    def _v_review(self, msg: ReviewDecision) -> None:
        self._open_procedure().check_joint_review(msg)

    @workflow.update
    async def answer_question(self, msg: AnswerQuestion) -> Outcome:
        return await (await self._ready()).answer_question(msg)

    @answer_question.validator
    def _v_answer(self, msg: AnswerQuestion) -> None:
        self._open_procedure().check_answer(msg)

    @workflow.update
    async def submit_to_government(self, msg: Submission) -> Outcome:
        return await (await self._ready()).submit_to_government(msg)

    @submit_to_government.validator
    def _v_submit(self, msg: Submission) -> None:
        self._open_procedure().check_submission(msg)

    @workflow.update
    async def decide(self, msg: Decide) -> Outcome:
        return await (await self._ready()).decide(msg)

    @decide.validator
    def _v_decide(self, msg: Decide) -> None:
        self._open_procedure().check_decide(msg)

    @workflow.update
    async def pause_clock(self, msg: PauseClock) -> Outcome:
        return await (await self._ready()).pause_clock(msg)

    @pause_clock.validator
    def _v_pause(self, msg: PauseClock) -> None:
        self._open_procedure().check_pause(msg)

    @workflow.update
    async def resume_clock(self, msg: ResumeClock) -> Outcome:
        return await (await self._ready()).resume_clock(msg)

    @resume_clock.validator
    def _v_resume(self, msg: ResumeClock) -> None:
        self._open_procedure().check_resume(msg)

    @workflow.update
    async def extend_deadline(self, msg: ExtendDeadline) -> Outcome:
        return await (await self._ready()).extend_deadline(msg)

    @extend_deadline.validator
    def _v_extend(self, msg: ExtendDeadline) -> None:
        self._open_procedure().check_extend(msg)

    @workflow.update
    async def withdraw(self, msg: Withdraw) -> Outcome:
        return await (await self._ready()).withdraw(msg)

    @withdraw.validator
    def _v_withdraw(self, msg: Withdraw) -> None:
        self._open_procedure().check_withdraw(msg)

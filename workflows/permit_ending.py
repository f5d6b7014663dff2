"""Ending a permit before its time: Art. 25 termination (district review → commerce report → government
decision, each recorded) and Art. 24 revocation (commerce reports, the government revokes, the applicant
is barred).

A mixin of the Permit workflow (workflows/permit.py), which owns the state it reads and writes.
"""

from __future__ import annotations

from datetime import date

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.licensing import BanRequest
    from domain.authority import Actor, Step
    from domain.bodies import Body
    from domain.events import EventType as E
    from workflows.licensing_messages import Outcome
    from workflows.permit_messages import (
        ProposeTermination, RevocationCase, RevocationDecision, RevocationReport, TerminationCase,
        TerminationDecision, TerminationReport, TerminationReview,
    )
    from workflows.procedure_common import ACTIVITY_TIMEOUT, SYSTEM, refuse


class PermitEnding:
    async def _propose(self, case: TerminationCase) -> None:
        self._s.termination = case
        await self._journal.record(E.TERMINATION_PROPOSED, case.proposed_by, cause=case.cause, basis=case.basis,
                                   to=self._district)

    @workflow.update
    async def propose_termination(self, msg: ProposeTermination) -> Outcome:
        await self._in_force()
        await self._propose(TerminationCase(cause=msg.cause, basis=msg.basis, proposed_by=msg.actor.code))
        return self._outcome(f"termination under Art. 25({msg.cause}) proposed; the district reviews")

    @propose_termination.validator
    def _v_propose(self, msg: ProposeTermination) -> None:
        self._check(msg.actor, Step.PROPOSE_TERMINATION, cause=msg.cause)
        if self._s.termination is not None:
            raise refuse("AlreadyDecided", f"a termination under Art. 25({self._s.termination.cause}) is already open")

    @workflow.update
    async def termination_review(self, msg: TerminationReview) -> Outcome:
        await self._in_force()
        self._s.termination.step = "termination_report"
        await self._journal.record(E.TERMINATION_REVIEWED, msg.actor.code, agree=msg.agree, opinion=msg.opinion,
                                   to=Body.COMMERCE.value)
        return self._outcome("reviewed; commerce reports")

    @termination_review.validator
    def _v_tr(self, msg: TerminationReview) -> None:
        self._check_termination_step(msg.actor, Step.TERMINATION_REVIEW)

    @workflow.update
    async def termination_report(self, msg: TerminationReport) -> Outcome:
        await self._in_force()
        self._s.termination.step = "decide_termination"
        await self._journal.record(E.TERMINATION_REPORTED, msg.actor.code, recommend=msg.recommend, report=msg.report,
                                   to=Body.MUNICIPAL_GOV.value)
        return self._outcome("reported; the government decides")

    @termination_report.validator
    def _v_trep(self, msg: TerminationReport) -> None:
        self._check_termination_step(msg.actor, Step.TERMINATION_REPORT)

    @workflow.update
    async def decide_termination(self, msg: TerminationDecision) -> Outcome:
        await self._in_force()
        case, self._s.termination = self._s.termination, None
        if msg.terminate:
            self._s.status = "terminated"
            await self._journal.record(E.TERMINATED, msg.actor.code, cause=case.cause, basis=case.basis,
                                       reasons=msg.reasons)
            return self._outcome(f"terminated under Art. 25({case.cause})")
        await self._journal.record(E.TERMINATION_DECLINED, msg.actor.code, cause=case.cause, reasons=msg.reasons)
        return self._outcome("termination declined; the permit stays in force")

    @decide_termination.validator
    def _v_tdec(self, msg: TerminationDecision) -> None:
        self._check_termination_step(msg.actor, Step.DECIDE_TERMINATION)

    def _check_termination_step(self, actor: Actor, step: Step) -> None:
        self._check(actor, step)
        if self._s.termination is None or self._s.termination.step != step.value:
            raise refuse("WrongStage", f"no Art. 25 termination waiting for {step.value.replace('_', ' ')}")

    @workflow.update
    async def report_revocation(self, msg: RevocationReport) -> Outcome:
        await self._in_force()
        self._s.revocation = RevocationCase(ground=msg.ground, basis=msg.basis)
        await self._journal.record(E.REVOCATION_REPORTED, msg.actor.code, ground=msg.ground, basis=msg.basis,
                                   to=Body.MUNICIPAL_GOV.value)
        return self._outcome("revocation reported; the government decides (Art. 24)")

    @report_revocation.validator
    def _v_rrep(self, msg: RevocationReport) -> None:
        self._check(msg.actor, Step.REPORT_REVOCATION)
        if self._s.revocation is not None:
            raise refuse("AlreadyDecided", "a revocation is already before the government")

    @workflow.update
    async def decide_revocation(self, msg: RevocationDecision) -> Outcome:
        await self._in_force()
        case, self._s.revocation = self._s.revocation, None
        if not msg.revoke:
            await self._journal.record(E.REVOCATION_DECLINED, msg.actor.code, reasons=msg.reasons)
            return self._outcome("revocation declined")
        # Art. 24 / ALL 69, 79: obtained by fraud or bribery bars the applicant for 3 years, otherwise 1.
        years = self._policy.fraud_ban_years if case.ground == "fraud_or_bribery" else self._policy.false_materials_ban_years
        self._s.status = "revoked"
        await self._journal.record(E.REVOKED, msg.actor.code, ground=case.ground, basis=case.basis, reasons=msg.reasons)
        ends_on = await workflow.execute_activity(
            "register_ban", BanRequest(credit_code=self._app.enterprise.credit_code, stream_id=self._id,
                                       article="24" if years == 1 else "ALL 79", reason=case.basis,
                                       starts_on=self._today(), years=years),
            result_type=date, start_to_close_timeout=ACTIVITY_TIMEOUT, summary="Art. 24 ban registry")
        await self._journal.record(E.APPLICANT_BANNED, SYSTEM, ban_ends_on=ends_on, years=years)
        return self._outcome(f"revoked; no new application before {ends_on}")

    @decide_revocation.validator
    def _v_rdec(self, msg: RevocationDecision) -> None:
        self._check(msg.actor, Step.DECIDE_REVOCATION)
        if self._s.revocation is None:
            raise refuse("WrongStage", "no revocation has been reported (Art. 24)")

    def _outcome(self, detail: str) -> Outcome:
        return Outcome(applied=True, stage=self._stage(), detail=detail)

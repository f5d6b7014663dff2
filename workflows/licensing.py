"""A new application, from receipt to the government's decision (Art. 5–12, 24).

The procedure itself is `workflows/procedure.py`; this workflow owns the file while it is an
application, and on approval hands it over to the permit's own workflow (`workflows/permit.py`) by
continuing as new: same workflow id, same event stream, same clock.
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.bodies import JOINT_REVIEW_PANEL
    from domain.calendar import WorkingCalendar
    from domain.eligibility import years_after
    from domain.events import EventType as E
    from domain.notices import notice
    from domain.policy import Policy, policy
    from domain.status import StatusSnapshot
    from workflows import search_attributes as sa
    from workflows.journal import Journal
    from workflows.licensing_messages import Decide, LicensingInput, LicensingStatus, ProcedureKind, Stage
    from workflows.permit_messages import PermitInput, PermitState
    from workflows.procedure import Procedure
    from workflows.procedure_common import ACTIVITY_TIMEOUT
    from workflows.procedure_updates import ProcedureUpdates

# workflow.patched id: approved applications continue as the permit's workflow (before: they ended).
PERMIT_HANDOVER = "permit-in-force-handover"


@workflow.defn(name="PermitApplication")
class PermitApplication(ProcedureUpdates):
    @workflow.init
    def __init__(self, inp: LicensingInput) -> None:
        self._id = inp.application_id
        self._policy: Policy = policy(inp.policy_version)
        self._permit_number: str | None = None
        self._valid: tuple[date, date] | None = None
        self._journal = Journal(self._id, self._snapshot, self._search_attributes, self._details)
        self._proc = Procedure(
            kind=ProcedureKind.APPLICATION, case_id=self._id, application=inp.application, policy=self._policy,
            received_on=WorkingCalendar.local_date(inp.received_at), journal=self._journal,
            panel=JOINT_REVIEW_PANEL, on_decision=self._on_decision,
        )

    @workflow.run
    async def run(self, inp: LicensingInput) -> LicensingStatus:
        stage = await self._proc.run()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if stage is Stage.APPROVED and workflow.patched(PERMIT_HANDOVER):
            valid_from, valid_until = self._valid
            workflow.continue_as_new(
                PermitInput(
                    application_id=self._id, permit_number=self._permit_number, application=self._proc.app,
                    policy_version=self._policy.version, journal_version=self._journal.version,
                    state=PermitState(valid_from=valid_from, valid_until=valid_until),
                ),
                workflow="Permit",
            )
        return self.status()

    def _open_procedure(self) -> Procedure:
        return self._proc

    @workflow.signal
    async def recompute_deadlines(self) -> None:
        """An official holiday schedule was loaded: provisional deadlines are computed again (ALL 82)."""
        await self._proc.received()
        moved = await self._proc.recompute_provisional()
        if moved:
            await self._journal.record(E.DEADLINES_RECOMPUTED, "system",
                                       deadlines={d.label: [d.due_date, d.provisional] for d in moved})

    async def _on_decision(self, msg: Decide) -> tuple[E, dict]:
        """Art. 11: approval gives a permit number and 2 years' validity (Art. 14); refusal its reasons."""
        if not msg.approve:
            return E.REFUSED, notice("refused", reasons=msg.reasons)
        decided_on = self._proc.today()
        self._permit_number = await workflow.execute_activity(
            "next_permit_number", decided_on.year, result_type=str, start_to_close_timeout=ACTIVITY_TIMEOUT,
            summary="Art. 11 permit number")
        until = years_after(decided_on, self._policy.validity_years) - timedelta(days=1)
        self._valid = (decided_on, until)
        return E.APPROVED, dict(permit_number=self._permit_number, valid_from=decided_on, valid_until=until,
                                **notice("approved", number=self._permit_number, until=until))

    # ------------------------------------------------------------------ what others see
    @workflow.query
    def status(self) -> LicensingStatus:
        p = self._proc
        return LicensingStatus(
            application_id=self._id, stage=p.stage, accepted_on=p.accepted_on, next_deadline=p.next_deadline(),
            deadlines=list(p.deadlines.values()), pending=[t.body for t in p.tasks()],
            findings=p.findings, reviews={b.value: r.decision for b, r in p.reviews.items()},
            permit_number=self._permit_number, valid_from=self._valid[0] if self._valid else None,
            valid_until=self._valid[1] if self._valid else None, policy_version=self._policy.version,
        )

    def _snapshot(self) -> StatusSnapshot:
        p, e = self._proc, self._proc.app.enterprise
        nxt = p.next_deadline()
        return StatusSnapshot(
            kind="application", status=p.stage.value, stage=p.stage.value, enterprise_name=e.name,
            credit_code=e.credit_code, district=e.district.value, permit_number=self._permit_number,
            policy_version=self._policy.version, workflow_id=workflow.info().workflow_id,
            next_deadline_at=nxt.ends_at if nxt else None, next_deadline_label=nxt.label if nxt else None,
            next_deadline_provisional=nxt.provisional if nxt else None,
            pending=sorted({t.body for t in p.tasks()}), tasks=p.tasks(),
            valid_from=self._valid[0] if self._valid else None, valid_until=self._valid[1] if self._valid else None,
        )

    def _search_attributes(self):
        p, e = self._proc, self._proc.app.enterprise
        nxt = p.next_deadline()
        pairs = [sa.STATUS.value_set(p.stage.value), sa.STAGE.value_set(p.stage.value),
                 sa.DISTRICT.value_set(e.district.value), sa.ENTERPRISE.value_set(e.name),
                 sa.CREDIT_CODE.value_set(e.credit_code)]
        pairs.append(sa.NEXT_DEADLINE.value_set(nxt.ends_at) if nxt else sa.NEXT_DEADLINE.value_unset())
        if self._permit_number:
            pairs.append(sa.PERMIT_NUMBER.value_set(self._permit_number))
        if self._valid:
            pairs.append(sa.PERMIT_EXPIRY.value_set(WorkingCalendar.deadline_end(self._valid[1])))
        return pairs

    def _details(self) -> str:
        p = self._proc
        nxt = p.next_deadline()
        lines = [f"**{p.app.enterprise.name}** · {self._id} · stage **{p.stage.value}**"]
        if nxt:
            lines.append(f"next deadline: {nxt.label} — {nxt.due_date}{' (provisional)' if nxt.provisional else ''}"
                         f"{' OVERDUE' if nxt.state == 'overdue' else ''}")
        pending = sorted({t.body for t in p.tasks()})
        if pending:
            lines.append("waiting on: " + ", ".join(pending))
        if self._permit_number:
            lines.append(f"permit {self._permit_number} valid {self._valid[0]} – {self._valid[1]}")
        return "\n\n".join(lines)

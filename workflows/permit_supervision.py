"""The permit's part in the annual supervisory inspection (Art. 22): the inspection is recorded on the
permit, a breach becomes a rectification order with a time limit, and at the limit the order is verified
or escalated into an Art. 25 termination proposal.

A mixin of the Permit workflow (workflows/permit.py), which owns the state it reads and writes.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.authority import Step
    from domain.bodies import Body
    from domain.events import EventType as E
    from workflows.licensing_messages import Outcome
    from workflows.permit_messages import (
        InspectionReport, RectificationOrder, RectificationReport, RectificationVerdict, TerminationCase,
    )
    from workflows.procedure_common import SYSTEM, refuse


class PermitSupervision:
    async def _rectification(self) -> None:
        """Art. 22: at the time limit of a rectification order the breach is verified, or escalated: an
        order nothing was reported on becomes an Art. 25(3)/(4) termination proposal."""
        while not self._closed():
            await workflow.wait_condition(lambda: self._closed() or self._s.rectification is not None)
            open_ = lambda: self._s.rectification is not None  # noqa: E731
            if self._closed() or not await self._until(
                    lambda: self._s.rectification.deadline.ends_at if open_() else workflow.now(), lambda: not open_(),
                    "Art. 22 rectification time limit"):
                return
            order = self._s.rectification
            if order is None:
                continue  # verified in time
            order.deadline = order.deadline.model_copy(update={"state": "overdue"})
            if order.reported is None:
                self._s.rectification = None
                await self._journal.record(E.RECTIFICATION_FAILED, SYSTEM, year=order.year, breaches=order.breaches,
                                           reason="nothing reported by the time limit")
                if self._s.termination is None:
                    await self._propose(TerminationCase(cause=order.cause, proposed_by=SYSTEM,
                                                        basis=f"Art. 22 rectification of {order.year} not done: "
                                                              + "; ".join(order.breaches)))
                continue
            # Reported but not yet verified: commerce is late (a yellow card), the order stays open.
            await self._journal.record(E.DEADLINE_OVERDUE, SYSTEM, article="22", body=Body.COMMERCE.value,
                                       step="verify_rectification", due_date=order.deadline.due_date)
            await workflow.wait_condition(lambda: self._closed() or self._s.rectification is not order)

    @workflow.update
    async def record_inspection(self, msg: InspectionReport) -> Outcome:
        """The annual supervisory inspection of this permit; breaches lead to a rectification order."""
        await self._in_force()
        self._s.inspected_years.append(msg.year)
        breaches = [f"({i.item}) {f}" for i in msg.items if i.outcome == "breach" for f in (i.findings or [i.summary])]
        await self._journal.record(E.INSPECTION_RECORDED, msg.actor.code, year=msg.year, campaign_id=msg.campaign_id,
                                   inspector=msg.inspector, items=[i.model_dump() for i in msg.items],
                                   breaches=breaches)
        if not breaches:
            return self._outcome(f"{msg.year} inspection: no breach")
        if self._s.rectification is not None:  # one order at a time: the new breaches join the open one
            self._s.rectification.breaches += breaches
            return self._outcome(f"{msg.year} inspection: breaches added to the open rectification order")
        deadline = await self._deadline("Art. 22 rectification", self._today(), self._policy.rectification_workdays)
        cause = "3" if any(i.item == 3 and i.outcome == "breach" for i in msg.items) else "4"
        self._s.rectification = RectificationOrder(year=msg.year, breaches=breaches, cause=cause, deadline=deadline)
        self._epoch += 1
        await self._journal.record(
            E.RECTIFICATION_ORDERED, msg.actor.code, year=msg.year, breaches=breaches, due_date=deadline.due_date,
            notice_zh=f"经{msg.year}年度监督检查，发现下列问题，责令于{deadline.due_date}前整改完毕（第二十二条）：" + "；".join(breaches),
            notice_en=f"The {msg.year} supervisory inspection found the following; rectify them by {deadline.due_date} "
                      f"(Art. 22): " + "; ".join(breaches))
        return self._outcome(f"rectification ordered, due {deadline.due_date}")

    @record_inspection.validator
    def _v_inspection(self, msg: InspectionReport) -> None:
        self._check(msg.actor, Step.RECORD_INSPECTION)
        if msg.year in self._s.inspected_years:
            raise refuse("AlreadyDecided", f"the {msg.year} inspection of permit {self._number} is already recorded")
        if sorted(i.item for i in msg.items) != [1, 2, 3, 4]:
            raise refuse("Invalid", "an inspection covers the four items of Art. 22, once each")

    @workflow.update
    async def report_rectification(self, msg: RectificationReport) -> Outcome:
        await self._in_force()
        self._s.rectification.reported = msg.description
        await self._journal.record(E.RECTIFICATION_REPORTED, msg.actor.code, description=msg.description,
                                   to=Body.COMMERCE.value)
        return self._outcome("rectification reported; commerce verifies")

    @report_rectification.validator
    def _v_rect_report(self, msg: RectificationReport) -> None:
        self._check(msg.actor, Step.REPORT_RECTIFICATION)
        if self._s.rectification is None:
            raise refuse("WrongStage", "no rectification order is open (Art. 22)")
        if self._s.rectification.reported is not None:
            raise refuse("AlreadyDecided", f"rectification already reported: {self._s.rectification.reported}")

    @workflow.update
    async def verify_rectification(self, msg: RectificationVerdict) -> Outcome:
        await self._in_force()
        order, self._s.rectification = self._s.rectification, None
        if msg.rectified:
            await self._journal.record(E.RECTIFICATION_VERIFIED, msg.actor.code, year=order.year, remarks=msg.remarks)
            return self._outcome("rectified")
        await self._journal.record(E.RECTIFICATION_FAILED, msg.actor.code, year=order.year, breaches=order.breaches,
                                   reason=msg.remarks)
        if self._s.termination is None:
            await self._propose(TerminationCase(cause=order.cause, proposed_by=msg.actor.code,
                                                basis=f"Art. 22 rectification of {order.year} failed: {msg.remarks}"))
        return self._outcome(f"not rectified: termination under Art. 25({order.cause}) proposed")

    @verify_rectification.validator
    def _v_rect_verify(self, msg: RectificationVerdict) -> None:
        self._check(msg.actor, Step.VERIFY_RECTIFICATION)
        if self._s.rectification is None:
            raise refuse("WrongStage", "no rectification order is open (Art. 22)")

"""The permit in force, for all its years (Art. 13–17, 23–25; ALL 44, 50).

One workflow per permit, continuing the application's workflow (same id, same event stream, same
clock). Beside the permit's own watches run, at most, one renewal or change procedure (Art. 14, 15:
the same procedure as an application, on its own clocks) and one termination or revocation case.

The run continues as new when its history grows past `history_limit`, at a quiet moment (nothing
being recorded, no procedure or case open), carrying `PermitState` over; signals that arrive
meanwhile are delivered to the next run.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from dateutil.relativedelta import relativedelta

    from domain.application import Application, HeldDocument
    from domain.authority import Actor, Step
    from domain.bodies import JOINT_REVIEW_PANEL, Body, District
    from domain.calendar import SHANGHAI, WorkingCalendar
    from domain.changes import DEPARTMENTS_CONCERNED
    from domain.eligibility import years_after
    from domain.events import EventType as E
    from domain.policy import Policy, policy
    from domain.status import OpenTask, StatusSnapshot
    from workflows import search_attributes as sa
    from workflows import short_calls
    from workflows.journal import Journal
    from workflows.licensing_messages import DeadlineView, Decide, Outcome, ProcedureKind
    from workflows.permit_messages import (
        ApplyChange, ApplyRenewal, ConfirmFiling, IssueDocument, PermitInput, PermitState, PermitStatus,
        ReplaceDocument, ReportDormancy, SuppliesResumed, TerminationCase,
    )
    from workflows.procedure import Procedure
    from workflows.procedure_common import SYSTEM, applicant_of, authorised, compute_deadline, district_of, refuse
    from workflows.permit_ending import PermitEnding
    from workflows.permit_supervision import PermitSupervision
    from workflows.procedure_updates import ProcedureUpdates

# Customs offices by district: Huangpu Customs supervises the east (Huangpu, Zengcheng), Guangzhou
# Customs the rest. Cross-customs-district direct supply (Art. 2) concerns both.
_HUANGPU_CUSTOMS = {District.HUANGPU, District.ZENGCHENG}


def filing_bodies(app: Application) -> list[Body]:
    """Art. 13: the bodies the enterprise files with after approval."""
    customs = [Body.CUSTOMS_GZ, Body.CUSTOMS_HP] if app.scope_cross_district_direct_supply else (
        [Body.CUSTOMS_HP] if app.enterprise.district in _HUANGPU_CUSTOMS else [Body.CUSTOMS_GZ])
    return [Body.MARKET, *customs, Body.MSA, Body.BORDER]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _document_key(d: HeldDocument) -> str:
    return f"{d.kind.value}:{d.subject or ''}:{d.number}"


@workflow.defn(name="Permit")
class Permit(ProcedureUpdates, PermitSupervision, PermitEnding):
    @workflow.init
    def __init__(self, inp: PermitInput) -> None:
        self._id = inp.application_id
        self._number = inp.permit_number
        self._app: Application = inp.application
        self._policy: Policy = policy(inp.policy_version)
        self._s: PermitState = inp.state
        self._history_limit = inp.history_limit
        self._proc: Procedure | None = None
        self._pending_change: ApplyChange | None = None
        self._epoch = 0  # bumped when a deadline or document changes, so every watch re-arms
        self._journal = Journal(self._id, self._snapshot, self._search_attributes, self._details,
                                version=inp.journal_version)
        self._entering = self._s.runs == 1 and not self._s.filings
        if self._entering:  # known at once, so a body's first message is judged against them
            self._s.filings = {b.value: False for b in filing_bodies(self._app)}

    # ------------------------------------------------------------------ the life of the permit
    @workflow.run
    async def run(self, inp: PermitInput) -> PermitStatus:
        workflow.set_current_details(self._details())  # a continued run shows its state from the start
        if self._entering:
            await self._enter_into_force()
        watches = [
            asyncio.create_task(self._issue_document()),  # ALL 44
            asyncio.create_task(self._filings()),  # Art. 13
            asyncio.create_task(self._validity()),  # Art. 14, 25(1); ALL 50
            asyncio.create_task(self._documents()),  # Art. 7, 25(3)
            asyncio.create_task(self._dormancy()),  # Art. 23
            asyncio.create_task(self._rectification()),  # Art. 22
        ]
        await workflow.wait_condition(lambda: self._closed() or self._time_to_continue())
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._journal.busy)
        for w in watches:
            w.cancel()
        if self._closed():
            return self.status()
        workflow.continue_as_new(PermitInput(
            application_id=self._id, permit_number=self._number, application=self._app,
            policy_version=self._policy.version, journal_version=self._journal.version,
            state=self._s.model_copy(update={"runs": self._s.runs + 1}), history_limit=self._history_limit,
        ))

    async def _enter_into_force(self) -> None:
        self._s.document_deadline = await self._deadline(
            "ALL 44 permit document", self._s.valid_from, self._policy.permit_issue_workdays)
        await self._journal.record(
            E.PERMIT_IN_FORCE, SYSTEM, permit_number=self._number, valid_from=self._s.valid_from,
            valid_until=self._s.valid_until, filings=list(self._s.filings),
            document_due=self._s.document_deadline.due_date, policy_version=self._policy.version,
        )
        self._entering = False

    async def _in_force(self) -> None:
        # A body may act before the entry into force is recorded: it is recorded first.
        await workflow.wait_condition(lambda: not self._entering)

    async def _issue_document(self) -> None:
        """ALL 44: the permit document within 10 working days of the decision."""
        while not self._s.document_issued:
            if not await self._until(lambda: self._s.document_deadline.ends_at, lambda: self._s.document_issued,
                                     "ALL 44 permit document deadline"):
                return
            if self._s.document_issued or self._s.document_deadline.state == "overdue":
                return
            self._s.document_deadline = self._s.document_deadline.model_copy(update={"state": "overdue"})
            await self._journal.record(E.DEADLINE_OVERDUE, SYSTEM, article="ALL 44", body=Body.COMMERCE.value,
                                       step="issue_permit_document", due_date=self._s.document_deadline.due_date)

    async def _filings(self) -> None:
        """Art. 13: remind the enterprise until every body has confirmed its filing."""
        while not all(self._s.filings.values()):
            due = await self._deadline("Art. 13 filing reminder", self._today(), self._policy.filing_reminder_workdays)
            if not await self._until(due.ends_at, lambda: all(self._s.filings.values()), "Art. 13 filing reminder"):
                return
            if all(self._s.filings.values()):
                return
            self._s.filing_reminders += 1
            await self._journal.record(E.FILING_REMINDER, SYSTEM, to=self._applicant,
                                       outstanding=[b for b, done in self._s.filings.items() if not done])

    async def _validity(self) -> None:
        """Art. 14: reminders before expiry; at expiry the next term starts, or the business ends (25(1))."""
        while not self._closed():
            until = self._s.valid_until
            for days in self._policy.renewal_reminder_days:
                if days in self._s.expiry_reminders_sent or self._renewal_under_way():
                    continue
                if not await self._until(_start_of(until - timedelta(days=days)), summary=f"Art. 14 reminder, {days} days before expiry"):
                    return
                if self._renewal_under_way():
                    continue
                self._s.expiry_reminders_sent.append(days)
                await self._journal.record(
                    E.EXPIRY_REMINDER, SYSTEM, to=self._applicant, valid_until=until, days_before=days,
                    renewal_last_day=until - timedelta(days=self._policy.renewal_min_days_before_expiry))
            if not await self._until(WorkingCalendar.deadline_end(until), summary="Art. 14 expiry"):
                return
            # A renewal still under review is deemed granted at this very moment (ALL 50): let it finish.
            await workflow.wait_condition(lambda: self._proc is None or self._proc.closed()
                                          or self._proc.kind is not ProcedureKind.RENEWAL)
            await workflow.wait_condition(lambda: not self._journal.busy)
            if self._s.renewal_granted:
                start, end = self._s.renewal_granted
                self._s.valid_from, self._s.valid_until, self._s.renewal_granted = start, end, None
                self._s.expiry_reminders_sent = []
                await self._journal.record(E.VALIDITY_RENEWED, SYSTEM, valid_from=start, valid_until=end)
                continue
            self._s.status = "terminated"
            await self._journal.record(E.TERMINATED, SYSTEM, cause="1", article="25",
                                       basis=f"validity ended {until} without renewal (Art. 25(1))")
            return

    async def _documents(self) -> None:
        """Warn before a held document or lease expires; at expiry without a replacement, Art. 5/7 are no
        longer met, which opens the Art. 25(3) termination path."""
        while not self._closed():
            upcoming = self._document_events()
            if not upcoming:
                epoch = self._epoch
                await workflow.wait_condition(lambda: self._closed() or self._epoch != epoch)
                continue
            at, action, doc = upcoming[0]
            epoch = self._epoch
            if not await self._until(at, lambda: self._epoch != epoch, f"Art. 7 {doc.kind.value} {action}"):
                return
            if self._epoch != epoch or doc not in self._app.documents:  # replaced meanwhile: look again
                continue
            key = _document_key(doc)
            if action == "warn":
                self._s.warned_documents.append(key)
                await self._journal.record(E.DOCUMENT_EXPIRY_WARNING, SYSTEM, to=self._applicant, kind=doc.kind.value,
                                           number=doc.number, subject=doc.subject, valid_until=doc.valid_until)
                continue
            self._app = self._app.model_copy(update={"documents": [d for d in self._app.documents if d != doc]})
            await self._journal.record(E.CONDITIONS_NO_LONGER_MET, SYSTEM, article="25", cause="3",
                                       kind=doc.kind.value, number=doc.number, expired=doc.valid_until)
            if self._s.termination is None:
                await self._propose(TerminationCase(cause="3", proposed_by=SYSTEM,
                                                    basis=f"{doc.kind.value} {doc.number} expired {doc.valid_until} "
                                                          f"without a valid replacement (Art. 5, 7)"))

    def _document_events(self) -> list[tuple[datetime, str, HeldDocument]]:
        events = []
        for d in self._app.documents:
            if d.valid_until is None:
                continue
            if _document_key(d) not in self._s.warned_documents:
                events.append((_start_of(d.valid_until - timedelta(days=self._policy.document_warning_days)), "warn", d))
            else:
                events.append((WorkingCalendar.deadline_end(d.valid_until), "expire", d))
        return sorted(events, key=lambda e: (e[0], e[1]))

    async def _dormancy(self) -> None:
        """Art. 23: no supply to a vessel for 6 months → the district reports the enterprise to commerce.
        The ledger is asked when the timer fires; it never sends a message per row."""
        months = relativedelta(months=self._policy.dormancy_months)
        while not self._closed():
            if self._s.dormant:
                await workflow.wait_condition(lambda: not self._s.dormant or self._closed())
                continue
            last = await short_calls.read("last_supply_at", self._id, result_type=datetime | None,
                                          summary="Art. 23 last supply to a vessel")
            since = max(filter(None, [last, _start_of(self._s.valid_from)]))
            if not await self._until(since + months, lambda: self._s.dormant, "Art. 23 six months without a supply"):
                return
            if self._s.dormant:
                continue
            last = await short_calls.read("last_supply_at", self._id, result_type=datetime | None,
                                          summary="Art. 23 last supply to a vessel")
            if last is not None and last + months > workflow.now():
                continue  # a supply came in meanwhile: the 6 months start again from it
            self._s.dormant, self._s.dormant_since, self._s.dormancy_reported = True, since + months, False
            await self._journal.record(E.DORMANCY_DETECTED, SYSTEM, last_supply_at=last, since=since,
                                       months=self._policy.dormancy_months, to=self._district)

    # ------------------------------------------------------------------ waiting
    async def _until(self, at: datetime | Callable[[], datetime], done: Callable[[], bool] = lambda: False,
                     summary: str | None = None) -> bool:
        """Sleep until `at` or `done`; a callable `at` is read again when deadlines move (the timer is
        re-armed). False if the permit closed meanwhile."""
        when = at if callable(at) else (lambda: at)
        while not (self._closed() or done()):
            remaining = when() - workflow.now()
            if remaining <= timedelta(0):
                return True
            epoch = self._epoch
            try:
                await workflow.wait_condition(lambda: self._closed() or done() or self._epoch != epoch,
                                              timeout=remaining, timeout_summary=summary)
            except asyncio.TimeoutError:
                return True
        return not self._closed()

    def _time_to_continue(self) -> bool:
        info = workflow.info()
        quiet = (self._proc is None or self._proc.closed()) and self._s.termination is None and self._s.revocation is None
        return quiet and (info.get_current_history_length() >= self._history_limit
                          or info.is_continue_as_new_suggested())

    async def _deadline(self, label: str, start: date, workdays: int) -> DeadlineView:
        return await compute_deadline(label, start, workdays)

    def _today(self) -> date:
        return WorkingCalendar.local_date(workflow.now())

    def _closed(self) -> bool:
        return self._s.status != "in_force"

    def _renewal_under_way(self) -> bool:
        return self._s.renewal_granted is not None or (
            self._proc is not None and self._proc.kind is ProcedureKind.RENEWAL and not self._proc.closed())

    @property
    def _district(self) -> str:
        return district_of(self._app)

    @property
    def _applicant(self) -> str:
        return applicant_of(self._app)

    # ------------------------------------------------------------------ renewal and change (Art. 14, 15)
    def _open_procedure(self) -> Procedure:
        if self._proc is None or self._proc.closed():
            # A late or repeated message of the finished application gets the decision that stands.
            raise refuse("AlreadyDecided", f"approved: permit {self._number}, valid {self._s.valid_from} – "
                         f"{self._s.valid_until}; no renewal or change is under review")
        return self._proc

    def _check(self, actor: Actor, step: Step, **kw) -> None:
        authorised(actor, step, self._app, **kw)
        if self._closed():
            raise refuse("AlreadyDecided", f"permit {self._number} is {self._s.status}")

    def _check_no_procedure(self) -> None:
        if self._proc is not None and not self._proc.closed():
            raise refuse("WrongStage", f"a {self._proc.kind.value} is already under review")

    @workflow.update
    async def apply_renewal(self, msg: ApplyRenewal) -> Outcome:
        await self._in_force()
        last_day = self._s.valid_until - timedelta(days=self._policy.renewal_min_days_before_expiry)
        if self._today() > last_day:
            # Recorded, so the applicant's request and its refusal are on file, then refused to the caller.
            reason = (f"续期申请应在有效期届满30日前（{last_day}前）提出（第十四条） / a renewal must reach the district "
                      f"at least {self._policy.renewal_min_days_before_expiry} days before expiry, by {last_day} (Art. 14)")
            await self._journal.record(E.RENEWAL_REFUSED_AS_LATE, msg.actor.code, received_on=self._today(),
                                       last_day=last_day, valid_until=self._s.valid_until, reason=reason)
            raise refuse("RenewalTooLate", reason)
        self._start_procedure(ProcedureKind.RENEWAL, msg.application, JOINT_REVIEW_PANEL, self._on_renewal_decision)
        await self._proc.received()
        return Outcome(applied=True, stage=self._proc.stage, detail=f"renewal received; decision due by {self._s.valid_until}")

    @apply_renewal.validator
    def _v_renewal(self, msg: ApplyRenewal) -> None:
        self._check(msg.actor, Step.APPLY_RENEWAL)
        self._check_no_procedure()
        if self._s.renewal_granted:
            raise refuse("AlreadyDecided", f"renewal already granted until {self._s.renewal_granted[1]}")
        self._same_applicant(msg.application)

    @workflow.update
    async def apply_change(self, msg: ApplyChange) -> Outcome:
        await self._in_force()
        panel = DEPARTMENTS_CONCERNED[msg.change]
        self._pending_change = msg
        self._start_procedure(ProcedureKind.CHANGE, msg.application, panel, self._on_change_decision)
        await self._proc.received()
        return Outcome(applied=True, stage=self._proc.stage, detail=f"change ({msg.change.value}) received")

    @apply_change.validator
    def _v_change(self, msg: ApplyChange) -> None:
        self._check(msg.actor, Step.APPLY_CHANGE)
        self._check_no_procedure()
        self._same_applicant(msg.application)

    def _same_applicant(self, app: Application) -> None:
        if app.enterprise.credit_code != self._app.enterprise.credit_code:
            raise refuse("Invalid", "the permit's enterprise (credit code) cannot change")

    def _start_procedure(self, kind: ProcedureKind, app: Application, panel, on_decision) -> None:
        self._proc = Procedure(
            kind=kind, case_id=self._id, application=app, policy=self._policy, received_on=self._today(),
            journal=self._journal, panel=tuple(panel), on_decision=on_decision,
            lapses_into_deemed_renewal_on=self._s.valid_until if kind is ProcedureKind.RENEWAL else None,
        )
        asyncio.create_task(self._proc.run())

    async def _on_renewal_decision(self, msg: Decide) -> tuple[E, dict]:
        """Art. 14: a renewed permit keeps its number; the new term starts the day after the old one ends."""
        if not msg.approve:
            return E.RENEWAL_REFUSED, {"valid_until": self._s.valid_until}
        start = self._s.valid_until + timedelta(days=1)
        end = years_after(start, self._policy.validity_years) - timedelta(days=1)
        self._s.renewal_granted = (start, end)
        self._app = self._proc.app
        return E.RENEWAL_APPROVED, {"permit_number": self._number, "valid_from": start, "valid_until": end}

    async def _on_change_decision(self, msg: Decide) -> tuple[E, dict]:
        """Art. 15: the permit's data change only on approval."""
        change = self._pending_change
        if msg.approve:
            self._app = self._proc.app
            self._s.filings.update({b.value: False for b in filing_bodies(self._app) if b.value not in self._s.filings})
            self._epoch += 1
            return E.CHANGE_APPROVED, {"change": change.change.value, "description": change.description}
        return E.CHANGE_REFUSED, {"change": change.change.value, "description": change.description}

    # ------------------------------------------------------------------ the bodies act on the permit
    @workflow.update
    async def issue_permit_document(self, msg: IssueDocument) -> Outcome:
        await self._in_force()
        self._s.document_issued = True
        d = self._s.document_deadline
        self._s.document_deadline = d.model_copy(update={"state": "overdue" if d.state == "overdue" else "met"})
        await self._journal.record(E.PERMIT_DOCUMENT_ISSUED, msg.actor.code, document_no=msg.document_no)
        return self._outcome("permit document issued")

    @issue_permit_document.validator
    def _v_issue(self, msg: IssueDocument) -> None:
        self._check(msg.actor, Step.ISSUE_DOCUMENT)
        if self._s.document_issued:
            raise refuse("AlreadyDecided", "the permit document has already been issued")

    @workflow.update
    async def confirm_filing(self, msg: ConfirmFiling) -> Outcome:
        await self._in_force()
        self._s.filings[msg.body.value] = True
        await self._journal.record(E.FILING_CONFIRMED, msg.actor.code, body=msg.body.value, reference=msg.reference,
                                   outstanding=[b for b, done in self._s.filings.items() if not done])
        return self._outcome(f"{msg.body.value} filing confirmed")

    @confirm_filing.validator
    def _v_filing(self, msg: ConfirmFiling) -> None:
        self._check(msg.actor, Step.CONFIRM_FILING, agency=msg.body)
        if msg.body.value not in self._s.filings:
            raise refuse("Invalid", f"no Art. 13 filing with {msg.body.value} is due for this permit")
        if self._s.filings[msg.body.value]:
            raise refuse("AlreadyDecided", f"the {msg.body.value} filing is already confirmed")

    @workflow.update
    async def replace_document(self, msg: ReplaceDocument) -> Outcome:
        await self._in_force()
        new = msg.document
        same = lambda d: d.kind == new.kind and d.subject == new.subject  # noqa: E731
        replaced = [d for d in self._app.documents if same(d)]
        self._app = self._app.model_copy(update={"documents": [d for d in self._app.documents if not same(d)] + [new]})
        self._epoch += 1
        await self._journal.record(E.DOCUMENT_REPLACED, msg.actor.code, kind=new.kind.value, number=new.number,
                                   valid_until=new.valid_until, replaces=[d.number for d in replaced])
        return self._outcome(f"{new.kind.value} {new.number} on file")

    @replace_document.validator
    def _v_replace(self, msg: ReplaceDocument) -> None:
        self._check(msg.actor, Step.REPLACE_DOCUMENT)
        if not msg.document.valid_on(self._today()):
            raise refuse("Invalid", f"the document is not valid today ({msg.document.valid_from} – {msg.document.valid_until})")

    @workflow.update
    async def report_dormancy(self, msg: ReportDormancy) -> Outcome:
        await self._in_force()
        self._s.dormancy_reported = True
        await self._journal.record(E.DORMANCY_REPORTED, msg.actor.code, to=Body.COMMERCE.value, remarks=msg.remarks,
                                   dormant_since=self._s.dormant_since)
        return self._outcome("reported to commerce (Art. 23)")

    @report_dormancy.validator
    def _v_dormancy(self, msg: ReportDormancy) -> None:
        self._check(msg.actor, Step.REPORT_DORMANCY)
        if not self._s.dormant or self._s.dormancy_reported:
            raise refuse("WrongStage", "no unreported dormancy (Art. 23)")

    @workflow.signal
    async def supplies_resumed(self, msg: SuppliesResumed) -> None:
        """From the ledger, once per dormancy episode; repeats are ignored."""
        if not self._s.dormant or self._closed():
            return
        self._s.dormant, self._s.dormant_since = False, None
        await self._journal.record(E.SUPPLIES_RESUMED, SYSTEM, at=msg.at)

    @workflow.signal
    async def recompute_deadlines(self) -> None:
        """An official holiday schedule was loaded: provisional deadlines are computed again (ALL 82)."""
        moved = await self._proc.recompute_provisional() if self._proc and not self._proc.closed() else []
        d = self._s.document_deadline
        if d and d.provisional and d.state == "open" and not self._s.document_issued:
            new = await self._deadline(d.label, d.start, d.workdays)
            if new.due_date != d.due_date:
                self._s.document_deadline = new
                moved.append(new)
        if moved:
            self._epoch += 1
            await self._journal.record(E.DEADLINES_RECOMPUTED, SYSTEM,
                                       deadlines={m.label: [m.due_date, m.provisional] for m in moved})

    # ------------------------------------------------------------------ what others see
    def _stage(self) -> str:
        if self._closed():
            return self._s.status
        if self._proc and not self._proc.closed():
            return f"{self._proc.kind.value}:{self._proc.stage.value}"
        if self._s.termination:
            return f"termination:{self._s.termination.step}"
        if self._s.revocation:
            return "revocation:decide_revocation"
        if self._s.rectification:
            return "rectification"
        return "dormant" if self._s.dormant else "in_force"

    def _tasks(self) -> list[OpenTask]:
        if self._closed():
            return []
        tasks: list[OpenTask] = []

        def task(kind: str, body: str, d: DeadlineView | None = None, suffix: str = "") -> None:
            tasks.append(OpenTask(task_id=f"{self._id}/{kind}{suffix}", body=body, kind=kind,
                                  label=d.label if d else kind.replace("_", " "), due_date=d.due_date if d else None,
                                  ends_at=d.ends_at if d else None, provisional=d.provisional if d else None))

        if not self._s.document_issued:
            task("issue_permit_document", Body.COMMERCE.value, self._s.document_deadline)
        for body, done in self._s.filings.items():
            if not done:
                task("confirm_filing", body, suffix=f"/{body}")
        if self._s.dormant and not self._s.dormancy_reported:
            task("report_dormancy", self._district)
        if self._s.termination:
            step = self._s.termination.step
            body = {"termination_review": self._district, "termination_report": Body.COMMERCE.value,
                    "decide_termination": Body.MUNICIPAL_GOV.value}[step]
            task(step, body)
        if self._s.revocation:
            task("decide_revocation", Body.MUNICIPAL_GOV.value)
        if self._s.rectification:
            order = self._s.rectification
            if order.reported is None:
                task("report_rectification", self._applicant, order.deadline)
            task("verify_rectification", Body.COMMERCE.value, order.deadline)
        if self._proc and not self._proc.closed():
            tasks += self._proc.tasks()
        return tasks

    def _next_deadline(self) -> DeadlineView | None:
        candidates = []
        if self._proc and not self._proc.closed() and self._proc.next_deadline():
            candidates.append(self._proc.next_deadline())
        if self._s.document_deadline and not self._s.document_issued:
            candidates.append(self._s.document_deadline)
        if self._s.rectification:
            candidates.append(self._s.rectification.deadline)
        expiry = DeadlineView(label="Art. 14 expiry", due_date=self._s.valid_until,
                              ends_at=WorkingCalendar.deadline_end(self._s.valid_until), provisional=False)
        candidates.append(expiry)
        return None if self._closed() else min(candidates, key=lambda d: d.ends_at)

    @workflow.query
    def status(self) -> PermitStatus:
        return PermitStatus(
            application_id=self._id, permit_number=self._number, status=self._s.status, stage=self._stage(),
            valid_from=self._s.valid_from, valid_until=self._s.valid_until, renewal_granted=self._s.renewal_granted,
            next_deadline=self._next_deadline(), pending=sorted({t.body for t in self._tasks()}),
            filings=dict(self._s.filings), dormant=self._s.dormant,
            procedure=self._proc.kind.value if self._proc and not self._proc.closed() else None,
            procedure_stage=self._proc.stage.value if self._proc else None, termination=self._s.termination,
            policy_version=self._policy.version, runs=self._s.runs, documents=self._app.documents,
            application=self._app,
            rectification=self._s.rectification, inspected_years=self._s.inspected_years,
            procedure_deadlines=list(self._proc.deadlines.values()) if self._proc else [],
        )

    def _snapshot(self) -> StatusSnapshot:
        nxt, e = self._next_deadline(), self._app.enterprise
        tasks = self._tasks()
        return StatusSnapshot(
            kind="permit", status=self._s.status, stage=self._stage(), enterprise_name=e.name,
            credit_code=e.credit_code, district=e.district.value, permit_number=self._number,
            policy_version=self._policy.version, workflow_id=workflow.info().workflow_id,
            next_deadline_at=nxt.ends_at if nxt else None, next_deadline_label=nxt.label if nxt else None,
            next_deadline_provisional=nxt.provisional if nxt else None, pending=sorted({t.body for t in tasks}),
            tasks=tasks, valid_from=self._s.valid_from, valid_until=self._s.valid_until,
            dormant=self._s.dormant, dormant_since=self._s.dormant_since,
        )

    def _search_attributes(self):
        nxt, e = self._next_deadline(), self._app.enterprise
        return [
            sa.STATUS.value_set(self._s.status), sa.STAGE.value_set(self._stage()),
            sa.DISTRICT.value_set(e.district.value), sa.ENTERPRISE.value_set(e.name),
            sa.CREDIT_CODE.value_set(e.credit_code), sa.PERMIT_NUMBER.value_set(self._number),
            sa.PERMIT_EXPIRY.value_set(WorkingCalendar.deadline_end(self._s.valid_until)),
            sa.NEXT_DEADLINE.value_set(nxt.ends_at) if nxt else sa.NEXT_DEADLINE.value_unset(),
            sa.DORMANT.value_set(self._s.dormant),
        ]

    def _details(self) -> str:
        nxt = self._next_deadline()
        lines = [f"**{self._app.enterprise.name}** · permit **{self._number}** · {self._stage()}",
                 f"valid {self._s.valid_from} – {self._s.valid_until}"
                 + (f" · renewed to {self._s.renewal_granted[1]}" if self._s.renewal_granted else "")]
        if nxt:
            lines.append(f"next deadline: {nxt.label} — {nxt.due_date}{' (provisional)' if nxt.provisional else ''}")
        pending = sorted({t.body for t in self._tasks()})
        if pending:
            lines.append("waiting on: " + ", ".join(pending))
        return "\n\n".join(lines)

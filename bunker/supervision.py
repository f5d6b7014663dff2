"""Service functions of local supervision (Art. 20–21) and the violation register (Art. 19, 26), called by
the gateway and the CLI: each checks who acts against the rules in domain/, then writes the registers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import asyncpg
import structlog
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field, StringConstraints

from domain.application import CreditCode, NonEmptyStr
from domain.authority import Actor
from domain.bodies import Body, District
from domain.supervision import ActionKind, Channel, Move, NotAllowed, WrongStatus, check_move, check_receiver
from domain.supervision import check_supervision_action
from domain.violations import CUSTOMS, OutsideRemit, check_finding, confirmed_on_record, PROHIBITED_ACTS
from store import supervision as supervision_store

log = structlog.get_logger()


def _blank_to_none(v: Any) -> Any:
    return (v.strip() or None) if isinstance(v, str) else v


def _no_nul(v: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here (422) rather than fail at the database (500).
    if "\x00" in v:
        raise ValueError("NUL (U+0000) is not allowed in text")
    return v


def text(max_length: int) -> Any:
    return Annotated[NonEmptyStr, Field(max_length=max_length), AfterValidator(_no_nul)]


def optional_text(max_length: int) -> Any:
    return Annotated[Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_no_nul)] | None,
                     BeforeValidator(_blank_to_none)]


RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a register's bigint id
Text = text(4000)
Short = text(200)
ShortOptional = optional_text(200)
PenaltyText = optional_text(1000)


class Refused(Exception):
    """A step refused; `code` is the gateway's error code (forbidden, not_found, wrong_stage, already_decided,
    invalid)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# ---------------------------------------------------------------- what callers send
class ComplaintIn(BaseModel):
    channel: Channel
    summary: Text = Field(description="what the complainant reports")
    received_at: AwareDatetime | None = Field(default=None, description="default: now")
    complainant: ShortOptional = Field(default=None, description="omit for an anonymous complaint")
    contact: ShortOptional = None
    credit_code: CreditCode | None = Field(default=None, description="the enterprise complained of, when known")
    enterprise_name: ShortOptional = None
    district: District | None = Field(default=None, description="where to route it, if the enterprise is not on file")


class ViolationIn(BaseModel):
    credit_code: CreditCode
    act: int = Field(ge=1, le=15, description="the item of Art. 19, (1)-(15)")
    severity: Literal["minor", "major"] = Field(description="major = 重大违法违规 (counts for Art. 22(4))")
    found_on: date
    description: Text
    evidence_ref: Short = Field(description="the case file or evidence reference at the department")
    penalty: PenaltyText = Field(
        default=None, description="Art. 26: the penalty decided, if already decided")
    penalty_decided_on: date | None = None
    complaint_id: RecordId | None = Field(default=None, description="the complaint that led to it")


class ActionIn(BaseModel):
    kind: ActionKind
    credit_code: CreditCode
    conducted_on: date
    summary: Text
    findings: list[text(1000)] = Field(default_factory=list, max_length=100)
    violation_id: RecordId | None = None


# ---------------------------------------------------------------- complaints
def _who(actor: Actor) -> str:
    return f"{actor.code} ({actor.name})" if actor.name else actor.code


async def record_complaint(pool: asyncpg.Pool, actor: Actor, c: ComplaintIn) -> int:
    """Art. 20: whoever receives a complaint records it; it goes to the enterprise's district."""
    try:
        check_receiver(actor)
    except NotAllowed as e:
        raise Refused("forbidden", str(e)) from None
    found = await supervision_store.enterprise(pool, c.credit_code) if c.credit_code else None
    district = found["district"] if found else (c.district.value if c.district else None)
    if district is None and actor.body is Body.DISTRICT:
        district = actor.district.value  # received by a district about an enterprise of its own
    cid = await supervision_store.add_complaint(
        pool, channel=c.channel, received_at=c.received_at or datetime.now(UTC), received_by=actor.code,
        complainant=c.complainant, contact=c.contact, credit_code=c.credit_code,
        enterprise_name=c.enterprise_name or (found["enterprise_name"] if found else None),
        stream_id=found["stream_id"] if found else None, district=district, summary=c.summary, recorder=_who(actor))
    log.info("complaint recorded", complaint_id=cid, channel=c.channel, district=district, by=actor.code)
    return cid


async def move_complaint(pool: asyncpg.Pool, actor: Actor, cid: int, move: Move, *, note: str | None = None,
                         answer: str | None = None, violation_id: int | None = None,
                         district: District | None = None) -> None:
    row = await supervision_store.complaint(pool, cid)
    if row is None:
        raise Refused("not_found", f"no complaint {cid}")
    try:
        to = check_move(actor, move, row["status"], row["district"])
    except NotAllowed as e:
        raise Refused("forbidden", str(e)) from None
    except WrongStatus as e:
        raise Refused("already_decided" if row["status"] in ("answered", "closed") else "wrong_stage", str(e)) from None
    fields: dict = {}
    if move == "route":
        if district is None:
            raise Refused("invalid", "routing names the district")
        fields["district"], note = district.value, note or f"to district:{district.value}"
    if move == "answer":
        if not answer:
            raise Refused("invalid", "an answer needs its text")
        fields["answer"] = answer
        if violation_id is not None:
            v = await supervision_store.violation(pool, violation_id)
            if v is None or (row["credit_code"] and v["credit_code"] != row["credit_code"]):
                raise Refused("invalid", f"violation {violation_id} is not on record for the enterprise complained of")
            fields["violation_id"] = violation_id
    if move == "close" and not note:
        raise Refused("invalid", "closing a complaint needs the reason")
    try:
        await supervision_store.move_complaint(pool, cid, from_status=row["status"], to_status=to, actor=_who(actor),
                                      note=note or answer, **fields)
    except supervision_store.StaleStatus as e:
        raise Refused("wrong_stage", str(e)) from None
    log.info("complaint moved", complaint_id=cid, move=move, status=to, by=actor.code)


# ---------------------------------------------------------------- violations (Art. 19, 21, 26)
async def record_violation(pool: asyncpg.Pool, actor: Actor, v: ViolationIn) -> asyncpg.Record:
    try:
        act = check_finding(actor.body, v.act)
    except OutsideRemit as e:
        raise Refused("forbidden", str(e)) from None
    if (v.penalty is None) != (v.penalty_decided_on is None):
        raise Refused("invalid", "a penalty and the day it was decided go together")
    if v.complaint_id is not None:
        c = await supervision_store.complaint(pool, v.complaint_id)
        if c is None or (c["credit_code"] and c["credit_code"] != v.credit_code):
            raise Refused("invalid", f"complaint {v.complaint_id} is not about enterprise {v.credit_code}")
    found = await supervision_store.enterprise(pool, v.credit_code)
    row = await supervision_store.add_violation(
        pool, credit_code=v.credit_code, stream_id=found["stream_id"] if found else None,
        district=found["district"] if found else None, act=act.number, severity=v.severity, found_by=actor.code,
        found_on=v.found_on, description=v.description, evidence_ref=v.evidence_ref, penalty=v.penalty,
        penalty_decided_on=v.penalty_decided_on, confirmed=confirmed_on_record(actor.body, act.number),
        complaint_id=v.complaint_id, recorded_by=_who(actor))
    log.info("violation recorded", violation_id=row["id"], act=act.article, credit_code=v.credit_code, by=actor.code)
    return row


async def confirm_violation(pool: asyncpg.Pool, actor: Actor, vid: int) -> asyncpg.Record:
    """Customs confirms a smuggling-type act found by another department (Art. 22(4))."""
    row = await supervision_store.violation(pool, vid)
    if row is None:
        raise Refused("not_found", f"no violation {vid}")
    if actor.body not in CUSTOMS:
        raise Refused("forbidden", f"{actor.code} may not confirm smuggling: customs does")
    if not PROHIBITED_ACTS[row["act"]].smuggling:
        raise Refused("invalid", f"Art. 19({row['act']}) is not a smuggling-type act: nothing to confirm")
    confirmed = await supervision_store.confirm_violation(pool, vid, actor.code)
    if confirmed is None:
        raise Refused("already_decided", f"violation {vid} was confirmed by {row['confirmed_by']}")
    return confirmed


async def decide_penalty(pool: asyncpg.Pool, actor: Actor, vid: int, penalty: str, decided_on: date) -> asyncpg.Record:
    """Art. 26: the department that found the violation records the penalty it decided."""
    row = await supervision_store.violation(pool, vid)
    if row is None:
        raise Refused("not_found", f"no violation {vid}")
    if actor.code != row["found_by"]:
        raise Refused("forbidden", f"{actor.code} may not decide the penalty: {row['found_by']} found it (Art. 26)")
    decided = await supervision_store.decide_penalty(pool, vid, penalty, decided_on)
    if decided is None:
        raise Refused("already_decided", f"violation {vid} already has its penalty: {row['penalty']}")
    return decided


# ---------------------------------------------------------------- interviews and spot inspections (Art. 20, 21)
async def record_action(pool: asyncpg.Pool, actor: Actor, a: ActionIn) -> asyncpg.Record:
    found = await supervision_store.enterprise(pool, a.credit_code)
    district = found["district"] if found else None
    try:
        check_supervision_action(actor, a.kind, district)
    except NotAllowed as e:
        raise Refused("forbidden", str(e)) from None
    if a.violation_id is not None:
        v = await supervision_store.violation(pool, a.violation_id)
        if v is None or v["credit_code"] != a.credit_code:
            raise Refused("invalid", f"violation {a.violation_id} is not on record for {a.credit_code}")
    return await supervision_store.add_action(
        pool, kind=a.kind, credit_code=a.credit_code, stream_id=found["stream_id"] if found else None,
        district=district, conducted_by=actor.code, conducted_on=a.conducted_on, summary=a.summary,
        findings=list(a.findings), violation_id=a.violation_id, recorded_by=_who(actor))

"""The scenario file: a scripted lifecycle of one application, and what must hold (docs/scenario-format.md).

Everything is validated when the file is loaded, message fields included, so a typo is reported with
its place in the file before any server starts.
"""

from __future__ import annotations

import copy
import difflib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from domain.application import Application
from domain.authority import Actor
from domain.bodies import JOINT_REVIEW_PANEL, Body, District
from domain.events import EventType
from domain.examples import CREDIT_CODE as EXAMPLE_CREDIT_CODE, example_application
from domain.holiday_schedule import _Loader as StrictLoader  # duplicate keys refused, only true/false are booleans
from domain.identifiers import validate_credit_code
from workflows.permit_messages import (
    ApplyChange, ApplyRenewal, ConfirmFiling, IssueDocument, ProposeTermination, RectificationReport,
    RectificationVerdict, ReportDormancy, RevocationDecision, RevocationReport, TerminationDecision, TerminationReport,
    TerminationReview,
)
from workflows.licensing_messages import (
    Accept, AnswerQuestion, Decide, ExtendDeadline, FalseMaterials, Message, NotifyCorrections, PauseClock,
    PreliminaryOpinion, ResumeClock, ReviewDecision, Stage, Submission, SubmitCorrections, Withdraw,
)


class ScenarioError(ValueError):
    """The file is not a valid scenario; the message names the place in the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------ the application
class Fixture(_Strict):
    fixture: Literal["example"]
    # Top-level fields or dotted paths (`tankers.0.dwt: 999`) replaced in the example.
    overrides: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _overrides_fit(self) -> Fixture:
        self.build(date(2026, 1, 5))  # any day: only the paths and the values are checked here
        return self

    def build(self, received_on: date, credit_code: str | None = None) -> Application:
        """The example received on `received_on`; `credit_code` replaces the example's everywhere."""
        data = example_application(received_on).model_dump()
        if credit_code:
            data = _replace(data, EXAMPLE_CREDIT_CODE, credit_code)
        return Application.model_validate(apply_overrides(data, self.overrides))


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `data` with each `a.b.0.c: value` set; lists are indexed by number; the last key may be new."""
    data = copy.deepcopy(data)
    for path, value in overrides.items():
        keys = path.split(".")
        node: Any = data
        for depth, key in enumerate(keys):
            here, last = ".".join(keys[: depth + 1]), depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ValueError(f"overrides: {here}: no item {key} in a list of {len(node)}")
                key = int(key)
            elif not isinstance(node, dict):
                raise ValueError(f"overrides: {here}: {'.'.join(keys[:depth])} has no fields")
            elif key not in node and not last:
                raise ValueError(f"overrides: {here}: no such field")
            if last:
                node[key] = value
            else:
                node = node[key]
    return data


def _replace(v: Any, old: str, new: str) -> Any:
    if isinstance(v, dict):
        return {k: _replace(x, old, new) for k, x in v.items()}
    if isinstance(v, list):
        return [_replace(x, old, new) for x in v]
    return new if v == old else v


def _application(v: Any) -> str:
    return "fixture" if isinstance(v, dict) and "fixture" in v else "inline"


ApplicationSpec = Annotated[
    Annotated[Fixture, Tag("fixture")] | Annotated[Application, Tag("inline")], Discriminator(_application)
]


# ------------------------------------------------------------------ steps
# The update each step name sends, and the message it carries (workflows/licensing_messages.py).
ACTS: dict[str, tuple[str, type[Message]]] = {
    "accept": ("accept", Accept),
    "notify_corrections": ("notify_corrections", NotifyCorrections),
    "false_materials": ("find_false_materials", FalseMaterials),
    "find_false_materials": ("find_false_materials", FalseMaterials),
    "submit_corrections": ("submit_corrections", SubmitCorrections),
    "preliminary_review": ("preliminary_review", PreliminaryOpinion),
    "joint_review": ("joint_review", ReviewDecision),
    "answer_question": ("answer_question", AnswerQuestion),
    "submit_to_government": ("submit_to_government", Submission),
    "pause_clock": ("pause_clock", PauseClock),
    "resume_clock": ("resume_clock", ResumeClock),
    "extend_deadline": ("extend_deadline", ExtendDeadline),
    "decide": ("decide", Decide),
    "withdraw": ("withdraw", Withdraw),
    # The permit in force (workflows/permit.py), and its renewal and change procedures (Art. 13-15, 22-25).
    "apply_renewal": ("apply_renewal", ApplyRenewal),
    "apply_change": ("apply_change", ApplyChange),
    "issue_permit_document": ("issue_permit_document", IssueDocument),
    "confirm_filing": ("confirm_filing", ConfirmFiling),
    "report_dormancy": ("report_dormancy", ReportDormancy),
    "propose_termination": ("propose_termination", ProposeTermination),
    "termination_review": ("termination_review", TerminationReview),
    "termination_report": ("termination_report", TerminationReport),
    "decide_termination": ("decide_termination", TerminationDecision),
    "report_revocation": ("report_revocation", RevocationReport),
    "decide_revocation": ("decide_revocation", RevocationDecision),
    "report_rectification": ("report_rectification", RectificationReport),
    "verify_rectification": ("verify_rectification", RectificationVerdict),
}
# Steps that carry an application: the current one with `overrides`, or a whole `application`.
APPLICATION_STEPS = frozenset({"submit_corrections", "apply_renewal", "apply_change"})
ActName = Literal[tuple(ACTS)]  # type: ignore[valid-type]

# Refusal types: the workflow's (ApplicationError.type), `Closed` (the workflow has ended), and
# `IntakeRefused` (bunker.services refuses a banned applicant before anything starts).
RefusalType = Literal["NotAuthorised", "WrongStage", "AlreadyDecided", "Invalid", "Closed", "IntakeRefused",
                      "RenewalTooLate"]


class Refusal(_Strict):
    type: RefusalType | None = None  # None: any refusal
    message_contains: str | None = None


def _refusal(v: Any) -> Any:
    """`true` (any refusal), a refusal type, or {type, message_contains}."""
    if v is True:
        return {}
    if v is False:
        return None
    if isinstance(v, str):
        return {"type": v}
    return v


ExpectRefused = Annotated[Refusal | None, BeforeValidator(_refusal), Field(default=None)]


def parse_by(by: str, district: District, credit_code: str) -> Actor:
    """`district` (the file's), `district:tianhe`, `enterprise` (the applicant), `enterprise:<credit code>`,
    or a body code: `commerce`, `municipal_gov`, an agency of the panel."""
    kind, _, qualifier = by.partition(":")
    if kind not in {b.value for b in Body}:
        raise ValueError(f"by: unknown body {kind!r}; one of district, enterprise, commerce, municipal_gov, "
                         f"{', '.join(b.value for b in JOINT_REVIEW_PANEL)}")
    if kind == Body.DISTRICT.value:
        return Actor(body=Body.DISTRICT, district=District(qualifier) if qualifier else district, name="scenario")
    if kind == Body.ENTERPRISE.value:
        return Actor(body=Body.ENTERPRISE, credit_code=validate_credit_code(qualifier) if qualifier else credit_code)
    if qualifier:
        raise ValueError(f"by: only district and enterprise take a qualifier, got {by!r}")
    return Actor(body=Body(kind), name="scenario")


class Act(BaseModel):
    """`by` acts `step`; every other key is a field of the step's message."""

    model_config = ConfigDict(extra="allow", frozen=True)

    by: str | list[str]
    step: ActName
    expect_refused: ExpectRefused

    @model_validator(mode="after")
    def _fields_fit_the_message(self) -> Act:
        for by in self.actors:
            parse_by(by, District.NANSHA, "")
        if self.step in APPLICATION_STEPS:
            own = set(ACTS[self.step][1].model_fields) - {"actor", "application", "idempotency_key"}
            extra = set(self.fields) - {"overrides", "application"} - own
            if extra:
                raise ValueError(f"{self.step} takes `overrides` or `application` and {sorted(own)}, not {sorted(extra)}")
            if "application" in self.fields:
                Application.model_validate(self.fields["application"])
            return self
        cls = ACTS[self.step][1]
        unknown = set(self.fields) - (set(cls.model_fields) - {"actor"})
        if unknown:
            raise ValueError(f"{self.step} takes {sorted(set(cls.model_fields) - {'actor'})}, not {sorted(unknown)}")
        self.message(Actor(body=Body.SYSTEM))  # validates the fields now, with a stand-in actor
        return self

    @property
    def actors(self) -> list[str]:
        return [self.by] if isinstance(self.by, str) else list(self.by)

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def update(self) -> str:
        return ACTS[self.step][0]

    def message(self, actor: Actor, application: Application | None = None) -> Message:
        """The message `actor` sends; a joint review is the reviewer's own unless `agency` is given."""
        fields = self.fields
        if self.step == "joint_review":
            fields.setdefault("agency", actor.body.value)
        if self.step == "confirm_filing":  # each body confirms its own filing (Art. 13)
            fields.setdefault("body", actor.body.value)
        if self.step in APPLICATION_STEPS:
            fields = {k: v for k, v in fields.items() if k not in ("overrides", "application")}
            fields["application"] = application
        return ACTS[self.step][1].model_validate({**fields, "actor": actor})


# The workflow's deadlines: its own four, and one joint review per agency (`msa` or `review:msa`).
# The status query lists them by label only; these are the labels workflows/licensing.py gives them.
_LABELS = {"notice": "Art. 9 completeness notice", "preliminary_review": "Art. 9 preliminary review",
           "decision": "ALL 42 decision", "submission": "Art. 10 submission to the government",
           **{f"review:{b.value}": f"{b.value} joint review" for b in JOINT_REVIEW_PANEL}}
DEADLINE_NAMES = (*_LABELS, *(b.value for b in JOINT_REVIEW_PANEL))
DeadlineName = Literal[DEADLINE_NAMES]  # type: ignore[valid-type]


def canonical_deadline(name: str) -> str:
    """`msa` -> `review:msa`; the others are their own."""
    return name if name in _LABELS else f"review:{name}"


def deadline_label(name: str) -> str:
    return _LABELS[canonical_deadline(name)]


def deadline_name(label: str) -> str | None:
    return next((n for n, x in _LABELS.items() if x == label), None)


class DeadlineRef(_Strict):
    name: DeadlineName
    plus_workdays: int = Field(default=0, ge=0, le=60)  # e.g. the red-card escalation period after a deadline


class DaysBefore(_Strict):
    name: DeadlineName
    days: int = Field(ge=0, le=365)


class Advance(_Strict):
    """Exactly one of: working days, calendar days, a date, past a deadline, before a deadline."""

    workdays: int | None = Field(default=None, ge=1, le=1000)
    days: int | None = Field(default=None, ge=1, le=3660)
    until: date | None = None
    until_deadline: DeadlineRef | None = None
    days_before_deadline: DaysBefore | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("until_deadline"), str):
            data = {**data, "until_deadline": {"name": data["until_deadline"]}}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Advance:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"advance takes exactly one of workdays, days, until, until_deadline, "
                             f"days_before_deadline; got {given or 'none'}")
        return self


class Reapply(_Strict):
    """Submit the same application again, `after_days` calendar days on (Art. 24: after the ban)."""

    after_days: int = Field(default=0, ge=0, le=3660)
    expect_refused: ExpectRefused


# ------------------------------------------------------------------ expectations
def _event_type(v: Any) -> Any:
    if isinstance(v, str) and v not in EventType._value2member_map_:
        near = difflib.get_close_matches(v, list(EventType._value2member_map_), n=1)
        raise ValueError(f"unknown event type {v!r}" + (f"; did you mean {near[0]}?" if near else " (see domain/events.py)"))
    return v


EventName = Annotated[EventType, BeforeValidator(_event_type)]


class DeadlineExpect(_Strict):
    state: Literal["open", "met", "overdue", "paused"] | None = None
    provisional: bool | None = None
    # How far the due date moved (working days) since the runner first saw this deadline.
    moved_by_workdays: int | None = None


class Expect(_Strict):
    stage: Stage | None = None
    events: list[EventName] = Field(default_factory=list)  # a subsequence of the timeline, in order
    not_events: list[EventName] = Field(default_factory=list)
    counts: dict[EventName, int] = Field(default_factory=dict)
    articles: dict[EventName, str] = Field(default_factory=dict)  # every event of the type cites it
    data: dict[EventName, dict[str, Any]] = Field(default_factory=dict)  # fields of the last such event
    deadlines: dict[DeadlineName, DeadlineExpect] = Field(default_factory=dict)
    accepted_on: Literal["receipt_day", "today"] | date | None = None
    pending: list[str] | None = None  # who the file waits on, as actor codes ("district:nansha", "msa")
    validity_years: int | None = Field(default=None, ge=1)


class AdvanceStep(_Strict):
    advance: Advance


class ActStep(_Strict):
    act: Act


class ReapplyStep(_Strict):
    reapply: Reapply


class ExpectStep(_Strict):
    expect: Expect


def _step_kind(v: Any) -> str | None:
    if isinstance(v, dict) and len(v) == 1:
        key = next(iter(v))
        return key if key in ("advance", "act", "reapply", "expect") else None
    return None


Step = Annotated[
    Annotated[AdvanceStep, Tag("advance")] | Annotated[ActStep, Tag("act")]
    | Annotated[ReapplyStep, Tag("reapply")] | Annotated[ExpectStep, Tag("expect")],
    Discriminator(_step_kind, custom_error_type="step", custom_error_message=(
        "a step is a mapping with one key: advance, act, reapply or expect")),
]


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    start_on: date | None = None  # default: now; a later date starts the file then (nothing earlier)
    application: ApplicationSpec
    steps: list[Step] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)


def load(path: Path) -> Scenario:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, ValueError) as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from None
    try:
        return Scenario.model_validate(doc)
    except ValidationError as e:
        lines = [f"{path}: not a valid scenario:"]
        for x in e.errors(include_url=False):
            lines.append(f"  {_where(x['loc']) or '(top)'}: {x['msg'].removeprefix('Value error, ')}")
        raise ScenarioError("\n".join(lines)) from None


def _where(loc: tuple) -> str:
    """`steps.2.act.by`, not pydantic's `steps.2.act.act.by`: the union tags say nothing to the author."""
    out: list[str] = []
    for p in map(str, loc):
        if p == "[key]" or out and (p == out[-1] or (out[-1] == "application" and p in ("fixture", "inline"))):
            continue
        out.append(p)
    return ".".join(out)

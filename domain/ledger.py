"""The enterprise's oil ledger (Art. 17): receipts, supplies to vessels, depot transfers, stock.

Art. 17 asks for a ledger of oil in (进), sales (销), stock (存) and depot in/out (出入库), with the vouchers
and bills (凭证、票据) that prove where bonded oil came from and went. Each movement touches one depot;
a transfer between two depots is two movements (out of one, into the other), each with its own voucher,
because the two legs are booked by different depots and may be reported in different batches.

The rules here are pure: a movement is refused field by field when malformed; a batch is refused when
it repeats a voucher number or would take a depot below zero (`first_duplicate`, `check_stock`). What
the annual inspection (Art. 22(1)(2)) reads from the ledger is `AnnualSummary`.

Not modelled (the measures do not name them): stocktake adjustments and corrections of a booked
movement (红冲). Until they are, a wrong row is corrected by an operator, not by the enterprise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo

from domain.application import ImoNumber, NonEmptyStr, OptionalStr

SHANGHAI = ZoneInfo("Asia/Shanghai")
TONNE_PLACES = 3
_MILLI = Decimal(1).scaleb(-TONNE_PLACES)
_MAX_TONNES = Decimal("99999999999.999")  # numeric(14,3) in ledger_movements


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # 入库: bonded oil into a depot
    SUPPLY = "supply"  # 供船: sale to an international vessel
    TRANSFER_OUT = "transfer_out"  # 出库 to another depot
    TRANSFER_IN = "transfer_in"  # 入库 from another depot


CREDITS = frozenset({MovementKind.RECEIPT, MovementKind.TRANSFER_IN})
TRANSFERS = frozenset({MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN})


def _tonnes(v: Decimal) -> Decimal:
    if abs(v) > _MAX_TONNES:
        raise ValueError(f"吨数超出范围：{v} / tonnes out of range: {v}")
    if v != v.quantize(_MILLI):
        raise ValueError(f"吨数最多保留3位小数：{v} / tonnes take at most 3 decimals (kilograms), got {v}")
    return v.quantize(_MILLI)


def _positive(v: Decimal) -> Decimal:
    if v <= 0:
        raise ValueError(f"吨数须大于0，实为{v} / tonnes must be greater than 0, got {v}")
    return v


def _not_negative(v: Decimal | None) -> Decimal | None:
    if v is not None and v < 0:
        raise ValueError(f"流量计读数不能为负，实为{v} / a mass-flow-meter reading cannot be negative, got {v}")
    return v


Tonnes = Annotated[Decimal, AfterValidator(_tonnes), AfterValidator(_positive)]
MeterTonnes = Annotated[Decimal | None, AfterValidator(lambda v: None if v is None else _tonnes(v)),
                        AfterValidator(_not_negative)]

_KIND_ZH = {
    MovementKind.RECEIPT: "入库", MovementKind.SUPPLY: "供船",
    MovementKind.TRANSFER_OUT: "移库出库", MovementKind.TRANSFER_IN: "移库入库",
}


def _only_for(kinds: frozenset[MovementKind], name_zh: str, name_en: str, *, required: bool):
    """A field that belongs to some kinds of movement: required (or optional) there, refused elsewhere.

    Runs at the field (not the model), so the error points at what to fix; `kind` is declared
    earlier in the model, so `info.data` holds it unless it failed itself.
    """
    names = "/".join(k.value for k in sorted(kinds))

    def check(v: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if kind is None:
            return v
        if v is None and required and kind in kinds:
            raise ValueError(f"{_KIND_ZH[kind]}须填写{name_zh} / a {kind.value} needs its {name_en}")
        if v is not None and kind not in kinds:
            raise ValueError(f"{_KIND_ZH[kind]}不应填写{name_zh} / {name_en} belongs to {names} only, not {kind.value}")
        return v

    return AfterValidator(check)


_SUPPLY = frozenset({MovementKind.SUPPLY})


def _other_depot(v: str | None, info: ValidationInfo) -> str | None:
    if v is not None and v == info.data.get("depot"):
        raise ValueError(f"移库的对方油库不能是本油库：{v} / a transfer's counterpart depot cannot be its own depot: {v}")
    return v


class Movement(BaseModel):
    """One ledger row as the enterprise reports it. Field order matters: see `_only_for`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    voucher_no: Annotated[NonEmptyStr, Field(max_length=64)]  # the ledger voucher, unique per permit
    kind: MovementKind
    occurred_at: AwareDatetime
    depot: Annotated[NonEmptyStr, Field(max_length=100)]  # the tank or depot the oil moved in or out of
    quantity_t: Tonnes
    product: Annotated[NonEmptyStr, Field(max_length=100)]  # e.g. "低硫燃料油 VLSFO 0.5%S"
    vouchers: list[NonEmptyStr] = Field(default_factory=list)  # 凭证、票据 proving source and destination
    customs_declaration_no: OptionalStr = None  # may follow the supply; inspections flag it when missing
    vessel_imo: Annotated[ImoNumber | None, _only_for(_SUPPLY, "受油船IMO编号", "vessel IMO number", required=True)] = (
        Field(default=None, validate_default=True))
    vessel_name: Annotated[OptionalStr, _only_for(_SUPPLY, "受油船名", "vessel name", required=False)] = None
    bdn_no: Annotated[OptionalStr, _only_for(_SUPPLY, "燃油交付单号", "bunker delivery note (e-BDN) number",
                                             required=True)] = Field(default=None, validate_default=True)
    # None is let in: Art. 6(3) commits the enterprise to the meter, and inspections count the gaps.
    mass_flow_meter_t: Annotated[MeterTonnes, _only_for(_SUPPLY, "质量流量计读数", "mass-flow-meter quantity",
                                                        required=False)] = None
    counterpart_depot: Annotated[OptionalStr, _only_for(TRANSFERS, "对方油库", "counterpart depot", required=True),
                                 AfterValidator(_other_depot)] = Field(default=None, validate_default=True)

    @property
    def delta_t(self) -> Decimal:
        """Signed effect on the depot's stock."""
        return self.quantity_t if self.kind in CREDITS else -self.quantity_t


# --- batch rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateVoucher:
    row_index: int
    voucher_no: str
    first_row_index: int


def first_duplicate(movements: Sequence[Movement]) -> DuplicateVoucher | None:
    """The first row that repeats an earlier row's voucher number."""
    seen: dict[str, int] = {}
    for i, m in enumerate(movements):
        if m.voucher_no in seen:
            return DuplicateVoucher(i, m.voucher_no, seen[m.voucher_no])
        seen[m.voucher_no] = i
    return None


@dataclass(frozen=True)
class Posted:
    """A movement already in the ledger, as the stock check needs it."""

    occurred_at: datetime
    depot: str
    delta_t: Decimal
    voucher_no: str


@dataclass(frozen=True)
class Shortfall:
    row_index: int  # the batch row to blame: the last one out of the depot before it went short
    voucher_no: str
    depot: str
    balance_t: Decimal  # the balance it would have had
    at: datetime  # when
    at_voucher_no: str  # the movement at which it goes below zero (a later, stored one for a late report)


def check_stock(
    opening: Mapping[str, Decimal], movements: Sequence[Movement], posted: Sequence[Posted] = ()
) -> Shortfall | None:
    """The first point at which a depot would hold less than nothing, or None.

    Movements are booked by time; at the same instant, in the order the enterprise listed them.
    `posted` are the stored movements dated at or after the batch's earliest movement of their depot,
    in ledger order; `opening` is each depot's balance just before them (a depot not named holds 0).
    A batch row dated among stored ones (a late report) is booked after stored rows of the same instant,
    and every later balance is re-checked, so a late supply cannot empty a depot in hindsight.
    """
    timeline: list[tuple[datetime, int, int]] = [(p.occurred_at, 0, j) for j, p in enumerate(posted)]
    timeline += [(m.occurred_at, 1, i) for i, m in enumerate(movements)]
    timeline.sort()
    balance = {d: Decimal(b) for d, b in opening.items()}
    last_out: dict[str, int] = {}  # per depot: the batch row that last took oil out
    for at, from_batch, k in timeline:
        if from_batch:
            m = movements[k]
            depot, delta, voucher = m.depot, m.delta_t, m.voucher_no
            if delta < 0:
                last_out[depot] = k
        else:
            p = posted[k]
            depot, delta, voucher = p.depot, p.delta_t, p.voucher_no
        balance[depot] = balance.get(depot, Decimal(0)) + delta
        if balance[depot] < 0:
            # Stored history never goes below zero, so some batch row took oil out before this point.
            blame = k if from_batch else last_out.get(depot, k)
            return Shortfall(blame, movements[blame].voucher_no, depot, balance[depot], at, voucher)
    return None


# --- the annual inspection (Art. 22(1)(2)) ------------------------------------------------------


def year_window(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) of `year`, in Guangzhou time."""
    return (datetime.combine(date(year, 1, 1), time(), SHANGHAI),
            datetime.combine(date(year + 1, 1, 1), time(), SHANGHAI))


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), SHANGHAI)


class QuietSpell(BaseModel):
    """A stretch without any supply to a vessel, longer than the inspection's threshold."""

    model_config = ConfigDict(frozen=True)
    start: datetime  # the previous supply, or the start of the period looked at
    end: datetime  # the next supply, or the end of the period looked at
    days: int  # whole days


class ReportingGaps(BaseModel):
    """What the enterprise left out or reported late (Art. 22(2): operating information)."""

    model_config = ConfigDict(frozen=True)
    supplies_without_meter: int  # no mass-flow-meter quantity (Art. 6(3))
    supplies_without_meter_sample: list[str]  # their voucher numbers, earliest first (at most 20)
    supplies_without_customs_declaration: int
    movements_without_vouchers: int  # Art. 17: no 凭证/票据 referenced
    late_reports: int  # recorded more than `late_after_days` after they occurred
    late_after_days: int


class AnnualSummary(BaseModel):
    """A permit's ledger over one period, as the annual inspection reads it (Art. 22(1)(2))."""

    model_config = ConfigDict(frozen=True)
    stream_id: str
    start: datetime
    end: datetime
    supplies: int
    supplied_t: Decimal
    vessels: int  # distinct IMO numbers supplied
    receipts: int
    received_t: Decimal
    transfers_out: int
    transferred_out_t: Decimal
    transfers_in: int
    transferred_in_t: Decimal
    quiet_days: int
    quiet_spells: list[QuietSpell]
    reporting_gaps: ReportingGaps
    opening_stock: dict[str, Decimal]
    closing_stock: dict[str, Decimal]


def quiet_spell(start: datetime, end: datetime) -> QuietSpell:
    return QuietSpell(start=start, end=end, days=(end - start) // timedelta(days=1))

"""The enterprise's oil ledger (Art. 17): receipts, supplies to vessels, depot transfers, stock.

Art. 17 asks for a ledger of oil in (进), sales (销), stock (存) and depot in/out (出入库), with the vouchers
and bills (凭证、票据) that prove where bonded oil came from and went. Each movement touches one depot;
a transfer between two depots is two movements (out of one, into the other), each with its own voucher,
because the two legs are booked by different depots and may be reported in different batches.

The rules here are pure: a movement is refused field by field when malformed; a batch is refused when
it repeats a voucher number or would take a depot below zero (`first_duplicate`, `check_stock`). What
the annual inspection (Art. 22(1)(2)) reads from the ledger is `AnnualSummary`.

A batch travels by column (`MovementBatch`: the values of a `list[Movement]`, parsed from JSON without a
model object per row), and what it adds to the yearly summary the inspection reads is `summarise`.

Not modelled (the measures do not name them): stocktake adjustments and corrections of a booked
movement (红冲). Until they are, a wrong row is corrected by an operator, not by the enterprise.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate, chain, compress, pairwise
from operator import attrgetter, itemgetter, le, methodcaller
from typing import Annotated, Any, Literal, overload
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from typing_extensions import NotRequired, TypedDict  # pydantic's TypedDict support needs these on 3.11

from domain.application import ImoNumber, NonEmptyStr, OptionalStr
from domain.identifiers import normalise_imo

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


# --- a batch, held by column ----------------------------------------------------------------------
#
# Ingestion books tens of thousands of rows a batch, and building and reading one `Movement` per row costs
# more than booking it. So a batch travels as `MovementBatch`: one list per field (`FIELDS`, in the order
# ledger_movements takes them), the same values a `list[Movement]` holds.
#
# From JSON (`MovementBatch.from_json`), rows are checked by `_FastRow`: the rules of `Movement` that
# pydantic-core can apply itself (types, lengths, stripping, which fields each kind takes, the digits of
# tonnes and of an ISO 8601 time), and, per column, what is left (an IMO number's check digit, once per
# distinct number; blank optional text as None; tonnes above zero; a transfer's other depot). `_FastRow` is
# stricter than `Movement`, never looser: whatever it does not accept (tonnes sent as JSON numbers, a time
# written otherwise, a blank vessel name on a receipt, any error at all) is validated again by `Movement`
# over the whole batch, which gives the same values or the same field errors as before
# (tests/unit/test_ledger_batch.py holds the two to that).
#
# A large body is validated in pieces (`_pieces`), each as ingestion copies the previous one into
# PostgreSQL, so that validating and booking overlap. Whatever needs every row (its length, its rows as
# `Movement`s, `validate_all`) validates the rest first; an invalid piece stops the copy, and the batch is
# refused as invalid, whatever else ingestion would have said.

FIELDS = ("voucher_no", "kind", "occurred_at", "depot", "counterpart_depot", "quantity_t", "product", "vessel_imo",
          "vessel_name", "bdn_no", "customs_declaration_no", "mass_flow_meter_t", "vouchers")
_ROW_OF_MOVEMENT = attrgetter(*FIELDS)
_ROW_OF_DICT = itemgetter(*FIELDS)
Columns = tuple[list[Any], ...]  # one list per name in FIELDS

_MOVEMENTS = TypeAdapter(list[Movement])


@lru_cache(maxsize=8)
def batch_adapter(max_rows: int) -> TypeAdapter[list[Movement]]:
    """What a batch of at most `max_rows` movements must be: its JSON schema, and its errors."""
    return TypeAdapter(Annotated[list[Movement], Field(max_length=max_rows)])


class InvalidBatch(ValueError):
    """A batch refused field by field: `error` is what `batch_adapter` says of it."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(f"{error.error_count()} invalid field(s) in the batch")  # not str(error): 50,000 lines
        self.error = error


# Tonnes as digits: at most 99999999999.999, no sign, no exponent (what `_tonnes` accepts, and more).
_Digits = Annotated[str, StringConstraints(pattern=r"^(?:0|[1-9][0-9]{0,10})(?:\.[0-9]{1,3})?$")]
# A time as `datetime.fromisoformat` and pydantic both read it, to the same instant and offset.
_IsoTime = Annotated[str, StringConstraints(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})$")]


# Optional text stripped by pydantic-core, where OptionalStr strips with Python's str.strip: the same, but
# for U+001C…U+001F, which Python strips and pydantic-core does not; a piece that holds them (escaped, as
# JSON must) is left to `Movement` (`_PYTHON_ONLY_BLANKS`).
_Stripped = Annotated[str, StringConstraints(strip_whitespace=True)]
_PYTHON_ONLY_BLANKS = re.compile(rb"\\u001[cdefCDEF]")


def _absent() -> Any:
    return Field(default=None)


class _FastCommon(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    voucher_no: Annotated[NonEmptyStr, Field(max_length=64)]
    occurred_at: _IsoTime
    depot: Annotated[NonEmptyStr, Field(max_length=100)]
    quantity_t: _Digits
    product: Annotated[NonEmptyStr, Field(max_length=100)]
    vouchers: Annotated[NotRequired[list[NonEmptyStr]], Field(default_factory=list)]
    customs_declaration_no: Annotated[NotRequired[_Stripped | None], _absent()]


class _FastReceipt(_FastCommon):
    kind: Literal["receipt"]
    vessel_imo: Annotated[NotRequired[None], _absent()]
    vessel_name: Annotated[NotRequired[None], _absent()]
    bdn_no: Annotated[NotRequired[None], _absent()]
    mass_flow_meter_t: Annotated[NotRequired[None], _absent()]
    counterpart_depot: Annotated[NotRequired[None], _absent()]


class _FastSupply(_FastCommon):
    kind: Literal["supply"]
    vessel_imo: str
    vessel_name: Annotated[NotRequired[_Stripped | None], _absent()]
    bdn_no: Annotated[_Stripped, Field(min_length=1)]
    mass_flow_meter_t: Annotated[NotRequired[_Digits | None], _absent()]
    counterpart_depot: Annotated[NotRequired[None], _absent()]


class _FastTransferOut(_FastCommon):
    kind: Literal["transfer_out"]
    vessel_imo: Annotated[NotRequired[None], _absent()]
    vessel_name: Annotated[NotRequired[None], _absent()]
    bdn_no: Annotated[NotRequired[None], _absent()]
    mass_flow_meter_t: Annotated[NotRequired[None], _absent()]
    counterpart_depot: Annotated[_Stripped, Field(min_length=1)]


class _FastTransferIn(_FastTransferOut):
    kind: Literal["transfer_in"]  # type: ignore[misc]


_FastRow = Annotated[_FastReceipt | _FastSupply | _FastTransferOut | _FastTransferIn, Discriminator("kind")]
_FAST = TypeAdapter(list[_FastRow])


@lru_cache(maxsize=65_536)
def _imo(raw: str) -> str | None:
    """`normalise_imo`, remembered (a batch names a few dozen vessels); None where it refuses."""
    try:
        return normalise_imo(raw)
    except ValueError:
        return None


def _blank_none(column: Sequence[str | None]) -> list[str | None]:
    """OptionalStr's rule (domain/application.py) for a column `_Stripped` already: blank as None."""
    if "" not in column:
        return list(column)
    return [v or None for v in column]


_QUANTIZE = methodcaller("quantize", _MILLI)
_ZERO = re.compile(r"^0(?:\.0*)?$", re.MULTILINE)


def _tonnes_column(column: Sequence[str | Decimal | None]) -> list[Decimal | None]:
    """Tonnes as `Movement` holds them: Decimal, to the kilogram (`_Digits` are all valid `_tonnes`)."""
    if None in column:
        return [v if v is None else Decimal(v).quantize(_MILLI) for v in column]
    return list(map(_QUANTIZE, map(Decimal, column)))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive rows of a batch, validated. `columns` hold tonnes as they came (the digits of a JSON
    body, or Decimal); `times` is occurred_at as written in the body, or None; `plain`: no value holds a
    backslash, a double quote or a control character (known from the JSON text, which would have escaped
    them)."""

    start: int
    columns: Columns
    times: list[str] | None = None
    plain: bool = False


def _fast_chunk(start: int, rows: list[dict[str, Any]], plain: bool) -> Chunk | None:
    """The chunk of rows `_FAST` accepted, or None if `Movement` must look at them (it may refuse them)."""
    if not rows:
        return Chunk(start, tuple([] for _ in FIELDS), [], plain)
    (voucher_no, kind, times, depot, counterpart, quantity, product, vessel_imo, vessel_name, bdn_no,
     declaration, meter, vouchers) = zip(*map(_ROW_OF_DICT, rows), strict=True)
    if _ZERO.search("\n".join(quantity)):  # type: ignore[arg-type]
        return None  # Movement says "greater than 0"
    try:
        occurred_at = list(map(datetime.fromisoformat, times))
    except ValueError:
        return None  # not a day of the calendar, or an offset of a day or more
    supplies = kind.count(_SUPPLY_VALUE)
    transfers = len(kind) - supplies - kind.count(MovementKind.RECEIPT.value)
    imo: list[str | None] = list(vessel_imo)
    if supplies:  # `_FastRow` holds vessel fields to None on the other kinds, and bdn_no to a text on supplies
        known = {v: None if v is None else _imo(v) for v in set(vessel_imo)}
        imo = list(map(known.__getitem__, vessel_imo))
        if len(imo) - imo.count(None) != supplies:
            return None
    # …and counterpart_depot to a text on transfers, None on the others
    if transfers and any(map(str.__eq__, compress(counterpart, counterpart), compress(depot, counterpart))):
        return None
    columns = (list(voucher_no), list(kind), occurred_at, list(depot), list(counterpart), list(quantity),
               list(product), imo, _blank_none(vessel_name), list(bdn_no), _blank_none(declaration), list(meter),
               list(map(tuple, vouchers)))  # tuples: a batch's 10,000 lists would each be left for a full GC
    return Chunk(start, columns, list(times), plain)


def _columns_of(movements: Sequence[Movement]) -> Columns:
    if not movements:
        return tuple([] for _ in FIELDS)
    columns = [list(c) for c in zip(*map(_ROW_OF_MOVEMENT, movements), strict=True)]
    columns[1] = [k.value for k in columns[1]]
    return tuple(columns)


_SPLIT = re.compile(rb"\}\s*,\s*\{")
# A JSON escape that stands for a backslash, a double quote or a control character (`\u4e2d` does not).
_ESCAPED = re.compile(rb'\\(?:["\\bfnrt]|u00[01]|u0022|u005[cC])')


_NOT_PLAIN = re.compile(rb"\\(?:[^u]|u00)")


def _plain(piece: bytes) -> bool:
    """No escape in the JSON text but `\\uXXXX` above U+00FF (a body written ASCII-only): then no value
    holds a backslash, a double quote or a control character."""
    return _NOT_PLAIN.search(piece) is None
_BLANK = b" \t\r\n"
PIECE_BYTES = 32 << 10  # smaller pieces leave fewer rows alive for the GC to promote
FIRST_PIECE_BYTES = 16 << 10  # smaller, so that PostgreSQL has rows to book soon


def _pieces(body: bytes) -> list[tuple[int, int]]:
    """Where to cut the body (a JSON array of objects) into JSON arrays of about PIECE_BYTES (the first
    smaller), between two objects: (start, end) of each piece's objects, or [(0, len)] for the whole body.

    A cut is made at `}` `,` `{` (blanks allowed between). Such a place may also lie inside a string; then
    the pieces on both sides are not JSON (the string is cut open), `_FAST` refuses them, and `Movement`
    validates the whole body instead. So a cut in the wrong place costs time, never a wrong row. A body
    that does not look like an array is left whole (one piece), for `Movement` to judge.
    """
    first, last = len(body) - len(body.lstrip(_BLANK)), len(body.rstrip(_BLANK)) - 1
    if last - first <= FIRST_PIECE_BYTES or body[first:first + 1] != b"[" or body[last:last + 1] != b"]":
        return [(0, len(body))]
    out, start, size = [], first + 1, FIRST_PIECE_BYTES
    while (cut := _SPLIT.search(body, start + size, last)) is not None:
        out.append((start, cut.start() + 1))
        start, size = cut.end() - 1, PIECE_BYTES
    out.append((start, last))
    return out


def _piece(body: bytes, where: tuple[int, int]) -> bytes:
    start, end = where
    if (start, end) == (0, len(body)):
        return body
    return b"".join((b"[", memoryview(body)[start:end], b"]"))


class MovementBatch(Sequence[Movement]):
    """A batch of movements, valid, held by column (see above)."""

    def __init__(self, columns: Columns, movements: list[Movement] | None = None, body: bytes = b"",
                 max_rows: int = 0) -> None:
        self._chunks: list[Chunk] = [Chunk(0, columns)]
        self._columns: Columns | None = columns
        self._fingerprint: str | None = None
        self._pending: list[tuple[int, int]] = []  # pieces of the body not validated yet
        self._body = body
        self._max_rows = max_rows
        self._movements: list[Movement] | None = movements
        self._invalid: InvalidBatch | None = None
        self._converted: dict[int, list[Any]] = {}  # columns as `Movement` holds them, where they differ

    @classmethod
    def of(cls, movements: Sequence[Movement]) -> MovementBatch:
        if isinstance(movements, MovementBatch):
            return movements
        movements = list(movements)
        return cls(_columns_of(movements), movements)

    @classmethod
    def from_json(cls, body: bytes, *, max_rows: int) -> MovementBatch:
        """The batch a JSON array of movements holds, at most `max_rows`; InvalidBatch if it is not one.

        The first piece is validated here (a batch of up to a few hundred rows is one piece); the rest when
        read (`chunks`, or anything that needs every row)."""
        batch = cls(tuple([] for _ in FIELDS), body=body, max_rows=max_rows)
        batch._chunks, batch._columns = [], None
        batch._pending = _pieces(body)
        batch._pending.reverse()  # popped from the end
        batch._advance()
        if not batch._pending:
            batch._complete()
        return batch

    @property
    def fingerprint(self) -> str:
        """What tells a retried batch: the SHA-256 of the body it was parsed from, or of its movements' JSON."""
        if self._fingerprint is None:
            source = self._body if self._body else _MOVEMENTS.dump_json(self[:])
            self._fingerprint = hashlib.sha256(source).hexdigest()
        return self._fingerprint

    # -- validation, piece by piece

    @property
    def complete(self) -> bool:
        """Every row validated (nothing left that could still make the batch invalid)."""
        return self._columns is not None

    def chunks(self) -> Iterator[Chunk]:
        """Each validated part, validating the rest as it goes (InvalidBatch when it comes to an invalid
        row)."""
        k = 0
        while True:
            while k < len(self._chunks):
                yield self._chunks[k]
                k += 1
            if not self._pending:
                break
            self._advance()
        self._complete()

    def validate_all(self) -> None:
        """Validate what is left: InvalidBatch if a row is invalid."""
        while self._pending:
            self._advance()
        self._complete()

    def _advance(self) -> None:
        if self._invalid is not None:
            raise self._invalid
        where = self._pending.pop()
        piece = _piece(self._body, where)
        done = sum(len(c.columns[0]) for c in self._chunks)
        chunk = None
        plain = _plain(piece)
        # NUL: whatever rule holds for it is the model's; U+001C…U+001F: see _Stripped.
        if plain or (b"\\u0000" not in piece and _PYTHON_ONLY_BLANKS.search(piece) is None):
            try:
                chunk = _fast_chunk(done, _FAST.validate_json(piece), plain=plain or _ESCAPED.search(piece) is None)
            except ValidationError:
                pass
        if chunk is not None and done + len(chunk.columns[0]) <= self._max_rows:
            self._chunks.append(chunk)
            return
        # `_FAST` cannot say: `Movement` over the whole body, as before (the rows already validated are
        # the same there; the rest are taken from it).
        try:
            movements = batch_adapter(self._max_rows).validate_json(self._body)
        except ValidationError as e:
            self._invalid = InvalidBatch(e)
            self._pending.append(where)  # never validated: the batch stays incomplete, and invalid
            raise self._invalid from None
        self._pending.clear()
        self._chunks.append(Chunk(done, _columns_of(movements[done:])))

    def _complete(self) -> None:
        if self._columns is None:
            self._columns = tuple(list(chain.from_iterable(c.columns[i] for c in self._chunks))
                                  for i in range(len(FIELDS)))

    def _all(self) -> Columns:
        self.validate_all()
        assert self._columns is not None
        return self._columns

    # -- the columns (every row validated first), as `Movement` holds the values

    def given(self, name: str) -> list[Any]:
        """A column as it came: tonnes perhaps as their digits, vouchers perhaps as tuples (what is None or
        empty is so all the same)."""
        return self._all()[FIELDS.index(name)]

    def column(self, name: str) -> list[Any]:
        i = FIELDS.index(name)
        if i not in _CONVERTED:
            return self._all()[i]
        if i not in self._converted:
            given = self._all()[i]
            self._converted[i] = list(map(list, given)) if i == _VOUCHERS else _tonnes_column(given)
        return self._converted[i]

    @property
    def voucher_no(self) -> list[str]:
        return self._all()[0]

    @property
    def kind(self) -> list[str]:
        return self._all()[1]

    @property
    def occurred_at(self) -> list[datetime]:
        return self._all()[2]

    @property
    def depot(self) -> list[str]:
        return self._all()[3]

    @property
    def quantity_t(self) -> list[Decimal]:
        return self.column("quantity_t")

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Each row's values, in the order of FIELDS."""
        return zip(*map(self.column, FIELDS), strict=True)

    def tonnes(self) -> list[Decimal]:
        """quantity_t for sums: equal to `Movement`'s, not necessarily written to three places."""
        given = self.given("quantity_t")
        return given if not given or isinstance(given[0], Decimal) else list(map(Decimal, given))

    def deltas(self) -> list[Decimal]:
        """Each row's signed effect on its depot's stock (`Movement.delta_t`)."""
        return [q if k in _CREDIT_VALUES else -q for q, k in zip(self.tonnes(), self.kind, strict=True)]

    # -- Sequence[Movement]

    def __len__(self) -> int:
        return len(self._all()[0])

    @overload
    def __getitem__(self, i: int) -> Movement: ...
    @overload
    def __getitem__(self, i: slice) -> list[Movement]: ...

    def __getitem__(self, i: int | slice) -> Movement | list[Movement]:
        if self._movements is None:
            self._movements = [
                Movement.model_construct(**dict(zip(FIELDS, row, strict=True)) | {"kind": MovementKind(row[1])})
                for row in self.rows()
            ]
        return self._movements[i]


_CREDIT_VALUES = frozenset(k.value for k in CREDITS)
_SUPPLY_VALUE = MovementKind.SUPPLY.value
_VOUCHERS = FIELDS.index("vouchers")
_CONVERTED = frozenset({FIELDS.index("quantity_t"), FIELDS.index("mass_flow_meter_t"), _VOUCHERS})


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


def stock_never_short(batch: MovementBatch) -> bool:
    """True if, in ledger order, the batch's own movements never take more from a depot than they have
    brought to it. Then no depot can go below zero however the batch falls among stored movements: at any
    point its balance is what the stored movements left there (never below zero: every batch booked was
    checked against all of them) plus what the batch has added so far (never below zero). A sufficient
    condition only: when it does not hold, `check_stock` against the stored movements decides.
    """
    occurred, depots, deltas = batch.occurred_at, batch.depot, batch.deltas()
    if not all(map(le, occurred, occurred[1:])):  # ledger order: by time, then as listed
        order = sorted(range(len(occurred)), key=occurred.__getitem__)
        depots, deltas = [depots[i] for i in order], [deltas[i] for i in order]
    names = set(depots)
    if len(names) == 1:
        return min(accumulate(deltas)) >= 0
    return all(min(accumulate(compress(deltas, map(name.__eq__, depots)))) >= 0 for name in names)


# --- the yearly summary a batch adds to (store/migrations/0006_ledger_summary.sql) -----------------------

_ONE_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)


def late_days(recorded_at: datetime, occurred_at: datetime) -> int:
    """The most whole days N for which the row was recorded more than N days after it occurred
    (`recorded_at - occurred_at > N days` exactly when `late_days >= N`)."""
    return (recorded_at - occurred_at - _ONE_MICROSECOND) // _DAY


def local_year(at: datetime) -> int:
    return at.astimezone(SHANGHAI).year


def whole_years(start: datetime, end: datetime) -> tuple[int, int] | None:
    """(first, last): [start, end) is the years first … last - 1, in Guangzhou time; None if it is not."""
    first, last = local_year(start), local_year(end)
    if first < last and start == year_window(first)[0] and end == year_window(last)[0]:
        return first, last
    return None


def _groups(times: list[datetime], cuts: list[datetime]) -> list[Sequence[int]]:
    """The row indices between consecutive cuts (sorted instants), in runs where `times` are in order."""
    if not cuts:
        return [range(len(times))]
    if all(map(le, times, times[1:])):
        edges = [0, *(bisect_left(times, c) for c in cuts), len(times)]
        return [range(a, b) for a, b in pairwise(edges) if a < b]
    groups: dict[int, list[int]] = defaultdict(list)
    for i, t in enumerate(times):
        groups[bisect_right(cuts, t)].append(i)
    return list(groups.values())


def _pick(column: list[Any], rows: Sequence[int]) -> list[Any]:
    if isinstance(rows, range):
        return column[rows.start:rows.stop]
    return [column[i] for i in rows]


_KIND_VALUES = tuple(k.value for k in MovementKind)  # receipt, supply, transfer_out, transfer_in
_ZERO_T = Decimal("0.000")


def _tally(kinds: list[str], quantity: list[Decimal], meters: list[Any], declarations: list[Any],
           vouchers: list[list[str]]) -> tuple[Any, ...]:
    """(movements, supplies, supplied_t, receipts, received_t, transfers_out, transferred_out_t, transfers_in,
    transferred_in_t, supplies_without_meter, supplies_without_declaration, movements_without_vouchers)"""
    counts = Counter(kinds)
    tonnes = {k: sum(compress(quantity, map(k.__eq__, kinds)), _ZERO_T) if counts[k] else _ZERO_T
              for k in _KIND_VALUES}

    def supplies_without(column: list[Any]) -> int:
        if None not in column:
            return 0
        return list(compress(column, map(_SUPPLY_VALUE.__eq__, kinds))).count(None)

    return (len(kinds), counts[_SUPPLY_VALUE], tonnes[_SUPPLY_VALUE], counts["receipt"], tonnes["receipt"],
            counts["transfer_out"], tonnes["transfer_out"], counts["transfer_in"], tonnes["transfer_in"],
            supplies_without(meters), supplies_without(declarations), len(vouchers) - sum(map(bool, vouchers)))


@dataclass(frozen=True)
class BatchSummary:
    """What a batch adds to the permit's stock, activity and yearly summary."""

    movements: int
    supplies: int
    last_supply_at: datetime | None
    depot_deltas: dict[str, Decimal]  # each depot's net change
    # (year, depot, late_days, movements, supplies, supplied_t, receipts, received_t, transfers_out,
    #  transferred_out_t, transfers_in, transferred_in_t, supplies_without_meter, supplies_without_declaration,
    #  movements_without_vouchers): the columns of ledger_summary after stream_id
    totals: list[tuple[Any, ...]]
    vessels: list[tuple[int, str]]  # (year, vessel IMO)
    supply_days: list[tuple[date, datetime, datetime]]  # (day, first supply, last supply)

    def summary_columns(self) -> list[list[Any]]:
        return [list(c) for c in zip(*self.totals, strict=True)]

    def vessel_columns(self) -> list[list[Any]]:
        return [[y for y, _ in self.vessels], [v for _, v in self.vessels]]

    def day_columns(self) -> list[list[Any]]:
        return [[d for d, _, _ in self.supply_days], [f for _, f, _ in self.supply_days],
                [la for _, _, la in self.supply_days]]


def summarise(batch: MovementBatch, recorded_at: datetime) -> BatchSummary:
    """The batch's contribution to the summary tables, by column: the rows are cut where a year (Guangzhou
    time) begins or `late_days` changes (a batch usually falls in one or two such stretches), and each
    stretch is tallied per depot."""
    kinds, occurred, depots, quantity = batch.kind, batch.occurred_at, batch.depot, batch.tonnes()
    meters, declarations = batch.given("mass_flow_meter_t"), batch.column("customs_declaration_no")
    vouchers, imos = batch.given("vouchers"), batch.column("vessel_imo")
    lo, hi = min(occurred), max(occurred)
    # late_days(t) >= L exactly when t < recorded_at - L days; it falls by one at each such instant.
    latest, earliest = late_days(recorded_at, lo), late_days(recorded_at, hi)
    cuts = sorted([year_window(y)[0] for y in range(local_year(lo) + 1, local_year(hi) + 1)]
                  + [recorded_at - days * _DAY for days in range(earliest + 1, latest + 1)])
    totals, vessels, depot_deltas = [], set(), defaultdict(Decimal)
    for rows in _groups(occurred, cuts):
        at = occurred[rows[0]]
        year, late = local_year(at), late_days(recorded_at, at)
        kinds_, quantity_, meters_, declarations_, vouchers_, depots_ = (
            _pick(c, rows) for c in (kinds, quantity, meters, declarations, vouchers, depots))
        vessels.update((year, v) for v in set(_pick(imos, rows)) if v is not None)
        names = set(depots_)
        for name in sorted(names):
            if len(names) == 1:
                tally = _tally(kinds_, quantity_, meters_, declarations_, vouchers_)
            else:
                mask = list(map(name.__eq__, depots_))
                tally = _tally(*(list(compress(c, mask)) for c in (kinds_, quantity_, meters_, declarations_, vouchers_)))
            totals.append((year, name, late, *tally))
            _, _, supplied, _, received, _, sent, _, taken_in, *_ = tally
            depot_deltas[name] += received + taken_in - supplied - sent
    supplied_at = list(compress(occurred, map(_SUPPLY_VALUE.__eq__, kinds)))
    days: list[tuple[date, datetime, datetime]] = []
    if supplied_at:
        first_day, last_day = (min(supplied_at).astimezone(SHANGHAI).date(),
                               max(supplied_at).astimezone(SHANGHAI).date())
        day_cuts = [day_start(first_day + timedelta(days=i)) for i in range(1, (last_day - first_day).days + 1)]
        for rows in _groups(supplied_at, day_cuts):
            times = _pick(supplied_at, rows)
            first, last = min(times), max(times)
            days.append((first.astimezone(SHANGHAI).date(), first, last))
        days.sort()
    return BatchSummary(movements=len(kinds), supplies=len(supplied_at), last_supply_at=max(supplied_at, default=None),
                        depot_deltas=dict(depot_deltas), totals=totals, vessels=sorted(vessels), supply_days=days)


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

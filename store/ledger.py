"""The Art. 17 ledger in PostgreSQL: batches of movements in by COPY, stock, activity and the yearly summary
beside them.

A batch is applied whole or not at all, in one transaction that holds the permit's read-model row lock
(`FOR NO KEY UPDATE`): two batches of one permit are booked one after the other, and the permit cannot
be terminated half-way through a batch. Batches of different permits do not wait for each other.

How a batch is booked (`ingest`): first the quick way, which expects a batch to be accepted — its rows
are copied as they are validated (domain.ledger.MovementBatch), the unique index (stream_id, voucher_no)
refuses a voucher already booked, and the checks that need every row (dates, a voucher repeated, stock)
run on the columns, after the copy if the batch was still being validated. Anything amiss rolls that
back, and the batch is booked again the careful way: every check in its order before anything is
written, each refusal naming its row — so a refused batch is answered exactly as it always was. The rows
go in by COPY in text format, written from the columns (`_copy_text`): cheaper in Python than having
asyncpg encode a tuple per row, for the same values (tests/integration/test_ledger_summary.py).

The permit's workflow never receives ledger rows. Its Art. 23 timer asks `last_supply_at` (one row of
`ledger_activity`) when it fires; ingestion reports `resumed_from_dormancy` when a supply arrives for a
permit the workflow has marked dormant, and the caller signals the workflow then, once per batch.

The annual inspection (Art. 22) reads `annual_summary`: for whole years, from `ledger_summary`,
`ledger_summary_vessels` and `ledger_supply_days` (store/migrations/0006_ledger_summary.sql), which
ingestion keeps in the same transaction; for any other period, or if the summary does not account for
every booked movement (rows written around ingestion), from `ledger_movements` itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import chain, repeat
from operator import methodcaller
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from domain.ledger import (
    FIELDS,
    SHANGHAI,
    AnnualSummary,
    BatchSummary,
    Chunk,
    Movement,
    MovementBatch,
    Posted,
    ReportingGaps,
    check_stock,
    day_start,
    first_duplicate,
    quiet_spell,
    stock_never_short,
    summarise,
    whole_years,
)

ACCEPTING_STATUS = "in_force"
MAX_BATCH_ROWS = 100_000
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a movement may be dated (clock differences)

_COLUMNS = ("stream_id", *FIELDS, "batch_id", "batch_row", "recorded_at")
_VOUCHER_KEY = "ledger_movements_stream_id_voucher_no_key"


class LedgerRefused(Exception):
    """A batch refused as a whole; `row_index` names the row at fault (0-based), when one is."""

    def __init__(self, code: str, message: str, row_index: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.row_index = code, message, row_index

    def __str__(self) -> str:
        where = f" (row {self.row_index})" if self.row_index is not None else ""
        return f"{self.code}{where}: {self.message}"


class _Recheck(Exception):
    """The quick way met something it does not name: book the batch the careful way."""


class IngestResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    batch_id: str
    stream_id: str
    rows: int
    supplies: int
    last_supply_at: datetime | None  # the permit's latest supply, after this batch
    # The permit was marked dormant (Art. 23) and this batch holds a supply: signal its workflow.
    resumed_from_dormancy: bool
    replayed: bool = False  # this batch id was applied before; this is that result


async def ingest(
    pool: asyncpg.Pool, stream_id: str, batch_id: str, movements: Sequence[Movement], *, now: datetime | None = None
) -> IngestResult:
    """Book `movements` for the permit `stream_id`, all or nothing; a retried `batch_id` is booked once.

    `movements` may be a `MovementBatch` still being validated (`MovementBatch.from_json`): an invalid row
    raises `InvalidBatch`, in preference to any refusal, and nothing is booked."""
    now = now or datetime.now(UTC)
    batch = MovementBatch.of(movements)
    try:
        if batch.complete:
            _check_size(len(batch))
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    return await _book(conn, stream_id, batch_id, batch, now, careful=False)
            except _Recheck:
                pass
            async with conn.transaction():
                return await _book(conn, stream_id, batch_id, batch, now, careful=True)
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name != "ledger_batches_pkey":
            raise
        batch.validate_all()
        # The same key, sent at the same moment for another permit: the other one committed first.
        raise LedgerRefused("batch_id_reused", f"批次号{batch_id}已被使用 / batch id {batch_id} is already taken") from None
    except LedgerRefused:
        batch.validate_all()  # an invalid row is the answer, whatever else is wrong with the batch
        raise


def _check_size(rows: int) -> None:
    if not rows:
        raise LedgerRefused("empty_batch", "批次为空 / the batch holds no movements")
    if rows > MAX_BATCH_ROWS:
        raise LedgerRefused(
            "batch_too_large", f"批次超过{MAX_BATCH_ROWS}行 / a batch holds at most {MAX_BATCH_ROWS} rows, got {rows}",
        )


async def _book(
    conn: asyncpg.Connection, stream_id: str, batch_id: str, batch: MovementBatch, now: datetime, *, careful: bool
) -> IngestResult:
    permit = await conn.fetchrow(
        "SELECT status, dormant, valid_from FROM permits WHERE stream_id = $1 FOR NO KEY UPDATE", stream_id
    )
    if permit is None:
        raise LedgerRefused("unknown_permit", f"无此许可：{stream_id} / no such permit: {stream_id}")
    # Looked up under the lock, so a batch retried while its first attempt is still running waits, then
    # finds it applied.
    earlier = await conn.fetchrow("SELECT * FROM ledger_batches WHERE batch_id = $1", batch_id)
    if earlier is not None:
        return await _replay(conn, stream_id, batch_id, batch, earlier)
    if permit["status"] != ACCEPTING_STATUS:
        raise LedgerRefused(
            "permit_not_in_force",
            f"许可状态为{permit['status']}，不接受台账 / the permit is {permit['status']}, not in force: no ledger rows",
        )
    valid_from = permit["valid_from"] and day_start(permit["valid_from"])
    if careful:
        movements = list(batch)
        _check_dates(movements, valid_from, now)
        if dup := first_duplicate(movements):
            raise LedgerRefused(
                "duplicate_voucher",
                f"凭证号{dup.voucher_no}与第{dup.first_row_index}行重复 / "
                f"voucher {dup.voucher_no} repeats row {dup.first_row_index}",
                dup.row_index,
            )
        await _refuse_booked_vouchers(conn, stream_id, movements)
        await _refuse_shortfall(conn, stream_id, batch)
        summary = await _copy(conn, stream_id, batch_id, batch, now, meanwhile=lambda: _tail(batch, now))
    elif batch.complete:
        if _doubtful(batch, valid_from, now) or (
                not stock_never_short(batch) and await _shortfall(conn, stream_id, batch) is not None):
            raise _Recheck
        summary = await _copy(conn, stream_id, batch_id, batch, now, meanwhile=lambda: _tail(batch, now))
    else:
        # Checked once copied (the rows are being validated as they are copied); meanwhile, while
        # PostgreSQL books the last of them, what needs no database is worked out.
        def checks_and_tail() -> tuple[bool, bool, BatchSummary]:
            return _doubtful(batch, valid_from, now), stock_never_short(batch), _tail(batch, now)

        doubtful, never_short, summary = await _copy(conn, stream_id, batch_id, batch, now, meanwhile=checks_and_tail)
        _check_size(len(batch))
        if doubtful or (not never_short and await _shortfall(conn, stream_id, batch, booked_as=batch_id) is not None):
            raise _Recheck
    return await _keep(conn, stream_id, batch_id, batch, summary, dormant=permit["dormant"])


def _doubtful(batch: MovementBatch, valid_from: datetime | None, now: datetime) -> bool:
    """A row dated in the future or before the permit, or a voucher repeated: for the careful way to name."""
    occurred = batch.occurred_at
    return (max(occurred) > now + CLOCK_SKEW or (valid_from is not None and min(occurred) < valid_from)
            or len(set(batch.voucher_no)) != len(occurred))


def _tail(batch: MovementBatch, now: datetime) -> BatchSummary:
    batch.fingerprint  # noqa: B018 - worked out now, while PostgreSQL books the rows
    return summarise(batch, now)


async def _copy(
    conn: asyncpg.Connection, stream_id: str, batch_id: str, batch: MovementBatch, now: datetime,
    meanwhile: Callable[[], Any] | None = None,
) -> Any:
    """The rows into ledger_movements by COPY (text format, `_copy_text`); a batch still being validated is
    validated piece by piece as the COPY takes the rows, so that PostgreSQL books one piece while the next
    is validated. `meanwhile` runs once the last rows are sent, while PostgreSQL books them: its result is
    returned (or its exception raised) after the COPY."""
    done: list[Any] = []
    failed: list[BaseException] = []
    stream_text, batch_text, now_text = stream_id.translate(_ESCAPES), batch_id.translate(_ESCAPES), str(now)

    async def pieces():  # noqa: ANN202
        try:
            for chunk in batch.chunks():
                yield _copy_text(stream_text, batch_text, chunk, now_text)
            if meanwhile is not None:
                await asyncio.sleep(0)  # lets the last rows go out before the CPU is busy again
                done.append(meanwhile())
        except Exception as e:  # noqa: BLE001 - raised below, once the COPY has ended
            # Ends the COPY here rather than failing it (asyncpg would cancel the statement from a second
            # connection); the transaction is rolled back by the raise below.
            failed.append(e)

    try:
        await conn.copy_to_table("ledger_movements", source=pieces(), columns=_COLUMNS, format="text")
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name != _VOUCHER_KEY:
            raise
        batch.validate_all()  # an invalid row first
        raise _Recheck from None  # a voucher booked before, or repeated in the batch: named the careful way
    if failed:
        raise failed[0]
    return done[0] if done else None


_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_OPTIONAL = tuple(FIELDS.index(f) for f in ("counterpart_depot", "vessel_imo", "vessel_name", "bdn_no",
                                            "customs_declaration_no", "mass_flow_meter_t"))


def _copy_text(stream_id: str, batch_id: str, chunk: Chunk, now: str) -> bytes:
    """Rows in COPY's text format: a tab between values, \\N for NULL, arrays as `{"…","…"}` (the constant
    values already escaped).

    A chunk from JSON without a backslash holds no value that needs escaping. Others are written as they
    are, then counted: a value holding a tab, a line break or a backslash (or a voucher a double quote)
    changes the counts, and then they are written again with every value escaped. The text PostgreSQL
    parses holds the same values either way (tests/integration/test_ledger_summary.py).
    """
    if chunk.plain:
        return _rows_text(stream_id, batch_id, chunk, now, escape=False).encode()
    columns, n = chunk.columns, len(chunk.columns[0])
    text = _rows_text(stream_id, batch_id, chunk, now, escape=False)
    nulls = sum(columns[i].count(None) for i in _OPTIONAL) + stream_id.count("\\") * n + batch_id.count("\\") * n
    clean = (text.count("\t") == (len(_COLUMNS) - 1) * n and text.count("\n") == n and "\r" not in text
             and text.count("\\") == nulls and '"' not in "".join(chain.from_iterable(columns[-1])))
    if not clean:
        text = _rows_text(stream_id, batch_id, chunk, now, escape=True)
    return text.encode()


def _rows_text(stream_id: str, batch_id: str, chunk: Chunk, now: str, *, escape: bool) -> str:
    (voucher_no, kind, occurred_at, depot, counterpart, quantity, product, vessel_imo, vessel_name, bdn_no,
     declaration, meter, vouchers) = chunk.columns

    def text(column: Iterable[str]) -> Iterable[str]:
        return map(methodcaller("translate", _ESCAPES), column) if escape else column

    def optional(column: list[Any]) -> Iterable[str]:
        if None not in column:
            return text(map(str, column))
        return [_NULL if v is None else (str(v).translate(_ESCAPES) if escape else str(v)) for v in column]

    if escape:
        arrays = text(['{"' + '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in values) + '"}'
                       if values else "{}" for values in vouchers])
    else:
        arrays = ['{"' + '","'.join(values) + '"}' if values else "{}" for values in vouchers]
    start = chunk.start
    rows = zip(repeat(stream_id), text(voucher_no), kind, chunk.times or map(str, occurred_at), text(depot),
               optional(counterpart), map(str, quantity), text(product), optional(vessel_imo), optional(vessel_name),
               optional(bdn_no), optional(declaration), optional(meter), arrays,
               repeat(batch_id), map(str, range(start, start + len(voucher_no))), repeat(now))
    return "\n".join(map("\t".join, rows)) + "\n"


async def _keep(
    conn: asyncpg.Connection, stream_id: str, batch_id: str, batch: MovementBatch, s: BatchSummary, *, dormant: bool,
) -> IngestResult:
    """Stock, activity, the yearly summary and the batch record, in one statement."""
    resumed = dormant and bool(s.supplies)
    last_supply_at = await conn.fetchval(
        """WITH moved AS (
               SELECT * FROM unnest($2::text[], $3::numeric[]) AS x(depot, delta)
           ), kept AS (
               UPDATE ledger_stock AS s SET balance_t = s.balance_t + m.delta, updated_at = now()
               FROM moved m WHERE s.stream_id = $1 AND s.depot = m.depot
               RETURNING s.depot
           ), opened AS (
               -- Under the permit's lock no other batch can open the same depot meanwhile.
               INSERT INTO ledger_stock (stream_id, depot, balance_t, updated_at)
               SELECT $1, m.depot, m.delta, now() FROM moved m WHERE m.depot NOT IN (SELECT depot FROM kept)
           ), summed AS (
               INSERT INTO ledger_summary AS t
               SELECT $1, * FROM unnest($4::integer[], $5::text[], $6::integer[], $7::bigint[], $8::bigint[],
                                        $9::numeric[], $10::bigint[], $11::numeric[], $12::bigint[], $13::numeric[],
                                        $14::bigint[], $15::numeric[], $16::bigint[], $17::bigint[], $18::bigint[])
               ON CONFLICT (stream_id, year, depot, late_days) DO UPDATE SET
                   movements = t.movements + EXCLUDED.movements,
                   supplies = t.supplies + EXCLUDED.supplies, supplied_t = t.supplied_t + EXCLUDED.supplied_t,
                   receipts = t.receipts + EXCLUDED.receipts, received_t = t.received_t + EXCLUDED.received_t,
                   transfers_out = t.transfers_out + EXCLUDED.transfers_out,
                   transferred_out_t = t.transferred_out_t + EXCLUDED.transferred_out_t,
                   transfers_in = t.transfers_in + EXCLUDED.transfers_in,
                   transferred_in_t = t.transferred_in_t + EXCLUDED.transferred_in_t,
                   supplies_without_meter = t.supplies_without_meter + EXCLUDED.supplies_without_meter,
                   supplies_without_declaration = t.supplies_without_declaration + EXCLUDED.supplies_without_declaration,
                   movements_without_vouchers = t.movements_without_vouchers + EXCLUDED.movements_without_vouchers
           ), vessels AS (
               INSERT INTO ledger_summary_vessels SELECT $1, * FROM unnest($19::integer[], $20::text[])
               ON CONFLICT DO NOTHING
           ), days AS (
               INSERT INTO ledger_supply_days AS d SELECT $1, * FROM unnest($21::date[], $22::timestamptz[], $23::timestamptz[])
               ON CONFLICT (stream_id, day) DO UPDATE SET
                   first_at = least(d.first_at, EXCLUDED.first_at), last_at = greatest(d.last_at, EXCLUDED.last_at)
           ), activity AS (
               INSERT INTO ledger_activity AS a (stream_id, last_supply_at, supplies_total, movements_total, updated_at)
               VALUES ($1, $24, $25, $26, now())
               ON CONFLICT (stream_id) DO UPDATE SET
                   last_supply_at = GREATEST(a.last_supply_at, EXCLUDED.last_supply_at),
                   supplies_total = a.supplies_total + EXCLUDED.supplies_total,
                   movements_total = a.movements_total + EXCLUDED.movements_total, updated_at = now()
               RETURNING last_supply_at
           ), recorded AS (
               INSERT INTO ledger_batches (batch_id, stream_id, fingerprint, rows, supplies, last_supply_at,
                                           resumed_from_dormancy)
               SELECT $27, $1, $28, $26, $25, last_supply_at, $29 FROM activity
           )
           SELECT last_supply_at FROM activity""",
        stream_id, list(s.depot_deltas), list(s.depot_deltas.values()), *s.summary_columns(), *s.vessel_columns(),
        *s.day_columns(), s.last_supply_at, s.supplies, s.movements, batch_id, batch.fingerprint, resumed,
    )
    return IngestResult(batch_id=batch_id, stream_id=stream_id, rows=s.movements, supplies=s.supplies,
                        last_supply_at=last_supply_at, resumed_from_dormancy=resumed)


async def _replay(
    conn: asyncpg.Connection, stream_id: str, batch_id: str, batch: MovementBatch, earlier: asyncpg.Record,
) -> IngestResult:
    """The answer to a batch id booked before: its first result, if these are its rows."""
    batch.validate_all()
    same = earlier["stream_id"] == stream_id and (
        earlier["fingerprint"] == batch.fingerprint or await _same_rows(conn, stream_id, batch_id, earlier["rows"], batch))
    if not same:
        raise LedgerRefused(
            "batch_id_reused", f"批次号{batch_id}已用于另一批数据 / batch id {batch_id} was used for different rows",
        )
    return IngestResult(
        batch_id=batch_id, stream_id=stream_id, rows=earlier["rows"], supplies=earlier["supplies"],
        last_supply_at=earlier["last_supply_at"], resumed_from_dormancy=earlier["resumed_from_dormancy"],
        replayed=True,
    )


async def _same_rows(conn: asyncpg.Connection, stream_id: str, batch_id: str, rows: int, batch: MovementBatch) -> bool:
    """The fingerprint differs (the body was written otherwise, or the batch came another way): compare the
    rows booked under `batch_id` with these, value by value."""
    if len(batch) != rows:
        return False
    booked = await conn.fetch(
        """SELECT batch_row, voucher_no, kind, occurred_at, depot, counterpart_depot, quantity_t, product, vessel_imo,
                  vessel_name, bdn_no, customs_declaration_no, mass_flow_meter_t, vouchers
           FROM ledger_movements WHERE stream_id = $1 AND voucher_no = ANY($2::text[]) AND batch_id = $3
           ORDER BY batch_row""",
        stream_id, batch.voucher_no, batch_id,
    )
    return len(booked) == rows and all(
        r["batch_row"] == i and tuple(r[f] for f in FIELDS) == row for i, (r, row) in enumerate(zip(booked, batch.rows()))
    )


def _check_dates(movements: Sequence[Movement], valid_from: datetime | None, now: datetime) -> None:
    for i, m in enumerate(movements):
        if m.occurred_at > now + CLOCK_SKEW:
            at = m.occurred_at.isoformat()
            raise LedgerRefused("in_future", f"发生时间{at}晚于当前时间 / dated in the future: {at}", i)
        if valid_from is not None and m.occurred_at < valid_from:
            raise LedgerRefused(
                "before_permit",
                f"发生时间早于许可生效日 / dated {m.occurred_at.isoformat()}, before the permit took effect "
                f"{valid_from.date().isoformat()}",
                i,
            )


async def _refuse_booked_vouchers(conn: asyncpg.Connection, stream_id: str, movements: Sequence[Movement]) -> None:
    # One set-based probe of the unique index for the whole batch (the careful way only: the quick way lets
    # the index refuse the COPY).
    hit = await conn.fetchrow(
        """SELECT b.ord - 1 AS row_index, b.voucher_no, m.recorded_at
           FROM unnest($2::text[]) WITH ORDINALITY AS b(voucher_no, ord)
           JOIN ledger_movements m ON m.stream_id = $1 AND m.voucher_no = b.voucher_no
           ORDER BY b.ord LIMIT 1""",
        stream_id, [m.voucher_no for m in movements],
    )
    if hit is not None:
        raise LedgerRefused(
            "voucher_exists",
            f"凭证号{hit['voucher_no']}已于{hit['recorded_at'].isoformat()}登记 / voucher {hit['voucher_no']} "
            f"was booked already, at {hit['recorded_at'].isoformat()}",
            hit["row_index"],
        )


async def _refuse_shortfall(conn: asyncpg.Connection, stream_id: str, batch: MovementBatch) -> None:
    """Refuse the batch if any depot would go below zero at any point in time.

    A batch may report movements dated before ones already booked (a late report). Then each depot's
    stored movements from the batch's earliest movement there onwards are re-played with the batch
    merged in: a late supply must not have emptied a depot that later supplies drew on. When the batch on
    its own never takes more from a depot than it has brought (`stock_never_short`), no stored row can
    change that, and nothing is read.
    """
    if stock_never_short(batch):
        return
    short = await _shortfall(conn, stream_id, batch)
    if short is None:
        return
    late = "" if short.at_voucher_no == short.voucher_no else f", at voucher {short.at_voucher_no} booked earlier"
    raise LedgerRefused(
        "negative_stock",
        f"凭证号{short.voucher_no}致油库{short.depot}库存为负（{short.balance_t}吨） / voucher {short.voucher_no} would take "
        f"depot {short.depot} to {short.balance_t} t on {short.at.isoformat()}{late}",
        short.row_index,
    )


async def _shortfall(conn: asyncpg.Connection, stream_id: str, batch: MovementBatch, booked_as: str | None = None):  # noqa: ANN202
    """`check_stock` against the stored movements; `booked_as`: leave out this batch's own rows (copied
    already)."""
    since: dict[str, datetime] = {}
    for depot, at in zip(batch.depot, batch.occurred_at, strict=True):
        if at < since.get(depot, at + timedelta(microseconds=1)):
            since[depot] = at
    rows = await conn.fetch(
        """SELECT m.occurred_at, m.depot, m.delta_t, m.voucher_no
           FROM ledger_movements m
           JOIN unnest($2::text[], $3::timestamptz[]) AS b(depot, since)
             ON m.depot = b.depot AND m.occurred_at >= b.since
           WHERE m.stream_id = $1 AND m.occurred_at >= $4 AND m.batch_id IS DISTINCT FROM $5
           ORDER BY m.occurred_at, m.id""",
        stream_id, list(since), list(since.values()), min(since.values()), booked_as,
    )
    posted = [Posted(r["occurred_at"], r["depot"], r["delta_t"], r["voucher_no"]) for r in rows]
    opening = dict(await stock_on(conn, stream_id))
    for p in posted:
        opening[p.depot] = opening.get(p.depot, Decimal(0)) - p.delta_t
    return check_stock(opening, batch, posted)


# --- queries ----------------------------------------------------------------------------------------


async def last_supply_at(pool: asyncpg.Pool, stream_id: str) -> datetime | None:
    """The permit's latest supply to a vessel (Art. 23), from one row: what the dormancy timer asks."""
    return await pool.fetchval("SELECT last_supply_at FROM ledger_activity WHERE stream_id = $1", stream_id)


async def stock(pool: asyncpg.Pool, stream_id: str) -> dict[str, Decimal]:
    """Each depot's balance now, in tonnes."""
    async with pool.acquire() as conn:
        return await stock_on(conn, stream_id)


async def stock_on(conn: asyncpg.Connection, stream_id: str) -> dict[str, Decimal]:
    rows = await conn.fetch("SELECT depot, balance_t FROM ledger_stock WHERE stream_id = $1 ORDER BY depot", stream_id)
    return {r["depot"]: r["balance_t"] for r in rows}


async def annual_summary(
    pool: asyncpg.Pool, stream_id: str, start: datetime, end: datetime, quiet_days: int = 30, *,
    late_after_days: int = 30, now: datetime | None = None,
) -> AnnualSummary:
    """The ledger over [start, end), as the annual inspection reads it (Art. 22(1)(2)).

    Quiet spells are counted between supplies, and from the start of the period (or the permit's first
    day, if later) and to its end (or now, or the permit's last day, if earlier), so a permit that never
    supplied in the period shows one spell covering it.

    Whole years (and spells of a day or more) are read from the summary tables in one statement, a few
    rows a year; any other period from ledger_movements (`_read_movements`). Both give the same summary
    (tests/integration/test_ledger_summary.py).
    """
    now = now or datetime.now(UTC)
    permit = await pool.fetchrow("SELECT valid_from, valid_until FROM permits WHERE stream_id = $1", stream_id)
    if permit is None:
        raise LedgerRefused("unknown_permit", f"无此许可：{stream_id} / no such permit: {stream_id}")
    lo = max(start, day_start(permit["valid_from"])) if permit["valid_from"] else start
    hi = min(end, now)
    if permit["valid_until"]:
        hi = min(hi, day_start(permit["valid_until"]) + timedelta(days=1))
    years = whole_years(start, end)
    read = None
    if years is not None and quiet_days >= 1:
        read = await _read_summary(pool, stream_id, start, end, years, lo, hi, quiet_days, late_after_days)
    if read is None:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            read = await _read_movements(conn, stream_id, start, end, lo, hi, quiet_days, late_after_days)
    totals, sample, gaps, stocks = read
    return AnnualSummary(
        stream_id=stream_id, start=start, end=end,
        supplies=totals["supplies"], supplied_t=totals["supplied_t"], vessels=totals["vessels"],
        receipts=totals["receipts"], received_t=totals["received_t"],
        transfers_out=totals["transfers_out"], transferred_out_t=totals["transferred_out_t"],
        transfers_in=totals["transfers_in"], transferred_in_t=totals["transferred_in_t"],
        quiet_days=quiet_days, quiet_spells=[quiet_spell(since, until) for since, until in gaps],
        reporting_gaps=ReportingGaps(
            supplies_without_meter=totals["without_meter"],
            supplies_without_meter_sample=sample,
            supplies_without_customs_declaration=totals["without_declaration"],
            movements_without_vouchers=totals["without_vouchers"], late_reports=totals["late"],
            late_after_days=late_after_days,
        ),
        opening_stock={depot: opening for depot, opening, _ in stocks},
        closing_stock={depot: closing for depot, _, closing in stocks},
    )


# (totals, voucher numbers of the unmetered sample, (since, until) of each quiet spell, (depot, opening,
# closing) of each depot)
_Read = tuple[Any, list[str], list[tuple[datetime, datetime]], list[tuple[str, Decimal, Decimal]]]


async def _read_summary(
    pool: asyncpg.Pool, stream_id: str, start: datetime, end: datetime, years: tuple[int, int],
    lo: datetime, hi: datetime, quiet_days: int, late_after_days: int,
) -> _Read | None:
    """Whole years from the summary tables, in one statement (one snapshot); None if they do not account
    for every booked movement (rows written around ingestion: then ledger_movements is read)."""
    r = await pool.fetchrow(
        """WITH totals AS (
               SELECT coalesce(sum(supplies), 0)::bigint AS supplies,
                      CASE WHEN sum(supplies) > 0 THEN sum(supplied_t) ELSE 0 END AS supplied_t,
                      coalesce(sum(receipts), 0)::bigint AS receipts,
                      CASE WHEN sum(receipts) > 0 THEN sum(received_t) ELSE 0 END AS received_t,
                      coalesce(sum(transfers_out), 0)::bigint AS transfers_out,
                      CASE WHEN sum(transfers_out) > 0 THEN sum(transferred_out_t) ELSE 0 END AS transferred_out_t,
                      coalesce(sum(transfers_in), 0)::bigint AS transfers_in,
                      CASE WHEN sum(transfers_in) > 0 THEN sum(transferred_in_t) ELSE 0 END AS transferred_in_t,
                      coalesce(sum(supplies_without_meter), 0)::bigint AS without_meter,
                      coalesce(sum(supplies_without_declaration), 0)::bigint AS without_declaration,
                      coalesce(sum(movements_without_vouchers), 0)::bigint AS without_vouchers,
                      coalesce(sum(movements) FILTER (WHERE late_days >= $4), 0)::bigint AS late
               FROM ledger_summary WHERE stream_id = $1 AND year >= $2 AND year < $3
           ), stocks AS (
               SELECT s.depot,
                      s.balance_t - coalesce(sum(t.received_t + t.transferred_in_t - t.supplied_t - t.transferred_out_t),
                                             0) AS opening,
                      s.balance_t - coalesce(sum(t.received_t + t.transferred_in_t - t.supplied_t - t.transferred_out_t)
                                             FILTER (WHERE t.year >= $3), 0) AS closing
               FROM ledger_stock s
               LEFT JOIN ledger_summary t ON t.stream_id = s.stream_id AND t.depot = s.depot AND t.year >= $2
               WHERE s.stream_id = $1
               GROUP BY s.depot, s.balance_t
           ), points AS (
               -- A spell of a day or more runs from one day's last supply to a later day's first. lo is the
               -- start of a day; a day cut short by hi keeps its first supply, and no spell of a day can
               -- end at hi from within that day.
               SELECT p.at FROM ledger_supply_days, LATERAL (VALUES (first_at), (last_at)) AS p(at)
               WHERE stream_id = $1 AND day >= $8 AND day <= $9 AND p.at >= $5 AND p.at < $6
               UNION ALL SELECT $5 UNION ALL SELECT $6
           ), gaps AS (
               SELECT since, until FROM (SELECT lag(at) OVER (ORDER BY at) AS since, at AS until FROM points) g
               WHERE $5 < $6 AND until - since > make_interval(days => $7)
           )
           SELECT totals.*,
                  (SELECT movements_total FROM ledger_activity WHERE stream_id = $1) AS booked,
                  (SELECT sum(movements) FROM ledger_summary WHERE stream_id = $1)::bigint AS summarised,
                  (SELECT count(DISTINCT vessel_imo) FROM ledger_summary_vessels
                   WHERE stream_id = $1 AND year >= $2 AND year < $3) AS vessels,
                  ARRAY(SELECT voucher_no FROM ledger_movements  -- ledger_movements_unmetered_idx: ≤ 20 entries
                        WHERE stream_id = $1 AND kind = 'supply' AND occurred_at >= $10 AND occurred_at < $11
                          AND mass_flow_meter_t IS NULL
                        ORDER BY occurred_at, id LIMIT 20) AS sample,
                  ARRAY(SELECT since FROM gaps ORDER BY since, until) AS gap_since,
                  ARRAY(SELECT until FROM gaps ORDER BY since, until) AS gap_until,
                  ARRAY(SELECT depot FROM stocks ORDER BY depot) AS depots,
                  ARRAY(SELECT opening FROM stocks ORDER BY depot) AS opening,
                  ARRAY(SELECT closing FROM stocks ORDER BY depot) AS closing
           FROM totals""",
        stream_id, years[0], years[1], late_after_days, lo, hi, quiet_days, _local_day(lo), _local_day(hi),
        start, end,
    )
    if (r["booked"] or 0) != (r["summarised"] or 0):
        return None
    return (r, r["sample"], list(zip(r["gap_since"], r["gap_until"], strict=True)),
            list(zip(r["depots"], r["opening"], r["closing"], strict=True)))


def _local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


async def _read_movements(
    conn: asyncpg.Connection, stream_id: str, start: datetime, end: datetime, lo: datetime, hi: datetime,
    quiet_days: int, late_after_days: int,
) -> _Read:
    """Any period, aggregated from ledger_movements (its cost grows with the rows of the period)."""
    totals = await conn.fetchrow(
        """SELECT
               count(*) FILTER (WHERE kind = 'supply') AS supplies,
               coalesce(sum(quantity_t) FILTER (WHERE kind = 'supply'), 0) AS supplied_t,
               count(DISTINCT vessel_imo) AS vessels,
               count(*) FILTER (WHERE kind = 'receipt') AS receipts,
               coalesce(sum(quantity_t) FILTER (WHERE kind = 'receipt'), 0) AS received_t,
               count(*) FILTER (WHERE kind = 'transfer_out') AS transfers_out,
               coalesce(sum(quantity_t) FILTER (WHERE kind = 'transfer_out'), 0) AS transferred_out_t,
               count(*) FILTER (WHERE kind = 'transfer_in') AS transfers_in,
               coalesce(sum(quantity_t) FILTER (WHERE kind = 'transfer_in'), 0) AS transferred_in_t,
               count(*) FILTER (WHERE kind = 'supply' AND mass_flow_meter_t IS NULL) AS without_meter,
               count(*) FILTER (WHERE kind = 'supply' AND customs_declaration_no IS NULL) AS without_declaration,
               count(*) FILTER (WHERE cardinality(vouchers) = 0) AS without_vouchers,
               count(*) FILTER (WHERE recorded_at - occurred_at > make_interval(days => $4)) AS late
           FROM ledger_movements
           WHERE stream_id = $1 AND occurred_at >= $2 AND occurred_at < $3""",
        stream_id, start, end, late_after_days,
    )
    sample = await conn.fetch(
        """SELECT voucher_no FROM ledger_movements
           WHERE stream_id = $1 AND kind = 'supply' AND occurred_at >= $2 AND occurred_at < $3
             AND mass_flow_meter_t IS NULL
           ORDER BY occurred_at, id LIMIT 20""",
        stream_id, start, end,
    )
    gaps = await conn.fetch(
        """WITH points AS (
               SELECT occurred_at AS at FROM ledger_movements
               WHERE stream_id = $1 AND kind = 'supply' AND occurred_at >= $2 AND occurred_at < $3
               UNION ALL SELECT $2 UNION ALL SELECT $3
           ), gaps AS (
               SELECT lag(at) OVER (ORDER BY at) AS since, at AS until FROM points
           )
           SELECT since, until FROM gaps WHERE until - since > make_interval(days => $4) ORDER BY since""",
        stream_id, lo, hi, quiet_days,
    ) if lo < hi else []
    # Stock at a past instant = today's balance less what moved since (reads only rows after `start`).
    stocks = await conn.fetch(
        """SELECT s.depot,
                  s.balance_t - coalesce(sum(m.delta_t), 0) AS opening,
                  s.balance_t - coalesce(sum(m.delta_t) FILTER (WHERE m.occurred_at >= $3), 0) AS closing
           FROM ledger_stock s
           LEFT JOIN ledger_movements m ON m.stream_id = s.stream_id AND m.depot = s.depot AND m.occurred_at >= $2
           WHERE s.stream_id = $1
           GROUP BY s.depot, s.balance_t ORDER BY s.depot""",
        stream_id, start, end,
    )
    return (totals, [r["voucher_no"] for r in sample], [(g["since"], g["until"]) for g in gaps],
            [(r["depot"], r["opening"], r["closing"]) for r in stocks])


async def rebuild_summaries(conn: asyncpg.Connection, stream_ids: Sequence[str]) -> None:
    """Recompute the summary tables of these permits from ledger_movements (the aggregate migration 0006
    fills them with): for rows written around ingestion, as the benchmarks generate them."""
    async with conn.transaction():
        await conn.execute("DELETE FROM ledger_summary WHERE stream_id = ANY($1::text[])", list(stream_ids))
        await conn.execute("DELETE FROM ledger_summary_vessels WHERE stream_id = ANY($1::text[])", list(stream_ids))
        await conn.execute("DELETE FROM ledger_supply_days WHERE stream_id = ANY($1::text[])", list(stream_ids))
        await conn.execute(
            """INSERT INTO ledger_summary
               SELECT stream_id, extract(year FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::integer, depot,
                      floor(((extract(epoch FROM recorded_at) - extract(epoch FROM occurred_at)) * 1000000 - 1)
                            / 86400000000)::integer,
                      count(*),
                      count(*) FILTER (WHERE kind = 'supply'), coalesce(sum(quantity_t) FILTER (WHERE kind = 'supply'), 0),
                      count(*) FILTER (WHERE kind = 'receipt'), coalesce(sum(quantity_t) FILTER (WHERE kind = 'receipt'), 0),
                      count(*) FILTER (WHERE kind = 'transfer_out'),
                      coalesce(sum(quantity_t) FILTER (WHERE kind = 'transfer_out'), 0),
                      count(*) FILTER (WHERE kind = 'transfer_in'),
                      coalesce(sum(quantity_t) FILTER (WHERE kind = 'transfer_in'), 0),
                      count(*) FILTER (WHERE kind = 'supply' AND mass_flow_meter_t IS NULL),
                      count(*) FILTER (WHERE kind = 'supply' AND customs_declaration_no IS NULL),
                      count(*) FILTER (WHERE cardinality(vouchers) = 0)
               FROM ledger_movements WHERE stream_id = ANY($1::text[])
               GROUP BY 1, 2, 3, 4""",
            list(stream_ids), timeout=3600,
        )
        await conn.execute(
            """INSERT INTO ledger_summary_vessels
               SELECT DISTINCT stream_id, extract(year FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::integer, vessel_imo
               FROM ledger_movements WHERE stream_id = ANY($1::text[]) AND vessel_imo IS NOT NULL""",
            list(stream_ids), timeout=3600,
        )
        await conn.execute(
            """INSERT INTO ledger_supply_days
               SELECT stream_id, (occurred_at AT TIME ZONE 'Asia/Shanghai')::date, min(occurred_at), max(occurred_at)
               FROM ledger_movements WHERE stream_id = ANY($1::text[]) AND kind = 'supply'
               GROUP BY 1, 2""",
            list(stream_ids), timeout=3600,
        )


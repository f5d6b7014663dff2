"""The Art. 17 ledger in PostgreSQL: batches of movements in by binary COPY, stock and activity beside them.

A batch is applied whole or not at all, in one transaction that holds the permit's read-model row lock
(`FOR NO KEY UPDATE`): two batches of one permit are booked one after the other, and the permit cannot
be terminated half-way through a batch. Batches of different permits do not wait for each other.

The permit's workflow never receives ledger rows. Its Art. 23 timer asks `last_supply_at` (one row of
`ledger_activity`) when it fires; ingestion reports `resumed_from_dormancy` when a supply arrives for a
permit the workflow has marked dormant, and the caller signals the workflow then, once per batch.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from pydantic import BaseModel, ConfigDict, TypeAdapter

from domain.ledger import (
    AnnualSummary,
    Movement,
    MovementKind,
    Posted,
    ReportingGaps,
    check_stock,
    day_start,
    first_duplicate,
    quiet_spell,
)

ACCEPTING_STATUS = "in_force"
MAX_BATCH_ROWS = 100_000
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a movement may be dated (clock differences)
_MOVEMENTS = TypeAdapter(list[Movement])

_COLUMNS = (
    "stream_id", "voucher_no", "kind", "occurred_at", "depot", "counterpart_depot", "quantity_t", "product",
    "vessel_imo", "vessel_name", "bdn_no", "customs_declaration_no", "mass_flow_meter_t", "vouchers",
    "batch_id", "batch_row", "recorded_at",
)


class LedgerRefused(Exception):
    """A batch refused as a whole; `row_index` names the row at fault (0-based), when one is."""

    def __init__(self, code: str, message: str, row_index: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.row_index = code, message, row_index

    def __str__(self) -> str:
        where = f" (row {self.row_index})" if self.row_index is not None else ""
        return f"{self.code}{where}: {self.message}"


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
    """Book `movements` for the permit `stream_id`, all or nothing; a retried `batch_id` is booked once."""
    now = now or datetime.now(UTC)
    if not movements:
        raise LedgerRefused("empty_batch", "批次为空 / the batch holds no movements")
    if len(movements) > MAX_BATCH_ROWS:
        raise LedgerRefused(
            "batch_too_large",
            f"批次超过{MAX_BATCH_ROWS}行 / a batch holds at most {MAX_BATCH_ROWS} rows, got {len(movements)}",
        )
    fingerprint = hashlib.sha256(_MOVEMENTS.dump_json(list(movements))).hexdigest()
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await _ingest(conn, stream_id, batch_id, movements, fingerprint, now)
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name != "ledger_batches_pkey":
            raise
        # The same key, sent at the same moment for another permit: the other one committed first.
        raise LedgerRefused("batch_id_reused", f"批次号{batch_id}已被使用 / batch id {batch_id} is already taken") from None


async def _ingest(
    conn: asyncpg.Connection, stream_id: str, batch_id: str, movements: Sequence[Movement], fingerprint: str,
    now: datetime,
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
        if earlier["stream_id"] != stream_id or earlier["fingerprint"] != fingerprint:
            raise LedgerRefused(
                "batch_id_reused",
                f"批次号{batch_id}已用于另一批数据 / batch id {batch_id} was used for different rows",
            )
        return IngestResult(
            batch_id=batch_id, stream_id=stream_id, rows=earlier["rows"], supplies=earlier["supplies"],
            last_supply_at=earlier["last_supply_at"], resumed_from_dormancy=earlier["resumed_from_dormancy"],
            replayed=True,
        )
    if permit["status"] != ACCEPTING_STATUS:
        raise LedgerRefused(
            "permit_not_in_force",
            f"许可状态为{permit['status']}，不接受台账 / the permit is {permit['status']}, not in force: no ledger rows",
        )
    _check_dates(movements, permit["valid_from"] and day_start(permit["valid_from"]), now)
    if dup := first_duplicate(movements):
        raise LedgerRefused(
            "duplicate_voucher",
            f"凭证号{dup.voucher_no}与第{dup.first_row_index}行重复 / "
            f"voucher {dup.voucher_no} repeats row {dup.first_row_index}",
            dup.row_index,
        )
    await _refuse_booked_vouchers(conn, stream_id, movements)
    await _refuse_shortfall(conn, stream_id, movements)

    await conn.copy_records_to_table(
        "ledger_movements", columns=_COLUMNS,
        records=[
            (stream_id, m.voucher_no, m.kind.value, m.occurred_at, m.depot, m.counterpart_depot, m.quantity_t,
             m.product, m.vessel_imo, m.vessel_name, m.bdn_no, m.customs_declaration_no, m.mass_flow_meter_t,
             m.vouchers, batch_id, i, now)
            for i, m in enumerate(movements)
        ],
    )
    deltas: dict[str, Decimal] = defaultdict(Decimal)
    for m in movements:
        deltas[m.depot] += m.delta_t
    # Not one INSERT … ON CONFLICT DO UPDATE: the CHECK (balance_t >= 0) is tested on the proposed row
    # (the negative delta itself) before the conflict is found.
    await conn.execute(
        """INSERT INTO ledger_stock (stream_id, depot, balance_t, updated_at)
           SELECT $1, d, 0, now() FROM unnest($2::text[]) AS d ON CONFLICT DO NOTHING""",
        stream_id, list(deltas),
    )
    await conn.execute(
        """UPDATE ledger_stock AS s SET balance_t = s.balance_t + x.t, updated_at = now()
           FROM unnest($2::text[], $3::numeric[]) AS x(d, t) WHERE s.stream_id = $1 AND s.depot = x.d""",
        stream_id, list(deltas), list(deltas.values()),
    )
    supplies = [m.occurred_at for m in movements if m.kind is MovementKind.SUPPLY]
    last_supply_at = await conn.fetchval(
        """INSERT INTO ledger_activity AS a (stream_id, last_supply_at, supplies_total, movements_total, updated_at)
           VALUES ($1, $2, $3, $4, now())
           ON CONFLICT (stream_id) DO UPDATE SET
               last_supply_at = GREATEST(a.last_supply_at, EXCLUDED.last_supply_at),
               supplies_total = a.supplies_total + EXCLUDED.supplies_total,
               movements_total = a.movements_total + EXCLUDED.movements_total, updated_at = now()
           RETURNING last_supply_at""",
        stream_id, max(supplies, default=None), len(supplies), len(movements),
    )
    result = IngestResult(
        batch_id=batch_id, stream_id=stream_id, rows=len(movements), supplies=len(supplies),
        last_supply_at=last_supply_at, resumed_from_dormancy=permit["dormant"] and bool(supplies),
    )
    await conn.execute(
        """INSERT INTO ledger_batches (batch_id, stream_id, fingerprint, rows, supplies, last_supply_at,
                                       resumed_from_dormancy)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        batch_id, stream_id, fingerprint, result.rows, result.supplies, result.last_supply_at,
        result.resumed_from_dormancy,
    )
    return result


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
    # One set-based probe of the unique index for the whole batch. An array parameter rather than a
    # temp table loaded by COPY: same join, without creating and dropping a catalog entry per batch
    # (temp tables at a high rate bloat pg_class/pg_attribute).
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


async def _refuse_shortfall(conn: asyncpg.Connection, stream_id: str, movements: Sequence[Movement]) -> None:
    """Refuse the batch if any depot would go below zero at any point in time.

    A batch may report movements dated before ones already booked (a late report). Then each depot's
    stored movements from the batch's earliest movement there onwards are re-played with the batch
    merged in: a late supply must not have emptied a depot that later supplies drew on. In the usual
    case (the batch is newer than everything booked) that re-play reads no rows.
    """
    since: dict[str, datetime] = {}
    for m in movements:
        since[m.depot] = min(since.get(m.depot, m.occurred_at), m.occurred_at)
    rows = await conn.fetch(
        """SELECT m.occurred_at, m.depot, m.delta_t, m.voucher_no
           FROM ledger_movements m
           JOIN unnest($2::text[], $3::timestamptz[]) AS b(depot, since)
             ON m.depot = b.depot AND m.occurred_at >= b.since
           WHERE m.stream_id = $1 AND m.occurred_at >= $4
           ORDER BY m.occurred_at, m.id""",
        stream_id, list(since), list(since.values()), min(since.values()),
    )
    posted = [Posted(r["occurred_at"], r["depot"], r["delta_t"], r["voucher_no"]) for r in rows]
    current = await stock_on(conn, stream_id)
    opening = dict(current)
    for p in posted:
        opening[p.depot] = opening.get(p.depot, Decimal(0)) - p.delta_t
    short = check_stock(opening, movements, posted)
    if short is None:
        return
    late = "" if short.at_voucher_no == short.voucher_no else f", at voucher {short.at_voucher_no} booked earlier"
    raise LedgerRefused(
        "negative_stock",
        f"凭证号{short.voucher_no}致油库{short.depot}库存为负（{short.balance_t}吨） / voucher {short.voucher_no} would take "
        f"depot {short.depot} to {short.balance_t} t on {short.at.isoformat()}{late}",
        short.row_index,
    )


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
    """
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        permit = await conn.fetchrow("SELECT valid_from, valid_until FROM permits WHERE stream_id = $1", stream_id)
        if permit is None:
            raise LedgerRefused("unknown_permit", f"无此许可：{stream_id} / no such permit: {stream_id}")
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
        lo = max(start, day_start(permit["valid_from"])) if permit["valid_from"] else start
        hi = min(end, now)
        if permit["valid_until"]:
            hi = min(hi, day_start(permit["valid_until"]) + timedelta(days=1))
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
    return AnnualSummary(
        stream_id=stream_id, start=start, end=end,
        supplies=totals["supplies"], supplied_t=totals["supplied_t"], vessels=totals["vessels"],
        receipts=totals["receipts"], received_t=totals["received_t"],
        transfers_out=totals["transfers_out"], transferred_out_t=totals["transferred_out_t"],
        transfers_in=totals["transfers_in"], transferred_in_t=totals["transferred_in_t"],
        quiet_days=quiet_days, quiet_spells=[quiet_spell(g["since"], g["until"]) for g in gaps],
        reporting_gaps=ReportingGaps(
            supplies_without_meter=totals["without_meter"],
            supplies_without_meter_sample=[r["voucher_no"] for r in sample],
            supplies_without_customs_declaration=totals["without_declaration"],
            movements_without_vouchers=totals["without_vouchers"], late_reports=totals["late"],
            late_after_days=late_after_days,
        ),
        opening_stock={r["depot"]: r["opening"] for r in stocks},
        closing_stock={r["depot"]: r["closing"] for r in stocks},
    )

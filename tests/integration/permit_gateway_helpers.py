"""Shared moves of the tests of the permit in force through the gateway: a permit, ledger rows as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from domain.identifiers import make_imo
from domain.ledger import day_start
from tests.integration.licensing_helpers import to_permit

VESSEL = make_imo("907472")


async def permit_in_force(gw, client, pool: asyncpg.Pool, task_queue: str, app=None):
    """A permit in force (through the licensing procedure, without time skipping); (id, Permit handle)."""
    return await to_permit(gw.env, client, pool, task_queue, app, settle=False)  # its tasks still open


async def ledger_start(pool: asyncpg.Pool, permit_id: str) -> datetime:
    """A moment the ledger accepts rows from: after the permit took effect and not in the future (wall
    clock, which the ledger checks against)."""
    valid_from = await pool.fetchval("SELECT valid_from FROM permits WHERE stream_id = $1", permit_id)
    return max(datetime.now(UTC) - timedelta(minutes=2), day_start(valid_from))


def row(kind: str, n: int, at: datetime, quantity: str = "10", depot: str = "南沙1号罐", **extra: Any) -> dict[str, Any]:
    """One ledger movement as the enterprise's system sends it (JSON)."""
    raw: dict[str, Any] = dict(voucher_no=f"V{n:06d}", kind=kind, occurred_at=at.isoformat(), depot=depot,
                               quantity_t=quantity, product="低硫燃料油 VLSFO 0.5%S", vouchers=[f"INV-{n}"])
    if kind == "supply":
        raw |= dict(vessel_imo=VESSEL, vessel_name="EVER GIVEN", bdn_no=f"EBDN-{n}", mass_flow_meter_t=quantity,
                    customs_declaration_no=f"5316{n:014d}")
    return raw | extra


def busy_batch(start: datetime, rows: int) -> list[dict[str, Any]]:
    """A receipt, then supplies drawing on it (a millisecond apart), none going short."""
    batch = [row("receipt", 0, start, "900000")]
    batch += [row("supply", n, start + timedelta(milliseconds=n), "1.5") for n in range(1, rows)]
    return batch

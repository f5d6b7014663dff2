"""The supervision registers in PostgreSQL: complaints (with every step), interviews and spot inspections,
and the violation register. Rules (who may, which status) are checked by the caller (bunker/supervision.py)
against domain/supervision.py and domain/violations.py; here a status change is applied only from the
status the rule was checked against, so two officers acting at once cannot both move a complaint.
"""

from __future__ import annotations

from datetime import date, datetime
import asyncpg

from domain.violations import Violation


class StaleStatus(Exception):
    """The complaint moved on between the check and the write."""


# ---------------------------------------------------------------- enterprises
async def enterprise(pool: asyncpg.Pool, credit_code: str) -> asyncpg.Record | None:
    """The enterprise's latest file in the read model: its name, district and permit (if any)."""
    return await pool.fetchrow(
        """SELECT stream_id, enterprise_name, district, kind, status FROM permits WHERE credit_code = $1
           ORDER BY (kind = 'permit' AND status = 'in_force') DESC, updated_at DESC LIMIT 1""", credit_code)


# ---------------------------------------------------------------- complaints
async def add_complaint(pool: asyncpg.Pool, *, channel: str, received_at: datetime, received_by: str,
                        complainant: str | None, contact: str | None, credit_code: str | None,
                        enterprise_name: str | None, stream_id: str | None, district: str | None, summary: str,
                        recorder: str) -> int:
    """Record a complaint; routed at once when the enterprise's district is known."""
    async with pool.acquire() as conn, conn.transaction():
        cid = await conn.fetchval(
            """INSERT INTO complaints (channel, received_at, received_by, complainant, contact, credit_code,
                   enterprise_name, stream_id, district, summary, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id""",
            channel, received_at, received_by, complainant, contact, credit_code, enterprise_name, stream_id,
            district, summary, "routed" if district else "received")
        await _step(conn, cid, "received", recorder, f"via {channel}")
        if district:
            await _step(conn, cid, "routed", "system", f"to district:{district}, where the enterprise sits")
    return cid


async def move_complaint(pool: asyncpg.Pool, cid: int, *, from_status: str, to_status: str, actor: str,
                         note: str | None = None, district: str | None = None, answer: str | None = None,
                         violation_id: int | None = None) -> None:
    """Move the complaint on, only from `from_status` (what the rule was checked against), with its step."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            """UPDATE complaints SET status = $2, updated_at = now(), district = coalesce($4, district),
                   answer = coalesce($5, answer), violation_id = coalesce($6, violation_id)
               WHERE id = $1 AND status = $3 RETURNING true""",
            cid, to_status, from_status, district, answer, violation_id)
        if not done:
            raise StaleStatus(f"complaint {cid} is no longer {from_status}")
        await _step(conn, cid, to_status, actor, note)


async def _step(conn: asyncpg.Connection, cid: int, status: str, actor: str, note: str | None) -> None:
    await conn.execute(
        """INSERT INTO complaint_steps (complaint_id, seq, status, actor, note)
           SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM complaint_steps WHERE complaint_id = $1""",
        cid, status, actor, note)


async def complaint(pool: asyncpg.Pool, cid: int) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM complaints WHERE id = $1", cid)


async def complaint_steps(pool: asyncpg.Pool, cid: int) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM complaint_steps WHERE complaint_id = $1 ORDER BY seq", cid)


async def complaints(pool: asyncpg.Pool, *, district: str | None = None, status: str | None = None,
                     credit_code: str | None = None, limit: int = 100, offset: int = 0) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT * FROM complaints WHERE ($1::text IS NULL OR district = $1) AND ($2::text IS NULL OR status = $2)
             AND ($3::text IS NULL OR credit_code = $3) ORDER BY id DESC LIMIT $4 OFFSET $5""",
        district, status, credit_code, limit, offset)


# ---------------------------------------------------------------- violations
async def add_violation(pool: asyncpg.Pool, *, credit_code: str, stream_id: str | None, district: str | None,
                        act: int, severity: str, found_by: str, found_on: date, description: str, evidence_ref: str,
                        penalty: str | None, penalty_decided_on: date | None, confirmed: bool,
                        complaint_id: int | None, recorded_by: str) -> asyncpg.Record:
    return await pool.fetchrow(
        """INSERT INTO violations (credit_code, stream_id, district, act, severity, found_by, found_on, description,
               evidence_ref, penalty, penalty_decided_on, confirmed_by, confirmed_at, complaint_id, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $12::text IS NULL THEN NULL ELSE now() END,
                   $13, $14) RETURNING *""",
        credit_code, stream_id, district, act, severity, found_by, found_on, description, evidence_ref, penalty,
        penalty_decided_on, found_by if confirmed else None, complaint_id, recorded_by)


async def violation(pool: asyncpg.Pool, vid: int) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM violations WHERE id = $1", vid)


async def confirm_violation(pool: asyncpg.Pool, vid: int, by: str) -> asyncpg.Record | None:
    """Customs confirms a smuggling-type act; the first confirmation stands."""
    return await pool.fetchrow(
        """UPDATE violations SET confirmed_by = $2, confirmed_at = now() WHERE id = $1 AND confirmed_by IS NULL
           RETURNING *""", vid, by)


async def decide_penalty(pool: asyncpg.Pool, vid: int, penalty: str, decided_on: date) -> asyncpg.Record | None:
    return await pool.fetchrow(
        """UPDATE violations SET penalty = $2, penalty_decided_on = $3 WHERE id = $1 AND penalty IS NULL
           RETURNING *""", vid, penalty, decided_on)


async def violations(pool: asyncpg.Pool, *, credit_code: str | None = None, district: str | None = None,
                     since: date | None = None, until: date | None = None, limit: int = 500) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT * FROM violations WHERE ($1::text IS NULL OR credit_code = $1) AND ($2::text IS NULL OR district = $2)
             AND ($3::date IS NULL OR found_on >= $3) AND ($4::date IS NULL OR found_on <= $4)
           ORDER BY found_on, id LIMIT $5""", credit_code, district, since, until, limit)


async def violations_of(pool: asyncpg.Pool, credit_code: str, since: date, until: date) -> list[Violation]:
    """The register as the annual inspection reads it (Art. 22(4))."""
    rows = await violations(pool, credit_code=credit_code, since=since, until=until)
    return [Violation(id=r["id"], act=r["act"], severity=r["severity"], found_by=r["found_by"], found_on=r["found_on"],
                      description=r["description"], penalty=r["penalty"], confirmed_by=r["confirmed_by"]) for r in rows]


# ---------------------------------------------------------------- interviews and spot inspections
async def add_action(pool: asyncpg.Pool, *, kind: str, credit_code: str, stream_id: str | None, district: str | None,
                     conducted_by: str, conducted_on: date, summary: str, findings: list[str],
                     violation_id: int | None, recorded_by: str) -> asyncpg.Record:
    return await pool.fetchrow(
        """INSERT INTO supervision_actions (kind, credit_code, stream_id, district, conducted_by, conducted_on, summary,
               findings, violation_id, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *""",
        kind, credit_code, stream_id, district, conducted_by, conducted_on, summary, findings, violation_id, recorded_by)


async def actions(pool: asyncpg.Pool, *, credit_code: str | None = None, district: str | None = None,
                  kind: str | None = None, limit: int = 100) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT * FROM supervision_actions WHERE ($1::text IS NULL OR credit_code = $1)
             AND ($2::text IS NULL OR district = $2) AND ($3::text IS NULL OR kind = $3)
           ORDER BY conducted_on DESC, id DESC LIMIT $4""", credit_code, district, kind, limit)

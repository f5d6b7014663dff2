"""`Idempotency-Key` on the gateway's POSTs: a retried request is applied once and answered the same.

One key names one request of one principal (method, path and body, fingerprinted): reusing it for a
different request is refused (422), never silently answered with the other request's result.

- Decisions are Temporal updates. Temporal deduplicates updates by id within a workflow run, also after
  the run has closed, and answers a repeated id with the first outcome; so the update id is the key,
  scoped by principal (two agencies choosing the same key must not collide, and Temporal answers a
  known id with its first outcome whatever update is asked). That covers concurrent retries. The answer
  is also stored here once given, because an approval continues the workflow as a new run (the permit's)
  and Temporal's memory of update ids is per run.
- Starting an application is not an update: its answer is stored here, and a concurrent duplicate gets
  409 `in_progress` until the first has finished (or until its claim is abandoned: a process that died
  mid-request leaves it, and a retry takes it over after a minute). What makes the takeover safe is the
  **reservation**: before anything is started, the case number is allocated and stored with the key
  (`reserve`), and the workflow is started as `application/<that number>`, an id Temporal never starts
  twice. A retry that finds a reservation (the first attempt crashed or failed after reserving, maybe
  after starting) uses that number again: it finds the workflow started, or starts it; it never
  allocates a second file. A failure after the reservation keeps it (`unlock`), since the start may have
  happened; only a failure before it frees the key (`release`).

A key's row: claimed (`response` null) → reserved (`status_code` null, `response` = `{"reserved": …}`) →
answered (`status_code` and `response` = the stored answer).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header

from gateway.errors import ApiError
from store.principals import Principal

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")  # visible ASCII: UUIDs, ULIDs, the agency's own case numbers
_ABANDONED_AFTER = "60 seconds"  # a claim left by a process that died mid-request may be taken over
_ABANDONED_AT_ONCE = timedelta(seconds=61)  # a claim this old counts as abandoned (`unlock`)


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise ApiError(400, "idempotency_key_required",
                       f"{HEADER} must be 1-128 visible ASCII characters (a UUID is a good choice)")
    return key


async def required_key(key: Annotated[str | None, Header(alias=HEADER, description="Required: a unique value per "
                       "decision; a retry with the same key is applied once and gets the same answer.")] = None) -> str:
    if key is None:
        raise ApiError(400, "idempotency_key_required", f"this POST acts on a file: send an {HEADER} header "
                       "(a retry with the same key is applied once)")
    return _checked(key)


async def optional_key(key: Annotated[str | None, Header(alias=HEADER, description="Optional: a retry with "
                       "the same key is answered with the first answer, nothing is started twice.")] = None) -> str | None:
    return None if key is None else _checked(key)


RequiredKey = Annotated[str, Depends(required_key)]
OptionalKey = Annotated[str | None, Depends(optional_key)]


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def update_id(who: Principal, key: str) -> str:
    return f"{who.id}:{key}"


@dataclass(frozen=True)
class Claim:
    mine: bool  # this request holds the key and must do the work
    status_code: int | None = None  # the stored answer of the request that did it
    response: Any = None  # (None until that request has answered)
    reserved: Any = None  # what an earlier attempt reserved for the request before acting (`reserve`)


async def claim(pool: asyncpg.Pool, who: Principal, key: str, fp: str) -> Claim:
    """Bind `key` to this request; 422 if it is bound to another one."""
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            """INSERT INTO idempotency_keys (principal_id, key, fingerprint) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""", who.id, key, fp,
        )
        if inserted:
            return Claim(mine=True)
        row = await conn.fetchrow(
            f"""SELECT fingerprint, status_code, response, created_at < now() - interval '{_ABANDONED_AFTER}' AS abandoned
                FROM idempotency_keys WHERE principal_id = $1 AND key = $2 FOR UPDATE""", who.id, key,
        )
        if row["fingerprint"] != fp:
            raise ApiError(422, "idempotency_key_reused",
                           f"this {HEADER} was already used for a different request; use a new key")
        if row["status_code"] is not None:
            return Claim(mine=False, status_code=row["status_code"], response=row["response"])
        reserved = (row["response"] or {}).get("reserved")
        if row["abandoned"]:
            await conn.execute("UPDATE idempotency_keys SET created_at = now() WHERE principal_id = $1 AND key = $2",
                               who.id, key)
            return Claim(mine=True, reserved=reserved)
        return Claim(mine=False, reserved=reserved)


async def reserve(pool: asyncpg.Pool, who: Principal, key: str, value: Any) -> None:
    """Store with the claimed key what the request is about to act on (a case number), before it acts: a
    retry that takes the key over acts on the same thing."""
    await pool.execute(
        "UPDATE idempotency_keys SET response = $3 WHERE principal_id = $1 AND key = $2 AND status_code IS NULL",
        who.id, key, {"reserved": value})


async def remember(pool: asyncpg.Pool, who: Principal, key: str, status_code: int, response: Any) -> None:
    await pool.execute("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE principal_id = $1 AND key = $2",
                       who.id, key, status_code, response)


async def release(pool: asyncpg.Pool, who: Principal, key: str) -> None:
    """The request failed before anything was done or reserved: the key is free for the retry."""
    await pool.execute("DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND response IS NULL",
                       who.id, key)


async def unlock(pool: asyncpg.Pool, who: Principal, key: str) -> None:
    """The request failed after its reservation, perhaps after acting: the retry may take the key over at
    once (it need not wait for the claim to be abandoned) and finishes the work on what was reserved."""
    await pool.execute(
        """UPDATE idempotency_keys SET created_at = now() - $3::interval
           WHERE principal_id = $1 AND key = $2 AND status_code IS NULL""", who.id, key, _ABANDONED_AT_ONCE)

"""Principals of the gateway: the Art. 3 bodies' systems, applicant enterprises, operators.

A bearer token is `bbk_` + 32 random bytes (url-safe base64). Only its sha256 is stored, so a leaked
table grants nothing; the plaintext is returned once by `add` and never again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from domain.authority import Actor
from domain.bodies import Body, District
from domain.identifiers import validate_credit_code

Kind = Literal["agency", "enterprise", "operator"]
KINDS: tuple[Kind, ...] = ("agency", "enterprise", "operator")
TOKEN_PREFIX = "bbk_"
_NOT_AGENCIES = {Body.ENTERPRISE, Body.OPERATOR, Body.SYSTEM}


class InvalidPrincipal(ValueError):
    """The kind, body, district and credit code do not describe one caller."""


@dataclass(frozen=True)
class Principal:
    id: int
    kind: Kind
    body: Body
    district: District | None
    credit_code: str | None
    name: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def actor(self) -> Actor:
        return Actor(body=self.body, district=self.district, credit_code=self.credit_code, name=self.name)

    @property
    def code(self) -> str:
        """The actor code tasks and events use: 'district:nansha', 'customs_gz', 'enterprise:9144…'."""
        return self.actor.code


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity(kind: str, body: str | None = None, district: str | None = None,
             credit_code: str | None = None) -> tuple[Kind, Body, District | None, str | None]:
    """Check and normalise who a principal is; raises InvalidPrincipal naming what is wrong."""
    if kind not in KINDS:
        raise InvalidPrincipal(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    try:
        b = Body(body) if body else Body(kind) if kind != "agency" else None
        d = District(district) if district else None
    except ValueError as e:
        raise InvalidPrincipal(str(e)) from None
    if kind == "agency":
        if b is None or b in _NOT_AGENCIES:
            raise InvalidPrincipal(f"an agency needs --body, one of {', '.join(x.value for x in Body if x not in _NOT_AGENCIES)}")
        if (b is Body.DISTRICT) != (d is not None):
            raise InvalidPrincipal("a district government acts for exactly one district (--district), other bodies for none")
        if credit_code:
            raise InvalidPrincipal("only an enterprise has a credit code")
        return kind, b, d, None
    if b is not Body(kind) or d is not None:
        raise InvalidPrincipal(f"an {kind} has body {kind} and no district")
    if kind == "operator":
        if credit_code:
            raise InvalidPrincipal("only an enterprise has a credit code")
        return kind, b, None, None
    if not credit_code:
        raise InvalidPrincipal("an enterprise needs its unified social credit code (--credit-code)")
    try:
        return kind, b, None, validate_credit_code(credit_code)
    except ValueError as e:
        raise InvalidPrincipal(str(e)) from None


def _principal(r: asyncpg.Record) -> Principal:
    return Principal(
        id=r["id"], kind=r["kind"], body=Body(r["body"]),
        district=District(r["district"]) if r["district"] else None, credit_code=r["credit_code"],
        name=r["name"], token_hash=r["token_hash"], created_at=r["created_at"], revoked_at=r["revoked_at"],
    )


async def add(pool: asyncpg.Pool, kind: str, *, name: str, body: str | None = None, district: str | None = None,
              credit_code: str | None = None) -> tuple[Principal, str]:
    """Create a principal; returns it with its plaintext token (shown once, stored only as a hash)."""
    k, b, d, c = identity(kind, body, district, credit_code)
    if not name.strip():
        raise InvalidPrincipal("a principal needs a name (the system or officer it is, for the record)")
    token = new_token()
    row = await pool.fetchrow(
        """INSERT INTO principals (kind, body, district, credit_code, name, token_hash)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        k, b.value, d.value if d else None, c, name.strip(), token_hash(token),
    )
    return _principal(row), token


async def by_token(pool: asyncpg.Pool, token: str) -> Principal | None:
    """The active principal holding `token`, or None (unknown or revoked)."""
    row = await pool.fetchrow(
        "SELECT * FROM principals WHERE token_hash = $1 AND revoked_at IS NULL", token_hash(token)
    )
    return _principal(row) if row else None


async def list_all(pool: asyncpg.Pool, *, include_revoked: bool = False) -> list[Principal]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    return [_principal(r) for r in await pool.fetch(f"SELECT * FROM principals {where} ORDER BY id")]


async def revoke(pool: asyncpg.Pool, principal_id: int) -> Principal | None:
    """Revoke at once (its token stops working on the next request); None if there is no such principal."""
    row = await pool.fetchrow(
        "UPDATE principals SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *", principal_id
    )
    return _principal(row) if row else None

"""What `bunker dev` and a deployment set up once, idempotently, before serving.

`bootstrap` is safe for any deployment. `dev_bootstrap` adds what only a developer's machine should have:
a principal for every body, district, the example enterprise and an operator, whose tokens go to
`<data_dir>/dev-tokens.json` (mode 0600). A token exists in plaintext only when it is created, so the
file is written only then; a dev principal whose token is no longer in the file (the file was deleted)
is revoked and issued again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from temporalio.client import Client

from bunker.settings import Settings
from domain.bodies import Body, District
from domain.examples import CREDIT_CODE
from store import principals

log = structlog.get_logger()

TOKENS_FILE = "dev-tokens.json"
DEV_PREFIX = "dev: "


@dataclass(frozen=True)
class DevPrincipal:
    kind: principals.Kind
    name: str
    body: str | None = None
    district: str | None = None
    credit_code: str | None = None


def dev_principals() -> list[DevPrincipal]:
    agencies = [b for b in Body if b not in (Body.DISTRICT, Body.ENTERPRISE, Body.OPERATOR, Body.SYSTEM)]
    return [
        *(DevPrincipal("agency", f"{DEV_PREFIX}{b.value}", body=b.value) for b in agencies),
        *(DevPrincipal("agency", f"{DEV_PREFIX}district:{d.value}", body=Body.DISTRICT.value, district=d.value)
          for d in District),
        DevPrincipal("enterprise", f"{DEV_PREFIX}enterprise:{CREDIT_CODE}", credit_code=CREDIT_CODE),
        DevPrincipal("operator", f"{DEV_PREFIX}operator"),
    ]


async def bootstrap(settings: Settings, client: Client, pool: asyncpg.Pool) -> None:
    """Migrations are done on connect; here: the yearly Art. 22 inspection schedule."""
    from bunker.inspections import ensure_inspection_schedule

    await ensure_inspection_schedule(client, settings.temporal_task_queue)


async def dev_bootstrap(settings: Settings, client: Client, pool: asyncpg.Pool) -> Path:
    """`bootstrap`, then the development principals; returns where their tokens are."""
    await bootstrap(settings, client, pool)
    return await ensure_dev_principals(pool, settings.data_dir)


async def ensure_dev_principals(pool: asyncpg.Pool, data_dir: Path) -> Path:
    path = data_dir / TOKENS_FILE
    known = {e["name"]: e for e in _read(path)}
    active = {p.name: p for p in await principals.list_all(pool) if p.name.startswith(DEV_PREFIX)}
    entries, created = [], 0
    for want in dev_principals():
        have, entry = active.get(want.name), known.get(want.name)
        if have is not None and entry is not None and principals.token_hash(entry["token"]) == have.token_hash:
            entries.append(entry)
            continue
        if have is not None:  # its token is lost: issue a new one
            await principals.revoke(pool, have.id)
        p, token = await principals.add(pool, want.kind, name=want.name, body=want.body, district=want.district,
                                        credit_code=want.credit_code)
        entries.append({"name": p.name, "id": p.id, "kind": p.kind, "actor": p.code, "token": token})
        created += 1
    if created:
        _write(path, entries)
        log.info("dev principals created", count=created, tokens_file=str(path))
    return path


def _read(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["principals"]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _write(path: Path, entries: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the tokens are never readable by others, not even for a moment.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"note": "development tokens: Authorization: Bearer <token>", "principals": entries},
                  f, ensure_ascii=False, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)

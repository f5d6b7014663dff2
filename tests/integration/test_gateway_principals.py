"""Principals: `bunker principals add/list/revoke`, and the development principals of `bunker dev`."""

from __future__ import annotations

import asyncio
import json
import logging
import stat

import pytest
import structlog
from typer.testing import CliRunner

from bunker.bootstrap import dev_bootstrap, ensure_dev_principals
from bunker.cli import app as cli_app
from bunker.settings import Settings
from domain.bodies import District
from domain.examples import CREDIT_CODE
from store import principals
from tests.integration.gateway_helpers import AGENCIES, app_for, http_client


async def test_dev_principals_are_created_once_with_their_tokens_in_a_0600_file(pool, client, tmp_path):
    settings = Settings(data_dir=tmp_path)
    path = await dev_bootstrap(settings, client, pool)
    assert path == tmp_path / "dev-tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = json.loads(path.read_text())["principals"]
    assert {e["actor"] for e in entries} == {*AGENCIES, *(f"district:{d.value}" for d in District),
                                            f"enterprise:{CREDIT_CODE}", "operator"}
    for e in entries:
        assert (await principals.by_token(pool, e["token"])).code == e["actor"]
    async with http_client(app_for(settings, client, pool)) as http:
        token = next(e["token"] for e in entries if e["actor"] == "district:nansha")
        r = await http.get("/inbox", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["body"] == "district:nansha"

    # Again: nothing created, the file untouched.
    written, active = path.read_bytes(), len(await principals.list_all(pool))
    assert await ensure_dev_principals(pool, tmp_path) == path
    assert path.read_bytes() == written and len(await principals.list_all(pool)) == active

    # The file lost: its tokens cannot be shown again, so they are revoked and issued anew.
    path.unlink()
    await ensure_dev_principals(pool, tmp_path)
    renewed = json.loads(path.read_text())["principals"]
    assert len(renewed) == len(entries) and len(await principals.list_all(pool)) == active
    assert [await principals.by_token(pool, e["token"]) for e in entries] == [None] * len(entries)
    assert None not in [await principals.by_token(pool, e["token"]) for e in renewed]


@pytest.fixture
def logging_restored():
    """The CLI configures logging for its process, onto the runner's stream; put the session's back."""
    config, handlers = structlog.get_config(), logging.root.handlers[:]
    yield
    structlog.configure(**config)
    logging.root.handlers[:] = handlers


async def test_the_cli_adds_lists_and_revokes_principals_and_shows_a_token_once(pool, pg_server, monkeypatch,
                                                                                  logging_restored):
    dsn = pg_server.get_uri(await pool.fetchval("SELECT current_database()"))
    monkeypatch.setenv("DATABASE_URL", dsn)
    runner = CliRunner()

    def bunker(*args: str):
        return runner.invoke(cli_app, ["principals", *args])

    added = await asyncio.to_thread(bunker, "add", "agency", "--body", "district", "--district", "huangpu",
                                    "--name", "黄埔区政务系统")
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    who = await principals.by_token(pool, token)
    assert who.code == "district:huangpu" and who.name == "黄埔区政务系统"

    listed = await asyncio.to_thread(bunker, "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert {"id": who.id, "actor": "district:huangpu"}.items() <= next(r for r in rows if r["id"] == who.id).items()
    assert token not in listed.output and who.token_hash not in listed.output

    table = await asyncio.to_thread(bunker, "list")
    assert table.exit_code == 0 and "district:huangpu" in table.output and token not in table.output

    revoked = await asyncio.to_thread(bunker, "revoke", str(who.id))
    assert revoked.exit_code == 0, revoked.output
    assert await principals.by_token(pool, token) is None
    assert (await asyncio.to_thread(bunker, "revoke", "999999")).exit_code == 1

    wrong = await asyncio.to_thread(bunker, "add", "agency", "--body", "district", "--name", "no district")
    assert wrong.exit_code == 2 and "exactly one district" in wrong.output
    wrong = await asyncio.to_thread(bunker, "add", "enterprise", "--credit-code", "123", "--name", "bad code")
    assert wrong.exit_code == 2 and "18" in wrong.output

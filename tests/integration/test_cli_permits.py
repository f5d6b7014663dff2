"""The operator's commands for permits, run with typer's CliRunner against the test database and Temporal:
`permits list`, `permit show`, `permit history`, `agency inbox|decide` (through a gateway listening on a
port) and `holidays load` (which tells open files to recompute provisional deadlines).

Each command runs its own event loop (asyncio.run), so it is invoked in a thread beside the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import uvicorn
from typer.testing import CliRunner

from bunker.cli import app
from bunker.settings import Settings
from tests.integration.gateway_helpers import OWN_DISTRICT, app_for, gateway, tokens  # noqa: F401 - fixtures
from tests.integration.permit_gateway_helpers import permit_in_force
from workflows.permit import Permit

runner = CliRunner()


@pytest.fixture(autouse=True)
def quiet_cli_logging(monkeypatch):
    """The commands configure logging to the streams CliRunner lends them and closes afterwards; the gateway
    of these tests logs in the same process, so the commands leave logging as it is."""
    monkeypatch.setattr("bunker.logs.configure", lambda *args, **kwargs: None)


@pytest_asyncio.fixture
async def cli_env(pg_server, pool, temporal_env) -> dict[str, str]:
    """The environment a command reads its settings from: this module's database, the test Temporal."""
    database = await pool.fetchval("SELECT current_database()")
    return {"DATABASE_URL": pg_server.get_uri(database),
            "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
            "BUNKER_LOG_LEVEL": "warning", "BUNKER_LOG_FORMAT": "json", "COLUMNS": "250", "BUNKER_TOKEN": ""}


async def bunker(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=env)
    assert result.exit_code == code, (args, result.exit_code, result.output, result.exception)
    return result.output


@pytest.fixture
async def permit(gateway, client, pool, task_queue):
    permit_id, h = await permit_in_force(gateway, client, pool, task_queue)
    yield permit_id, h
    await h.terminate("test done")


async def test_permits_list_filters_the_register_like_the_api(gateway, cli_env, permit):
    permit_id, _ = permit
    listed = json.loads(await bunker(cli_env, "permits", "list", "--json", "--status", "in_force"))
    api = (await gateway.get("operator", "/permits", params={"status": "in_force"})).json()["items"]
    assert listed == api and permit_id in [p["application_id"] for p in listed]
    expiring = json.loads(await bunker(cli_env, "permits", "list", "--json", "--expiring-within", "800"))
    assert permit_id in [p["application_id"] for p in expiring]
    assert json.loads(await bunker(cli_env, "permits", "list", "--json", "--expiring-within", "10")) == []
    assert json.loads(await bunker(cli_env, "permits", "list", "--json", "--dormant")) == []
    assert json.loads(await bunker(cli_env, "permits", "list", "--json", "--overdue", "--district", "nansha")) == []
    table = await bunker(cli_env, "permits", "list", "--district", "nansha")
    assert permit_id in table and "in_force" in table and "waiting on" in table


async def test_permit_show_has_status_deadlines_pending_bodies_and_the_timeline(cli_env, permit):
    permit_id, _ = permit
    shown = json.loads(await bunker(cli_env, "permit", "show", permit_id, "--json"))
    assert shown["status"] == "in_force" and shown["live"]["permit_number"] == shown["permit_number"]
    assert "commerce" in shown["pending"] and shown["tasks"]
    assert [e["type"] for e in shown["events"]][-2:] == ["Approved", "PermitInForce"]
    text = await bunker(cli_env, "permit", "show", permit_id)
    for words in ("next deadline:", "waiting on:", "Art. 13 filings:", "open steps", "PermitInForce",
                  "ALL 44 permit document"):
        assert words in text, (words, text)
    assert "no permit BB-2026-999999" in await bunker(cli_env, "permit", "show", "BB-2026-999999", code=1)


async def test_permit_history_tells_every_run_in_the_regulations_words(client, cli_env, permit, pool):
    permit_id, h = permit
    await h.signal("recompute_deadlines")
    history = json.loads(await bunker(cli_env, "permit", "history", permit_id, "--json"))
    runs = history["runs"]
    assert [r["workflow_type"] for r in runs][:2] == ["PermitApplication", "Permit"]
    first = [line["text"] for line in runs[0]["lines"]]
    assert first[0] == "started PermitApplication"
    assert "compute Art. 9 completeness notice" in first and "record ApplicationReceived (Art. 9)" in first
    details = {line["text"]: line["detail"] for line in runs[0]["lines"]}
    assert details["compute ALL 42 decision"].startswith("due ") and details["record Accepted (Art. 9)"] == "recorded"
    assert details["wait: ALL 42 decision"].startswith("fires ")  # a timer, by its summary
    assert "accept by district:nansha" in first and "accept done" in first
    assert details["joint_review by customs_gz"] == '{"agency": "customs_gz", "decision": "approve", "reasons": ""}'
    assert "code version: patch permit-in-force-handover" in first
    assert first[-1] == "hand-over: continued as new as Permit"
    second = [line["text"] for line in runs[1]["lines"]]
    assert second[0].startswith("Permit run 2, continued from run") and "record PermitInForce (Art. 11)" in second
    assert "signal recompute_deadlines" in second
    text = await bunker(cli_env, "permit", "history", permit_id)
    assert "run 1 · PermitApplication" in text and "run 2 · Permit" in text and "hand-over" in text
    await bunker(cli_env, "permit", "history", "BB-2026-999999", code=1)


@pytest_asyncio.fixture
async def listening_gateway(client, pool, task_queue, tokens) -> AsyncIterator[str]:
    """The gateway on a real port, in this test's event loop, for commands that speak HTTP."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(temporal_task_queue=task_queue, sdk_metrics_port=0)
    server = uvicorn.Server(uvicorn.Config(app_for(settings, client, pool), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the gateway did not start"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


async def test_an_agency_reads_its_inbox_and_decides_through_the_gateway(cli_env, listening_gateway, tokens, permit,
                                                                         pool):
    permit_id, h = permit
    env = cli_env | {"BUNKER_TOKEN": tokens["commerce"]}
    inbox = json.loads(await bunker(env, "agency", "inbox", "commerce", "--gateway", listening_gateway, "--json"))
    task = f"{permit_id}/issue_permit_document"
    assert task in [t["task_id"] for t in inbox["tasks"]]
    assert task in await bunker(env, "agency", "inbox", "commerce", "--gateway", listening_gateway)
    # The token says who acts: another body's inbox is refused, a step of another body too.
    assert "not district:nansha's" in await bunker(env, "agency", "inbox", OWN_DISTRICT, "--gateway",
                                                   listening_gateway, code=2)
    out = await bunker(env, "agency", "decide", f"{permit_id}/report_dormancy", "--data", '{"remarks": ""}',
                       "--gateway", listening_gateway, code=1)
    assert "error 403 forbidden" in out
    decided = await bunker(env, "agency", "decide", task, "--data", '{"document_no": "穗商务许〔2026〕12号"}',
                           "--key", "doc-1", "--gateway", listening_gateway)
    assert "permit document issued" in decided and "Idempotency-Key: doc-1" in decided
    again = await bunker(env, "agency", "decide", task, "--data", '{"document_no": "穗商务许〔2026〕12号"}',
                         "--key", "doc-1", "--gateway", listening_gateway)
    assert "already applied with this key" in again
    assert "error 422 invalid" in await bunker(env, "agency", "decide", task, "--data", "{}", "--gateway",
                                               listening_gateway, code=1)
    assert (await pool.fetch("SELECT event_type FROM events WHERE stream_id = $1 AND event_type = "
                             "'PermitDocumentIssued'", permit_id)).__len__() == 1
    operator = cli_env | {"BUNKER_TOKEN": tokens["operator"]}
    assert "error 403" in await bunker(operator, "agency", "inbox", "operator", "--gateway", listening_gateway, code=1)
    assert "cannot reach the gateway" in await bunker(env, "agency", "inbox", "commerce", "--gateway",
                                                      "http://127.0.0.1:9", code=2)


async def test_holidays_load_tells_open_files_with_a_provisional_deadline(cli_env, permit, pool, tmp_path):
    permit_id, h = permit
    # The read model's flag is what the command selects by; make this permit's document deadline provisional.
    await pool.execute("UPDATE permits SET next_deadline_provisional = true WHERE stream_id = $1", permit_id)
    expected = await pool.fetchval(
        """SELECT count(DISTINCT p.workflow_id) FROM permits p
           WHERE p.status NOT IN ('terminated', 'revoked', 'refused', 'withdrawn', 'not_accepted')
             AND p.workflow_id IS NOT NULL AND (p.next_deadline_provisional OR EXISTS (
                 SELECT 1 FROM tasks t WHERE t.stream_id = p.stream_id AND t.provisional))""")
    schedule = tmp_path / "2027.yaml"
    schedule.write_text(await bunker(cli_env, "holidays", "export", "2027"), encoding="utf-8")
    out = await bunker(cli_env, "holidays", "load", str(schedule))
    assert "loaded the official 2027 schedule" in out
    assert f"told {expected} open file(s)" in out and expected >= 1
    await h.query(Permit.status)  # the signal was taken: the workflow still answers
    unreachable = cli_env | {"TEMPORAL_ADDRESS": "127.0.0.1:9"}
    assert "Temporal is not reachable" in await bunker(unreachable, "holidays", "load", str(schedule))

"""Oversight of the agencies' own deadlines: a joint review left lying gets a yellow card per agency at its
deadline, a red card after the red-card period, and the view shows who holds the file up, and how late."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from typer.testing import CliRunner

from bunker.cli import app as cli_app
from domain.bodies import JOINT_REVIEW_PANEL
from domain.calendar import WorkingCalendar
from domain.policy import CURRENT_POLICY_VERSION, policy
from store.oversight import oversight
from tests.integration.gateway_helpers import gateway, tokens  # noqa: F401 (fixtures)
from tests.integration.licensing_helpers import to_joint_review
from tests.integration.supervision_helpers import logging_restored  # noqa: F401 (fixture)

PANEL = {b.value for b in JOINT_REVIEW_PANEL}


async def test_an_overdue_joint_review_shows_yellow_and_red_cards_per_agency(
    gateway, temporal_env, client, pool, task_queue, pg_server, monkeypatch, logging_restored  # noqa: F811
):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    opened = WorkingCalendar.local_date(await temporal_env.get_current_time(h))
    # Past the review deadline and its red-card period, and past ALL 42's 20 working days from acceptance.
    await temporal_env.fast_forward(h, timedelta(days=35))
    now = await temporal_env.get_current_time(h)
    today = WorkingCalendar.local_date(now)

    view = await oversight(pool, opened, today, as_of=now)
    rows = {r.body: r for r in view.bodies}
    red_card_workdays = policy(CURRENT_POLICY_VERSION).overdue_red_card_workdays
    for body in PANEL:
        r = rows[body]
        # Two cards of each colour: one for the agency's own review deadline, one because the statutory
        # decision period lapsed while the file was still waiting for it.
        assert (r.open_tasks, r.overdue_tasks, r.yellow_cards, r.red_cards) == (1, 1, 2, 2), r
        (late,) = r.overdue
        assert late.application_id == app_id and late.kind == "joint_review"
        assert late.workdays_late > red_card_workdays and late.days_late > late.workdays_late
    assert set(list(rows)[:len(PANEL)]) == PANEL  # the most overdue first
    # Nothing is charged to the district, which acted in time, nor to the applicant.
    assert rows.get("district:nansha") is None or rows["district:nansha"].yellow_cards == 0
    assert not any(b.startswith("enterprise:") for b in rows)
    # Cards are counted in their period: none before the review was opened.
    before = await oversight(pool, opened - timedelta(days=30), opened - timedelta(days=1), as_of=now)
    assert all(r.yellow_cards == r.red_cards == 0 for r in before.bodies)

    # The same through the gateway: commerce sees everyone, an agency itself only.
    params = {"from": str(opened), "to": str(today), "as_of": now.isoformat()}
    r = await gateway.get("commerce", "/oversight", params=params)
    assert r.status_code == 200, r.text
    carded = {b["body"] for b in r.json()["bodies"] if b["red_cards"]}
    # The ALL 42 decision clock, running since acceptance, has lapsed too: charged to the agencies that
    # still hold the file, not to the government, which has not received it.
    assert carded == PANEL
    own = await gateway.get("customs_gz", "/oversight", params=params)
    assert [b["body"] for b in own.json()["bodies"]] == ["customs_gz"]
    assert (await gateway.get("customs_gz", "/oversight", params=params | {"body": "msa"})).status_code == 403
    assert (await gateway.get("enterprise", "/oversight")).status_code == 403
    districts = await gateway.get("municipal_gov", "/oversight", params=params | {"body": "district"})
    assert all(b["body"].startswith("district:") for b in districts.json()["bodies"])

    # And from the command line.
    monkeypatch.setenv("DATABASE_URL", pg_server.get_uri(await pool.fetchval("SELECT current_database()")))
    out = await asyncio.to_thread(CliRunner().invoke, cli_app, [
        "oversight", "--from", str(opened), "--to", str(today), "--as-of", now.isoformat(), "--json"])
    assert out.exit_code == 0, out.output
    cli_rows = {b["body"]: b for b in json.loads(out.output)["bodies"]}
    assert all(cli_rows[b]["red_cards"] == 2 and cli_rows[b]["overdue_tasks"] == 1 for b in PANEL)
    await h.terminate("test done")

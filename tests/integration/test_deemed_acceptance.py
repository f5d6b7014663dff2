"""Art. 9: no completeness notice within 5 working days → deemed accepted from the day of receipt."""

from __future__ import annotations

from datetime import date, timedelta

from domain.calendar import WorkingCalendar
from domain.policy import policy
from tests.integration.licensing_helpers import start, types
from workflows.licensing import PermitApplication
from workflows.licensing_messages import Stage


async def test_deemed_accepted_from_the_day_of_receipt_when_no_notice_within_5_working_days(
    temporal_env, client, pool, task_queue
):
    app_id, handle = await start(temporal_env, client, pool, task_queue)
    # Nobody acts: the server skips to the notice deadline, then on to the (idle) preliminary review.
    await temporal_env.fast_forward(handle, timedelta(days=10))
    status = await handle.query(PermitApplication.status)

    received = (await pool.fetchrow("SELECT payload FROM events WHERE stream_id=$1 AND version=1", app_id))["payload"]
    received_on = date.fromisoformat(received["received_on"])
    cal = WorkingCalendar()
    notice_due = cal.add_workdays(received_on, 5).date
    assert received["notice_deadline"] == notice_due.isoformat()

    rows = await pool.fetch(
        "SELECT event_type, article, actor, occurred_at, payload FROM events WHERE stream_id=$1 ORDER BY version", app_id
    )
    deemed = next(r for r in rows if r["event_type"] == "DeemedAccepted")
    assert (deemed["article"], deemed["actor"]) == ("9", "system")
    # Back-dated: accepted from the day the materials were received …
    assert deemed["payload"]["accepted_on"] == received_on.isoformat()
    # … recorded when the notice period ended (24:00 Asia/Shanghai of its last working day) …
    ends = cal.deadline_end(notice_due)
    assert ends <= deemed["occurred_at"] < ends + timedelta(minutes=1)
    # … and the ALL 42 decision clock counts 20 working days from that back-dated day.
    assert deemed["payload"]["decision_deadline"] == cal.add_workdays(received_on, policy("gz-2022").decision_workdays).date.isoformat()
    assert status.accepted_on == received_on
    assert await types(pool, app_id) == ["ApplicationReceived", "DeemedAccepted", "DeadlineOverdue"]
    assert status.stage is Stage.PRELIMINARY_REVIEW

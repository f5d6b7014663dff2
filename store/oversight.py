"""Electronic supervision of the agencies' own deadlines: who holds a file up.

Every deadline of the procedure already leaves a trace: `DeadlineOverdue` (a yellow card) when it passes,
`DeadlineEscalated` (a red card) when it is still not met after the red-card period, both naming the
`body` and the `step`; and every open step is a row of the `tasks` inbox with the instant it ends. This
module reads both, per body: open tasks, those overdue (and by how many working days), and the cards of
any period. Enterprises' own tasks (corrections, answers) are not the agencies' and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import asyncpg
from pydantic import BaseModel

from domain.calendar import SHANGHAI, WorkingCalendar
from store.holidays import official_schedules

YELLOW, RED = "DeadlineOverdue", "DeadlineEscalated"
_LONGEST = timedelta(days=365 * 50)


class OverdueTask(BaseModel):
    task_id: str
    application_id: str
    kind: str
    label: str
    due_date: date
    workdays_late: int  # working days since the last day of the period, today included
    days_late: int


class BodyOversight(BaseModel):
    body: str
    open_tasks: int = 0
    overdue_tasks: int = 0
    max_workdays_late: int = 0
    yellow_cards: int = 0
    red_cards: int = 0
    overdue: list[OverdueTask] = []


class Oversight(BaseModel):
    period_from: date
    period_to: date
    as_of: datetime
    bodies: list[BodyOversight]


def _matches(body: str, wanted: str | None) -> bool:
    """`district` stands for every district government; any other code for itself."""
    if wanted is None:
        return not body.startswith("enterprise:")
    return body == wanted or (wanted == "district" and body.startswith("district:"))


async def oversight(pool: asyncpg.Pool, period_from: date, period_to: date, *, body: str | None = None,
                    as_of: datetime | None = None) -> Oversight:
    """Per body: open and overdue tasks as of `as_of` (default now), yellow and red cards recorded from the
    start of `period_from` to the end of `period_to` (Asia/Shanghai days)."""
    as_of = as_of or datetime.now(UTC)
    start = datetime.combine(period_from, datetime.min.time(), SHANGHAI)
    end = datetime.combine(period_to + timedelta(days=1), datetime.min.time(), SHANGHAI)
    rows: dict[str, BodyOversight] = defaultdict(lambda: BodyOversight(body=""))

    def of(b: str) -> BodyOversight:
        r = rows[b]
        r.body = b
        return r

    for t in await pool.fetch(
            """SELECT body, count(*) AS n, count(*) FILTER (WHERE ends_at <= $1) AS late FROM tasks
               WHERE body NOT LIKE 'enterprise:%' GROUP BY body""", as_of):
        if _matches(t["body"], body):
            of(t["body"]).open_tasks, of(t["body"]).overdue_tasks = t["n"], t["late"]
    for c in await pool.fetch(
            """SELECT payload->>'body' AS body, event_type, count(*) AS n FROM events
               WHERE event_type IN ($1, $2) AND occurred_at >= $3 AND occurred_at < $4 GROUP BY 1, 2""",
            YELLOW, RED, start, end):
        if c["body"] and _matches(c["body"], body):
            r = of(c["body"])
            if c["event_type"] == YELLOW:
                r.yellow_cards = c["n"]
            else:
                r.red_cards = c["n"]
    calendar = WorkingCalendar(await official_schedules(pool))
    today = WorkingCalendar.local_date(as_of)
    for t in await pool.fetch(
            """SELECT task_id, stream_id, body, kind, label, due_date FROM tasks
               WHERE ends_at <= $1 AND due_date IS NOT NULL AND body NOT LIKE 'enterprise:%'
               ORDER BY due_date, task_id""", as_of):
        if not _matches(t["body"], body):
            continue
        r = of(t["body"])
        # The calendar counts spans of up to decades; a task older than that is late by the span's count.
        late = calendar.workdays_between(max(t["due_date"], today - _LONGEST), today) if today > t["due_date"] else 0
        r.overdue.append(OverdueTask(task_id=t["task_id"], application_id=t["stream_id"], kind=t["kind"],
                                     label=t["label"], due_date=t["due_date"], workdays_late=late,
                                     days_late=(today - t["due_date"]).days))
        r.max_workdays_late = max(r.max_workdays_late, late)
    ranked = sorted(rows.values(), key=lambda r: (-r.red_cards, -r.yellow_cards, -r.overdue_tasks, r.body))
    return Oversight(period_from=period_from, period_to=period_to, as_of=as_of, bodies=ranked)

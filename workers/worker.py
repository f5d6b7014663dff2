"""The worker: every workflow and activity of the system on one task queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from activities.event_log import EventLogActivities
from activities.ledger import LedgerActivities
from activities.licensing import LicensingActivities
from workflows.licensing import PermitApplication
from workflows.permit import Permit

WORKFLOWS = [PermitApplication, Permit]


def activities(pool: asyncpg.Pool) -> list:
    cal, log, lic, led = CalendarActivities(pool), EventLogActivities(pool), LicensingActivities(pool), LedgerActivities(pool)
    return [
        cal.compute_deadline, cal.count_workdays,
        log.append_events,
        lic.assess_application, lic.register_ban, lic.next_permit_number,
        led.last_supply_at,
    ]


def build_worker(client: Client, pool: asyncpg.Pool, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(pool),
        activity_executor=ThreadPoolExecutor(4),
    )

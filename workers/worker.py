"""The worker: every workflow and activity of the system on one task queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from workers.logging_interceptor import LogContextInterceptor

from activities.calendar import CalendarActivities
from activities.event_log import EventLogActivities
from activities.inspection import InspectionActivities
from activities.ledger import LedgerActivities
from activities.licensing import LicensingActivities
from workflows.inspection_campaign import InspectionCampaign
from workflows.licensing import PermitApplication
from workflows.permit import Permit

WORKFLOWS = [PermitApplication, Permit, InspectionCampaign]


def activities(pool: asyncpg.Pool, client: Client | None = None, reports_dir: Path | None = None) -> list:
    cal, log, lic, led = CalendarActivities(pool), EventLogActivities(pool), LicensingActivities(pool), LedgerActivities(pool)
    # The campaign's inspections deliver to the permits' workflows, so they hold the client.
    ins = InspectionActivities(pool, client, reports_dir)
    return [
        cal.compute_deadline, cal.count_workdays,
        log.append_events,
        lic.assess_application, lic.register_ban, lic.next_permit_number,
        led.last_supply_at,
        ins.open_campaign, ins.page, ins.inspect_permit, ins.inspect_permits, ins.write_report,
    ]


def build_worker(client: Client, pool: asyncpg.Pool, task_queue: str, *, reports_dir: Path | None = None) -> Worker:
    """`reports_dir`: where the inspection reports go (default `<data dir>/reports`)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(pool, client, reports_dir),
        activity_executor=ThreadPoolExecutor(4),
        interceptors=[LogContextInterceptor()],
    )

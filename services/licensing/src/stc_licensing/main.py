"""Composition root of the licensing service: settings, the service spec (gRPC, consumers,
the deadline/expiry ticker) and `run_service`."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from stc_common.consumer import EventConsumer
from stc_common.kafka.topics import CREDIT_STANDING, ENDUSER_CHANGE, SCREENING_RESULT
from stc_common.logging import get_logger
from stc_common.periodic import periodic
from stc_common.runtime import ServiceSpec, run_process, run_service

from stc_licensing import service
from stc_licensing.api.limits import LIMITS
from stc_licensing.api.servicer import SERVICE_NAME, register
from stc_licensing.config import SOURCE, LicensingSettings
from stc_licensing.events.handlers import SUBSCRIPTIONS
from stc_licensing.service import common
from stc_licensing.storage.sql import SqlUnitOfWork, unit_of_work

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = get_logger("stc_licensing.main")


def make_ticker(interval_s: float, warn_within: int = service.DEADLINE_WARNING_WORKING_DAYS,
                max_failures: int = 10):
    """A background task: Reg. 17 warnings (DeadlineApproaching, once) and breaches
    (DeadlineBreached, once), and licence expiry; once across the replicas (stc_common.periodic)."""

    async def round_(pool: asyncpg.Pool) -> None:
        await tick(pool, warn_within)

    return periodic("deadline_ticker", round_, interval_s=interval_s, max_failures=max_failures)


async def tick(pool: asyncpg.Pool, warn_within: int = service.DEADLINE_WARNING_WORKING_DAYS
               ) -> tuple[int, int]:
    """One round: every warning, breach and expiry in its own transaction."""
    day = common.today()
    async with pool.acquire() as conn:
        reader = SqlUnitOfWork(conn, SOURCE)
        pending = await reader.applications.pending_ids()
        due = await reader.licences.due_to_expire(day)
    breached = expired = 0
    for app_id in pending:
        async with unit_of_work(pool, SOURCE) as uow:
            await service.warn_deadline(uow=uow, application_id=app_id, as_of=day,
                                    within=warn_within)
        async with unit_of_work(pool, SOURCE) as uow:
            breached += await service.mark_breach(uow=uow, application_id=app_id, as_of=day)
    for lic_id in due:
        async with unit_of_work(pool, SOURCE) as uow:
            expired += await service.expire_licence(uow=uow, licence_id=lic_id, as_of=day)
    return breached, expired


def build_spec(settings: LicensingSettings) -> ServiceSpec:
    """The licensing service as the runtime skeleton runs it."""

    def consumers(pool: asyncpg.Pool) -> list[EventConsumer]:
        return [EventConsumer(
            name="licensing", topics=[SCREENING_RESULT.name, CREDIT_STANDING.name,
                                      ENDUSER_CHANGE.name],
            pool=pool, bootstrap=settings.kafka_bootstrap_servers,
            group_id=f"{settings.consumer_group_prefix}-licensing",
            subscriptions=SUBSCRIPTIONS, source=SOURCE)]

    async def warm(pool: asyncpg.Pool) -> None:
        # the policy with its UNSC arms embargoes (Art. 13(2)) from the settings; fails at
        # start-up, not on the first event, if the policy or the embargo table is broken
        service.configure_policies(settings.arms_embargoes_path or None)

    def register_servicer(server, pool: asyncpg.Pool) -> None:
        register(server, pool, dsn=settings.database_url)

    ticker = make_ticker(settings.ticker_interval_s, settings.deadline_warning_working_days,
                         settings.periodic_max_failures)
    return ServiceSpec(name="licensing", migrations=MIGRATIONS, service_names=[SERVICE_NAME],
                       register=register_servicer, consumers=consumers,
                       background=[ticker], on_start=warm, limits=LIMITS)


def main() -> None:
    """Run the service until SIGTERM."""
    settings = LicensingSettings()
    run_process(run_service(settings, build_spec(settings)))

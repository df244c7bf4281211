"""Composition root of the licensing service: settings, the service spec (gRPC, consumers,
the deadline/expiry ticker) and `run_service`."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import asyncpg
from stc_common.consumer import EventConsumer
from stc_common.kafka.topics import CREDIT_STANDING, ENDUSER_CHANGE, SCREENING_RESULT
from stc_common.logging import get_logger
from stc_common.naming import consumer_group
from stc_common.periodic import periodic
from stc_common.runtime import ServiceSpec, run_process, run_service

from stc_licensing import service
from stc_licensing.api.limits import LIMITS
from stc_licensing.api.servicer import SERVICE_NAME, register
from stc_licensing.config import SOURCE, LicensingSettings
from stc_licensing.domain.holiday_calendar import same_schedule
from stc_licensing.domain.temporary_controls import ALERT_DAYS_BEFORE_END
from stc_licensing.events.handlers import SUBSCRIPTIONS
from stc_licensing.service import applications, commands, common, holidays, temporary_controls
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


async def temporary_controls_round(pool: asyncpg.Pool, today: dt.date,
                                   days_before: int = ALERT_DAYS_BEFORE_END
                                   ) -> tuple[int, int]:
    """One round of the Art. 9(2) job (issue 11 item 5): expiry alerts (once per measure and
    end) and expiries, each in its own transaction; (alerts sent, measures expired)."""
    async with pool.acquire() as conn:
        measures = await SqlUnitOfWork(conn, SOURCE).temporary_controls.active()
    alerts = expired = 0
    for m in measures:
        async with unit_of_work(pool, SOURCE) as uow:
            alerts += await temporary_controls.alert_expiring(
                uow=uow, measure_id=m.measure_id, today=today, days_before=days_before)
        async with unit_of_work(pool, SOURCE) as uow:
            expired += await temporary_controls.expire(uow=uow, measure_id=m.measure_id,
                                                       today=today)
    return alerts, expired


async def apply_holiday_file(pool: asyncpg.Pool, path: str | Path) -> int:
    """Enter every schedule of the operator's data file (issue 11 item 3), each in its own
    transaction (a year stored with the same content changes nothing); ValueError on a
    malformed file, so the service does not start counting wrong days. The number of years
    entered or changed."""
    entries = await asyncio.to_thread(holidays.entries_from_file, path)
    changed = 0
    for entry in entries:
        async with unit_of_work(pool, SOURCE) as uow:
            before = await uow.holiday_schedules.get(entry.year)
            await holidays.enter_holiday_schedule(uow=uow, cmd=commands.EnterHolidaySchedule(
                entry, f"data-file:{Path(path).name}"))
            changed += before is None or not same_schedule(before.entry, entry)
    return changed


def holiday_refresher(interval_s: float, max_failures: int):
    """A periodic task on every replica (not once across replicas): reinstall the stored
    holiday schedules when another replica has entered one (issue 11 item 3). Runs under
    stc_common.periodic, so an engine away is retried with the one error policy."""
    seen: list[object] = [None]

    async def refresh(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            uow = SqlUnitOfWork(conn, SOURCE)
            current = await uow.holiday_schedules.version()
            if current != seen[0]:
                await holidays.install_stored(uow)
                seen[0] = current

    return periodic("holiday_schedule_refresher", refresh, interval_s=interval_s,
                    max_failures=max_failures, once_across_replicas=False)


def build_spec(settings: LicensingSettings) -> ServiceSpec:
    """The licensing service as the runtime skeleton runs it."""

    def consumers(pool: asyncpg.Pool) -> list[EventConsumer]:
        return [EventConsumer(
            name="licensing", topics=[SCREENING_RESULT.name, CREDIT_STANDING.name,
                                      ENDUSER_CHANGE.name],
            pool=pool, bootstrap=settings.kafka_bootstrap_servers,
            group_id=consumer_group(settings.consumer_group_prefix, "licensing", "events"),
            subscriptions=SUBSCRIPTIONS, source=SOURCE)]

    async def warm(pool: asyncpg.Pool) -> None:
        # the policy with its UNSC arms embargoes (Art. 13(2)) from the settings; fails at
        # start-up, not on the first event, if the policy or the embargo table is broken
        service.configure_policies(settings.arms_embargoes_path or None)
        applications.ADMISSION.configure(  # issue 14 item 3
            ceiling=settings.max_applications_awaiting_assessment,
            adaptive=settings.admission_adaptive,
            target_s=settings.admission_target_latency_ms / 1000,
            floor=settings.admission_min_limit, initial=settings.admission_initial_limit,
            percentile=settings.admission_latency_percentile)
        service.configure_rules(settings.extraterritorial_rules_path or None)  # issue 11 item 6
        # the holiday calendar as data (issue 11 item 3): the stored schedules, then the
        # operator's file (a broken file stops the start-up rather than count wrong days)
        async with pool.acquire() as conn:
            await holidays.install_stored(SqlUnitOfWork(conn, SOURCE))
        if settings.holiday_schedules_path:
            await apply_holiday_file(pool, settings.holiday_schedules_path)

    def register_servicer(server, pool: asyncpg.Pool) -> None:
        register(server, pool, dsn=settings.database_url)

    ticker = make_ticker(settings.ticker_interval_s, settings.deadline_warning_working_days,
                         settings.periodic_max_failures)

    async def temporary_controls_job(pool: asyncpg.Pool) -> None:
        # Art. 9(2): expiry alerts and expiries of temporary controls (issue 11 item 5)
        await temporary_controls_round(pool, common.today(),
                                       settings.temporary_control_alert_days)

    tc_job = periodic("temporary_controls", temporary_controls_job,
                      interval_s=settings.ticker_interval_s,
                      max_failures=settings.periodic_max_failures)
    return ServiceSpec(name="licensing", migrations=MIGRATIONS, service_names=[SERVICE_NAME],
                       register=register_servicer, consumers=consumers,
                       background=[ticker, holiday_refresher(settings.holiday_refresh_s,
                                                           settings.periodic_max_failures),
                                   tc_job],
                       on_start=warm, limits=LIMITS)


def main() -> None:
    """Run the service until SIGTERM."""
    settings = LicensingSettings()
    run_process(run_service(settings, build_spec(settings)))

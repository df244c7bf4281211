"""Composition root of the end-user service: settings, spec, consumers, background task."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg
from stc.enduser.v1 import enduser_service_pb2
from stc_common.consumer import EventConsumer
from stc_common.db.uow import unit_of_work
from stc_common.kafka.topics import LICENCE
from stc_common.logging import get_logger
from stc_common.runtime import ServiceSpec, run_service

from stc_enduser import service
from stc_enduser.api.limits import LIMITS
from stc_enduser.api.servicer import SOURCE, register
from stc_enduser.config import EndUserSettings
from stc_enduser.events.licences import SUBSCRIPTIONS

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SERVICE_NAME = enduser_service_pb2.DESCRIPTOR.services_by_name["EndUserService"].full_name
log = get_logger("stc_enduser.main")


def overdue_scanner(interval_s: float):
    """A background task flagging overdue checks every `interval_s` (never closes them)."""

    async def scan_overdue_checks(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with unit_of_work(pool, SOURCE) as uow:
                    await service.flag_overdue_checks(uow=uow, now=service.utcnow())
            except (OSError, asyncpg.PostgresError) as exc:  # try again next round
                log.warning("end_use_check.overdue_scan_failed", error=repr(exc))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)

    return scan_overdue_checks


def build_spec(settings: EndUserSettings) -> ServiceSpec:
    """The service spec: migrations, gRPC servicer, licence consumer, overdue scanner."""

    def consumers(pool: asyncpg.Pool) -> list[EventConsumer]:
        return [EventConsumer(
            name="enduser.licences", topics=[LICENCE.name], pool=pool,
            bootstrap=settings.kafka_bootstrap_servers,
            group_id=f"{settings.consumer_group_prefix}.enduser.licences",
            subscriptions=SUBSCRIPTIONS, source=SOURCE)]

    return ServiceSpec(
        name=settings.service_name, migrations=MIGRATIONS, service_names=[SERVICE_NAME],
        register=register, consumers=consumers,
        background=[overdue_scanner(settings.overdue_scan_interval_s)],
        limits=LIMITS)


def main() -> None:
    """Serve until SIGTERM."""
    settings = EndUserSettings()
    asyncio.run(run_service(settings, build_spec(settings)))

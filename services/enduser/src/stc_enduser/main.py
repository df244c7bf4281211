"""Composition root of the end-user service: settings, spec, consumers, background task."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from stc.enduser.v1 import enduser_service_pb2
from stc_common.consumer import EventConsumer
from stc_common.kafka.topics import LICENCE
from stc_common.logging import get_logger
from stc_common.periodic import periodic
from stc_common.runtime import ServiceSpec, run_process, run_service

from stc_enduser.api.limits import LIMITS
from stc_enduser.api.servicer import register
from stc_enduser.config import EndUserSettings
from stc_enduser.events.handlers import SUBSCRIPTIONS
from stc_enduser.service import checks, common
from stc_enduser.storage.uow import SOURCE, enduser_unit_of_work

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SERVICE_NAME = enduser_service_pb2.DESCRIPTOR.services_by_name["EndUserService"].full_name
log = get_logger("stc_enduser.main")


def overdue_scanner(interval_s: float, max_failures: int = 10):
    """A background task flagging overdue checks every `interval_s` (never closes them), once
    across the replicas (stc_common.periodic)."""

    async def scan_overdue_checks(pool: asyncpg.Pool) -> None:
        async with enduser_unit_of_work(pool) as uow:
            await checks.flag_overdue_checks(uow=uow, now=common.utcnow())

    return periodic("end_use_check.overdue_scan", scan_overdue_checks, interval_s=interval_s,
                    max_failures=max_failures)


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
        background=[overdue_scanner(settings.overdue_scan_interval_s,
                                    settings.periodic_max_failures)],
        limits=LIMITS)


def main() -> None:
    """Serve until SIGTERM."""
    settings = EndUserSettings()
    run_process(run_service(settings, build_spec(settings)))

"""Composition root of the credit service: settings, spec, and the process."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import asyncpg
import grpc
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc_common.auth.access import guard
from stc_common.consumer import EventConsumer
from stc_common.kafka.topics import ENDUSER_CHANGE
from stc_common.logging import get_logger
from stc_common.periodic import periodic
from stc_common.runtime import ServiceSpec, run_process, run_service

from stc_credit.api.access import ACCESS
from stc_credit.api.limits import LIMITS
from stc_credit.api.servicer import PUBLIC_METHODS, SERVICE_NAME, CreditServicer
from stc_credit.app import StandingAgent, run_standing_app
from stc_credit.config import CreditSettings, today
from stc_credit.domain.checkpoint import parse_signer_key
from stc_credit.events.handlers import SUBSCRIPTIONS
from stc_credit.service.commands import LogContext
from stc_credit.service.publication import end_elapsed_publicity, publish_pending
from stc_credit.service.standing import refresh_all_standings
from stc_credit.storage.uow import SOURCE, credit_unit_of_work

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = get_logger("stc_credit.main")


def build_spec(
    settings: CreditSettings,
    *,
    clock: Callable[[], dt.date] = today,
    on_agent: Callable[[StandingAgent], None] | None = None,
) -> ServiceSpec:
    """The credit service as the stc_common runtime runs it."""
    signer = parse_signer_key(settings.signer_key())
    ctx = LogContext(
        signer=signer,
        origin=settings.log_origin,
        today=clock,
        deadline_margin_working_days=settings.deadline_margin_working_days,
    )
    verifier_key = signer.verifier().encode()

    def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
        servicer = guard(CreditServicer(pool, ctx, verifier_key),
                         pb.DESCRIPTOR.services_by_name["CreditService"], ACCESS)
        pb_grpc.add_CreditServiceServicer_to_server(servicer, server)

    def consumers(pool: asyncpg.Pool) -> list[EventConsumer]:
        return [
            EventConsumer(
                name="credit-enduser",
                topics=[ENDUSER_CHANGE.name],
                pool=pool,
                bootstrap=settings.kafka_bootstrap_servers,
                group_id=f"{settings.consumer_group_prefix}-credit-enduser",
                subscriptions=SUBSCRIPTIONS,
                source=SOURCE,
            )  # fmt: skip
        ]

    last_full: dt.date | None = None

    async def publication_round(pool: asyncpg.Pool) -> None:
        """Publish what is due, alert on deadlines, announce ended publicity, recompute
        standings once a day."""
        nonlocal last_full
        async with credit_unit_of_work(pool) as uow:
            published, alerts = await publish_pending(uow=uow, ctx=ctx)
        async with credit_unit_of_work(pool) as uow:
            ended = await end_elapsed_publicity(uow=uow, ctx=ctx)
        if published or alerts or ended:
            log.info("publication.tick", published=published, alerts=alerts, ended=ended)
        day = clock()
        if last_full != day:
            changed = await refresh_all_standings(new_uow=lambda: credit_unit_of_work(pool),
                                                  today=day)
            log.info("credit_standing.daily_refresh", changed=changed)
            last_full = day

    # once across the replicas, one error policy (stc_common.periodic)
    publication_ticker = periodic(
        "publication_ticker",
        publication_round,
        interval_s=settings.publication_interval_s,
        max_failures=settings.periodic_max_failures,
    )

    async def standing_app(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        await run_standing_app(settings, pool, stop, clock, on_agent)


    return ServiceSpec(
        name="credit",
        migrations=MIGRATIONS,
        service_names=[SERVICE_NAME],
        register=register,
        limits=LIMITS,
        public_methods=PUBLIC_METHODS,
        consumers=consumers,
        background=[publication_ticker, standing_app],
    )


def main() -> None:
    """Run the credit service until SIGTERM/SIGINT."""
    settings = CreditSettings()
    run_process(run_service(settings, build_spec(settings)))

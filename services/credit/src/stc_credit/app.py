"""The credit Faust app (faust-streaming): standing recomputation over stc.credit.record.v1.

Built per process by `create_app` (the id comes from settings, so tests get their own
consumer group) and run inside the service's event loop by `run_standing_app`, next to the
gRPC server, the outbox relay and the stc_common consumers. The app's loop is the running
loop (`asyncio.get_running_loop()`), which is also what tests need under pytest-asyncio 1.x.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable

import asyncpg
import faust
from stc_common.kafka.topics import CREDIT_RECORD
from stc_common.logging import get_logger

from stc_credit import agents
from stc_credit.agents import StandingAgent
from stc_credit.config import CreditSettings
from stc_credit.storage.uow import credit_unit_of_work

log = get_logger("stc_credit.app")


def app_id(settings: CreditSettings) -> str:
    """The Faust app id (= its consumer group and the prefix of its changelog topics)."""
    return f"{settings.consumer_group_prefix}-credit-standing"


def create_app(
    settings: CreditSettings, pool: asyncpg.Pool, today: Callable[[], dt.date]
) -> tuple[faust.App, StandingAgent]:
    """A Faust app with the standing agent, bound to `pool`."""
    app = faust.App(
        app_id(settings),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        # Faust writes its app folder under the state folder (its default, the working
        # directory, is not writable in the image and litters a checkout).
        datadir=str(settings.state_dir / f"{app_id(settings)}-data"),
        web_enabled=False,
        loop=asyncio.get_running_loop(),
        topic_replication_factor=1,
        topic_partitions=CREDIT_RECORD.partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )
    topic = app.topic(
        CREDIT_RECORD.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    return app, agents.register(app, topic, lambda: credit_unit_of_work(pool), today)


async def run_standing_app(
    settings: CreditSettings,
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    today: Callable[[], dt.date],
    started: Callable[[StandingAgent], None] | None = None,
) -> None:
    """Run the Faust app until `stop` is set."""
    app, agent = create_app(settings, pool, today)
    await app.start()
    log.info("standing_app.started", app_id=app.conf.id)
    if started is not None:
        started(agent)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await app.stop()
        log.info("standing_app.stopped")

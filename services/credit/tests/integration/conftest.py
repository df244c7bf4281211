"""Fixtures of the credit integration tests: the whole service on a fresh database.

Each test gets its own database, consumer-group prefix (so its Faust app id, changelog
topic and consumer groups are its own), ports and log key, and reads the shared topics
from their current end, filtering by its own USCCs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from stc_common.kafka.topics import CREDIT_RECORD, ENDUSER_CHANGE
from stc_common.testing.kafka import TopicReader, delete_topics_with_prefix, start_group_at_end
from stc_common.testing.service import free_port, running_service
from stc_credit.config import CreditSettings, today
from stc_credit.domain.checkpoint import generate_key
from stc_credit.main import build_spec


@pytest.fixture
async def reader(kafka_bootstrap: str) -> AsyncIterator[Callable[[str], asyncio.Future]]:
    """Factory: a started TopicReader on a topic; stopped after the test."""
    made: list[TopicReader] = []

    async def make(topic: str) -> TopicReader:
        r = TopicReader(kafka_bootstrap, topic, timeout=30)
        await r.start()
        made.append(r)
        return r

    yield make  # type: ignore[misc]
    for r in made:
        await r.stop()


@dataclass
class Clock:
    """A settable clock (Beijing date) for the service under test."""

    day: dt.date = field(default_factory=today)

    def __call__(self) -> dt.date:
        return self.day


@dataclass
class Running:
    """A started credit service."""

    port: int
    settings: CreditSettings
    dsn: str
    signer_key: str
    verifier_key: str
    clock: Clock
    agent: object | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
async def credit(fresh_database, kafka_bootstrap, tmp_path) -> AsyncIterator[Running]:
    """The credit service running in-process on a fresh database."""
    dsn = await fresh_database("credit")
    signer, verifier = generate_key("stc.test/credit-log")
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    settings = CreditSettings(
        database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, grpc_port=free_port(),
        metrics_port=free_port(), consumer_group_prefix=prefix, log_signer_key=signer,
        state_dir=tmp_path, publication_interval_s=0.5, log_json=True, log_level="WARNING",
    )  # fmt: skip
    # The end-user topic is shared: start this test's consumer group at its current end, so
    # the service opens cases only for the events this test produces.
    await start_group_at_end(kafka_bootstrap, f"{prefix}.credit.enduser", [ENDUSER_CHANGE.name])
    # Likewise the Faust app's group (= its app id) on the shared record topic.
    await start_group_at_end(kafka_bootstrap, f"{prefix}.credit.standing", [CREDIT_RECORD.name])
    clock = Clock()
    running = Running(0, settings, dsn, signer, verifier, clock)
    spec = build_spec(settings, clock=clock, on_agent=lambda a: setattr(running, "agent", a))
    async with running_service(settings, spec) as port:
        running.port = port
        yield running
    await delete_topics_with_prefix(kafka_bootstrap, prefix)  # the test's Faust topics

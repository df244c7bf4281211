"""pytest fixtures that find the real services (loaded as a plugin by the root conftest).

Order: environment variables (`KAFKA_BOOTSTRAP_SERVERS`, `STC_TEST_DATABASE_URL`), else
testcontainers where a Docker engine answers, else the local stack `make up` starts. Under
`CI` a missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stc_common.tools.wait_kafka import wait_kafka

# Tests run the services with the committed development keys: say so (a test of production
# mode passes environment="production" explicitly).
os.environ.setdefault("STC_ENVIRONMENT", "development")

LOCAL_KAFKA = "127.0.0.1:9092"
LOCAL_PG = "postgresql://stc@127.0.0.1:55432/postgres"


def _missing(what: str, exc: Exception) -> None:
    msg = f"{what} is not reachable ({exc}); start the local stack with `make up`"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-not-found]

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
async def kafka_bootstrap() -> str:
    """Bootstrap servers of a real Kafka broker that answers metadata requests."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap and _docker_available():  # pragma: no cover - no Docker engine here
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]

        container = KafkaContainer().with_kraft()
        container.start()
        bootstrap = container.get_bootstrap_server()
    bootstrap = bootstrap or LOCAL_KAFKA
    try:
        await wait_kafka(bootstrap, timeout=15)
    except TimeoutError as exc:
        _missing(f"Kafka at {bootstrap}", exc)
    return bootstrap


@pytest.fixture(scope="session")
async def pg_admin_dsn() -> str:
    """DSN of a real PostgreSQL server's maintenance database (used to create test databases)."""
    dsn = os.environ.get("STC_TEST_DATABASE_URL") or LOCAL_PG
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
        await conn.close()
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        _missing(f"PostgreSQL at {dsn}", exc)
    return dsn


def _with_db(dsn: str, db: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{db}"


async def create_database(pg_admin_dsn: str, prefix: str = "t") -> str:
    """Create an empty database `test_<prefix>_<random>`; its DSN (drop it with drop_database)."""
    name = f"test_{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_db(pg_admin_dsn, name)


async def drop_database(pg_admin_dsn: str, *dsns: str) -> None:
    """Drop the databases of `dsns` (made by create_database), closing their connections."""
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        for dsn in dsns:
            name = dsn.rpartition("/")[2]
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def fresh_database(pg_admin_dsn: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: create an empty database named after `prefix`; dropped after the test."""
    made: list[str] = []

    async def make(prefix: str = "t") -> str:
        dsn = await create_database(pg_admin_dsn, prefix)
        made.append(dsn)
        return dsn

    yield make
    await drop_database(pg_admin_dsn, *made)


@pytest.fixture
async def new_topic(kafka_bootstrap: str) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Factory: create a uniquely named topic (and its .dlq); deleted after the test."""
    made: list[str] = []
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()

    async def make(prefix: str = "t", partitions: int = 1, compacted: bool = False) -> str:
        name = f"test.{prefix}.{uuid.uuid4().hex[:10]}"
        cfg = {"cleanup.policy": "compact"} if compacted else {}
        await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=cfg), NewTopic(f"{name}.dlq", 1, 1)]
        )
        made.extend([name, f"{name}.dlq"])
        return name

    yield make
    try:
        if made:
            await admin.delete_topics(made)
    finally:
        await admin.close()

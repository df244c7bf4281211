"""`ServiceStack`: what an integration test of one running service needs, in one object.

A service's conftest starts the service (`stc_common.testing.service.running_service`), opens
a channel, a producer and a `TopicReader`, and hands the tests a `ServiceStack` (or a subclass
adding that service's own helpers): the gRPC stub, tokens for an exporter or an officer, the
service's database, publishing an event as another service would, and polling the database
until an asynchronous effect shows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from stc_common.testing.kafka import TopicReader, produce_event
from stc_common.testing.service import bearer
from stc_common.uscc import make_uscc

__all__ = ["EXPORTER", "ServiceStack"]

EXPORTER = make_uscc("91310000MA1FL0000")
"""The exporter the tests act as when they name none."""


class ServiceStack:
    """The stub, tokens, the database, a producer and a topic reader of one running service."""

    def __init__(self, stub: Any, dsn: str, producer: AIOKafkaProducer,
                 reader: TopicReader) -> None:
        self.stub, self.dsn, self.producer, self.reader = stub, dsn, producer, reader

    @staticmethod
    def exporter(uscc: str = EXPORTER) -> tuple[tuple[str, str], ...]:
        """gRPC metadata of an exporter's development token."""
        return bearer("exporter", uscc=uscc)

    @staticmethod
    def officer(authority: str = "MOFCOM", subject: str = "officer-1"
                ) -> tuple[tuple[str, str], ...]:
        """gRPC metadata of an officer's development token."""
        return bearer("officer", authority=authority, subject=subject)

    async def produce(self, topic: str, key: str, message: Any, source: str = "licensing",
                      event_id: str | None = None) -> str:
        """Publish `message` as the service `source` would; its event id."""
        return await produce_event(self.producer, topic, key, message, source=source,
                                   event_id=event_id)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """One value from the service's database."""
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def wait_until(self, sql: str, *args: Any, timeout: float = 20.0) -> Any:
        """Poll until the query returns a truthy value; return it."""
        deadline = time.perf_counter() + timeout
        while True:
            got = await self.fetchval(sql, *args)
            if got:
                return got
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{sql} {args} stayed empty")
            await asyncio.sleep(0.1)

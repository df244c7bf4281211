"""Unit of work: one connection, one transaction, and the outbox rows written inside it.

Every use case runs in one `UnitOfWork`; the events it emits are written with `publish`
into the outbox table in the same transaction as the state change, so both commit or
neither does. The relay publishes them afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import structlog
from google.protobuf.message import Message

from stc_common import envelope


class UnitOfWork:
    """A connection inside an open transaction, plus `publish` for outbox events."""

    def __init__(self, conn: asyncpg.Connection, source: str) -> None:
        self.conn = conn
        self.source = source
        self.published: list[str] = []

    async def publish(
        self,
        topic: str,
        key: str,
        message: Message,
        *,
        event_id: str | None = None,
        time: dt.datetime | None = None,
    ) -> str:
        """Write one event to the outbox in this transaction; return its event id."""
        ctx = structlog.contextvars.get_contextvars()
        eid, headers, value = envelope.encode(
            message,
            source=self.source,
            subject=key,
            event_id=event_id,
            time=time,
            traceparent=ctx.get("traceparent"),
        )
        await self.conn.execute(
            """INSERT INTO outbox (event_id, topic, key, ce_type, headers, payload)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            eid,
            topic,
            key.encode(),
            message.DESCRIPTOR.full_name,
            [[k, base64.b64encode(v).decode()] for k, v in headers],
            value,
        )
        self.published.append(eid)
        structlog.get_logger().debug(
            "outbox.event_written",
            event_id=eid,
            topic=topic,
            ce_type=message.DESCRIPTOR.full_name,
            key=key,
        )
        return eid

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        """Write several (key, message) events to one topic's outbox in this transaction with
        one round trip (bulk list imports, a list change suspending many licences)."""
        ctx = structlog.contextvars.get_contextvars()
        rows, ids = [], []
        for key, message in events:
            eid, headers, value = envelope.encode(message, source=self.source, subject=key,
                                                  traceparent=ctx.get("traceparent"))
            rows.append((eid, topic, key.encode(), message.DESCRIPTOR.full_name,
                         [[k, base64.b64encode(v).decode()] for k, v in headers], value))
            ids.append(eid)
        if rows:
            await self.conn.executemany(
                """INSERT INTO outbox (event_id, topic, key, ce_type, headers, payload)
                   VALUES ($1, $2, $3, $4, $5, $6)""", rows)
        self.published.extend(ids)
        return ids


@contextlib.asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, source: str) -> AsyncIterator[UnitOfWork]:
    """Acquire a connection and open a transaction; commit on success, roll back on error."""
    async with pool.acquire() as conn, conn.transaction():
        yield UnitOfWork(conn, source)

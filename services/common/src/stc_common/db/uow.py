"""Unit of work: one connection, one transaction, and the outbox rows written inside it.

Every use case runs in one `UnitOfWork`; the events it emits are written with `publish`
into the outbox table in the same transaction as the state change, so both commit or
neither does. The relay publishes them afterwards.

With `defer_outbox` (the owner of the transaction asks for it, and then calls `flush_outbox`
before it commits) the rows wait in memory and go in with one statement: a use case that
emits two events costs one round trip for them, not two (issue 14). The event ids are made
here either way, so callers see no difference; a transaction that rolls back writes nothing
either way. Not for a transaction with savepoints: a row deferred inside a savepoint that
rolls back would still be written.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator

import asyncpg
import structlog
from google.protobuf.message import Message

from stc_common import envelope

_INSERT = """INSERT INTO outbox (event_id, topic, key, ce_type, headers, payload)
             VALUES ($1, $2, $3, $4, $5, $6)"""
_INSERT_ALL = """INSERT INTO outbox (event_id, topic, key, ce_type, headers, payload)
                 SELECT e, t, k, c, h::jsonb, p
                 FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[],
                             $6::bytea[]) WITH ORDINALITY AS u(e, t, k, c, h, p, n)
                 ORDER BY n"""  # ids in the order published: the relay sends by id

_Row = tuple[str, str, bytes, str, list, bytes]


class UnitOfWork:
    """A connection inside an open transaction, plus `publish` for outbox events."""

    def __init__(self, conn: asyncpg.Connection, source: str, *,
                 defer_outbox: bool = False) -> None:
        self.conn = conn
        self.source = source
        self.published: list[str] = []
        self._deferred: list[_Row] | None = [] if defer_outbox else None

    async def _write(self, rows: list[_Row]) -> None:
        if self._deferred is not None:
            self._deferred.extend(rows)
        else:
            await self._insert(rows)

    async def _insert(self, rows: list[_Row]) -> None:
        """One statement for any number of rows, in the order given."""
        if len(rows) == 1:
            await self.conn.execute(_INSERT, *rows[0])
        elif rows:
            columns = list(zip(*rows, strict=True))
            await self.conn.execute(_INSERT_ALL, *columns[:4],
                                    [json.dumps(h) for h in columns[4]], columns[5])

    async def flush_outbox(self) -> None:
        """Write the deferred outbox rows, in the order published, with one statement (in
        this transaction; the owner calls it before committing)."""
        if self._deferred:
            rows, self._deferred = self._deferred, []
            await self._insert(rows)

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
        await self._write([(eid, topic, key.encode(), message.DESCRIPTOR.full_name,
                             [[k, base64.b64encode(v).decode()] for k, v in headers], value)])
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
        await self._write(rows)
        self.published.extend(ids)
        return ids


@contextlib.asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, source: str, *,
                       defer_outbox: bool = False) -> AsyncIterator[UnitOfWork]:
    """Acquire a connection and open a transaction; commit on success, roll back on error
    (`defer_outbox`: the events written with one statement just before the commit)."""
    async with pool.acquire() as conn, conn.transaction():
        uow = UnitOfWork(conn, source, defer_outbox=defer_outbox)
        yield uow
        await uow.flush_outbox()

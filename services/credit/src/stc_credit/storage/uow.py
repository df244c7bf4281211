"""The credit service's unit of work: typed repositories over one transaction, and the
outbox.

`CreditUnitOfWork` wraps stc_common's `UnitOfWork` (one connection in one open transaction,
`publish` writing outbox rows in it) and exposes the repositories the use cases work with:
`uow.records`, `uow.publications`, `uow.measures`, `uow.cases`, `uow.standings` and
`uow.log`. The use cases never see a connection; `stc_credit.testing.fakes` keeps an
in-memory unit of work with the same interface for the unit tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from google.protobuf.message import Message
from stc_common.db.uow import UnitOfWork, unit_of_work

from stc_credit.storage.log import PublicationLog
from stc_credit.storage.records import (
    CaseRepository,
    MeasureRepository,
    PublicationRepository,
    RecordRepository,
    StandingRepository,
)

#: ce_source of every event the credit service writes (and its outbox rows' source).
SOURCE = "credit"


class CreditUnitOfWork:
    """Repositories and the outbox of one credit transaction."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        conn = inner.conn
        self.records = RecordRepository(conn)
        self.publications = PublicationRepository(conn)
        self.measures = MeasureRepository(conn)
        self.cases = CaseRepository(conn)
        self.standings = StandingRepository(conn)
        self.log = PublicationLog(conn)

    @property
    def published(self) -> list[str]:
        """Ids of the events written to the outbox in this transaction."""
        return self.inner.published

    async def publish(self, topic: str, key: str, message: Message) -> str:
        """Write one event to the outbox in this transaction."""
        return await self.inner.publish(topic, key, message)

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        """Write several (key, message) events to one topic's outbox in this transaction."""
        return await self.inner.publish_many(topic, events)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: what it wrote (rows and events) is undone if it raises."""
        before = len(self.inner.published)
        try:
            async with self.inner.conn.transaction():
                yield
        except BaseException:
            del self.inner.published[before:]
            raise


@contextlib.asynccontextmanager
async def credit_unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[CreditUnitOfWork]:
    """Acquire a connection, open a transaction; commit on success, roll back on error."""
    async with unit_of_work(pool, SOURCE) as uow:
        yield CreditUnitOfWork(uow)


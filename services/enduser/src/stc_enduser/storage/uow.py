"""The end-user service's unit of work: typed repositories over one transaction, and the
outbox.

`EndUserUnitOfWork` wraps stc_common's `UnitOfWork` (one connection in one open
transaction; `publish` writes outbox rows in it) and exposes the repositories the use cases
work with: `uow.reports`, `uow.checks`, `uow.licences`. The use cases never see a
connection; `stc_enduser.testing.fakes` keeps an in-memory twin for the unit tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from google.protobuf.message import Message
from stc_common.db.uow import UnitOfWork, unit_of_work

from stc_enduser.storage.checks import CheckRepository
from stc_enduser.storage.licences import LicenceRepository
from stc_enduser.storage.reports import ReportRepository

#: ce_source of every event the end-user service writes.
SOURCE = "enduser"


class EndUserUnitOfWork:
    """Repositories and the outbox of one end-user transaction."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.reports = ReportRepository(inner.conn)
        self.checks = CheckRepository(inner.conn)
        self.licences = LicenceRepository(inner.conn)

    @property
    def published(self) -> list[str]:
        """Ids of the events written to the outbox in this transaction."""
        return self.inner.published

    async def publish(self, topic: str, key: str, message: Message) -> str:
        """Write one event to the outbox in this transaction."""
        return await self.inner.publish(topic, key, message)


@contextlib.asynccontextmanager
async def enduser_unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[EndUserUnitOfWork]:
    """Acquire a connection, open a transaction; commit on success, roll back on error."""
    async with unit_of_work(pool, SOURCE) as uow:
        yield EndUserUnitOfWork(uow)

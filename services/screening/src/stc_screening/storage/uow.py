"""The screening unit of work: one transaction, the outbox, and the typed repositories
(``uow.lists``, ``uow.subjects``, ``uow.measures``, ``uow.consultations``, ``uow.results``).
An in-memory fake of the same interface is ``stc_screening.testing.fakes``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
from stc_common.db.uow import UnitOfWork

from stc_screening.domain.lists import ListChange
from stc_screening.storage.consultations import ConsultationRepository
from stc_screening.storage.lists import ListRepository
from stc_screening.storage.measures import MeasureRepository
from stc_screening.storage.results import ResultRepository
from stc_screening.storage.subjects import SubjectRepository


class ScreeningUnitOfWork(UnitOfWork):
    """``stc_common``'s unit of work with the screening repositories on its connection."""

    def __init__(self, conn: asyncpg.Connection, source: str,
                 index_change: ListChange | None = None) -> None:
        super().__init__(conn, source)
        # what the committed work does to the in-memory index; applied only after commit
        self.index_change = index_change if index_change is not None else ListChange()
        self.lists = ListRepository(conn)
        self.subjects = SubjectRepository(conn)
        self.measures = MeasureRepository(conn)
        self.consultations = ConsultationRepository(conn)
        self.results = ResultRepository(conn)


    @classmethod
    def around(cls, uow: UnitOfWork, index_change: ListChange | None = None
               ) -> ScreeningUnitOfWork:
        """The typed unit of work over a consumer's (same connection, transaction and
        outbox bookkeeping)."""
        typed = cls(uow.conn, uow.source, index_change)
        typed.published = uow.published
        return typed


#: opens a unit of work (commit on success, roll back on error)
UowFactory = Callable[[], AbstractAsyncContextManager[ScreeningUnitOfWork]]


def uow_factory(pool: asyncpg.Pool, source: str) -> UowFactory:
    """A factory of units of work over the pool, publishing as ``source``."""

    @contextlib.asynccontextmanager
    async def open_uow() -> AsyncIterator[ScreeningUnitOfWork]:
        async with pool.acquire() as conn, conn.transaction():
            yield ScreeningUnitOfWork(conn, source)

    return open_uow

"""The repository the use cases talk to (cosmicpython's port): a Protocol, its PostgreSQL
adapter over the unit of work's connection (`SqlRepository`, delegating to `storage.repo`),
and `repository(uow)`, which picks the unit of work's own repository when it carries one
(the in-memory fake of the unit tests, `storage.memory`) and the SQL one otherwise.

The use cases never touch `uow.conn` themselves, so they run unchanged over either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from stc_licensing.domain import inputs as di
from stc_licensing.domain import licence as dl
from stc_licensing.domain import model as dm
from stc_licensing.storage import repo
from stc_licensing.storage.repo import AppRow, LicenceRow


class LicensingRepository(Protocol):
    """What the use cases read and write; one instance per unit of work."""

    # operators
    async def insert_operator(self, op: dm.ExportOperator) -> bool: ...
    async def get_operator(self, uscc: str, *, for_update: bool = False
                           ) -> tuple[dm.ExportOperator, dt.datetime] | None: ...
    async def save_operator(self, op: dm.ExportOperator) -> None: ...
    # credit standing projection
    async def get_standing(self, uscc: str) -> di.CreditStanding: ...
    async def upsert_standing(self, s: di.CreditStanding, as_of: dt.date | None) -> None: ...
    # applications and their history
    async def next_reference(self, authority: str, year: int) -> str: ...
    async def insert_application(self, a: AppRow) -> bool: ...
    async def get_application(self, app_id: str, *, for_update: bool = False
                              ) -> AppRow | None: ...
    async def get_by_request_id(self, uscc: str, request_id: str) -> AppRow | None: ...
    async def save_application(self, a: AppRow) -> None: ...
    async def list_applications(self, *, uscc: str | None, authority: str | None,
                                states: list[str] | None, offset: int, limit: int,
                                by_deadline: bool = False) -> list[AppRow]: ...
    async def pending_ids(self) -> list[str]: ...
    async def append_history(self, app_id: str, kind: str, state: str, note: str,
                             snapshot: bytes, assessment_id: str | None = None) -> int: ...
    async def history_after(self, app_id: str, after: int, limit: int = 100) -> list[Any]: ...
    # assessments
    async def insert_assessment(self, *, assessment_id: str, application_id: str,
                                screening_id: str, recommendation: str, policy_version: str,
                                policy_hash: str, inputs_hash: str, assessed_on: dt.date,
                                assessed_at: dt.datetime, body: bytes,
                                inputs: str | None = None,
                                policy_content: str | None = None) -> None: ...
    async def latest_assessment(self, application_id: str) -> bytes | None: ...
    async def assessment_record(self, assessment_id: str) -> dict | None: ...
    # licences
    async def insert_licence(self, lic: dl.Licence, authority: str) -> None: ...
    async def get_licence(self, licence_id: str, *, for_update: bool = False
                          ) -> LicenceRow | None: ...
    async def save_licence(self, lic: dl.Licence) -> None: ...
    async def list_licences(self, *, uscc: str | None, authority: str | None,
                            states: list[str] | None, offset: int, limit: int
                            ) -> list[LicenceRow]: ...
    async def licences_due_to_expire(self, today: dt.date) -> list[str]: ...


class SqlRepository:
    """`LicensingRepository` over an asyncpg connection (plain SQL in `storage.repo`)."""

    def __init__(self, conn) -> None:
        self.conn = conn

    async def insert_operator(self, op):
        return await repo.insert_operator(self.conn, op)

    async def get_operator(self, uscc, *, for_update=False):
        return await repo.get_operator(self.conn, uscc, for_update=for_update)

    async def save_operator(self, op):
        await repo.save_operator(self.conn, op)

    async def get_standing(self, uscc):
        return await repo.get_standing(self.conn, uscc)

    async def upsert_standing(self, s, as_of):
        await repo.upsert_standing(self.conn, s, as_of)

    async def next_reference(self, authority, year):
        return await repo.next_reference(self.conn, authority, year)

    async def insert_application(self, a):
        return await repo.insert_application(self.conn, a)

    async def get_application(self, app_id, *, for_update=False):
        return await repo.get_application(self.conn, app_id, for_update=for_update)

    async def get_by_request_id(self, uscc, request_id):
        return await repo.get_by_request_id(self.conn, uscc, request_id)

    async def save_application(self, a):
        await repo.save_application(self.conn, a)

    async def list_applications(self, *, uscc, authority, states, offset, limit,
                                by_deadline=False):
        return await repo.list_applications(
            self.conn, uscc=uscc, authority=authority, states=states, offset=offset,
            limit=limit, order="deadline NULLS LAST, submitted_at, id" if by_deadline
            else "submitted_at, id")

    async def pending_ids(self):
        return await repo.pending_ids(self.conn)

    async def append_history(self, app_id, kind, state, note, snapshot, assessment_id=None):
        return await repo.append_history(self.conn, app_id, kind, state, note, snapshot,
                                         assessment_id)

    async def history_after(self, app_id, after, limit=100):
        return await repo.history_after(self.conn, app_id, after, limit)

    async def insert_assessment(self, **kw):
        await repo.insert_assessment(self.conn, **kw)

    async def latest_assessment(self, application_id):
        return await repo.latest_assessment(self.conn, application_id)

    async def assessment_record(self, assessment_id):
        return await repo.assessment_record(self.conn, assessment_id)

    async def insert_licence(self, lic, authority):
        await repo.insert_licence(self.conn, lic, authority)

    async def get_licence(self, licence_id, *, for_update=False):
        return await repo.get_licence(self.conn, licence_id, for_update=for_update)

    async def save_licence(self, lic):
        await repo.save_licence(self.conn, lic)

    async def list_licences(self, *, uscc, authority, states, offset, limit):
        return await repo.list_licences(self.conn, uscc=uscc, authority=authority,
                                        states=states, offset=offset, limit=limit)

    async def licences_due_to_expire(self, today):
        return await repo.licences_due_to_expire(self.conn, today)


def repository(uow) -> LicensingRepository:
    """The unit of work's repository: its own when it carries one (`uow.repo`, the unit
    tests' fake), else SQL over its connection."""
    found = getattr(uow, "repo", None)
    return found if found is not None else SqlRepository(uow.conn)

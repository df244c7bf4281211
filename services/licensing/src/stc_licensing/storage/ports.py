"""What the licensing use cases read and write: one repository interface per table group and
the unit of work that carries them (`uow.operators`, `uow.standings`, `uow.applications`,
`uow.assessments`, `uow.licences`, plus `publish` into the outbox of the same transaction).

Two implementations of the same interface: `storage.sql` (PostgreSQL, plain SQL, the one the
service runs) and `stc_licensing.testing.fakes` (in memory, the use cases' unit tests).
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message

from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import model
from stc_licensing.domain.clock import Pause


@dataclass
class AppRow:
    """An application row: identity, content (proto JSON), state and clock data."""

    id: str
    reference: str
    exporter_uscc: str
    request_id: str
    authority: str
    state: model.ApplicationState
    content: dict
    submitted_at: dt.datetime
    accepted_on: dt.date
    pauses: tuple[Pause, ...]
    deadline: dt.date | None
    deadline_exact: bool
    flags: list[str]
    licence_id: str | None
    reconsideration_used: bool
    breach_reported: bool
    updated_at: dt.datetime
    warning_reported: bool = False  # DeadlineApproaching published
    # Art. 41 / Administrative Reconsideration Law: the day of the last decision (refusal),
    # the reconsideration's request (= acceptance) and due days, its overdue note once
    decided_on: dt.date | None = None
    reconsideration_requested_on: dt.date | None = None
    reconsideration_due: dt.date | None = None
    reconsideration_overdue_reported: bool = False
    # stc_common.idempotency: the fingerprint of the submission (None: a row from before 0005)
    request_fingerprint: str | None = None


@dataclass(frozen=True)
class HistoryStep:
    """One step of an application's history as stored (WatchApplication streams it)."""

    kind: str
    state: str
    note: str
    snapshot: bytes  # the serialized stc.licensing.v1.Application after the step
    assessment_id: str | None = None


@dataclass
class LicenceRow:
    """A licence with the row data the domain does not carry."""

    licence: licence_rules.Licence
    authority: str
    updated_at: dt.datetime


class OperatorRepository(abc.ABC):
    """Export operators (Art. 14 ICP, Art. 23 qualification)."""

    @abc.abstractmethod
    async def add(self, op: model.ExportOperator) -> bool:
        """Insert a new operator; False when the USCC is registered already."""

    @abc.abstractmethod
    async def get(self, uscc: str, *, for_update: bool = False
                  ) -> tuple[model.ExportOperator, dt.datetime] | None:
        """The operator with its export history and registration time."""

    @abc.abstractmethod
    async def save(self, op: model.ExportOperator) -> None:
        """Write the mutable parts (qualification, ICP, audits)."""


class StandingRepository(abc.ABC):
    """The projection of credit's CreditStandingChanged (factor 7, the Art. 39 ban)."""

    @abc.abstractmethod
    async def get(self, uscc: str) -> domain_inputs.CreditStanding:
        """The projected standing; GOOD when credit never reported one."""

    @abc.abstractmethod
    async def upsert(self, s: domain_inputs.CreditStanding, as_of: dt.date | None) -> None:
        """Replace one USCC's standing (an older as_of never overwrites a newer one)."""


class ApplicationRepository(abc.ABC):
    """Applications, their reference numbers and their history (WatchApplication)."""

    @abc.abstractmethod
    async def next_reference(self, authority: str, year: int) -> str:
        """The next reference number, e.g. MOFCOM-2026-000123."""

    @abc.abstractmethod
    async def add(self, a: AppRow) -> bool:
        """Insert; False when (exporter, request_id) exists already."""

    @abc.abstractmethod
    async def get(self, app_id: str, *, for_update: bool = False) -> AppRow | None:
        """One application (locked for update when asked)."""

    @abc.abstractmethod
    async def get_by_request_id(self, uscc: str, request_id: str) -> AppRow | None:
        """The application an exporter submitted with `request_id`."""

    @abc.abstractmethod
    async def save(self, a: AppRow) -> None:
        """Write the mutable parts of an application."""

    @abc.abstractmethod
    async def find(self, *, uscc: str | None, authority: str | None,
                   states: list[str] | None, offset: int, limit: int,
                   by_deadline: bool = False) -> list[AppRow]:
        """Applications matching the filters (None: any), paged by offset."""

    @abc.abstractmethod
    async def pending_ids(self) -> list[str]:
        """Ids whose Reg. 17 clock may run unreported, and reconsiderations not yet overdue."""

    @abc.abstractmethod
    async def append_history(self, app_id: str, kind: str, state: str, note: str,
                             snapshot: bytes, assessment_id: str | None = None) -> int:
        """Append one step to the application's history; return its sequence."""

    async def save_step(self, a: AppRow, kind: str, note: str, snapshot: bytes,
                        assessment_id: str | None = None) -> int:
        """Save the application and append one step to its history (the caller holds the
        row lock); return the step's sequence. An adapter may do both in one round trip."""
        return await self.save_steps(a, [HistoryStep(kind, a.state.value, note, snapshot,
                                                     assessment_id)])

    async def save_steps(self, a: AppRow, steps: list[HistoryStep]) -> int:
        """Save the application and append `steps` in order (the caller holds the row lock);
        return the last step's sequence. An adapter may do it all in one round trip."""
        await self.save(a)
        seq = 0
        for st in steps:
            seq = await self.append_history(a.id, st.kind, st.state, st.note, st.snapshot,
                                            st.assessment_id)
        return seq

    @abc.abstractmethod
    async def history_after(self, app_id: str, after: int, limit: int = 100) -> list[Any]:
        """History steps with a sequence above `after`, in order."""


class AssessmentRepository(abc.ABC):
    """Art. 13 assessments with their input snapshots and policy versions."""

    @abc.abstractmethod
    async def add(self, *, assessment_id: str, application_id: str, screening_id: str,
                  recommendation: str, policy_version: str, policy_hash: str,
                  inputs_hash: str, assessed_on: dt.date, assessed_at: dt.datetime,
                  body: bytes, inputs: str | None = None,
                  policy_content: str | None = None) -> None:
        """Store one assessment and (once per content hash) its policy version."""

    @abc.abstractmethod
    async def latest(self, application_id: str) -> bytes | None:
        """The body of the newest assessment of an application."""

    @abc.abstractmethod
    async def record(self, assessment_id: str) -> dict | None:
        """One assessment's reproducibility data (see storage.sql)."""


class LicenceRepository(abc.ABC):
    """Licences and their usage."""

    @abc.abstractmethod
    async def add(self, lic: licence_rules.Licence, authority: str) -> None:
        """Store a newly issued licence."""

    @abc.abstractmethod
    async def get(self, licence_id: str, *, for_update: bool = False) -> LicenceRow | None:
        """One licence with its usage."""

    @abc.abstractmethod
    async def save(self, lic: licence_rules.Licence) -> None:
        """Write state, reason and holds; add export records not stored yet."""

    @abc.abstractmethod
    async def find(self, *, uscc: str | None, authority: str | None,
                   states: list[str] | None, offset: int, limit: int) -> list[LicenceRow]:
        """Licences matching the filters, paged by offset."""

    @abc.abstractmethod
    async def due_to_expire(self, today: dt.date) -> list[str]:
        """Ids of ACTIVE or SUSPENDED licences whose validity ended before `today`."""


class LicensingUnitOfWork(Protocol):
    """One transaction: the repositories and the outbox (`publish`)."""

    @property
    def operators(self) -> OperatorRepository:
        """Export operators."""
        ...

    @property
    def standings(self) -> StandingRepository:
        """The credit-standing projection."""
        ...

    @property
    def applications(self) -> ApplicationRepository:
        """Applications and their history."""
        ...

    @property
    def assessments(self) -> AssessmentRepository:
        """Assessments."""
        ...

    @property
    def licences(self) -> LicenceRepository:
        """Licences."""
        ...

    async def publish(self, topic: str, key: str, message: Message, *,
                      event_id: str | None = None, time: dt.datetime | None = None) -> str:
        """Write one event to the outbox in this transaction."""
        ...

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        """Write several events to one topic's outbox in this transaction."""
        ...

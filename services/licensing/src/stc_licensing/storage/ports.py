"""What the licensing use cases read and write: one repository interface per table group and
the unit of work that carries them (`uow.operators`, `uow.standings`, `uow.applications`,
`uow.assessments`, `uow.licences`, `uow.holiday_schedules`,
`uow.temporary_controls`, `uow.procedures`, plus `publish` into the outbox of the same
transaction).

Two implementations of the same interface: `storage.sql` (PostgreSQL, plain SQL, the one the
service runs) and `stc_licensing.testing.fakes` (in memory, the use cases' unit tests).
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message

from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import model
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.domain.clock import Pause
from stc_licensing.domain.discretion import Judgement
from stc_licensing.domain.procedures import Procedures

# history steps a read returns at most (a watch reads again at once after a full page)
HISTORY_PAGE = 100


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


@dataclass(frozen=True)
class StoredSchedule:
    """A holiday schedule as stored (migration 0020): the entry, who entered it and when, the
    client request id."""

    entry: hc.ScheduleEntry
    entered_by: str
    entered_at: dt.datetime
    request_id: str | None


@dataclass(frozen=True)
class StoredMeasure:
    """A temporary control as stored (migration 0021): the measure, who registered it, when
    it last changed."""

    measure: tc.TemporaryControl
    registered_by: str
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
    async def count_awaiting_assessment(self) -> int:
        """Applications submitted or amended and not yet assessed (SUBMITTED, SCREENING):
        the work in flight between licensing and screening (issue 14's admission limit)."""

    @abc.abstractmethod
    async def next_reference(self, authority: str, year: int) -> str:
        """The next reference number, e.g. MOFCOM-2026-000123."""

    @abc.abstractmethod
    async def add(self, a: AppRow) -> bool:
        """Insert; False when (exporter, request_id) exists already."""

    async def add_numbered(self, a: AppRow, authority: str, year: int) -> bool:
        """`a.reference` from `next_reference(authority, year)`, then `add` (a repository may
        do both at once)."""
        a.reference = await self.next_reference(authority, year)
        return await self.add(a)

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
    async def history_after(self, app_id: str, after: int, limit: int = HISTORY_PAGE) -> list[Any]:
        """History steps with a sequence above `after`, in order."""

    async def owner_and_history(self, app_id: str, after: int, limit: int = HISTORY_PAGE
                                ) -> tuple[tuple[str, str] | None, list[Any]]:
        """Who the application belongs to (exporter USCC, authority; None: no such
        application) and `history_after`: a watch's first read (an adapter may do it in one
        round trip)."""
        row = await self.get(app_id)
        if row is None:
            return None, []
        return (row.exporter_uscc, row.authority), await self.history_after(app_id, after, limit)


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
    async def latest(self, application_id: str, *, with_record: bool = False) -> bytes | None:
        """The body of the newest assessment of an application (`with_record`: a hint that
        its `record` is asked next; a repository may read both at once)."""

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


class HolidayScheduleRepository(abc.ABC):
    """The State Council's holiday schedules as entered (issue 11 item 3; Reg. 17 days)."""

    @abc.abstractmethod
    async def all(self) -> list[StoredSchedule]:
        """Every stored schedule, by year."""

    @abc.abstractmethod
    async def get(self, year: int, *, for_update: bool = False) -> StoredSchedule | None:
        """The stored schedule of `year`."""

    @abc.abstractmethod
    async def by_request(self, request_id: str) -> StoredSchedule | None:
        """The schedule entered with this client request id."""

    @abc.abstractmethod
    async def upsert(self, entry: hc.ScheduleEntry, *, entered_by: str,
                     entered_at: dt.datetime, request_id: str | None) -> None:
        """Store (or replace) the schedule of its year."""

    @abc.abstractmethod
    async def version(self) -> tuple[int, dt.datetime | None]:
        """How many schedules there are and the latest entry time (replicas poll this)."""


class TemporaryControlRepository(abc.ABC):
    """The temporary controls register (ECL Art. 9(2); issue 11 item 5)."""

    @abc.abstractmethod
    async def add(self, m: tc.TemporaryControl, *, request_id: str | None,
                  registered_by: str) -> bool:
        """Store a new measure; False when the request id was used already."""

    @abc.abstractmethod
    async def save(self, m: tc.TemporaryControl) -> None:
        """Write a measure's changes (end, status, alert, note)."""

    @abc.abstractmethod
    async def get(self, measure_id: str, *, for_update: bool = False) -> StoredMeasure | None:
        """One measure."""

    @abc.abstractmethod
    async def by_request(self, request_id: str) -> str | None:
        """The measure id registered with this client request id."""

    @abc.abstractmethod
    async def all(self) -> list[StoredMeasure]:
        """Every measure, oldest start first."""

    @abc.abstractmethod
    async def active(self) -> list[tc.TemporaryControl]:
        """The measures not cancelled, listed or expired."""

    @abc.abstractmethod
    async def link_licence(self, licence_id: str, measure_ids: list[str]) -> None:
        """Record the measures a licence rests on."""


@dataclass(frozen=True)
class DecisionRecord:
    """One decision with the recommendation the officer had and every finding's judgement
    (issue 11 item 2, officer discretion)."""

    application_id: str
    decided_at: dt.datetime
    officer: str
    decision: str
    recommendation: str
    assessment_id: str
    judgements: tuple[Judgement, ...]


class ProceduresRepository(abc.ABC):
    """The law's procedures on an application (issue 11 items 1, 2, 4; migration 0010):
    the time-limit exemption (Reg. 26), the referral (Reg. 17, Art. 24), the Art. 24
    approvals, the acceptance step (Reg. 17), and the decision records."""

    @abc.abstractmethod
    async def get(self, application_id: str, *, for_update: bool = False) -> Procedures:
        """The application's procedures (empty ones when none were stored)."""

    @abc.abstractmethod
    async def save(self, p: Procedures) -> None:
        """Insert or replace the application's procedures."""

    @abc.abstractmethod
    async def set_accepted_on(self, application_id: str, day: dt.date) -> None:
        """The acceptance day after a resubmission (Reg. 17: the clock's start)."""

    @abc.abstractmethod
    async def add_decision(self, d: DecisionRecord) -> None:
        """Keep one decision record."""

    @abc.abstractmethod
    async def decisions(self, application_id: str) -> list[DecisionRecord]:
        """The application's decision records, oldest first."""


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

    @property
    def holiday_schedules(self) -> HolidayScheduleRepository:
        """The entered holiday schedules."""
        ...

    @property
    def temporary_controls(self) -> TemporaryControlRepository:
        """The temporary controls register."""
        ...

    @property
    def procedures(self) -> ProceduresRepository:
        """The law's procedures and decision records (issue 11)."""
        ...

    async def publish(self, topic: str, key: str, message: Message, *,
                      event_id: str | None = None, time: dt.datetime | None = None) -> str:
        """Write one event to the outbox in this transaction."""
        ...

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        """Write several events to one topic's outbox in this transaction."""
        ...

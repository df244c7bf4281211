"""In-memory fakes of storage.ports (the unit of work and its repositories) for the use
cases' unit tests: no PostgreSQL, no Kafka.

They behave like the SQL adapter where the use cases can tell: rows come back as copies (a
use case mutating a row it read changes nothing until it saves it), `(exporter, request_id)`
is unique, an older credit standing never overwrites a newer one, history sequences count
per application, and the operator's export history is derived from the licences' usage.
There are no transactions: a unit of work that raises keeps what it wrote before raising
(the use cases validate before they write, and the unit tests check exactly that).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from google.protobuf.message import Message

from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import model
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.domain.procedures import Procedures
from stc_licensing.domain.states import CLOCK_STATES
from stc_licensing.storage import ports
from stc_licensing.storage.ports import AppRow, LicenceRow, StoredMeasure, StoredSchedule


@dataclass
class InMemoryStore:
    """Dictionaries standing in for the tables of migrations/*.sql (shared by every unit of
    work over the same store, as the database is)."""

    operators: dict[str, tuple[model.ExportOperator, dt.datetime]] = field(default_factory=dict)
    standings: dict[str, tuple[domain_inputs.CreditStanding, dt.date | None]] = field(default_factory=dict)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)
    applications: dict[str, AppRow] = field(default_factory=dict)
    history: dict[str, list[dict]] = field(default_factory=dict)
    assessments: dict[str, dict] = field(default_factory=dict)
    licences: dict[str, tuple[licence_rules.Licence, str, dt.datetime]] = field(default_factory=dict)
    policy_versions: dict[str, str] = field(default_factory=dict)  # content hash -> JSON
    holiday_schedules: dict[int, StoredSchedule] = field(default_factory=dict)
    # measure id -> (stored measure, request id); licence id -> the measures it rests on
    temporary_controls: dict[str, tuple[StoredMeasure, str | None]] = field(default_factory=dict)
    licence_measures: dict[str, set[str]] = field(default_factory=dict)
    # issue 11 (migration 0010): application_procedures and decision_records
    procedures: dict[str, Procedures] = field(default_factory=dict)
    decisions: list[ports.DecisionRecord] = field(default_factory=list)

    def snapshot(self) -> tuple:
        """Everything stored, for asserting that a refused use case wrote nothing."""
        return copy.deepcopy((self.operators, self.standings, self.counters, self.applications,
                              self.history, self.assessments, self.licences,
                              self.holiday_schedules, self.temporary_controls,
                              self.licence_measures, self.procedures, self.decisions))


class FakeOperators(ports.OperatorRepository):
    """Operators in memory."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def add(self, op: model.ExportOperator) -> bool:
        if op.uscc in self.store.operators:
            return False
        self.store.operators[op.uscc] = (op, dt.datetime.now(dt.UTC))
        return True

    async def get(self, uscc: str, *, for_update: bool = False
                  ) -> tuple[model.ExportOperator, dt.datetime] | None:
        found = self.store.operators.get(uscc)
        if found is None:
            return None
        used = [lic for lic, _, _ in self.store.licences.values()
                if lic.holder_uscc == uscc and lic.exports]
        exports = sum(len(lic.exports) for lic in used)
        keys = frozenset(k for lic in used for k in lic.end_user_keys)
        op, at = found
        return replace(op, licensed_exports=exports, established_end_users=keys), at

    async def save(self, op: model.ExportOperator) -> None:
        self.store.operators[op.uscc] = (op, self.store.operators[op.uscc][1])


class FakeStandings(ports.StandingRepository):
    """The credit-standing projection in memory."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def get(self, uscc: str) -> domain_inputs.CreditStanding:
        found = self.store.standings.get(uscc)
        return found[0] if found else domain_inputs.CreditStanding(uscc=uscc)

    async def upsert(self, s: domain_inputs.CreditStanding, as_of: dt.date | None) -> None:
        old = self.store.standings.get(s.uscc)
        if old is None or old[1] is None or as_of is None or as_of >= old[1]:
            self.store.standings[s.uscc] = (s, as_of)


class FakeApplications(ports.ApplicationRepository):
    """Applications and their history in memory."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def count_awaiting_assessment(self) -> int:
        return sum(1 for a in self.store.applications.values()
                   if a.state in (model.ApplicationState.SUBMITTED, model.ApplicationState.SCREENING))

    async def next_reference(self, authority: str, year: int) -> str:
        n = self.store.counters.get((authority, year), 0) + 1
        self.store.counters[(authority, year)] = n
        return f"{authority}-{year}-{n:06d}"

    async def add(self, a: AppRow) -> bool:
        if any(r.exporter_uscc == a.exporter_uscc and r.request_id == a.request_id
               for r in self.store.applications.values()):
            return False
        self.store.applications[a.id] = copy.deepcopy(a)
        return True

    async def get(self, app_id: str, *, for_update: bool = False) -> AppRow | None:
        found = self.store.applications.get(app_id)
        return copy.deepcopy(found) if found else None

    async def get_by_request_id(self, uscc: str, request_id: str) -> AppRow | None:
        return next((copy.deepcopy(r) for r in self.store.applications.values()
                     if r.exporter_uscc == uscc and r.request_id == request_id), None)

    async def save(self, a: AppRow) -> None:
        self.store.applications[a.id] = copy.deepcopy(a)

    async def find(self, *, uscc: str | None, authority: str | None,
                   states: list[str] | None, offset: int, limit: int,
                   by_deadline: bool = False) -> list[AppRow]:
        rows = [r for r in self.store.applications.values()
                if (uscc is None or r.exporter_uscc == uscc)
                and (authority is None or r.authority == authority)
                and (states is None or r.state.value in states)]
        if by_deadline:
            rows.sort(key=lambda r: (r.deadline is None, r.deadline or dt.date.min,
                                     r.submitted_at, r.id))
        else:
            rows.sort(key=lambda r: (r.submitted_at, r.id))
        return [copy.deepcopy(r) for r in rows[offset:offset + limit]]

    async def pending_ids(self) -> list[str]:
        return [r.id for r in self.store.applications.values()
                if (not r.breach_reported and r.state in CLOCK_STATES)
                or (r.state == model.ApplicationState.RECONSIDERATION
                    and not r.reconsideration_overdue_reported)]

    async def append_history(self, app_id: str, kind: str, state: str, note: str,
                             snapshot: bytes, assessment_id: str | None = None) -> int:
        steps = self.store.history.setdefault(app_id, [])
        steps.append({"application_id": app_id, "sequence": len(steps) + 1, "kind": kind,
                      "state": state, "note": note, "assessment_id": assessment_id,
                      "snapshot": snapshot})
        return len(steps)

    async def history_after(self, app_id: str, after: int, limit: int = ports.HISTORY_PAGE) -> list[Any]:
        return [{**s, "assessment_body": self.store.assessments[s["assessment_id"]]["body"]
                 if s["assessment_id"] else None}
                for s in self.store.history.get(app_id, []) if s["sequence"] > after][:limit]


class FakeAssessments(ports.AssessmentRepository):
    """Assessments and policy versions in memory."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def add(self, **kw: Any) -> None:  # type: ignore[override]
        self.store.assessments[kw["assessment_id"]] = dict(kw)
        if kw.get("policy_content") is not None:
            self.store.policy_versions.setdefault(kw["policy_hash"], kw["policy_content"])

    async def record(self, assessment_id: str) -> dict | None:
        a = self.store.assessments.get(assessment_id)
        if a is None:
            return None
        return {k: a.get(k) for k in ("application_id", "recommendation", "policy_version",
                                      "policy_hash", "inputs_hash", "inputs")} | {
            "policy_content": self.store.policy_versions.get(a["policy_hash"])}

    async def latest(self, application_id: str, *, with_record: bool = False) -> bytes | None:
        found = [a for a in self.store.assessments.values()
                 if a["application_id"] == application_id]
        found.sort(key=lambda a: (a["assessed_at"], a["assessment_id"]))
        return found[-1]["body"] if found else None


class FakeLicences(ports.LicenceRepository):
    """Licences and their usage in memory."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def add(self, lic: licence_rules.Licence, authority: str) -> None:
        self.store.licences[lic.id] = (lic, authority, dt.datetime.now(dt.UTC))

    async def get(self, licence_id: str, *, for_update: bool = False) -> LicenceRow | None:
        found = self.store.licences.get(licence_id)
        return LicenceRow(*found) if found else None

    async def save(self, lic: licence_rules.Licence) -> None:
        _, authority, _ = self.store.licences[lic.id]
        self.store.licences[lic.id] = (lic, authority, dt.datetime.now(dt.UTC))

    async def find(self, *, uscc: str | None, authority: str | None,
                   states: list[str] | None, offset: int, limit: int) -> list[LicenceRow]:
        rows = [LicenceRow(*v) for v in self.store.licences.values()
                if (uscc is None or v[0].holder_uscc == uscc)
                and (authority is None or v[1] == authority)
                and (states is None or v[0].state.value in states)]
        rows.sort(key=lambda r: (r.licence.issued_on, r.licence.id))
        return rows[offset:offset + limit]

    async def due_to_expire(self, today: dt.date) -> list[str]:
        return [lic.id for lic, _, _ in self.store.licences.values()
                if lic.state in (licence_rules.LicenceState.ACTIVE, licence_rules.LicenceState.SUSPENDED)
                and lic.valid_until < today]


class FakeHolidaySchedules(ports.HolidayScheduleRepository):
    """Holiday schedules in memory (one per year)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def all(self) -> list[StoredSchedule]:
        return [self.store.holiday_schedules[y] for y in sorted(self.store.holiday_schedules)]

    async def get(self, year: int, *, for_update: bool = False) -> StoredSchedule | None:
        return self.store.holiday_schedules.get(year)

    async def by_request(self, request_id: str) -> StoredSchedule | None:
        return next((s for s in self.store.holiday_schedules.values()
                     if s.request_id == request_id), None)

    async def upsert(self, entry: hc.ScheduleEntry, *, entered_by: str,
                     entered_at: dt.datetime, request_id: str | None) -> None:
        self.store.holiday_schedules[entry.year] = StoredSchedule(entry, entered_by, entered_at,
                                                                  request_id)

    async def version(self) -> tuple[int, dt.datetime | None]:
        times = [s.entered_at for s in self.store.holiday_schedules.values()]
        return len(times), max(times, default=None)


class FakeTemporaryControls(ports.TemporaryControlRepository):
    """The temporary controls register in memory (request ids unique, as in SQL)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def add(self, m: tc.TemporaryControl, *, request_id: str | None,
                  registered_by: str) -> bool:
        if request_id and await self.by_request(request_id) is not None:
            return False
        self.store.temporary_controls[m.measure_id] = (
            StoredMeasure(m, registered_by, dt.datetime.now(dt.UTC)), request_id)
        return True

    async def save(self, m: tc.TemporaryControl) -> None:
        stored, request_id = self.store.temporary_controls[m.measure_id]
        self.store.temporary_controls[m.measure_id] = (
            StoredMeasure(m, stored.registered_by, dt.datetime.now(dt.UTC)), request_id)

    async def get(self, measure_id: str, *, for_update: bool = False) -> StoredMeasure | None:
        found = self.store.temporary_controls.get(measure_id)
        return None if found is None else found[0]

    async def by_request(self, request_id: str) -> str | None:
        return next((mid for mid, (_, rid) in self.store.temporary_controls.items()
                     if rid == request_id), None)

    async def all(self) -> list[StoredMeasure]:
        return sorted((s for s, _ in self.store.temporary_controls.values()),
                      key=lambda s: (s.measure.start, s.measure.measure_id))

    async def active(self) -> list[tc.TemporaryControl]:
        return [s.measure for s, _ in self.store.temporary_controls.values()
                if s.measure.status is tc.MeasureStatus.ACTIVE]

    async def link_licence(self, licence_id: str, measure_ids: list[str]) -> None:
        self.store.licence_measures.setdefault(licence_id, set()).update(measure_ids)


class FakeProcedures(ports.ProceduresRepository):
    """application_procedures and decision_records in memory."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    async def get(self, application_id: str, *, for_update: bool = False) -> Procedures:
        return self.store.procedures.get(application_id, Procedures(application_id))

    async def save(self, p: Procedures) -> None:
        self.store.procedures[p.application_id] = p

    async def set_accepted_on(self, application_id: str, day: dt.date) -> None:
        row = self.store.applications.get(application_id)
        if row is not None:
            row.accepted_on = day

    async def add_decision(self, d: ports.DecisionRecord) -> None:
        self.store.decisions.append(d)

    async def decisions(self, application_id: str) -> list[ports.DecisionRecord]:
        return [d for d in self.store.decisions if d.application_id == application_id]


class FakeUnitOfWork:
    """storage.ports.LicensingUnitOfWork in memory: the fake repositories over one store and
    a publisher that records the events (topic, key, message) in order."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()
        self.operators = FakeOperators(self.store)
        self.standings = FakeStandings(self.store)
        self.applications = FakeApplications(self.store)
        self.assessments = FakeAssessments(self.store)
        self.licences = FakeLicences(self.store)
        self.holiday_schedules = FakeHolidaySchedules(self.store)
        self.temporary_controls = FakeTemporaryControls(self.store)
        self.procedures = FakeProcedures(self.store)
        self.source = "stc-licensing-test"
        self.events: list[tuple[str, str, Any]] = []

    async def publish(self, topic: str, key: str, message: Message, *,
                      event_id: str | None = None, time: dt.datetime | None = None) -> str:
        self.events.append((topic, key, message))
        return event_id or f"evt-{len(self.events)}"

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        return [await self.publish(topic, key, message) for key, message in events]

    def types(self) -> list[str]:
        """The published events' message names, in order."""
        return [m.DESCRIPTOR.name for _, _, m in self.events]

    def of(self, name: str) -> list:
        """The published messages of one type."""
        return [m for _, _, m in self.events if m.DESCRIPTOR.name == name]

    def after(self) -> FakeUnitOfWork:
        """A new unit of work over the same store (the next transaction)."""
        return FakeUnitOfWork(self.store)

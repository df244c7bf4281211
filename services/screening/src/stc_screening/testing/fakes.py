"""An in-memory fake of the screening unit of work: the same repositories
(``uow.lists``, ``uow.subjects``, ``uow.measures``, ``uow.consultations``, ``uow.results``)
over dictionaries, and an outbox list. The fake is transactional like PostgreSQL where the
use cases can tell: what a unit of work wrote and published is kept only when it leaves
without an exception (``FakeStore.uows()`` snapshots on entry and restores on error)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from stc_screening.domain.consultations import Consultation
from stc_screening.domain.lists import ListChange, ListEntry
from stc_screening.domain.policy import CountryMeasure, MeasureRecord
from stc_screening.storage.uow import UowFactory


@dataclass
class FakeStore:
    """The tables, as dictionaries, plus the outbox of committed events."""

    entries: dict[str, tuple[ListEntry, str]] = field(default_factory=dict)  # id -> (e, origin)
    requests: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    subjects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    hits: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    measures: dict[str, MeasureRecord] = field(default_factory=dict)
    consultations: dict[str, Consultation] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[tuple[str, str, Message]] = field(default_factory=list)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything stored and published, to assert that a refusal changed nothing."""
        return copy.deepcopy((self.entries, self.requests, self.versions, self.subjects,
                              self.hits, self.measures, self.consultations, self.results,
                              [(t, k, m.SerializeToString()) for t, k, m in self.outbox]))

    def events(self, cls: type[Message] | None = None) -> list[Message]:
        """The committed events (of one type)."""
        return [m for _, _, m in self.outbox if cls is None or isinstance(m, cls)]

    def uows(self, source: str = "screening") -> UowFactory:
        """A unit-of-work factory over this store (commit on success, restore on error)."""

        @contextlib.asynccontextmanager
        async def open_uow() -> AsyncIterator[Any]:
            saved = copy.deepcopy(dataclasses.replace(self, outbox=[]))
            uow = FakeUnitOfWork(self, source)
            try:
                yield uow
            except BaseException:
                for f in dataclasses.fields(self):
                    if f.name != "outbox":
                        setattr(self, f.name, getattr(saved, f.name))
                raise
            self.outbox.extend(uow.pending)

        return open_uow


class FakeListRepository:
    """``ListRepository`` over the store."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def load_all(self) -> list[ListEntry]:
        return [e for e, _ in self.s.entries.values()]

    async def load_sources(self, source_prefixes: Sequence[str]) -> list[ListEntry]:
        return [e for e, origin in self.s.entries.values()
                if origin == "import" and e.entry_id.split(":", 1)[0] in source_prefixes]

    async def get(self, entry_id: str, *, for_update: bool = False) -> ListEntry | None:
        got = self.s.entries.get(entry_id)
        return got[0] if got else None

    async def lock_imports(self) -> None:
        return None

    async def insert_many(self, entries: Iterable[ListEntry], origin: str) -> None:
        for e in entries:
            if e.entry_id in self.s.entries:
                raise ValueError(f"duplicate key {e.entry_id}")
            self.s.entries[e.entry_id] = (e, origin)

    async def update_many(self, entries: Iterable[ListEntry]) -> None:
        for e in entries:
            if e.entry_id in self.s.entries:
                self.s.entries[e.entry_id] = (e, self.s.entries[e.entry_id][1])

    async def delete_many(self, entry_ids: Iterable[str]) -> None:
        for i in entry_ids:
            self.s.entries.pop(i, None)

    async def count(self) -> int:
        return len(self.s.entries)

    async def record_version(self, **run: Any) -> None:
        self.s.versions.append(run)

    async def claim_request(self, request_id: str, entry_id: str, fingerprint: str
                            ) -> tuple[str, str | None] | None:
        if request_id in self.s.requests:
            return self.s.requests[request_id]
        self.s.requests[request_id] = (entry_id, fingerprint)
        return None

    async def owned_ids(self) -> set[str]:
        return {i for i, (_, origin) in self.s.entries.items() if origin != "import"}

    async def take_over(self, entry_id: str) -> None:
        e, origin = self.s.entries[entry_id]
        if origin == "import":
            self.s.entries[entry_id] = (e, "officer")

    async def content_hashes(self) -> dict[str, str]:
        return {i: e.content_hash for i, (e, _) in self.s.entries.items()}


class FakeSubjectRepository:
    """``SubjectRepository`` over the store."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def upsert(self, kind: str, subject_id: str, exporter_uscc: str,
                     parties: list[dict[str, Any]]) -> None:
        self.s.subjects[(kind, subject_id)] = {
            "subject_kind": kind, "subject_id": subject_id, "exporter_uscc": exporter_uscc,
            "parties": copy.deepcopy(parties)}

    async def drop(self, kind: str, subject_id: str) -> bool:
        for key in [k for k in self.s.hits if k[:2] == (kind, subject_id)]:
            del self.s.hits[key]
        return self.s.subjects.pop((kind, subject_id), None) is not None

    async def get(self, kind: str, subject_id: str) -> dict[str, Any] | None:
        got = self.s.subjects.get((kind, subject_id))
        return copy.deepcopy(got) if got else None

    async def all_subjects(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.s.subjects.values()))

    async def claim_hit(self, kind: str, subject_id: str, party_id: str, entry_id: str,
                        content_hash: str) -> bool:
        key = (kind, subject_id, party_id, entry_id)
        if self.s.hits.get(key) == content_hash:
            return False
        self.s.hits[key] = content_hash
        return True

    async def record_hits(self, kind: str, subject_id: str,
                          hits: list[tuple[str, str, str]]) -> None:
        for p, e, h in hits:
            self.s.hits.setdefault((kind, subject_id, p, e), h)

    async def forget_entry(self, entry_id: str) -> None:
        for key in [k for k in self.s.hits if k[3] == entry_id]:
            del self.s.hits[key]


class FakeMeasureRepository:
    """``MeasureRepository`` over the store."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def by_request(self, request_id: str) -> MeasureRecord | None:
        return next((r for r in self.s.measures.values() if r.request_id == request_id), None)

    async def insert(self, m: CountryMeasure, *, officer: str, request_id: str,
                     fingerprint: str | None) -> MeasureRecord | None:
        if m.measure_id in self.s.measures:
            return None
        now = dt.datetime.now(dt.UTC)
        r = MeasureRecord(measure=m, officer=officer, created_at=now, updated_at=now,
                          request_id=request_id, request_fingerprint=fingerprint)
        self.s.measures[m.measure_id] = r
        return r

    async def get(self, measure_id: str, *, for_update: bool = False) -> MeasureRecord | None:
        return self.s.measures.get(measure_id)

    async def suspend(self, measure_id: str, *, suspended_from: dt.date,
                      suspended_until: dt.date | None, officer: str) -> MeasureRecord:
        r = self.s.measures[measure_id]
        r = dataclasses.replace(
            r, officer=officer, updated_at=dt.datetime.now(dt.UTC),
            measure=dataclasses.replace(r.measure, suspended_from=suspended_from,
                                        suspended_until=suspended_until))
        self.s.measures[measure_id] = r
        return r

    async def list_all(self, country: str = "") -> list[MeasureRecord]:
        return sorted((r for r in self.s.measures.values()
                       if not country or r.measure.country == country),
                      key=lambda r: (r.measure.country, r.measure.effective_from, r.measure_id))


class FakeConsultationRepository:
    """``ConsultationRepository`` over the store."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def by_request(self, exporter_uscc: str, request_id: str) -> Consultation | None:
        return next((c for c in self.s.consultations.values()
                     if c.exporter_uscc == exporter_uscc and c.request_id == request_id), None)

    async def add(self, c: Consultation) -> None:
        self.s.consultations[c.consultation_id] = c

    async def get(self, consultation_id: str, *, for_update: bool = False
                  ) -> Consultation | None:
        try:
            uuid.UUID(consultation_id)
        except ValueError:
            return None
        return self.s.consultations.get(consultation_id)

    async def save_answer(self, c: Consultation) -> None:
        self.s.consultations[c.consultation_id] = c

    async def list_for_authority(self, authority: str | None, state: str | None, offset: int,
                                 limit: int) -> list[Consultation]:
        rows = sorted((c for c in self.s.consultations.values()
                       if (authority is None or c.authority == authority)
                       and (state is None or c.state.value == state)),
                      key=lambda c: (c.submitted_at, c.consultation_id))
        return rows[offset:offset + limit]


class FakeResultRepository:
    """``ResultRepository`` over the store."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def insert(self, **row: Any) -> None:
        self.s.results.append(row)


class FakeUnitOfWork:
    """The fake of ``ScreeningUnitOfWork``: the repositories, ``publish`` into a pending
    list the store's outbox receives on commit, and the index change."""

    def __init__(self, store: FakeStore, source: str = "screening") -> None:
        self.source = source
        self.conn = None
        self.lists = FakeListRepository(store)
        self.subjects = FakeSubjectRepository(store)
        self.measures = FakeMeasureRepository(store)
        self.consultations = FakeConsultationRepository(store)
        self.results = FakeResultRepository(store)
        self.index_change = ListChange()
        self.pending: list[tuple[str, str, Message]] = []
        self.published: list[str] = []

    async def publish(self, topic: str, key: str, message: Message, *,
                      event_id: str | None = None, time: dt.datetime | None = None) -> str:
        eid = event_id or str(uuid.uuid4())
        self.pending.append((topic, key, message))
        self.published.append(eid)
        return eid

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        return [await self.publish(topic, k, m) for k, m in events]

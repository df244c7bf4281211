"""In-memory fakes of the credit unit of work, for unit tests of the use cases.

`FakeCreditStore` holds the tables and the outbox; `FakeCreditUnitOfWork` exposes the same
repositories as `stc_credit.storage.uow.CreditUnitOfWork` over it. `store.transaction()`
opens one: what it wrote (rows and outbox events) is undone when the block raises, as a
rolled-back PostgreSQL transaction would be (stc_common.testing.fakes). The publication log is a real Merkle tree
(stc_credit.domain.merkle) with signed checkpoints, so proofs from the fake verify.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from stc_common.testing.fakes import FakeStore, FakeUnitOfWork

from stc_credit.domain.canonical import LogEntry, encode_entry
from stc_credit.domain.checkpoint import Checkpoint, SignerKey, sign_checkpoint
from stc_credit.domain.merkle import MerkleTree, leaf_hash
from stc_credit.domain.records import Case, CaseStatus, CreditRecord, Measure
from stc_credit.domain.standing import CreditStanding
from stc_credit.storage.log import Appended, LogRow, StoredCheckpoint
from stc_credit.storage.records import PublicationRow, StoredMeasure, StoredRecord


@dataclass
class _Publication:
    row: PublicationRow
    ended_on: dt.date | None = None
    end_reason: str | None = None


class FakeCreditStore(FakeStore["FakeCreditUnitOfWork"]):
    """Every credit table and the outbox, in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, StoredRecord] = {}
        self.publications: dict[str, _Publication] = {}
        self.alerts: set[str] = set()
        self.measures: dict[str, StoredMeasure] = {}
        self.cases: dict[str, Case] = {}
        self.standings: dict[str, CreditStanding] = {}
        self.log: list[LogRow] = []
        self.checkpoints: dict[int, StoredCheckpoint] = {}

    def unit_of_work(self) -> FakeCreditUnitOfWork:
        return FakeCreditUnitOfWork(self)

    def factory(self) -> Callable[[], contextlib.AbstractAsyncContextManager[
            FakeCreditUnitOfWork]]:
        """A unit-of-work factory (what `refresh_all_standings` and the agent take)."""
        return self.transaction


class FakeRecords:
    """In-memory RecordRepository."""

    def __init__(self, store: FakeCreditStore) -> None:
        self.s = store

    async def add(self, stored: StoredRecord) -> None:
        rid = stored.record.record_id
        assert rid not in self.s.records, "duplicate record_id"
        if stored.request_id is not None:
            assert all(r.request_id != stored.request_id for r in self.s.records.values()), \
                "duplicate request_id"
        self.s.records[rid] = stored

    async def release_hold(self, record_id: str) -> None:
        self.s.records[record_id] = dataclasses.replace(self.s.records[record_id],
                                                        publication_hold=None)

    async def by_request(self, request_id: str) -> StoredRecord | None:
        return next((r for r in self.s.records.values() if r.request_id == request_id), None)

    async def get(self, record_id: str, *, for_update: bool = False) -> StoredRecord | None:
        return self.s.records.get(record_id)

    async def naming_person(self, id_number: str) -> list[StoredRecord]:
        found = [r for r in self.s.records.values()
                 if any(p.id_number.upper() == id_number.upper()
                        for p in r.record.responsible_persons)]
        return sorted(found, key=lambda r: (r.record.decision_date, r.record.record_id))

    async def of_enterprise(self, uscc: str, *, authority: str | None = None
                            ) -> list[StoredRecord]:
        found = [r for r in self.s.records.values() if r.record.uscc == uscc
                 and (authority is None or r.authority == authority)]
        return sorted(found, key=lambda r: (r.record.decision_date, r.record.record_id))

    async def unpublished(self) -> list[StoredRecord]:
        found = [r for r in self.s.records.values()
                 if r.record.record_id not in self.s.publications]
        return sorted(found, key=lambda r: (r.record.decision_date, r.record.record_id))

    async def alert_once(self, record_id: str, day: dt.date) -> bool:
        if record_id in self.s.alerts:
            return False
        self.s.alerts.add(record_id)
        return True

    async def known_usccs(self) -> list[str]:
        return sorted({r.record.uscc for r in self.s.records.values()}
                      | {m.measure.uscc for m in self.s.measures.values()}
                      | set(self.s.standings))


class FakePublications:
    """In-memory PublicationRepository."""

    def __init__(self, store: FakeCreditStore) -> None:
        self.s = store

    async def add(self, record: CreditRecord, leaf_index: int, published_on: dt.date,
                  publicity_ends_on: dt.date) -> None:
        assert record.record_id not in self.s.publications, "published twice"
        self.s.publications[record.record_id] = _Publication(PublicationRow(
            record.record_id, record.uscc, leaf_index, published_on, publicity_ends_on,
            None, None, None))

    async def get(self, record_id: str, *, for_update: bool = False) -> PublicationRow | None:
        p = self.s.publications.get(record_id)
        return p.row if p else None

    async def of_records(self, record_ids: list[str]) -> dict[str, PublicationRow]:
        return {r: self.s.publications[r].row for r in record_ids if r in self.s.publications}

    async def mark_repaired(
        self, record_id: str, *, repaired_on: dt.date, decision_no: str, leaf_index: int,
        request_id: str | None, request_fingerprint: str | None = None,
    ) -> None:
        p = self.s.publications[record_id]
        p.row = dataclasses.replace(
            p.row, repaired_on=repaired_on, repair_decision_no=decision_no,
            repair_leaf_index=leaf_index, repair_request_id=request_id,
            repair_request_fingerprint=request_fingerprint)

    async def repaired_by_request(self, request_id: str) -> PublicationRow | None:
        return next((p.row for p in self.s.publications.values()
                     if p.row.repair_request_id == request_id), None)

    async def elapsed_unannounced(self, today: dt.date) -> list[PublicationRow]:
        rows = [p.row for p in self.s.publications.values()
                if p.ended_on is None and p.row.publicity_ends_on < today]
        return sorted(rows, key=lambda r: (r.publicity_ends_on, r.record_id))

    async def mark_ended(self, record_id: str, ended_on: dt.date, reason: str) -> bool:
        p = self.s.publications[record_id]
        if p.ended_on is not None:
            return False
        p.ended_on, p.end_reason = ended_on, reason
        return True


class FakeMeasures:
    """In-memory MeasureRepository."""

    def __init__(self, store: FakeCreditStore) -> None:
        self.s = store

    async def add(self, stored: StoredMeasure) -> None:
        assert stored.measure.measure_id not in self.s.measures
        self.s.measures[stored.measure.measure_id] = stored

    async def by_request(self, request_id: str) -> StoredMeasure | None:
        return next((m for m in self.s.measures.values() if m.request_id == request_id), None)

    async def of_enterprise(self, uscc: str) -> list[Measure]:
        return sorted((m.measure for m in self.s.measures.values() if m.measure.uscc == uscc),
                      key=lambda m: m.issued_on)


class FakeCases:
    """In-memory CaseRepository (unique per source event and source, as the table is)."""

    def __init__(self, store: FakeCreditStore) -> None:
        self.s = store

    async def add(self, case: Case) -> bool:
        if any((c.source_event_id, c.source) == (case.source_event_id, case.source)
               for c in self.s.cases.values()):
            return False
        self.s.cases[case.case_id] = case
        return True

    async def get(self, case_id: str, *, for_update: bool = False) -> Case | None:
        return self.s.cases.get(case_id)

    async def update(self, case: Case) -> None:
        self.s.cases[case.case_id] = case

    async def list(self, *, open_only: bool, offset: int, limit: int,
                   authority: str | None = None) -> list[Case]:
        found = [c for c in self.s.cases.values()
                 if (authority is None or c.authority == authority)
                 and (not open_only or c.status is CaseStatus.OPEN)]
        found.sort(key=lambda c: (c.opened_on, c.case_id))
        return found[offset: offset + limit]


class FakeStandings:
    """In-memory StandingRepository."""

    def __init__(self, store: FakeCreditStore) -> None:
        self.s = store

    async def lock(self, uscc: str) -> None:
        return None

    async def last(self, uscc: str) -> CreditStanding | None:
        return self.s.standings.get(uscc)

    async def save(self, s: CreditStanding) -> None:
        self.s.standings[s.uscc] = s


class FakeLog:
    """In-memory PublicationLog: entries, a Merkle tree over their leaf hashes, and
    a signed checkpoint per append."""

    def __init__(self, store: FakeCreditStore) -> None:
        self.s = store

    def _tree(self, size: int | None = None) -> MerkleTree:
        rows = self.s.log if size is None else self.s.log[:size]
        return MerkleTree(leaf_hash(r.canonical) for r in rows)

    async def append(self, entry_for: Callable[[int], LogEntry], *, record_id: str, uscc: str,
                     signer: SignerKey, origin: str) -> Appended:
        seq = len(self.s.log)
        entry = entry_for(seq)
        data = encode_entry(entry)
        self.s.log.append(LogRow(seq, str(entry.kind), record_id, uscc, data))
        size = seq + 1
        root = self._tree().root()
        note = sign_checkpoint(Checkpoint(origin, size, root), signer)
        self.s.checkpoints[size] = StoredCheckpoint(size, root, note,
                                                    dt.datetime.now(dt.UTC))
        return Appended(seq, data, size, root, note)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self.s.checkpoints[max(self.s.checkpoints)] if self.s.checkpoints else None

    async def checkpoint_at(self, tree_size: int) -> StoredCheckpoint | None:
        return self.s.checkpoints.get(tree_size)

    async def entry(self, seq: int) -> bytes | None:
        return self.s.log[seq].canonical if 0 <= seq < len(self.s.log) else None

    async def inclusion(self, index: int, tree_size: int) -> list[bytes]:
        return self._tree(tree_size).inclusion_proof(index)

    async def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        return self._tree(new_size).consistency_proof(old_size)

    async def entries(self, *, uscc: str | None, after: int, limit: int) -> list[LogRow]:
        rows = [r for r in self.s.log if r.seq > after and (uscc is None or r.uscc == uscc)]
        return rows[:limit]


class FakeCreditUnitOfWork(FakeUnitOfWork):
    """The fake of `CreditUnitOfWork`: the same repositories, in memory."""

    def __init__(self, store: FakeCreditStore) -> None:
        super().__init__(store)
        self.records = FakeRecords(store)
        self.publications = FakePublications(store)
        self.measures = FakeMeasures(store)
        self.cases = FakeCases(store)
        self.standings = FakeStandings(store)
        self.log = FakeLog(store)

"""Records, measures, cases, publications and standings: rows <-> domain objects.

One repository class per table family, each over the unit of work's connection (the SQL
lives here and nowhere else); `stc_credit.testing.fakes` keeps an in-memory twin of each.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import asyncpg

from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.records import (
    MAX_BAN_MONTHS,
    Case,
    CaseSource,
    CaseStatus,
    CreditRecord,
    Measure,
    MeasureKind,
    Penalty,
    ResponsiblePerson,
)
from stc_credit.domain.standing import CreditStanding, StandingLevel


@dataclass(frozen=True)
class StoredRecord:
    """A record with what the database keeps beside it."""

    record: CreditRecord
    publicity_months: int
    publication_deadline: dt.date
    deadline_exact: bool
    request_id: str | None
    case_id: str | None
    publication_hold: str | None = None  # the officer's reason; None when not held
    authority: str | None = None  # the authority whose officer imposed it (Arts. 33-39)
    request_fingerprint: str | None = None  # of the request that created it (None: old row)


@dataclass(frozen=True)
class PublicationRow:
    """Publication state of one record."""

    record_id: str
    uscc: str
    leaf_index: int
    published_on: dt.date
    publicity_ends_on: dt.date
    repaired_on: dt.date | None
    repair_decision_no: str | None
    repair_leaf_index: int | None
    repair_request_id: str | None = None
    repair_request_fingerprint: str | None = None


@dataclass(frozen=True)
class StoredMeasure:
    """A measure with what the database keeps beside it."""

    measure: Measure
    request_id: str | None
    case_id: str | None
    authority: str | None
    request_fingerprint: str | None = None


def _record(row: asyncpg.Record) -> StoredRecord:
    persons = tuple(
        ResponsiblePerson(p["name"], p["id_number"], bool(p.get("criminally_convicted")))
        for p in json.loads(row["responsible_persons"])
    )
    record = CreditRecord(
        record_id=row["record_id"],
        uscc=row["uscc"],
        enterprise_name=row["enterprise_name"],
        article=Article(row["article"]),
        decision_no=row["decision_no"],
        decision_sha256=row["decision_sha256"],
        penalty=Penalty(
            frozenset(Sanction(s) for s in row["sanctions"]),
            row["fine_fen"],
            row["confiscated_fen"],
        ),
        decision_date=row["decision_date"],
        effective_date=row["effective_date"],
        decided_by=row["decided_by"],
        turnover_fen=row["turnover_fen"],
        serious=row["serious"],
        # rows from before migration 0006 carried the automatic five-year ban
        application_ban_months=(row["application_ban_months"]
                                if row["application_ban_months"] is not None
                                else (MAX_BAN_MONTHS if row["application_ban"] else 0)),
        responsible_persons=persons,
    )
    return StoredRecord(
        record,
        row["publicity_months"],
        row["publication_deadline"],
        row["deadline_exact"],
        row["request_id"],
        row["case_id"],
        row["publication_hold"],
        row["authority"],
        row["request_fingerprint"],
    )


class RecordRepository:
    """Credit records (ECL Arts. 33-39) in `credit_records`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, stored: StoredRecord) -> None:
        """Store a new record."""
        record = stored.record
        persons = [
            {"name": p.name, "id_number": p.id_number,
             "criminally_convicted": p.criminally_convicted}
            for p in record.responsible_persons
        ]  # fmt: skip
        await self.conn.execute(
            """INSERT INTO credit_records (record_id, request_id, uscc, enterprise_name, article,
                   decision_no, decision_sha256, sanctions, fine_fen, confiscated_fen,
                   turnover_fen, serious, application_ban, decision_date, effective_date,
                   decided_by, responsible_persons, publicity_months, publication_deadline,
                   deadline_exact, case_id, publication_hold, authority, application_ban_months,
                   request_fingerprint)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,
                       $21,$22,$23,$24,$25)""",
            record.record_id, stored.request_id, record.uscc, record.enterprise_name,
            str(record.article), record.decision_no, record.decision_sha256,
            sorted(str(s) for s in record.penalty.sanctions), record.penalty.fine_fen,
            record.penalty.confiscated_fen, record.turnover_fen, record.serious,
            record.application_ban, record.decision_date, record.effective_date,
            record.decided_by, json.dumps(persons, ensure_ascii=False), stored.publicity_months,
            stored.publication_deadline, stored.deadline_exact, stored.case_id,
            stored.publication_hold, stored.authority, record.application_ban_months,
            stored.request_fingerprint,
        )  # fmt: skip

    async def release_hold(self, record_id: str) -> None:
        """Lift the publication hold of a record."""
        await self.conn.execute(
            "UPDATE credit_records SET publication_hold = NULL WHERE record_id = $1", record_id
        )

    async def by_request(self, request_id: str) -> StoredRecord | None:
        """The record created by `request_id`, if any."""
        row = await self.conn.fetchrow(
            "SELECT * FROM credit_records WHERE request_id = $1", request_id)
        return _record(row) if row else None

    async def get(self, record_id: str, *, for_update: bool = False) -> StoredRecord | None:
        """One record by id."""
        sql = "SELECT * FROM credit_records WHERE record_id = $1" + (
            " FOR UPDATE" if for_update else ""
        )
        row = await self.conn.fetchrow(sql, record_id)
        return _record(row) if row else None

    async def naming_person(self, id_number: str) -> list[StoredRecord]:
        """Records whose responsible persons include `id_number` (case-insensitive), oldest
        first.

        `add` hands the pool's jsonb codec a JSON text, so the column holds a JSON string
        containing the array: unwrap it (an array stored directly works as well).
        """
        rows = await self.conn.fetch(
            """SELECT * FROM credit_records r
               WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(
                                 CASE jsonb_typeof(r.responsible_persons)
                                      WHEN 'string' THEN (r.responsible_persons #>> '{}')::jsonb
                                      ELSE r.responsible_persons END) p
                             WHERE upper(p->>'id_number') = upper($1))
               ORDER BY decision_date, record_id""",
            id_number,
        )
        return [_record(r) for r in rows]

    async def of_enterprise(self, uscc: str, *, authority: str | None = None
                            ) -> list[StoredRecord]:
        """Every record of one enterprise (of one authority, when given), oldest first."""
        rows = await self.conn.fetch(
            """SELECT * FROM credit_records WHERE uscc = $1
                   AND ($2::text IS NULL OR authority = $2)
               ORDER BY decision_date, record_id""",
            uscc, authority,
        )  # fmt: skip
        return [_record(r) for r in rows]

    async def unpublished(self) -> list[StoredRecord]:
        """Records not yet on the publication log, oldest decision first."""
        rows = await self.conn.fetch(
            """SELECT r.* FROM credit_records r
               WHERE NOT EXISTS (SELECT 1 FROM publications p WHERE p.record_id = r.record_id)
               ORDER BY r.decision_date, r.record_id"""
        )
        return [_record(r) for r in rows]

    async def alert_once(self, record_id: str, day: dt.date) -> bool:
        """Note the deadline alert of `record_id` (raised `day`); False when already raised."""
        return bool(
            await self.conn.fetchval(
                """INSERT INTO deadline_alerts (record_id, alerted_on) VALUES ($1, $2)
                   ON CONFLICT DO NOTHING RETURNING true""",
                record_id, day,
            )  # fmt: skip
        )

    async def known_usccs(self) -> list[str]:
        """Every enterprise with a record, a measure or a published standing."""
        rows = await self.conn.fetch(
            """SELECT uscc FROM credit_records UNION SELECT uscc FROM measures
               UNION SELECT uscc FROM standings"""
        )
        return sorted(r["uscc"] for r in rows)


def _publication(row: asyncpg.Record) -> PublicationRow:
    return PublicationRow(
        row["record_id"], row["uscc"], row["leaf_index"], row["published_on"],
        row["publicity_ends_on"], row["repaired_on"], row["repair_decision_no"],
        row["repair_leaf_index"], row["repair_request_id"], row["repair_request_fingerprint"],
    )  # fmt: skip


class PublicationRepository:
    """Publication state of records (`publications`): published, repaired, ended."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, record: CreditRecord, leaf_index: int, published_on: dt.date,
                  publicity_ends_on: dt.date) -> None:
        """Mark a record published at `leaf_index`."""
        await self.conn.execute(
            """INSERT INTO publications (record_id, uscc, leaf_index, published_on,
                   publicity_ends_on) VALUES ($1, $2, $3, $4, $5)""",
            record.record_id, record.uscc, leaf_index, published_on, publicity_ends_on,
        )  # fmt: skip

    async def get(self, record_id: str, *, for_update: bool = False) -> PublicationRow | None:
        """Publication state of a record, None when not yet published."""
        sql = "SELECT * FROM publications WHERE record_id = $1" + (
            " FOR UPDATE" if for_update else "")
        row = await self.conn.fetchrow(sql, record_id)
        return _publication(row) if row else None

    async def of_records(self, record_ids: list[str]) -> dict[str, PublicationRow]:
        """Publication state of several records."""
        rows = await self.conn.fetch(
            "SELECT * FROM publications WHERE record_id = ANY($1)", record_ids)
        return {r["record_id"]: _publication(r) for r in rows}

    async def mark_repaired(
        self, record_id: str, *, repaired_on: dt.date, decision_no: str, leaf_index: int,
        request_id: str | None, request_fingerprint: str | None = None,
    ) -> None:
        """Record the credit repair of a published record (the log entry is appended apart)."""
        await self.conn.execute(
            """UPDATE publications SET repaired_on = $2, repair_decision_no = $3,
                   repair_leaf_index = $4, repair_request_id = $5,
                   repair_request_fingerprint = $6 WHERE record_id = $1""",
            record_id, repaired_on, decision_no, leaf_index, request_id, request_fingerprint,
        )  # fmt: skip

    async def repaired_by_request(self, request_id: str) -> PublicationRow | None:
        """The publication repaired under `request_id`, if any."""
        row = await self.conn.fetchrow(
            "SELECT * FROM publications WHERE repair_request_id = $1", request_id)
        return _publication(row) if row else None

    async def elapsed_unannounced(self, today: dt.date) -> list[PublicationRow]:
        """Publications whose scheduled period ran out before `today`, end not announced."""
        rows = await self.conn.fetch(
            """SELECT * FROM publications WHERE ended_on IS NULL AND publicity_ends_on < $1
               ORDER BY publicity_ends_on, record_id FOR UPDATE SKIP LOCKED""",
            today,
        )
        return [_publication(r) for r in rows]

    async def mark_ended(self, record_id: str, ended_on: dt.date, reason: str) -> bool:
        """Note that the end of a record's publicity was announced; False when it was."""
        return bool(
            await self.conn.fetchval(
                """UPDATE publications SET ended_on = $2, end_reason = $3
                   WHERE record_id = $1 AND ended_on IS NULL RETURNING true""",
                record_id, ended_on, reason,
            )  # fmt: skip
        )


def _measure(row: asyncpg.Record) -> StoredMeasure:
    measure = Measure(
        row["measure_id"], row["uscc"], MeasureKind(row["kind"]), row["reference"],
        row["issued_on"], row["decided_by"],
    )  # fmt: skip
    return StoredMeasure(measure, row["request_id"], row["case_id"], row["authority"],
                         row["request_fingerprint"])


class MeasureRepository:
    """Measures (Art. 30: warning letters, supervisory talks) in `measures`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, stored: StoredMeasure) -> None:
        """Store a measure."""
        m = stored.measure
        await self.conn.execute(
            """INSERT INTO measures (measure_id, request_id, uscc, kind, reference, issued_on,
                   decided_by, case_id, authority, request_fingerprint)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            m.measure_id, stored.request_id, m.uscc, str(m.kind), m.reference, m.issued_on,
            m.decided_by, stored.case_id, stored.authority, stored.request_fingerprint,
        )  # fmt: skip

    async def by_request(self, request_id: str) -> StoredMeasure | None:
        """The measure created by `request_id`, if any."""
        row = await self.conn.fetchrow("SELECT * FROM measures WHERE request_id = $1",
                                       request_id)
        return _measure(row) if row else None

    async def of_enterprise(self, uscc: str) -> list[Measure]:
        """Every measure of one enterprise."""
        rows = await self.conn.fetch(
            "SELECT * FROM measures WHERE uscc = $1 ORDER BY issued_on", uscc)
        return [_measure(r).measure for r in rows]


def _case(row: asyncpg.Record) -> Case:
    return Case(
        case_id=row["case_id"],
        uscc=row["uscc"],
        source=CaseSource(row["source"]),
        source_event_id=row["source_event_id"],
        opened_on=row["opened_on"],
        summary=row["summary"],
        licence_id=row["licence_id"],
        status=CaseStatus(row["status"]),
        decided_by=row["decided_by"],
        decided_on=row["decided_on"],
        outcome_id=row["outcome_id"],
        authority=row["authority"],
    )


class CaseRepository:
    """Cases awaiting an officer's decision (`cases`)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, case: Case) -> bool:
        """Store a new case; False when this event already opened a case of that kind."""
        return bool(
            await self.conn.fetchval(
                """INSERT INTO cases (case_id, uscc, source, source_event_id, opened_on, summary,
                       licence_id, authority) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (source_event_id, source) DO NOTHING RETURNING true""",
                case.case_id, case.uscc, str(case.source), case.source_event_id,
                case.opened_on, case.summary, case.licence_id, case.authority,
            )  # fmt: skip
        )

    async def get(self, case_id: str, *, for_update: bool = False) -> Case | None:
        """One case by id."""
        sql = "SELECT * FROM cases WHERE case_id = $1" + (" FOR UPDATE" if for_update else "")
        row = await self.conn.fetchrow(sql, case_id)
        return _case(row) if row else None

    async def update(self, case: Case) -> None:
        """Store an officer's decision on a case."""
        await self.conn.execute(
            """UPDATE cases SET status = $2, decided_by = $3, decided_on = $4, outcome_id = $5
               WHERE case_id = $1""",
            case.case_id, str(case.status), case.decided_by, case.decided_on, case.outcome_id,
        )  # fmt: skip

    async def list(self, *, open_only: bool, offset: int, limit: int,
                   authority: str | None = None) -> list[Case]:
        """Cases (of one authority, when given), oldest first."""
        where = "AND status = 'open'" if open_only else ""
        rows = await self.conn.fetch(
            f"""SELECT * FROM cases WHERE ($3::text IS NULL OR authority = $3) {where}
                ORDER BY opened_at, case_id OFFSET $1 LIMIT $2""",
            offset, limit, authority,
        )  # fmt: skip
        return [_case(r) for r in rows]


_STANDING_LOCK = 0x57C0_C4ED


class StandingRepository:
    """The standing last published per enterprise (`standings`)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self, uscc: str) -> None:
        """Serialise standing recomputations of one enterprise until this transaction ends."""
        await self.conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                                _STANDING_LOCK, uscc)

    async def last(self, uscc: str) -> CreditStanding | None:
        """The standing last published for `uscc` (locked for this transaction)."""
        row = await self.conn.fetchrow("SELECT * FROM standings WHERE uscc = $1 FOR UPDATE",
                                       uscc)
        if row is None:
            return None
        return CreditStanding(
            uscc=row["uscc"],
            as_of=row["as_of"],
            level=StandingLevel(row["level"]),
            active_records=row["active"],
            ban_until=row["ban_until"],
            record_ids=tuple(row["record_ids"]),
            measure_ids=tuple(row["measure_ids"]),
        )

    async def save(self, s: CreditStanding) -> None:
        """Store the standing just published."""
        await self.conn.execute(
            """INSERT INTO standings (uscc, level, active, ban_until, record_ids, measure_ids,
                   as_of) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (uscc) DO UPDATE SET level = $2, active = $3, ban_until = $4,
                   record_ids = $5, measure_ids = $6, as_of = $7""",
            s.uscc, str(s.level), s.active_records, s.ban_until, list(s.record_ids),
            list(s.measure_ids), s.as_of,
        )  # fmt: skip

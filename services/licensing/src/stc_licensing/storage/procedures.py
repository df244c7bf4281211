"""Storage of the procedures and decision records (migration 0010): `application_procedures`
(time-limit exemption, referral, Art. 24 approvals, acceptance) and `decision_records` (officer
discretion). `procedures_store(uow)` gives the SQL store over the unit of work's connection,
or an in-memory one kept on the unit tests' fake unit of work (which carries `repo`)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from stc_licensing.domain.canonical import from_plain, to_plain
from stc_licensing.domain.discretion import Judgement
from stc_licensing.domain.procedures import Acceptance, MilitaryApproval, Procedures, Referral


@dataclass(frozen=True)
class DecisionRecord:
    """One decision with the recommendation the officer had and every finding's judgement."""

    application_id: str
    decided_at: dt.datetime
    officer: str
    decision: str
    recommendation: str
    assessment_id: str
    judgements: tuple[Judgement, ...]


class SqlProcedures:
    """Over an asyncpg connection inside the unit of work's transaction."""

    def __init__(self, conn) -> None:
        self.conn = conn

    async def get(self, application_id: str, *, for_update: bool = False) -> Procedures:
        row = await self.conn.fetchrow(
            "SELECT time_limit_exemption, referral::text AS referral, "
            "military_approvals::text AS approvals, acceptance::text AS acceptance "
            "FROM application_procedures "
            "WHERE application_id = $1" + (" FOR UPDATE" if for_update else ""), application_id)
        if row is None:
            return Procedures(application_id)
        return Procedures(
            application_id, row["time_limit_exemption"],
            from_plain(Referral, json.loads(row["referral"])) if row["referral"] else None,
            from_plain(tuple[MilitaryApproval, ...], json.loads(row["approvals"])),
            from_plain(Acceptance, json.loads(row["acceptance"])) if row["acceptance"]
            else Acceptance())

    async def save(self, p: Procedures) -> None:
        await self.conn.execute(
            """INSERT INTO application_procedures (application_id, time_limit_exemption,
                   referral, military_approvals, acceptance)
               VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb)
               ON CONFLICT (application_id) DO UPDATE SET
                   time_limit_exemption = EXCLUDED.time_limit_exemption,
                   referral = EXCLUDED.referral,
                   military_approvals = EXCLUDED.military_approvals,
                   acceptance = EXCLUDED.acceptance""",
            p.application_id, p.time_limit_exemption,
            json.dumps(to_plain(p.referral)) if p.referral else None,
            json.dumps(to_plain(p.military_approvals)), json.dumps(to_plain(p.acceptance)))

    async def set_accepted_on(self, application_id: str, day: dt.date) -> None:
        """The acceptance day after a resubmission (Reg. 17: the clock's start)."""
        await self.conn.execute("UPDATE applications SET accepted_on = $2 WHERE id = $1",
                                application_id, day)

    async def add_decision(self, d: DecisionRecord) -> None:
        await self.conn.execute(
            """INSERT INTO decision_records (application_id, decided_at, officer, decision,
                   recommendation, assessment_id, judgements)
               VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)""",
            d.application_id, d.decided_at, d.officer, d.decision, d.recommendation,
            d.assessment_id or None, json.dumps(to_plain(d.judgements)))

    async def decisions(self, application_id: str) -> list[DecisionRecord]:
        rows = await self.conn.fetch(
            """SELECT decided_at, officer, decision, recommendation, assessment_id,
                      judgements::text AS judgements FROM decision_records
               WHERE application_id = $1 ORDER BY id""", application_id)
        return [DecisionRecord(application_id, r["decided_at"], r["officer"], r["decision"],
                               r["recommendation"], r["assessment_id"] or "",
                               from_plain(tuple[Judgement, ...], json.loads(r["judgements"])))
                for r in rows]


@dataclass
class MemoryProcedures:
    """The in-memory twin for unit tests."""

    rows: dict[str, Procedures] = field(default_factory=dict)
    decision_rows: list[DecisionRecord] = field(default_factory=list)

    async def get(self, application_id: str, *, for_update: bool = False) -> Procedures:
        return self.rows.get(application_id, Procedures(application_id))

    async def save(self, p: Procedures) -> None:
        self.rows[p.application_id] = p

    async def add_decision(self, d: DecisionRecord) -> None:
        self.decision_rows.append(d)

    async def set_accepted_on(self, application_id: str, day: dt.date) -> None:
        """Nothing to do: the in-memory repository keeps the whole row."""

    async def decisions(self, application_id: str) -> list[DecisionRecord]:
        return [d for d in self.decision_rows if d.application_id == application_id]


def procedures_store(uow: Any) -> SqlProcedures | MemoryProcedures:
    """The unit of work's procedures store (see module doc)."""
    if getattr(uow, "repo", None) is not None:
        store = getattr(uow, "procedures", None)
        if store is None:
            store = MemoryProcedures()
            uow.procedures = store
        return store
    return SqlProcedures(uow.conn)

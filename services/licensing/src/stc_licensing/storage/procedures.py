"""PostgreSQL storage of the law's procedures and decision records (issue 11, migration 0010):
`application_procedures` (time-limit exemption, referral, Art. 24 approvals, acceptance) and
`decision_records` (officer discretion). The unit of work carries it as `uow.procedures`
(storage.ports.ProceduresRepository; the in-memory twin is testing.fakes.FakeProcedures)."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from stc_licensing.domain.canonical import from_plain, to_plain
from stc_licensing.domain.discretion import Judgement
from stc_licensing.domain.procedures import Acceptance, MilitaryApproval, Procedures, Referral
from stc_licensing.storage.ports import DecisionRecord, ProceduresRepository


class SqlProcedures(ProceduresRepository):
    """Over an asyncpg connection inside the unit of work's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
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

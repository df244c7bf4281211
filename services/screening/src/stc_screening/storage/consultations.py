"""Art. 12(4) consultations: the ``ConsultationRepository`` (plain SQL)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from stc_screening.domain.consultations import Consultation, ConsultationState


def _consultation(row: Any) -> Consultation:
    return Consultation(
        consultation_id=str(row["consultation_id"]), exporter_uscc=row["exporter_uscc"],
        authority=row["authority"], question=row["question"],
        submitted_at=row["submitted_at"], state=ConsultationState(row["state"]),
        item_description=row["item_description"], hs_code=row["hs_code"],
        parameters=dict(row["parameters"] or {}), controlled=bool(row["controlled"]),
        control_code=row["control_code"], answer=row["answer"], officer=row["officer"],
        answered_at=row["answered_at"], request_id=row["request_id"] or "",
        request_fingerprint=row["request_fingerprint"])


def _uuid(consultation_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(consultation_id)
    except ValueError:
        return None


class ConsultationRepository:
    """The consultations table."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def by_request(self, exporter_uscc: str, request_id: str) -> Consultation | None:
        """The consultation an exporter's earlier request with this id created, or None."""
        row = await self.conn.fetchrow(
            "SELECT * FROM consultations WHERE exporter_uscc = $1 AND request_id = $2",
            exporter_uscc, request_id)
        return _consultation(row) if row else None

    async def add(self, c: Consultation) -> None:
        """Store a new consultation."""
        await self.conn.execute(
            """INSERT INTO consultations (consultation_id, request_id, exporter_uscc, authority,
                   state, question, item_description, hs_code, parameters, submitted_at,
                   request_fingerprint)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            uuid.UUID(c.consultation_id), c.request_id or None, c.exporter_uscc, c.authority,
            c.state.value, c.question, c.item_description, c.hs_code, dict(c.parameters),
            c.submitted_at, c.request_fingerprint)

    async def get(self, consultation_id: str, *, for_update: bool = False
                  ) -> Consultation | None:
        """One consultation or None (also for an id that is no UUID)."""
        cid = _uuid(consultation_id)
        if cid is None:
            return None
        sql = "SELECT * FROM consultations WHERE consultation_id = $1"
        row = await self.conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), cid)
        return _consultation(row) if row else None

    async def save_answer(self, c: Consultation) -> None:
        """Record the authority's answer."""
        await self.conn.execute(
            """UPDATE consultations SET state = $2, controlled = $3, control_code = $4,
                      answer = $5, officer = $6, answered_at = $7
               WHERE consultation_id = $1""",
            uuid.UUID(c.consultation_id), c.state.value, c.controlled, c.control_code,
            c.answer, c.officer, c.answered_at)

    async def list_for_authority(self, authority: str | None, state: str | None, offset: int,
                                 limit: int) -> list[Consultation]:
        """Consultations routed to an authority (None: any), oldest first."""
        rows = await self.conn.fetch(
            """SELECT * FROM consultations WHERE ($1::text IS NULL OR authority = $1)
                 AND ($2::text IS NULL OR state = $2)
               ORDER BY submitted_at, consultation_id OFFSET $3 LIMIT $4""",
            authority, state, offset, limit)
        return [_consultation(r) for r in rows]

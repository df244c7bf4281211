"""Art. 12(4) consultations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

SUBMITTED = "SUBMITTED"
ANSWERED = "ANSWERED"


async def insert(conn: asyncpg.Connection, *, request_id: str | None, exporter_uscc: str,
                 authority: str, question: str, item_description: str, hs_code: str,
                 parameters: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """Store a new consultation; (row, created) — an earlier row for a repeated request id."""
    if request_id:
        row = await conn.fetchrow(
            "SELECT * FROM consultations WHERE exporter_uscc = $1 AND request_id = $2",
            exporter_uscc, request_id)
        if row:
            return dict(row), False
    row = await conn.fetchrow(
        """INSERT INTO consultations (consultation_id, request_id, exporter_uscc, authority,
                                      state, question, item_description, hs_code, parameters)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *""",
        uuid.uuid4(), request_id or None, exporter_uscc, authority, SUBMITTED, question,
        item_description, hs_code, parameters)
    return dict(row), True


async def get(conn: asyncpg.Connection, consultation_id: uuid.UUID, *, for_update: bool = False
              ) -> dict[str, Any] | None:
    """One consultation or None."""
    sql = "SELECT * FROM consultations WHERE consultation_id = $1"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), consultation_id)
    return dict(row) if row else None


async def answer(conn: asyncpg.Connection, consultation_id: uuid.UUID, *, controlled: bool,
                 control_code: str, answer_text: str, officer: str, at: dt.datetime
                 ) -> dict[str, Any]:
    """Record the authority's answer."""
    row = await conn.fetchrow(
        """UPDATE consultations SET state = $2, controlled = $3, control_code = $4,
                  answer = $5, officer = $6, answered_at = $7
           WHERE consultation_id = $1 RETURNING *""",
        consultation_id, ANSWERED, controlled, control_code, answer_text, officer, at)
    return dict(row)


async def list_for_authority(conn: asyncpg.Connection, authority: str | None,
                             state: str | None, offset: int, limit: int) -> list[dict[str, Any]]:
    """Consultations routed to an authority (None: any), oldest first."""
    rows = await conn.fetch(
        """SELECT * FROM consultations WHERE ($1::text IS NULL OR authority = $1)
             AND ($2::text IS NULL OR state = $2)
           ORDER BY submitted_at, consultation_id OFFSET $3 LIMIT $4""",
        authority, state, offset, limit)
    return [dict(r) for r in rows]

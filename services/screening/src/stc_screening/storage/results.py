"""Stored screening results (the ScreeningCompleted message as published)."""

from __future__ import annotations

import uuid

import asyncpg


async def insert(conn: asyncpg.Connection, *, screening_id: uuid.UUID, subject_kind: str,
                 subject_id: str, exporter_uscc: str, trigger_event_id: str,
                 lists_version: str, result: bytes) -> None:
    """Store one screening result."""
    await conn.execute(
        """INSERT INTO screening_results (screening_id, subject_kind, subject_id, exporter_uscc,
                                          trigger_event_id, lists_version, result)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        screening_id, subject_kind, subject_id, exporter_uscc, trigger_event_id,
        lists_version, result)


async def for_subject(conn: asyncpg.Connection, subject_id: str) -> list[asyncpg.Record]:
    """Results of one subject, oldest first."""
    return await conn.fetch(
        "SELECT * FROM screening_results WHERE subject_id = $1 ORDER BY completed_at",
        subject_id)

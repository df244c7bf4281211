"""Stored screening results (the ScreeningCompleted message as published): the
``ResultRepository``."""

from __future__ import annotations

import uuid

import asyncpg


class ResultRepository:
    """The screening_results table."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, *, screening_id: str, subject_kind: str, subject_id: str,
                     exporter_uscc: str, trigger_event_id: str, lists_version: str,
                     result: bytes) -> None:
        """Store one screening result."""
        await self.conn.execute(
            """INSERT INTO screening_results (screening_id, subject_kind, subject_id,
                   exporter_uscc, trigger_event_id, lists_version, result)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            uuid.UUID(screening_id), subject_kind, subject_id, exporter_uscc,
            trigger_event_id, lists_version, result)

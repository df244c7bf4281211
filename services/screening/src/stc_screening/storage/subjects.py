"""The re-screening projection: parties of pending applications and active licences, and
the hits already reported for them (so a re-screening only publishes new hits): the
``SubjectRepository``. A subject is a dict {subject_kind, subject_id, exporter_uscc,
parties}, each party as ``convert.party_to_dict`` stores it."""

from __future__ import annotations

from typing import Any

import asyncpg

APPLICATION = "APPLICATION"
LICENCE = "LICENCE"

Subject = dict[str, Any]


class SubjectRepository:
    """The subjects and subject_hits tables."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def upsert(self, kind: str, subject_id: str, exporter_uscc: str,
                     parties: list[dict[str, Any]]) -> None:
        """Keep (or replace) a subject's parties."""
        await self.conn.execute(
            """INSERT INTO subjects (subject_kind, subject_id, exporter_uscc, parties)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (subject_kind, subject_id) DO UPDATE
               SET exporter_uscc = EXCLUDED.exporter_uscc, parties = EXCLUDED.parties,
                   updated_at = now()""", kind, subject_id, exporter_uscc, parties)

    async def drop(self, kind: str, subject_id: str) -> bool:
        """Stop re-screening a subject; False when it was not kept. One statement (issue 14:
        two DELETEs were two round trips per decided application): the hits go in a
        data-modifying CTE, which PostgreSQL runs whether or not the outer DELETE reads it."""
        got = await self.conn.execute(
            """WITH hits AS (DELETE FROM subject_hits
                             WHERE subject_kind = $1 AND subject_id = $2)
               DELETE FROM subjects WHERE subject_kind = $1 AND subject_id = $2""",
            kind, subject_id)
        return bool(got != "DELETE 0")

    async def get(self, kind: str, subject_id: str) -> Subject | None:
        """One subject, or None."""
        row = await self.conn.fetchrow(
            "SELECT subject_kind, subject_id, exporter_uscc, parties FROM subjects "
            "WHERE subject_kind = $1 AND subject_id = $2", kind, subject_id)
        return dict(row) if row else None

    async def all_subjects(self) -> list[Subject]:
        """Every kept subject with its parties."""
        rows = await self.conn.fetch(
            "SELECT subject_kind, subject_id, exporter_uscc, parties FROM subjects")
        return [dict(r) for r in rows]

    async def claim_hit(self, kind: str, subject_id: str, party_id: str, entry_id: str,
                        content_hash: str) -> bool:
        """Record a hit; True when it is new (never reported, or the entry's content
        changed)."""
        got = await self.conn.fetchval(
            """INSERT INTO subject_hits (subject_kind, subject_id, party_id, entry_id,
                                         content_hash)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (subject_kind, subject_id, party_id, entry_id) DO UPDATE
               SET content_hash = EXCLUDED.content_hash, created_at = now()
               WHERE subject_hits.content_hash <> EXCLUDED.content_hash
               RETURNING true""", kind, subject_id, party_id, entry_id, content_hash)
        return bool(got)

    async def record_hits(self, kind: str, subject_id: str,
                          hits: list[tuple[str, str, str]]) -> None:
        """Remember hits a full screening reported, as (party_id, entry_id, content_hash)."""
        await self.conn.executemany(
            """INSERT INTO subject_hits (subject_kind, subject_id, party_id, entry_id,
                                         content_hash)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
            [(kind, subject_id, p, e, h) for p, e, h in hits])

    async def forget_entry(self, entry_id: str) -> None:
        """A delisted entry: the hits reported on it are forgotten (a re-listing reports
        them again)."""
        await self.conn.execute("DELETE FROM subject_hits WHERE entry_id = $1", entry_id)

"""Country measures entered by officers: the ``MeasureRepository`` (plain SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from stc_screening.domain.policy import CountryMeasure, MeasureRecord


def _record(row: Any) -> MeasureRecord:
    measure = CountryMeasure(
        measure_id=row["measure_id"], country=row["country"], title_en=row["title_en"],
        title_zh=row["title_zh"], basis=row["basis"], effective_from=row["effective_from"],
        suspended_from=row["suspended_from"], suspended_until=row["suspended_until"],
        ended_on=row["expires_on"], applies_to=row["scope"],
        item_codes=tuple(row["item_codes"]), announcement=row["announcement"])
    return MeasureRecord(measure=measure, officer=row["officer"], created_at=row["created_at"],
                         updated_at=row["updated_at"], request_id=row["request_id"] or "",
                         request_fingerprint=row["request_fingerprint"])


class MeasureRepository:
    """The country_measures table."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def by_request(self, request_id: str) -> MeasureRecord | None:
        """The measure an earlier request with this id created, or None."""
        row = await self.conn.fetchrow("SELECT * FROM country_measures WHERE request_id = $1",
                                       request_id)
        return _record(row) if row else None

    async def insert(self, m: CountryMeasure, *, officer: str, request_id: str,
                     fingerprint: str | None) -> MeasureRecord | None:
        """Store a new measure; None when its id is taken."""
        row = await self.conn.fetchrow(
            """INSERT INTO country_measures (measure_id, request_id, country, title_en,
                   title_zh, basis, announcement, scope, item_codes, effective_from,
                   suspended_from, suspended_until, expires_on, officer, request_fingerprint)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (measure_id) DO NOTHING RETURNING *""",
            m.measure_id, request_id or None, m.country, m.title_en, m.title_zh, m.basis,
            m.announcement, m.applies_to, list(m.item_codes), m.effective_from,
            m.suspended_from, m.suspended_until, m.ended_on, officer, fingerprint)
        return _record(row) if row else None

    async def get(self, measure_id: str, *, for_update: bool = False) -> MeasureRecord | None:
        """One measure or None."""
        sql = "SELECT * FROM country_measures WHERE measure_id = $1"
        row = await self.conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), measure_id)
        return _record(row) if row else None

    async def suspend(self, measure_id: str, *, suspended_from: dt.date,
                      suspended_until: dt.date | None, officer: str) -> MeasureRecord:
        """Set the suspension window."""
        row = await self.conn.fetchrow(
            """UPDATE country_measures SET suspended_from = $2, suspended_until = $3,
                   officer = $4, updated_at = now()
               WHERE measure_id = $1 RETURNING *""",
            measure_id, suspended_from, suspended_until, officer)
        return _record(row)

    async def list_all(self, country: str = "") -> list[MeasureRecord]:
        """Every measure (of one destination), by country, effective date and id."""
        rows = await self.conn.fetch(
            "SELECT * FROM country_measures WHERE ($1 = '' OR country = $1) "
            "ORDER BY country, effective_from, measure_id", country)
        return [_record(r) for r in rows]

"""Country measures entered by officers (plain SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from stc_screening.domain.policy import CountryMeasure


def to_domain(row: dict[str, Any]) -> CountryMeasure:
    """The domain measure from a row."""
    return CountryMeasure(
        measure_id=row["measure_id"], country=row["country"], title_en=row["title_en"],
        title_zh=row["title_zh"], basis=row["basis"], effective_from=row["effective_from"],
        suspended_from=row["suspended_from"], suspended_until=row["suspended_until"],
        ended_on=row["expires_on"], applies_to=row["scope"],
        item_codes=tuple(row["item_codes"]), announcement=row["announcement"])


async def insert(conn: asyncpg.Connection, m: CountryMeasure, *, officer: str,
                 request_id: str | None) -> tuple[dict[str, Any], bool]:
    """Store a new measure; (row, created) — the earlier row for a repeated request id."""
    if request_id:
        row = await conn.fetchrow("SELECT * FROM country_measures WHERE request_id = $1",
                                  request_id)
        if row:
            return dict(row), False
    row = await conn.fetchrow(
        """INSERT INTO country_measures (measure_id, request_id, country, title_en, title_zh,
               basis, announcement, scope, item_codes, effective_from, suspended_from,
               suspended_until, expires_on, officer)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (measure_id) DO NOTHING RETURNING *""",
        m.measure_id, request_id or None, m.country, m.title_en, m.title_zh, m.basis,
        m.announcement, m.applies_to, list(m.item_codes), m.effective_from, m.suspended_from,
        m.suspended_until, m.ended_on, officer)
    return (dict(row), True) if row else ({}, False)


async def get(conn: asyncpg.Connection, measure_id: str, *, for_update: bool = False
              ) -> dict[str, Any] | None:
    """One measure or None."""
    sql = "SELECT * FROM country_measures WHERE measure_id = $1"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), measure_id)
    return dict(row) if row else None


async def suspend(conn: asyncpg.Connection, measure_id: str, *, suspended_from: dt.date,
                  suspended_until: dt.date | None, officer: str) -> dict[str, Any]:
    """Set the suspension window."""
    row = await conn.fetchrow(
        """UPDATE country_measures SET suspended_from = $2, suspended_until = $3,
               officer = $4, updated_at = now()
           WHERE measure_id = $1 RETURNING *""",
        measure_id, suspended_from, suspended_until, officer)
    return dict(row)


async def list_all(conn: asyncpg.Connection, country: str = "") -> list[dict[str, Any]]:
    """Every measure (of one destination), by country then id."""
    rows = await conn.fetch(
        "SELECT * FROM country_measures WHERE ($1 = '' OR country = $1) "
        "ORDER BY country, effective_from, measure_id", country)
    return [dict(r) for r in rows]

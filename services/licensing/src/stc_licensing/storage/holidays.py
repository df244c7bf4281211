"""SQL of the holiday schedules (migration 0020): one row per year, replaced on correction."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from stc_licensing.domain import holiday_calendar as hc


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule as stored: the entry, who entered it and when, the request id."""

    entry: hc.ScheduleEntry
    entered_by: str
    entered_at: dt.datetime
    request_id: str | None


def _row(r) -> StoredSchedule:
    body = r["body"] if isinstance(r["body"], dict) else json.loads(r["body"])
    entry, problems = hc.entry_from_plain(body)
    if entry is None:  # written by this module only: a broken row is a bug, not input
        raise ValueError(f"stored holiday schedule {r['year']} is malformed: {problems}")
    return StoredSchedule(entry, r["entered_by"], r["entered_at"], r["request_id"])


async def all_schedules(conn) -> list[StoredSchedule]:
    """Every stored schedule, by year."""
    rows = await conn.fetch("SELECT * FROM holiday_schedules ORDER BY year")
    return [_row(r) for r in rows]


async def get(conn, year: int, *, for_update: bool = False) -> StoredSchedule | None:
    """The stored schedule of `year`."""
    r = await conn.fetchrow("SELECT * FROM holiday_schedules WHERE year = $1"
                            + (" FOR UPDATE" if for_update else ""), year)
    return None if r is None else _row(r)


async def by_request(conn, request_id: str) -> StoredSchedule | None:
    """The schedule entered with this client request id."""
    r = await conn.fetchrow("SELECT * FROM holiday_schedules WHERE request_id = $1", request_id)
    return None if r is None else _row(r)


async def upsert(conn, entry: hc.ScheduleEntry, *, entered_by: str, entered_at: dt.datetime,
                 request_id: str | None) -> None:
    """Store (or replace) the schedule of its year."""
    await conn.execute(
        """INSERT INTO holiday_schedules (year, announcement, body, entered_by, entered_at,
                                          request_id)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6)
           ON CONFLICT (year) DO UPDATE SET announcement = EXCLUDED.announcement,
               body = EXCLUDED.body, entered_by = EXCLUDED.entered_by,
               entered_at = EXCLUDED.entered_at, request_id = EXCLUDED.request_id""",
        entry.year, entry.announcement, json.dumps(hc.to_plain(entry)), entered_by,
        entered_at, request_id)


async def version(conn) -> tuple[int, dt.datetime | None]:
    """How many schedules there are and the latest entry time (replicas poll this)."""
    r = await conn.fetchrow("SELECT count(*) AS n, max(entered_at) AS latest "
                            "FROM holiday_schedules")
    return int(r["n"]), r["latest"]

"""SQL of the temporary controls register (migration 0021)."""

from __future__ import annotations

import datetime as dt
import json

from stc_licensing.domain import temporary_controls as tc


def _measure(r) -> tc.TemporaryControl:
    items = r["items"] if isinstance(r["items"], list) else json.loads(r["items"])
    return tc.TemporaryControl(
        measure_id=r["measure_id"], announcement=r["announcement"],
        items=tuple(tc.ControlledItem(i.get("control_code", ""), i.get("hs_code", ""),
                                      i.get("description", "")) for i in items),
        start=r["start_on"], end=r["end_on"], status=tc.MeasureStatus(r["status"]),
        ended_on=r["ended_on"], alert_sent=r["alert_sent"], note=r["note"])


async def insert(conn, m: tc.TemporaryControl, *, request_id: str | None,
                 registered_by: str) -> bool:
    """Store a new measure; False when the request id was used already."""
    items = [{"control_code": i.control_code, "hs_code": i.hs_code,
              "description": i.description} for i in m.items]
    status = await conn.execute(
        """INSERT INTO temporary_controls (measure_id, request_id, announcement, items,
               start_on, end_on, status, note, registered_by)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
           ON CONFLICT (request_id) DO NOTHING""",
        m.measure_id, request_id, m.announcement, json.dumps(items, ensure_ascii=False),
        m.start, m.end, m.status.value, m.note, registered_by)
    return status.endswith(" 1")


async def save(conn, m: tc.TemporaryControl) -> None:
    """Write a measure's changes (end, status, alert)."""
    await conn.execute(
        """UPDATE temporary_controls SET end_on = $2, status = $3, ended_on = $4,
               alert_sent = $5, note = $6, updated_at = now() WHERE measure_id = $1""",
        m.measure_id, m.end, m.status.value, m.ended_on, m.alert_sent, m.note)


async def get(conn, measure_id: str, *, for_update: bool = False
              ) -> tuple[tc.TemporaryControl, str, dt.datetime] | None:
    """One measure with who registered it and when it last changed."""
    r = await conn.fetchrow("SELECT * FROM temporary_controls WHERE measure_id = $1"
                            + (" FOR UPDATE" if for_update else ""), measure_id)
    return None if r is None else (_measure(r), r["registered_by"], r["updated_at"])


async def by_request(conn, request_id: str) -> str | None:
    """The measure id registered with this client request id."""
    return await conn.fetchval("SELECT measure_id FROM temporary_controls WHERE request_id = $1",
                               request_id)


async def all_measures(conn) -> list[tuple[tc.TemporaryControl, str, dt.datetime]]:
    """Every measure, oldest start first."""
    rows = await conn.fetch("SELECT * FROM temporary_controls ORDER BY start_on, measure_id")
    return [(_measure(r), r["registered_by"], r["updated_at"]) for r in rows]


async def active(conn) -> list[tc.TemporaryControl]:
    """The measures not cancelled, listed or expired."""
    rows = await conn.fetch("SELECT * FROM temporary_controls WHERE status = 'ACTIVE'")
    return [_measure(r) for r in rows]


async def link_licence(conn, licence_id: str, measure_ids: list[str]) -> None:
    """Record the measures a licence rests on."""
    await conn.executemany(
        "INSERT INTO licence_temporary_controls (licence_id, measure_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING", [(licence_id, mid) for mid in measure_ids])

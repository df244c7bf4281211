"""Database checks of "exactly once" shared by the crash, outage and replica tests.

Each asserts on the real tables of a service's database (outbox, inbox, or a table of
results keyed by the aggregate), so a test proves nothing was lost or doubled by looking
where the state is, not only at the topics.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


async def assert_one_sent_outbox_row_each(
    db: asyncpg.Connection, ce_types: Sequence[str], keys: Sequence[str]
) -> None:
    """Every (event type, aggregate key) pair has exactly one outbox row, and it was sent."""
    dup = await db.fetch(
        """SELECT ce_type, key, count(*) AS n, count(sent_at) AS sent FROM outbox
           WHERE ce_type = ANY($1) AND key = ANY($2)
           GROUP BY ce_type, key HAVING count(*) <> 1 OR count(sent_at) <> 1""",
        list(ce_types), [k.encode() for k in keys])
    assert not dup, [dict(d) for d in dup]
    n = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE ce_type = ANY($1) AND key = ANY($2)",
        list(ce_types), [k.encode() for k in keys])
    assert n == len(keys) * len(ce_types), (n, len(keys), len(ce_types))


async def assert_one_inbox_row_each(db: asyncpg.Connection, event_ids: Sequence[str]) -> None:
    """Every consumed event id has exactly one inbox row (handled once, whatever redelivered)."""
    inbox = await db.fetch(
        "SELECT event_id, count(*) AS n FROM inbox WHERE event_id = ANY($1) GROUP BY event_id",
        list(event_ids))
    assert sorted(r["event_id"] for r in inbox) == sorted(event_ids)
    assert all(r["n"] == 1 for r in inbox), [dict(r) for r in inbox if r["n"] != 1]


async def assert_one_row_each(
    db: asyncpg.Connection, table: str, column: str, ids: Sequence[str]
) -> None:
    """`table` holds exactly one row per id in `column` (compared as text)."""
    rows = await db.fetch(
        f"SELECT {column}::text AS id, count(*) AS n FROM {table} "  # noqa: S608 - test names
        f"WHERE {column}::text = ANY($1) GROUP BY {column}", list(ids))
    assert len(rows) == len(ids), (table, len(rows), len(ids))
    assert all(r["n"] == 1 for r in rows), [dict(r) for r in rows if r["n"] != 1]

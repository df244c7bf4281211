"""asyncpg connection pool.

A connection goes back to the pool without asyncpg's reset query (`SELECT
pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`): that is one more round trip
on every release — every RPC, every consumer batch, every watch read — for session state
this platform never leaves on a pooled connection. An open transaction is still rolled back
(asyncpg does that apart from the query). The rule that makes it safe: session-level state on
a pooled connection is undone before release (screening's start-up import unlocks its
advisory lock in `finally`); LISTEN and long-held session locks use connections of their own
(`connect`: the relay's lock, the watch notifier).
"""

from __future__ import annotations

import json

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: json.dumps(v, ensure_ascii=False),
        decoder=json.loads,
        schema="pg_catalog",
    )
    await conn.set_type_codec(
        "json",
        encoder=lambda v: json.dumps(v, ensure_ascii=False),
        decoder=json.loads,
        schema="pg_catalog",
    )


class PooledConnection(asyncpg.Connection):
    """A pooled connection released without the reset query (see the module docstring)."""

    def get_reset_query(self) -> str:  # noqa: D102
        return ""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 5) -> asyncpg.Pool:
    """A pool whose connections encode and decode json/jsonb as Python objects."""
    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30,
        connection_class=PooledConnection,
    )


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn

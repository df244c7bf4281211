"""Repositories of the end-user service: plain SQL over one asyncpg connection."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg


def parse_uuid(value: str) -> uuid.UUID | None:
    """`value` as a UUID; None when it is not one (an id a client made up finds nothing)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError):
        return None


class Where:
    """A WHERE clause built up with numbered parameters ($1, $2 …) in the order they are added."""

    def __init__(self) -> None:
        self.clauses: list[str] = ["true"]
        self.args: list[object] = []

    def param(self, value: object) -> str:
        """A placeholder for `value`."""
        self.args.append(value)
        return f"${len(self.args)}"

    def equals(self, column: str, value: object | None) -> None:
        """`column = value`, unless `value` is None (no filter)."""
        if value is not None:
            self.clauses.append(f"{column} = {self.param(value)}")

    def add(self, clause: str) -> None:
        self.clauses.append(clause)


async def fetch_page(conn: asyncpg.Connection, table: str, where: Where,
                     key: tuple[str, str], after: tuple[dt.datetime, str] | None,
                     limit: int) -> list[asyncpg.Record]:
    """Up to `limit` rows of `table` matching `where`, ordered by the keyset `key` (a time and a
    UUID id), those after the keyset value `after` when it is given."""
    first, second = key
    if after is not None:
        after_first, after_id = where.param(after[0]), where.param(uuid.UUID(after[1]))
        where.add(f"({first}, {second}) > ({after_first}, {after_id})")
    limit_ = where.param(limit)
    return await conn.fetch(
        f"""SELECT * FROM {table} WHERE {' AND '.join(where.clauses)}
            ORDER BY {first}, {second} LIMIT {limit_}""",
        *where.args,
    )

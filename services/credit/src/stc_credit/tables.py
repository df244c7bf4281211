"""Faust tables of the credit app: derived state only, rebuildable from PostgreSQL.

`standings` holds the last standing the agent computed per USCC (changelog-backed, so a
restarted worker recovers it); it is a cache for stream processing, never the authority:
GetCreditStanding computes from the records in PostgreSQL.
"""

from __future__ import annotations

import faust


class StandingRow(faust.Record, serializer="json"):
    """One enterprise's derived standing."""

    uscc: str
    level: str
    active_records: int
    ban_until: str | None
    record_ids: list[str]
    as_of: str


def standings_table(app: faust.App, partitions: int) -> faust.Table:
    """The `standings` table, keyed by USCC, co-partitioned with stc.credit.record.v1."""
    return app.Table(
        "standings", key_type=str, value_type=StandingRow, partitions=partitions, default=None
    )

"""End-use checks (ECL Art. 17) and the overdue scan."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from stc_enduser.convert import party_from_pb, party_pb
from stc_enduser.domain.model import Authority, CheckStatus, EndUseCheck, Officer
from stc_enduser.storage import Where, fetch_page, parse_uuid


@dataclass(frozen=True)
class StoredCheck:
    """A check with its party as protobuf JSON and when the scan first found it overdue."""

    check: EndUseCheck
    party_pb: dict
    overdue_detected_at: dt.datetime | None


def _stored(row: asyncpg.Record) -> StoredCheck:
    check = EndUseCheck(
        check_id=str(row["check_id"]),
        licence_id=row["licence_id"],
        exporter_uscc=row["exporter_uscc"],
        authority=Authority(row["authority"]),
        party=party_from_pb(party_pb(row["party"])),
        deadline=row["deadline"],
        scheduled_by=Officer(row["scheduled_by"], Authority(row["authority"])),
        scheduled_at=row["scheduled_at"],
        status=CheckStatus(row["status"]),
        outcome_details=row["outcome_details"],
        recorded_by=Officer(row["recorded_by"], Authority(row["recorded_by_authority"]))
        if row["recorded_by"]
        else None,
        recorded_at=row["recorded_at"],
        overdue_confirmed=row["overdue_confirmed"],
        failure_to_report=row["failure_to_report"],
    )
    return StoredCheck(check, row["party"], row["overdue_detected_at"])


class CheckRepository:
    """End-use checks (SQL over one connection)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, check: EndUseCheck, party_json: dict) -> None:
        """Store a newly scheduled check."""
        await self.conn.execute(
            """INSERT INTO end_use_checks (check_id, licence_id, exporter_uscc, authority, party,
                   deadline, scheduled_by, scheduled_at, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            uuid.UUID(check.check_id), check.licence_id, check.exporter_uscc, check.authority.value,
            party_json, check.deadline, check.scheduled_by.officer_id, check.scheduled_at,
            check.status.value,
        )

    async def save_outcome(self, check: EndUseCheck) -> None:
        """Store the outcome of a closed check."""
        assert check.recorded_by is not None
        await self.conn.execute(
            """UPDATE end_use_checks
                  SET status = $2, outcome_details = $3, recorded_by = $4, recorded_by_authority = $5,
                      recorded_at = $6, overdue_confirmed = $7, failure_to_report = $8
                WHERE check_id = $1""",
            uuid.UUID(check.check_id), check.status.value, check.outcome_details,
            check.recorded_by.officer_id, check.recorded_by.authority.value, check.recorded_at,
            check.overdue_confirmed, check.failure_to_report,
        )

    async def get(self, check_id: str, *, for_update: bool = False
                  ) -> StoredCheck | None:
        """One check by id (None for an unknown or malformed id)."""
        cid = parse_uuid(check_id)
        if cid is None:
            return None
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT * FROM end_use_checks WHERE check_id = $1{lock}", cid)
        return _stored(row) if row else None

    async def due_unflagged(self, now: dt.datetime, limit: int = 100
                            ) -> list[StoredCheck]:
        """Scheduled checks past their deadline that the scan has not flagged yet (locked)."""
        rows = await self.conn.fetch(
            """SELECT * FROM end_use_checks
                WHERE status = 'SCHEDULED' AND deadline < $1 AND overdue_detected_at IS NULL
                ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now, limit,
        )
        return [_stored(r) for r in rows]

    async def flag_overdue(self, check_id: str, at: dt.datetime) -> None:
        """Note when a check was found overdue (its status does not change)."""
        await self.conn.execute(
            "UPDATE end_use_checks SET overdue_detected_at = $2 WHERE check_id = $1",
            uuid.UUID(check_id), at,
        )

    async def page(
        self,
        *,
        authority: str | None,
        licence_id: str | None,
        open_only: bool,
        overdue_at: dt.datetime | None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[StoredCheck]:
        """Checks by deadline, soonest first, filtered; keyset pagination after (deadline, id)."""
        where = Where()
        where.equals("authority", authority)
        where.equals("licence_id", licence_id)
        if open_only or overdue_at is not None:
            where.add("status = 'SCHEDULED'")
        if overdue_at is not None:
            where.add(f"deadline < {where.param(overdue_at)}")
        rows = await fetch_page(self.conn, "end_use_checks", where, ("deadline", "check_id"),
                                after, limit)
        return [_stored(r) for r in rows]

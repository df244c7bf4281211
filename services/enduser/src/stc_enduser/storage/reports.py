"""Change reports, their yearly reference sequence and the ReportChange request ids."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from stc_enduser.convert import party_from_pb, party_pb
from stc_enduser.domain.model import (
    Authority,
    ChangeKind,
    ChangeReport,
    Document,
    LicenceElement,
    Officer,
    ReporterRole,
    ReportStatus,
    Resolution,
    ResolutionKind,
)
from stc_enduser.storage import Where, fetch_page, parse_uuid


@dataclass(frozen=True)
class StoredReport:
    """A report with what the domain does not model: the protobuf JSON of party and documents."""

    report: ChangeReport
    new_end_user_pb: dict | None
    documents_pb: list[dict]
    recommended: ResolutionKind
    basis: tuple[str, ...]
    screen_new_end_user: bool
    elements: tuple[str, ...]


def _stored(row: asyncpg.Record) -> StoredReport:
    resolution = None
    if row["resolution"]:
        kind = ResolutionKind(row["resolution"])
        resolution = Resolution(
            kind=kind,
            reasons=tuple(row["resolution_reasons"]),
            amended_elements=frozenset(LicenceElement(e) for e in row["elements"])
            if kind is ResolutionKind.ACCEPT_AMENDMENT
            else frozenset(),
        )
    new_end_user = row["new_end_user"]
    report = ChangeReport(
        report_id=str(row["report_id"]),
        reference=row["reference"],
        licence_id=row["licence_id"],
        exporter_uscc=row["exporter_uscc"],
        authority=Authority(row["authority"]),
        reporter_role=ReporterRole(row["reporter_role"]),
        reporter_id=row["reporter_id"],
        kind=ChangeKind(row["kind"]),
        details=row["details"],
        reported_at=row["reported_at"],
        new_end_user=party_from_pb(party_pb(new_end_user)) if new_end_user else None,
        new_end_use=row["new_end_use"],
        documents=tuple(
            Document(name=d.get("title") or d.get("document_id", ""), sha256=d.get("sha256", ""))
            for d in row["documents"]
        ),
        subject_party_id=row["subject_party_id"],
        status=ReportStatus(row["status"]),
        resolution=resolution,
        resolved_by=Officer(row["resolved_by"], Authority(row["resolved_by_authority"]))
        if row["resolved_by"]
        else None,
        resolved_at=row["resolved_at"],
    )
    return StoredReport(
        report=report,
        new_end_user_pb=new_end_user,
        documents_pb=list(row["documents"]),
        recommended=ResolutionKind(row["recommended"]),
        basis=tuple(row["basis"]),
        screen_new_end_user=row["screen_new_end_user"],
        elements=tuple(row["elements"]),
    )


class ReportRepository:
    """Change reports, their reference numbers and request ids (SQL over one connection)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def next_sequence(self, year: int) -> int:
        """The next reference number of `year` (gapless: the row stays locked until commit)."""
        return await self.conn.fetchval(
            """INSERT INTO report_sequences (year, last) VALUES ($1, 1)
               ON CONFLICT (year) DO UPDATE SET last = report_sequences.last + 1
               RETURNING last""",
            year,
        )

    async def claim_request(
        self, caller: str, request_id: str, request_hash: str, report_id: str
    ) -> tuple[str, str] | None:
        """Claim `request_id` for a new report; if taken, return (report_id, hash) of the first.

        A concurrent claim of the same id waits on the primary key until the first transaction
        ends, then sees its row (or claims the id when the first rolled back).
        """
        claimed = await self.conn.fetchval(
            """INSERT INTO report_requests (caller, request_id, request_hash, report_id)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
            caller, request_id, request_hash, uuid.UUID(report_id),
        )
        if claimed:
            return None
        row = await self.conn.fetchrow(
            "SELECT report_id, request_hash FROM report_requests WHERE caller = $1 AND request_id = $2",
            caller, request_id,
        )
        return str(row["report_id"]), row["request_hash"]

    async def insert(
        self,
        report: ChangeReport,
        *,
        new_end_user_pb: dict | None,
        documents_pb: list[dict],
        recommended: ResolutionKind,
        basis: tuple[str, ...],
        screen_new_end_user: bool,
    ) -> None:
        """Store a newly accepted report."""
        await self.conn.execute(
            """INSERT INTO change_reports (report_id, reference, licence_id, exporter_uscc, authority,
                   reporter_role, reporter_id, kind, details, new_end_user, new_end_use, documents,
                   subject_party_id, status, reported_at, recommended, basis, screen_new_end_user)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                       $18)""",
            uuid.UUID(report.report_id), report.reference, report.licence_id, report.exporter_uscc,
            report.authority.value, report.reporter_role.value, report.reporter_id, report.kind.value,
            report.details, new_end_user_pb, report.new_end_use, documents_pb,
            report.subject_party_id, report.status.value, report.reported_at, recommended.value,
            list(basis), screen_new_end_user,
        )

    async def save_resolution(
        self, report: ChangeReport, elements: list[str]
    ) -> None:
        """Store the resolution of a report (status, decision, reasons, elements, officer)."""
        assert report.resolution is not None and report.resolved_by is not None
        await self.conn.execute(
            """UPDATE change_reports
                  SET status = $2, resolution = $3, resolution_reasons = $4, elements = $5,
                      resolved_by = $6, resolved_by_authority = $7, resolved_at = $8
                WHERE report_id = $1""",
            uuid.UUID(report.report_id), report.status.value, report.resolution.kind.value,
            list(report.resolution.reasons), elements, report.resolved_by.officer_id,
            report.resolved_by.authority.value, report.resolved_at,
        )

    async def get(self, report_id: str, *, for_update: bool = False
                  ) -> StoredReport | None:
        """One report by id (None for an unknown or malformed id)."""
        rid = parse_uuid(report_id)
        if rid is None:
            return None
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT * FROM change_reports WHERE report_id = $1{lock}", rid)
        return _stored(row) if row else None

    async def of_licence(self, licence_id: str) -> list[ChangeReport]:
        """Every report on a licence, oldest first."""
        rows = await self.conn.fetch(
            "SELECT * FROM change_reports WHERE licence_id = $1 ORDER BY reported_at, report_id",
            licence_id,
        )
        return [_stored(r).report for r in rows]

    async def page(
        self,
        *,
        exporter_uscc: str | None,
        authority: str | None,
        licence_id: str | None,
        open_only: bool,
        after: tuple[dt.datetime, str] | None,
        limit: int,
        reporter: tuple[str, str] | None = None,
    ) -> list[StoredReport]:
        """Reports oldest first, filtered; keyset pagination after (reported_at, report_id).

        `reporter` = (role, id) keeps only the reports made by that reporter."""
        where = Where()
        role, rid = reporter if reporter is not None else (None, None)
        for column, value in (("exporter_uscc", exporter_uscc), ("authority", authority),
                              ("licence_id", licence_id), ("reporter_role", role),
                              ("reporter_id", rid)):
            where.equals(column, value)
        if open_only:
            where.add("status = 'OPEN'")
        rows = await fetch_page(self.conn, "change_reports", where, ("reported_at", "report_id"),
                                after, limit)
        return [_stored(r) for r in rows]

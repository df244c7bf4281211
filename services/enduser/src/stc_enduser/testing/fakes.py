"""In-memory fakes of the end-user unit of work, for unit tests of the use cases.

`FakeEndUserStore` holds the tables (reports, request ids, reference sequences, checks,
the licence projection) and the outbox; `FakeEndUserUnitOfWork` exposes the same
repositories as `stc_enduser.storage.uow.EndUserUnitOfWork` over it. `store.transaction()`
opens one: what it wrote is undone when the block raises, as a rolled-back transaction is
(stc_common.testing.fakes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from stc_common.testing.fakes import FakeStore, FakeUnitOfWork

from stc_enduser.domain.model import (
    ChangeReport,
    CheckStatus,
    EndUseCheck,
    LicenceStatus,
    ReportStatus,
    ResolutionKind,
)
from stc_enduser.storage.checks import StoredCheck
from stc_enduser.storage.licences import LicenceRecord, licence_record
from stc_enduser.storage.reports import StoredReport


class FakeEndUserStore(FakeStore["FakeEndUserUnitOfWork"]):
    """Every end-user table and the outbox, in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, StoredReport] = {}
        self.requests: dict[tuple[str, str], tuple[str, str]] = {}
        self.sequences: dict[int, int] = {}
        self.checks: dict[str, StoredCheck] = {}
        self.licences: dict[str, dict[str, Any]] = {}

    def unit_of_work(self) -> FakeEndUserUnitOfWork:
        return FakeEndUserUnitOfWork(self)


class FakeReports:
    """In-memory ReportRepository."""

    def __init__(self, store: FakeEndUserStore) -> None:
        self.s = store

    async def next_sequence(self, year: int) -> int:
        self.s.sequences[year] = self.s.sequences.get(year, 0) + 1
        return self.s.sequences[year]

    async def claim_request(self, caller: str, request_id: str, request_hash: str,
                            report_id: str) -> tuple[str, str] | None:
        earlier = self.s.requests.get((caller, request_id))
        if earlier is not None:
            return earlier
        self.s.requests[(caller, request_id)] = (report_id, request_hash)
        return None

    async def insert(self, report: ChangeReport, *, new_end_user_pb: dict | None,
                     documents_pb: list[dict], recommended: ResolutionKind,
                     basis: tuple[str, ...], screen_new_end_user: bool) -> None:
        assert report.report_id not in self.s.reports
        assert all(r.report.reference != report.reference for r in self.s.reports.values())
        self.s.reports[report.report_id] = StoredReport(
            report, new_end_user_pb, list(documents_pb), recommended, tuple(basis),
            screen_new_end_user, ())

    async def save_resolution(self, report: ChangeReport, elements: list[str]) -> None:
        stored = self.s.reports[report.report_id]
        self.s.reports[report.report_id] = dataclasses.replace(stored, report=report,
                                                               elements=tuple(elements))

    async def get(self, report_id: str, *, for_update: bool = False) -> StoredReport | None:
        return self.s.reports.get(report_id)

    async def of_licence(self, licence_id: str) -> list[ChangeReport]:
        found = [r.report for r in self.s.reports.values() if r.report.licence_id == licence_id]
        return sorted(found, key=lambda r: (r.reported_at, r.report_id))

    async def page(self, *, exporter_uscc: str | None, authority: str | None,
                   licence_id: str | None, open_only: bool,
                   after: tuple[dt.datetime, str] | None, limit: int,
                   reporter: tuple[str, str] | None = None) -> list[StoredReport]:
        def keep(s: StoredReport) -> bool:
            r = s.report
            return ((exporter_uscc is None or r.exporter_uscc == exporter_uscc)
                    and (authority is None or r.authority.value == authority)
                    and (licence_id is None or r.licence_id == licence_id)
                    and (reporter is None or (r.reporter_role.value, r.reporter_id) == reporter)
                    and (not open_only or r.status is ReportStatus.OPEN)
                    and (after is None or (r.reported_at, r.report_id) > after))
        found = sorted((s for s in self.s.reports.values() if keep(s)),
                       key=lambda s: (s.report.reported_at, s.report.report_id))
        return found[:limit]


class FakeChecks:
    """In-memory CheckRepository."""

    def __init__(self, store: FakeEndUserStore) -> None:
        self.s = store

    async def insert(self, check: EndUseCheck, party_json: dict) -> None:
        assert check.check_id not in self.s.checks
        self.s.checks[check.check_id] = StoredCheck(check, party_json, None)

    async def save_outcome(self, check: EndUseCheck) -> None:
        self.s.checks[check.check_id] = dataclasses.replace(self.s.checks[check.check_id],
                                                            check=check)

    async def get(self, check_id: str, *, for_update: bool = False) -> StoredCheck | None:
        return self.s.checks.get(check_id)

    async def due_unflagged(self, now: dt.datetime, limit: int = 100) -> list[StoredCheck]:
        found = [c for c in self.s.checks.values()
                 if c.check.status is CheckStatus.SCHEDULED and c.check.deadline < now
                 and c.overdue_detected_at is None]
        return sorted(found, key=lambda c: c.check.deadline)[:limit]

    async def flag_overdue(self, check_id: str, at: dt.datetime) -> None:
        self.s.checks[check_id] = dataclasses.replace(self.s.checks[check_id],
                                                      overdue_detected_at=at)

    async def page(self, *, authority: str | None, licence_id: str | None, open_only: bool,
                   overdue_at: dt.datetime | None, after: tuple[dt.datetime, str] | None,
                   limit: int) -> list[StoredCheck]:
        def keep(s: StoredCheck) -> bool:
            c = s.check
            return ((authority is None or c.authority.value == authority)
                    and (licence_id is None or c.licence_id == licence_id)
                    and (not (open_only or overdue_at is not None)
                         or c.status is CheckStatus.SCHEDULED)
                    and (overdue_at is None or c.deadline < overdue_at)
                    and (after is None or (c.deadline, c.check_id) > after))
        found = sorted((s for s in self.s.checks.values() if keep(s)),
                       key=lambda s: (s.check.deadline, s.check.check_id))
        return found[:limit]


class FakeLicences:
    """In-memory LicenceRepository (the projection licensing's events build)."""

    def __init__(self, store: FakeEndUserStore) -> None:
        self.s = store

    async def get(self, licence_id: str) -> LicenceRecord | None:
        row = self.s.licences.get(licence_id)
        return licence_record(row) if row else None

    async def upsert_issued(self, *, licence_id: str, exporter_uscc: str, authority: str,
                            destination: str, parties: list[dict], item_codes: list[str],
                            event_id: str) -> bool:
        new = licence_id not in self.s.licences
        row = self.s.licences.setdefault(licence_id, {"status": LicenceStatus.ACTIVE.value,
                                                      "amended_elements": []})
        row.update(licence_id=licence_id, exporter_uscc=exporter_uscc, authority=authority,
                   destination=destination, parties=parties, item_codes=item_codes)
        return new

    async def set_status(self, licence_id: str, status: str) -> bool:
        row = self.s.licences.get(licence_id)
        if row is None or LicenceStatus(row["status"]).closed:
            return False
        row["status"] = str(status)
        return True

    async def add_amended(self, licence_id: str, elements: list[str]) -> bool:
        row = self.s.licences.get(licence_id)
        if row is None:
            return False
        row["amended_elements"] = sorted(set(row["amended_elements"]) | set(elements))
        return True


class FakeEndUserUnitOfWork(FakeUnitOfWork):
    """The fake of `EndUserUnitOfWork`: the same repositories, in memory."""

    def __init__(self, store: FakeEndUserStore) -> None:
        super().__init__(store)
        self.reports = FakeReports(store)
        self.checks = FakeChecks(store)
        self.licences = FakeLicences(store)

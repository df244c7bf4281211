"""Change-report use cases (ECL Art. 16, Regulations Art. 25): report, read, resolve.

A report is accepted at once (ChangeReported puts the licence on hold in licensing), read
by its exporter, the importer that made it, and the officers of the licence's authority,
and resolved by such an officer (ChangeResolved). Request ids follow stc_common.idempotency:
the same request replays the stored report; a different one under the same request_id is
ALREADY_EXISTS / REQUEST_ID_REUSED.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import NotFound
from stc_common.idempotency import replay_or_refuse
from stc_common.logging import get_logger

from stc_enduser.domain import rules
from stc_enduser.domain.errors import InvalidReport
from stc_enduser.domain.model import (
    ChangeKind,
    ChangeReportDraft,
    Document,
    Officer,
    Party,
    ReporterRole,
    Resolution,
    ScreenParty,
    reference_year,
)
from stc_enduser.events import outgoing
from stc_enduser.service.common import TOPIC, other_authority
from stc_enduser.storage.licences import LicenceRecord
from stc_enduser.storage.reports import StoredReport
from stc_enduser.storage.uow import EndUserUnitOfWork

log = get_logger("stc_enduser.service.reports")


@dataclass(frozen=True)
class ReportChange:
    """ReportChange by the exporter or the importer of the licence (ECL Art. 16, Reg. 25).

    `caller_uscc` is the exporter's USCC from its token; an importer (a foreign party with no
    USCC) comes with `importer_licence_id` and `importer_party_id` from its token instead.
    """

    caller_uscc: str
    request_id: str
    request_hash: str
    licence_id: str
    kind: ChangeKind | None
    details: str
    new_end_user: Party | None
    new_end_user_pb: dict | None
    new_end_use: str | None
    documents: tuple[Document, ...]
    documents_pb: list[dict]
    subject_party_id: str | None
    now: dt.datetime
    importer_licence_id: str | None = None
    importer_party_id: str | None = None

    @property
    def by_importer(self) -> bool:
        """True when the importer reports (its token binds one licence and party)."""
        return self.importer_party_id is not None

    @property
    def caller_key(self) -> str:
        """Whose request ids these are: the exporter's USCC, or the importer on its licence."""
        if self.by_importer:
            return f"importer:{self.importer_licence_id}:{self.importer_party_id}"
        return self.caller_uscc


@dataclass(frozen=True)
class ReportChangeResult:
    """The stored report; `replayed` when the request id had been answered before."""

    stored: StoredReport
    replayed: bool = False


async def _licence_for_exporter(uow: EndUserUnitOfWork, licence_id: str, uscc: str) -> LicenceRecord:
    lic = await uow.licences.get(licence_id) if licence_id else None
    # Another exporter's licence is indistinguishable from an unknown one (tenant isolation).
    if lic is None or lic.view.exporter_uscc != uscc:
        raise NotFound(f"licence {licence_id!r} not found", reason="LICENCE_NOT_FOUND")
    return lic


async def _licence_for_importer(uow: EndUserUnitOfWork, licence_id: str, token_licence: str,
                                party_id: str) -> LicenceRecord:
    # An importer token binds one licence and the importer's party on it: any other licence,
    # or a licence whose importer is another party, is indistinguishable from an unknown one.
    lic = (await uow.licences.get(licence_id)
           if licence_id and licence_id == token_licence else None)
    if lic is None or lic.view.importer_id != party_id:
        raise NotFound(f"licence {licence_id!r} not found", reason="LICENCE_NOT_FOUND")
    return lic


async def report_change(*, uow: EndUserUnitOfWork, cmd: ReportChange) -> ReportChangeResult:
    """Accept a change report at once, put the licence on hold (ChangeReported)."""
    report_id = str(uuid.uuid4())
    if cmd.request_id:
        earlier = await uow.reports.claim_request(cmd.caller_key, cmd.request_id, cmd.request_hash, report_id)
        if earlier is not None:
            first_id, first_hash = earlier
            # stc_common.idempotency: the same request replays, another is REQUEST_ID_REUSED
            replay_or_refuse(first_hash, cmd.request_hash, what="change report",
                             existing_id=first_id)
            stored = await uow.reports.get(first_id)
            assert stored is not None
            return ReportChangeResult(stored, replayed=True)

    if cmd.by_importer:
        lic = await _licence_for_importer(uow, cmd.licence_id, cmd.importer_licence_id or "",
                                          cmd.importer_party_id or "")
        role, reporter_id = ReporterRole.IMPORTER, cmd.importer_party_id or ""
    else:
        lic = await _licence_for_exporter(uow, cmd.licence_id, cmd.caller_uscc)
        role, reporter_id = ReporterRole.EXPORTER, cmd.caller_uscc
    rules.check_licence_open(cmd.licence_id, lic.status)
    draft = ChangeReportDraft(
        licence_id=cmd.licence_id, reporter_role=role,
        # an unspecified kind stays None so the rules report it with every other violation
        reporter_id=reporter_id, kind=cmd.kind,  # type: ignore[arg-type]
        details=cmd.details,
        new_end_user=cmd.new_end_user, new_end_use=cmd.new_end_use, documents=cmd.documents,
        subject_party_id=cmd.subject_party_id)
    violations = rules.validate_report(draft, lic.view)
    if violations:  # before a reference number is drawn
        raise InvalidReport(violations)
    sequence = await uow.reports.next_sequence(reference_year(cmd.now))
    accepted = rules.accept_report(draft, licence=lic.view, report_id=report_id,
                                   sequence=sequence, now=cmd.now)
    c = accepted.consequence
    assert c.recommended is not None
    await uow.reports.insert(accepted.report, new_end_user_pb=cmd.new_end_user_pb,
        documents_pb=cmd.documents_pb, recommended=c.recommended, basis=c.basis,
        screen_new_end_user=bool(c.of_type(ScreenParty)))
    await uow.publish(TOPIC, accepted.report.licence_id, outgoing.change_reported(
        accepted, new_end_user=cmd.new_end_user_pb, documents=cmd.documents_pb))
    log.info("change_report.accepted", report_id=report_id,
             reference=accepted.report.reference, licence_id=cmd.licence_id,
             kind=accepted.report.kind.value, reporter_role=role.value)
    stored = await uow.reports.get(report_id)
    assert stored is not None
    return ReportChangeResult(stored)


async def get_change_report(*, uow: EndUserUnitOfWork, principal: Principal, report_id: str
                            ) -> StoredReport:
    """One report: exporters their own only, importers the ones they made, officers their
    authority's; auditors any."""
    stored = await uow.reports.get(report_id)
    if stored is None or (principal.role is Role.EXPORTER
                          and not rules.visible_to_exporter(stored.report, principal.uscc or "")
                          ) or (principal.role is Role.IMPORTER
                                and not rules.visible_to_importer(
                                    stored.report, principal.licence_id or "",
                                    principal.party_id or "")
                                ) or other_authority(principal, stored.report.authority):
        raise NotFound(f"change report {report_id!r} not found", reason="REPORT_NOT_FOUND")
    return stored


@dataclass(frozen=True)
class ListReports:
    """ListChangeReports: filters and the page."""

    principal: Principal
    licence_id: str | None
    open_only: bool
    after: tuple[dt.datetime, str] | None
    limit: int


async def list_change_reports(*, uow: EndUserUnitOfWork, cmd: ListReports) -> list[StoredReport]:
    """Exporters: their own reports. Importers: the reports they made on their licence.
    Officers: their authority's, oldest first. Auditors: all."""
    p = cmd.principal
    if p.role is Role.IMPORTER:
        if cmd.licence_id is not None and cmd.licence_id != p.licence_id:
            return []
        return await uow.reports.page(
            exporter_uscc=None, authority=None, licence_id=p.licence_id,
            reporter=(ReporterRole.IMPORTER.value, p.party_id or ""),
            open_only=cmd.open_only, after=cmd.after, limit=cmd.limit)
    return await uow.reports.page(
        exporter_uscc=p.uscc if p.role is Role.EXPORTER else None,
        authority=p.authority.value if p.role is Role.OFFICER and p.authority else None,
        licence_id=cmd.licence_id, open_only=cmd.open_only, after=cmd.after, limit=cmd.limit)


@dataclass(frozen=True)
class ResolveChange:
    """ResolveChange by an officer."""

    officer: Officer
    report_id: str
    resolution: Resolution
    now: dt.datetime


async def resolve_change(*, uow: EndUserUnitOfWork, cmd: ResolveChange) -> StoredReport:
    """Resolve an open report (ChangeResolved); licensing applies it and releases the hold."""
    stored = await uow.reports.get(cmd.report_id, for_update=True)
    if stored is None or other_authority(cmd.officer, stored.report.authority):
        raise NotFound(f"change report {cmd.report_id!r} not found", reason="REPORT_NOT_FOUND")
    lic = await uow.licences.get(stored.report.licence_id)
    assert lic is not None  # a report references a projected licence (foreign key)
    resolved = rules.resolve(stored.report, cmd.resolution, cmd.officer, licence=lic.view,
                             now=cmd.now)
    elements = outgoing.resolved_elements(resolved)
    await uow.reports.save_resolution(resolved.report, elements)
    await uow.publish(TOPIC, resolved.report.licence_id, outgoing.change_resolved(resolved))
    log.info("change_report.resolved", report_id=cmd.report_id,
             resolution=cmd.resolution.kind.value, officer=cmd.officer.officer_id)
    out = await uow.reports.get(cmd.report_id)
    assert out is not None
    return out

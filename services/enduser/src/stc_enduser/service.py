"""Use cases of the end-user service: one transaction each, events through the outbox.

Every use case takes the unit of work and a command, loads what it needs, asks the domain
rules, stores the result and writes its event in the same transaction. Domain errors pass
through unchanged; `api/errors.py` maps them to gRPC statuses in one place. Visibility:
an exporter sees only its own licences' reports (another tenant's answers NOT_FOUND);
officers see and act on the reports and checks of their own authority's licences only
(ECL Arts. 16-17): another authority's report, check or licence answers NOT_FOUND, as
another tenant's does (the access table is api/access.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass

from stc_common.auth.jwt import Principal, Role
from stc_common.db.uow import UnitOfWork
from stc_common.errors import FailedPrecondition, FieldViolation, NotFound, ValidationFailed
from stc_common.kafka.topics import ENDUSER_CHANGE
from stc_common.logging import get_logger

from stc_enduser import publishing
from stc_enduser.convert import party_from_pb, party_pb
from stc_enduser.domain import rules
from stc_enduser.domain.errors import InvalidReport, NotPermitted
from stc_enduser.domain.model import (
    Authority,
    ChangeKind,
    ChangeReportDraft,
    CheckOutcome,
    Document,
    Officer,
    Party,
    ReporterRole,
    Resolution,
    ScreenParty,
    reference_year,
)
from stc_enduser.storage import checks as check_repo
from stc_enduser.storage import licences as licence_repo
from stc_enduser.storage import reports as report_repo
from stc_enduser.storage.checks import StoredCheck
from stc_enduser.storage.licences import EXPIRED, REVOKED, LicenceRecord
from stc_enduser.storage.reports import StoredReport

TOPIC = ENDUSER_CHANGE.name
log = get_logger("stc_enduser.service")


def utcnow() -> dt.datetime:
    """The current time, UTC."""
    return dt.datetime.now(dt.UTC)


def officer_of(p: Principal) -> Officer:
    """The domain officer of an officer principal."""
    assert p.authority is not None
    return Officer(p.subject, Authority(p.authority.value))


def _other_authority(principal: Principal | Officer, authority: Authority) -> bool:
    """True when an officer of another authority than `authority` asks (it sees nothing)."""
    if isinstance(principal, Officer):
        return principal.authority != authority
    return principal.role is Role.OFFICER and (
        principal.authority is None or principal.authority.value != authority.value)


# --- change reports (ECL Art. 16, Regulations Art. 25) -------------------------------------


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


async def _licence_for_exporter(uow: UnitOfWork, licence_id: str, uscc: str) -> LicenceRecord:
    lic = await licence_repo.get(uow.conn, licence_id) if licence_id else None
    # Another exporter's licence is indistinguishable from an unknown one (tenant isolation).
    if lic is None or lic.view.exporter_uscc != uscc:
        raise NotFound(f"licence {licence_id!r} not found", reason="LICENCE_NOT_FOUND")
    return lic


async def _licence_for_importer(uow: UnitOfWork, licence_id: str, token_licence: str,
                                party_id: str) -> LicenceRecord:
    # An importer token binds one licence and the importer's party on it: any other licence,
    # or a licence whose importer is another party, is indistinguishable from an unknown one.
    lic = (await licence_repo.get(uow.conn, licence_id)
           if licence_id and licence_id == token_licence else None)
    if lic is None or lic.view.importer_id != party_id:
        raise NotFound(f"licence {licence_id!r} not found", reason="LICENCE_NOT_FOUND")
    return lic


async def report_change(*, uow: UnitOfWork, cmd: ReportChange) -> ReportChangeResult:
    """Accept a change report at once, put the licence on hold (ChangeReported)."""
    report_id = str(uuid.uuid4())
    if cmd.request_id:
        earlier = await report_repo.claim_request(
            uow.conn, cmd.caller_key, cmd.request_id, cmd.request_hash, report_id)
        if earlier is not None:
            first_id, first_hash = earlier
            if first_hash != cmd.request_hash:
                raise FailedPrecondition(
                    f"request_id {cmd.request_id!r} was used for a different report",
                    reason="REQUEST_ID_REUSED")
            stored = await report_repo.get(uow.conn, first_id)
            assert stored is not None
            return ReportChangeResult(stored, replayed=True)

    if cmd.by_importer:
        lic = await _licence_for_importer(uow, cmd.licence_id, cmd.importer_licence_id or "",
                                          cmd.importer_party_id or "")
        role, reporter_id = ReporterRole.IMPORTER, cmd.importer_party_id or ""
    else:
        lic = await _licence_for_exporter(uow, cmd.licence_id, cmd.caller_uscc)
        role, reporter_id = ReporterRole.EXPORTER, cmd.caller_uscc
    if lic.status in (REVOKED, EXPIRED):
        raise FailedPrecondition(
            f"licence {cmd.licence_id} is {lic.status.lower()}: nothing left to report on",
            reason=f"LICENCE_{lic.status}")
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
    sequence = await report_repo.next_sequence(uow.conn, reference_year(cmd.now))
    accepted = rules.accept_report(draft, licence=lic.view, report_id=report_id,
                                   sequence=sequence, now=cmd.now)
    c = accepted.consequence
    assert c.recommended is not None
    await report_repo.insert(
        uow.conn, accepted.report, new_end_user_pb=cmd.new_end_user_pb,
        documents_pb=cmd.documents_pb, recommended=c.recommended, basis=c.basis,
        screen_new_end_user=bool(c.of_type(ScreenParty)))
    await uow.publish(TOPIC, accepted.report.licence_id, publishing.change_reported(
        accepted, new_end_user=cmd.new_end_user_pb, documents=cmd.documents_pb))
    log.info("change_report.accepted", report_id=report_id,
             reference=accepted.report.reference, licence_id=cmd.licence_id,
             kind=accepted.report.kind.value, reporter_role=role.value)
    stored = await report_repo.get(uow.conn, report_id)
    assert stored is not None
    return ReportChangeResult(stored)


async def get_change_report(*, uow: UnitOfWork, principal: Principal, report_id: str
                            ) -> StoredReport:
    """One report: exporters their own only, importers the ones they made, officers their
    authority's; auditors any."""
    stored = await report_repo.get(uow.conn, report_id)
    if stored is None or (principal.role is Role.EXPORTER
                          and not rules.visible_to_exporter(stored.report, principal.uscc or "")
                          ) or (principal.role is Role.IMPORTER
                                and not rules.visible_to_importer(
                                    stored.report, principal.licence_id or "",
                                    principal.party_id or "")
                                ) or _other_authority(principal, stored.report.authority):
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


async def list_change_reports(*, uow: UnitOfWork, cmd: ListReports) -> list[StoredReport]:
    """Exporters: their own reports. Importers: the reports they made on their licence.
    Officers: their authority's, oldest first. Auditors: all."""
    p = cmd.principal
    if p.role is Role.IMPORTER:
        if cmd.licence_id is not None and cmd.licence_id != p.licence_id:
            return []
        return await report_repo.page(
            uow.conn, exporter_uscc=None, authority=None, licence_id=p.licence_id,
            reporter=(ReporterRole.IMPORTER.value, p.party_id or ""),
            open_only=cmd.open_only, after=cmd.after, limit=cmd.limit)
    return await report_repo.page(
        uow.conn,
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


async def resolve_change(*, uow: UnitOfWork, cmd: ResolveChange) -> StoredReport:
    """Resolve an open report (ChangeResolved); licensing applies it and releases the hold."""
    stored = await report_repo.get(uow.conn, cmd.report_id, for_update=True)
    if stored is None or _other_authority(cmd.officer, stored.report.authority):
        raise NotFound(f"change report {cmd.report_id!r} not found", reason="REPORT_NOT_FOUND")
    lic = await licence_repo.get(uow.conn, stored.report.licence_id)
    assert lic is not None  # a report references a projected licence (foreign key)
    resolved = rules.resolve(stored.report, cmd.resolution, cmd.officer, licence=lic.view,
                             now=cmd.now)
    elements = publishing.resolved_elements(resolved)
    await report_repo.save_resolution(uow.conn, resolved.report, elements)
    await uow.publish(TOPIC, resolved.report.licence_id, publishing.change_resolved(resolved))
    log.info("change_report.resolved", report_id=cmd.report_id,
             resolution=cmd.resolution.kind.value, officer=cmd.officer.officer_id)
    out = await report_repo.get(uow.conn, cmd.report_id)
    assert out is not None
    return out


# --- end-use checks (ECL Art. 17, Regulations Art. 26) -------------------------------------


@dataclass(frozen=True)
class ScheduleCheck:
    """ScheduleEndUseCheck by an officer."""

    officer: Officer
    licence_id: str
    party_id: str
    deadline: dt.datetime | None
    now: dt.datetime


async def schedule_end_use_check(*, uow: UnitOfWork, cmd: ScheduleCheck) -> StoredCheck:
    """Schedule a check of a party on a licence (EndUseCheckScheduled).

    Allowed on licences in any status: post-shipment checks happen after a licence is used,
    expired or revoked.
    """
    lic = await licence_repo.get(uow.conn, cmd.licence_id) if cmd.licence_id else None
    if lic is None or _other_authority(cmd.officer, lic.view.authority):
        raise NotFound(f"licence {cmd.licence_id!r} not found", reason="LICENCE_NOT_FOUND")
    party_json = lic.party(cmd.party_id) if cmd.party_id else None
    violations: list[FieldViolation] = []
    if not cmd.party_id:
        violations.append(FieldViolation("party_id", "required"))
    elif party_json is None or not lic.view.has_party(cmd.party_id):
        violations.append(FieldViolation("party_id", "not a party to the licence"))
    if cmd.deadline is None:
        violations.append(FieldViolation("deadline", "required"))
    if violations:
        if cmd.officer.authority != lic.view.authority:  # as in the domain: authority first
            raise NotPermitted(f"officer of {cmd.officer.authority} may not act on licence "
                               f"{lic.view.licence_id} of {lic.view.authority}")
        raise ValidationFailed(violations)
    assert party_json is not None and cmd.deadline is not None
    check = rules.schedule_check(
        check_id=str(uuid.uuid4()), licence=lic.view, party=party_from_pb(party_pb(party_json)),
        deadline=cmd.deadline, officer=cmd.officer, now=cmd.now)
    await check_repo.insert(uow.conn, check, party_json)
    await uow.publish(TOPIC, check.licence_id, publishing.check_scheduled(check, party_json))
    log.info("end_use_check.scheduled", check_id=check.check_id, licence_id=check.licence_id,
             party_id=cmd.party_id, deadline=check.deadline.isoformat())
    return StoredCheck(check, party_json, None)


async def _check_for_update(uow: UnitOfWork, check_id: str, officer: Officer) -> StoredCheck:
    stored = await check_repo.get(uow.conn, check_id, for_update=True)
    if stored is None or _other_authority(officer, stored.check.authority):
        raise NotFound(f"end-use check {check_id!r} not found", reason="CHECK_NOT_FOUND")
    return stored


@dataclass(frozen=True)
class RecordOutcome:
    """RecordEndUseCheckOutcome by an officer."""

    officer: Officer
    check_id: str
    outcome: CheckOutcome
    now: dt.datetime


async def record_end_use_check_outcome(*, uow: UnitOfWork, cmd: RecordOutcome) -> StoredCheck:
    """Record what a check found (EndUseCheckCompleted); a diversion with no earlier report
    on the licence is a failure to report (ECL Art. 16)."""
    stored = await _check_for_update(uow, cmd.check_id, cmd.officer)
    reports = await report_repo.of_licence(uow.conn, stored.check.licence_id)
    recorded = rules.record_outcome(stored.check, cmd.outcome, officer=cmd.officer, now=cmd.now,
                                    reports=reports)
    return await _close(uow, stored, recorded)


@dataclass(frozen=True)
class ConfirmOverdue:
    """ConfirmOverdueCheck by an officer."""

    officer: Officer
    check_id: str
    details: str
    now: dt.datetime


async def confirm_overdue_check(*, uow: UnitOfWork, cmd: ConfirmOverdue) -> StoredCheck:
    """An officer confirms an overdue check: NOT_COOPERATING, watch list (Reg. 26)."""
    stored = await _check_for_update(uow, cmd.check_id, cmd.officer)
    recorded = rules.confirm_overdue(stored.check, officer=cmd.officer, now=cmd.now,
                                     details=cmd.details)
    return await _close(uow, stored, recorded)


async def _close(uow: UnitOfWork, stored: StoredCheck, recorded) -> StoredCheck:
    check = recorded.check
    await check_repo.save_outcome(uow.conn, check)
    event = publishing.check_completed(recorded, stored.party_pb)
    await uow.publish(TOPIC, check.licence_id, event)
    log.info("end_use_check.completed", check_id=check.check_id, outcome=check.status.value,
             failure_to_report=check.failure_to_report,
             overdue_confirmed=check.overdue_confirmed)
    return dataclasses.replace(stored, check=check)


async def get_end_use_check(*, uow: UnitOfWork, principal: Principal, check_id: str
                            ) -> StoredCheck:
    """One check: officers of the licence's authority, auditors any."""
    stored = await check_repo.get(uow.conn, check_id)
    if stored is None or _other_authority(principal, stored.check.authority):
        raise NotFound(f"end-use check {check_id!r} not found", reason="CHECK_NOT_FOUND")
    return stored


@dataclass(frozen=True)
class ListChecks:
    """ListEndUseChecks: filters and the page."""

    principal: Principal
    licence_id: str | None
    open_only: bool
    overdue_only: bool
    after: tuple[dt.datetime, str] | None
    limit: int
    now: dt.datetime


async def list_end_use_checks(*, uow: UnitOfWork, cmd: ListChecks) -> list[StoredCheck]:
    """Officers: their authority's checks, soonest deadline first. Auditors: all."""
    p = cmd.principal
    return await check_repo.page(
        uow.conn,
        authority=p.authority.value if p.role is Role.OFFICER and p.authority else None,
        licence_id=cmd.licence_id, open_only=cmd.open_only,
        overdue_at=cmd.now if cmd.overdue_only else None, after=cmd.after, limit=cmd.limit)


async def flag_overdue_checks(*, uow: UnitOfWork, now: dt.datetime) -> int:
    """Find checks past their deadline with no outcome and announce them (EndUseCheckOverdue).

    Changes no outcome: an overdue check counts as NOT_COOPERATING only when an officer
    confirms it (Regulations Art. 26, ConfirmOverdueCheck).
    """
    found = 0
    for stored in await check_repo.due_unflagged(uow.conn, now):
        if not rules.overdue(stored.check, now):
            continue
        await check_repo.flag_overdue(uow.conn, stored.check.check_id, now)
        await uow.publish(TOPIC, stored.check.licence_id,
                          publishing.check_overdue(stored.check, stored.party_pb, now))
        log.info("end_use_check.overdue", check_id=stored.check.check_id,
                 licence_id=stored.check.licence_id, deadline=stored.check.deadline.isoformat())
        found += 1
    return found

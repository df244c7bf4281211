"""The rules of the end-user service: pure functions from values to new values and consequences.

Nothing here reads a clock, a database or a topic: callers pass `now`, ids, the licence
snapshot (`LicenceView`) and the earlier reports. Each decision returns the new value plus a
`Consequence` whose effects the wiring step turns into events (ChangeReported,
ChangeResolved, EndUseCheckCompleted on stc.enduser.change.v1).

Errors: `InvalidReport` (field violations), `IllegalTransition`, `LicenceClosed`,
`NotPermitted`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

from stc_common.uscc import UsccError, validate_uscc

from .errors import FieldViolation, IllegalTransition, InvalidReport, LicenceClosed, NotPermitted
from .model import (
    CERTIFICATE_KINDS,
    END_USE_KINDS,
    END_USER_KINDS,
    KEY_ELEMENTS,
    AddToWatchList,
    AmendLicence,
    ChangeKind,
    ChangeReport,
    ChangeReportDraft,
    CheckOutcome,
    CheckRecorded,
    CheckStatus,
    Consequence,
    Document,
    Effect,
    EndUseCheck,
    HoldLicence,
    LicenceElement,
    LicenceStatus,
    LicenceView,
    Officer,
    OpenViolationCase,
    Party,
    ReleaseHold,
    ReportAccepted,
    ReporterRole,
    ReportResolved,
    ReportStatus,
    RequireReapplication,
    Resolution,
    ResolutionKind,
    RevokeLicence,
    ScreenParty,
    SuspendLicence,
    ViolationKind,
    format_reference,
    reference_year,
)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
MAX_DETAILS = 10_000
MAX_DOCUMENTS = 50

ART_15 = "ECL Art. 15"
ART_16 = "ECL Art. 16"
ART_17 = "ECL Art. 17"
ART_18 = "ECL Art. 18"
REG_25 = "Regulations Art. 25"
REG_26 = "Regulations Art. 26"
KEY_ELEMENT_RULE = "Regulations Art. 17 (a key element changes: re-apply)"

# What the officer is advised to decide for each kind (Consequence.recommended). A forged
# certificate or one obtained by fraud undermines the licence itself (ECL Art. 15; fraud is
# ECL Art. 35(1): licence revoked), so the advice is stricter than for an expired one.
RECOMMENDED: dict[ChangeKind, ResolutionKind] = {
    ChangeKind.END_USER_CHANGED: ResolutionKind.REQUIRE_REAPPLICATION,
    ChangeKind.END_USER_MAY_CHANGE: ResolutionKind.REQUIRE_REAPPLICATION,
    ChangeKind.TRANSFER_TO_THIRD_PARTY: ResolutionKind.REQUIRE_REAPPLICATION,
    ChangeKind.END_USE_CHANGED: ResolutionKind.SUSPEND_LICENCE,
    ChangeKind.END_USE_MAY_CHANGE: ResolutionKind.SUSPEND_LICENCE,
    ChangeKind.CERTIFICATE_EXPIRED: ResolutionKind.ACCEPT_AMENDMENT,
    ChangeKind.CERTIFICATE_ALTERED: ResolutionKind.SUSPEND_LICENCE,
    ChangeKind.CERTIFICATE_FORGED: ResolutionKind.REVOKE_LICENCE,
    ChangeKind.CERTIFICATE_BY_FRAUD: ResolutionKind.REVOKE_LICENCE,
}

# Kinds that require the new end user / new end use in the report.
NEW_END_USER_REQUIRED = frozenset({ChangeKind.END_USER_CHANGED})
NEW_END_USE_REQUIRED = frozenset({ChangeKind.END_USE_CHANGED})

# Kinds a change report about which counts as reporting a later-found diversion (Art. 16).
DIVERSION_REPORT_KINDS = END_USER_KINDS | END_USE_KINDS


def _require_aware(name: str, value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


# --- change reports ------------------------------------------------------------------------


def validate_party(party: Party, path: str) -> list[FieldViolation]:
    """Field violations of a party: name required (any script), ISO alpha-2 country, identifiers."""
    out: list[FieldViolation] = []
    if _blank(party.name):
        out.append(FieldViolation(f"{path}.name", "required"))
    if not isinstance(party.country, str) or not COUNTRY_RE.match(party.country):
        out.append(FieldViolation(f"{path}.country", "must be an ISO 3166-1 alpha-2 code, e.g. DE"))
    for i, ident in enumerate(party.identifiers):
        if _blank(ident.scheme):
            out.append(FieldViolation(f"{path}.identifiers[{i}].scheme", "required"))
        if _blank(ident.value):
            out.append(FieldViolation(f"{path}.identifiers[{i}].value", "required"))
    return out


def validate_documents(
    documents: tuple[Document, ...], path: str = "documents"
) -> list[FieldViolation]:
    """Field violations of documents: name required, sha256 64 hex digits, no duplicates."""
    out: list[FieldViolation] = []
    if len(documents) > MAX_DOCUMENTS:
        out.append(FieldViolation(path, f"at most {MAX_DOCUMENTS} documents"))
    seen: set[str] = set()
    for i, doc in enumerate(documents):
        if _blank(doc.name):
            out.append(FieldViolation(f"{path}[{i}].name", "required"))
        digest = doc.sha256.strip().lower() if isinstance(doc.sha256, str) else ""
        if not SHA256_RE.match(digest):
            out.append(FieldViolation(f"{path}[{i}].sha256", "must be 64 hexadecimal digits"))
        elif digest in seen:
            out.append(FieldViolation(f"{path}[{i}].sha256", "duplicate document"))
        seen.add(digest)
    return out


def check_licence_open(licence_id: str, status: LicenceStatus) -> None:
    """Refuse a report on a revoked or expired licence (LicenceClosed): the end user and end
    use of a licence no longer in force can no longer change under it (ECL Art. 16,
    Reg. 25). A suspended licence still takes reports: they may be why it was suspended."""
    if status.closed:
        raise LicenceClosed(licence_id, status)


def validate_report(draft: ChangeReportDraft, licence: LicenceView) -> list[FieldViolation]:
    """Every field violation of a ReportChange request against the licence it names."""
    out: list[FieldViolation] = []

    if _blank(draft.licence_id):
        out.append(FieldViolation("licence_id", "required"))
    elif draft.licence_id != licence.licence_id:
        out.append(FieldViolation("licence_id", "does not match the licence"))

    kind_ok = isinstance(draft.kind, ChangeKind)
    if not kind_ok:
        out.append(FieldViolation("kind", "must be one of " + ", ".join(ChangeKind)))

    # ECL Art. 16: the report comes from the exporter or the importer of this licence.
    if not isinstance(draft.reporter_role, ReporterRole):
        out.append(FieldViolation("reporter_role", "must be EXPORTER or IMPORTER"))
    elif _blank(draft.reporter_id):
        out.append(FieldViolation("reporter_id", "required"))
    elif draft.reporter_role is ReporterRole.EXPORTER:
        try:
            uscc = validate_uscc(draft.reporter_id)
        except UsccError as exc:
            out.append(FieldViolation("reporter_id", f"not a valid USCC: {exc}"))
        else:
            if uscc != licence.exporter_uscc:
                out.append(
                    FieldViolation("reporter_id", "the exporter is not a party to the licence")
                )
    elif draft.reporter_id != licence.importer_id:
        out.append(FieldViolation("reporter_id", "the importer is not a party to the licence"))

    if _blank(draft.details):
        out.append(FieldViolation("details", "required: say what happened"))
    elif len(draft.details) > MAX_DETAILS:
        out.append(FieldViolation("details", f"at most {MAX_DETAILS} characters"))

    if draft.new_end_user is not None:
        out.extend(validate_party(draft.new_end_user, "new_end_user"))
        if kind_ok and draft.kind not in END_USER_KINDS:
            out.append(
                FieldViolation(
                    "new_end_user", f"not expected for {draft.kind}: no end user changes"
                )
            )
    elif kind_ok and draft.kind in NEW_END_USER_REQUIRED:
        out.append(FieldViolation("new_end_user", f"required for {draft.kind}"))

    if draft.new_end_use is not None:
        if _blank(draft.new_end_use):
            out.append(FieldViolation("new_end_use", "must not be blank when given"))
        elif kind_ok and draft.kind not in END_USE_KINDS:
            out.append(
                FieldViolation("new_end_use", f"not expected for {draft.kind}: no end use changes")
            )
    elif kind_ok and draft.kind in NEW_END_USE_REQUIRED:
        out.append(FieldViolation("new_end_use", f"required for {draft.kind}"))

    out.extend(validate_documents(draft.documents))

    if draft.subject_party_id is not None and not licence.has_party(draft.subject_party_id):
        out.append(FieldViolation("subject_party_id", "not a party to the licence"))
    return out


def key_elements_touched(
    report: ChangeReport | ChangeReportDraft, licence: LicenceView
) -> frozenset[LicenceElement]:
    """The key elements (end user, destination, item) the reported change touches.

    A new end user or a transfer to a third party touches the end user; a new end user in
    another country than the licence's destination also touches the destination.
    """
    touched: set[LicenceElement] = set()
    if report.kind in END_USER_KINDS:
        touched.add(LicenceElement.END_USER)
    if (
        report.new_end_user is not None
        and report.new_end_user.country != licence.destination_country
    ):
        touched.add(LicenceElement.DESTINATION)
    return frozenset(touched)


def accept_report(
    draft: ChangeReportDraft,
    *,
    licence: LicenceView,
    report_id: str,
    sequence: int,
    now: dt.datetime,
) -> ReportAccepted:
    """Accept a change report at once (ECL Art. 16, Reg. 25) and say what follows now.

    The licence goes on hold while the report is open; a named new end user (end user
    changed or may change, transfer to a third party) is screened; the officer is advised
    per RECOMMENDED. Raises InvalidReport with every field violation.
    """
    _require_aware("now", now)
    violations = validate_report(draft, licence)
    if violations:
        raise InvalidReport(violations)

    documents = tuple(
        Document(name=d.name.strip(), sha256=d.sha256.strip().lower()) for d in draft.documents
    )
    reporter_id = (
        validate_uscc(draft.reporter_id)
        if draft.reporter_role is ReporterRole.EXPORTER
        else draft.reporter_id
    )
    report = ChangeReport(
        report_id=report_id,
        reference=format_reference(reference_year(now), sequence),
        licence_id=licence.licence_id,
        exporter_uscc=licence.exporter_uscc,
        authority=licence.authority,
        reporter_role=draft.reporter_role,
        reporter_id=reporter_id,
        kind=draft.kind,
        details=draft.details.strip(),
        reported_at=now,
        new_end_user=draft.new_end_user,
        new_end_use=draft.new_end_use.strip() if draft.new_end_use else None,
        documents=documents,
        subject_party_id=draft.subject_party_id,
    )

    effects: list[Effect] = [HoldLicence(licence_id=licence.licence_id, report_id=report_id)]
    if report.new_end_user is not None and report.kind in END_USER_KINDS:
        effects.append(
            ScreenParty(
                licence_id=licence.licence_id, report_id=report_id, party=report.new_end_user
            )
        )
    basis = [ART_16, REG_25]
    if report.kind in CERTIFICATE_KINDS:
        basis.insert(0, ART_15)
    return ReportAccepted(
        report=report,
        consequence=Consequence(
            effects=tuple(effects), recommended=RECOMMENDED[report.kind], basis=tuple(basis)
        ),
    )


def _check_authority(officer: Officer, authority: object, what: str) -> None:
    if officer.authority != authority:
        raise NotPermitted(
            f"officer of {officer.authority} may not act on {what} of {authority}: "
            "only the licence's competent authority"
        )


def resolve(
    report: ChangeReport,
    resolution: Resolution,
    officer: Officer,
    *,
    licence: LicenceView,
    now: dt.datetime,
) -> ReportResolved:
    """Resolve an open report; return the RESOLVED report and what licensing must apply.

    Order of checks: the officer's authority (NotPermitted), the report still open
    (IllegalTransition), the resolution's fields (InvalidReport), then the key-element rule:
    ACCEPT_AMENDMENT of a change touching the end user, destination or item is refused
    (IllegalTransition) — it must be REQUIRE_REAPPLICATION.
    """
    _require_aware("now", now)
    _check_authority(officer, report.authority, f"report {report.reference}")
    if licence.licence_id != report.licence_id:
        raise ValueError("licence snapshot does not belong to the report")
    if report.status is not ReportStatus.OPEN:
        raise IllegalTransition(f"report {report.reference} is {report.status}, not OPEN")

    violations: list[FieldViolation] = []
    if not isinstance(resolution.kind, ResolutionKind):
        violations.append(FieldViolation("resolution.kind", "must be a resolution kind"))
    reasons = tuple(r.strip() for r in resolution.reasons if isinstance(r, str) and r.strip())
    if not reasons:
        violations.append(FieldViolation("resolution.reasons", "at least one reason is required"))
    if resolution.kind is ResolutionKind.ACCEPT_AMENDMENT:
        if not resolution.amended_elements:
            violations.append(
                FieldViolation("resolution.amended_elements", "name the elements amended")
            )
        key = resolution.amended_elements & KEY_ELEMENTS
        if key:
            violations.append(
                FieldViolation(
                    "resolution.amended_elements",
                    "key elements cannot be amended, require re-application: "
                    + ", ".join(sorted(key)),
                )
            )
    elif resolution.amended_elements:
        violations.append(
            FieldViolation("resolution.amended_elements", "only for ACCEPT_AMENDMENT")
        )
    if violations:
        raise InvalidReport(violations)

    touched = key_elements_touched(report, licence)
    if resolution.kind is ResolutionKind.ACCEPT_AMENDMENT and touched:
        raise IllegalTransition(
            "the change touches a key element ("
            + ", ".join(sorted(touched))
            + "): an amendment cannot be accepted, require re-application"
        )

    lid, rid = report.licence_id, report.report_id
    reason_text = "; ".join(reasons)
    effects: list[Effect] = []
    basis: list[str] = [ART_16, REG_25]
    match resolution.kind:
        case ResolutionKind.ACCEPT_AMENDMENT:
            effects.append(AmendLicence(lid, rid, frozenset(resolution.amended_elements)))
        case ResolutionKind.REQUIRE_REAPPLICATION:
            # Name what must change; a stricter decision on a non-key change names none.
            effects.append(RequireReapplication(lid, rid, touched))
            basis.append(KEY_ELEMENT_RULE)
        case ResolutionKind.SUSPEND_LICENCE:
            effects.append(SuspendLicence(lid, rid, reason_text, f"{ART_16}; {REG_25}"))
        case ResolutionKind.REVOKE_LICENCE:
            effects.append(RevokeLicence(lid, rid, reason_text))
        case ResolutionKind.NO_ACTION:
            pass
    # The hold of this report ends with every resolution, after the stronger measure above,
    # so licensing never sees the licence usable in between.
    effects.append(ReleaseHold(lid, rid))

    resolved = dataclasses.replace(
        report,
        status=ReportStatus.RESOLVED,
        resolution=dataclasses.replace(resolution, reasons=reasons),
        resolved_by=officer,
        resolved_at=now,
    )
    return ReportResolved(
        report=resolved, consequence=Consequence(tuple(effects), basis=tuple(basis))
    )


def visible_to_exporter(report: ChangeReport, uscc: str) -> bool:
    """An exporter sees only reports on its own licences (tenant isolation)."""
    return report.exporter_uscc == uscc.strip().upper()


def visible_to_importer(report: ChangeReport, licence_id: str, party_id: str) -> bool:
    """An importer sees only the reports it made itself on its licence (ECL Art. 16)."""
    return (report.reporter_role is ReporterRole.IMPORTER and report.licence_id == licence_id
            and report.reporter_id == party_id)


def officer_queue(reports: Iterable[ChangeReport], authority: object) -> list[ChangeReport]:
    """Open reports of one authority, oldest first (ListChangeReports for officers)."""
    mine = [r for r in reports if r.authority == authority and r.is_open]
    return sorted(mine, key=lambda r: (r.reported_at, r.reference))


# --- end-use checks (ECL Art. 17) ----------------------------------------------------------


def schedule_check(
    *,
    check_id: str,
    licence: LicenceView,
    party: Party,
    deadline: dt.datetime,
    officer: Officer,
    now: dt.datetime,
) -> EndUseCheck:
    """Schedule an end-use check (ECL Art. 17) of a party on the licence, due by `deadline`."""
    _require_aware("now", now)
    _check_authority(officer, licence.authority, f"licence {licence.licence_id}")
    violations = validate_party(party, "party")
    if not licence.has_party(party.party_id):
        violations.append(FieldViolation("party.party_id", "not a party to the licence"))
    if not isinstance(deadline, dt.datetime) or deadline.tzinfo is None:
        violations.append(FieldViolation("deadline", "must be a timezone-aware time"))
    elif deadline <= now:
        violations.append(FieldViolation("deadline", "must be in the future"))
    if violations:
        raise InvalidReport(violations)
    return EndUseCheck(
        check_id=check_id,
        licence_id=licence.licence_id,
        exporter_uscc=licence.exporter_uscc,
        authority=licence.authority,
        party=party,
        deadline=deadline,
        scheduled_by=officer,
        scheduled_at=now,
    )


def overdue(check: EndUseCheck, now: dt.datetime) -> bool:
    """True when the check is past its deadline with no outcome recorded.

    Being overdue changes nothing by itself: it counts as NOT_COOPERATING only once an officer
    confirms it (confirm_overdue).
    """
    _require_aware("now", now)
    return check.status is CheckStatus.SCHEDULED and now > check.deadline


def reported_earlier(
    check: EndUseCheck, reports: Iterable[ChangeReport], found_at: dt.datetime
) -> bool:
    """True when a change report about the check's party or end use preceded the finding.

    A report counts when it is on the same licence, was made before `found_at`, is of an
    end-user, end-use or transfer kind, and is about that party: it names no subject party
    (the licence as a whole), names the party as its subject, or names it as the new end user.
    Certificate reports do not count: they do not disclose a diversion.
    """
    pid = check.party.party_id
    for r in reports:
        if r.licence_id != check.licence_id or r.reported_at >= found_at:
            continue
        if r.kind not in DIVERSION_REPORT_KINDS:
            continue
        new_id = r.new_end_user.party_id if r.new_end_user is not None else None
        if r.subject_party_id is None or r.subject_party_id == pid or new_id == pid:
            return True
    return False


def _close_check(
    check: EndUseCheck,
    status: CheckStatus,
    details: str,
    officer: Officer,
    now: dt.datetime,
    reports: Iterable[ChangeReport],
    *,
    overdue_confirmed: bool = False,
) -> CheckRecorded:
    lid, cid = check.licence_id, check.check_id
    effects: list[Effect] = []
    basis: list[str] = [ART_17]
    failure_to_report = False
    match status:
        case CheckStatus.VERIFIED:
            pass
        case CheckStatus.NOT_COOPERATING:
            effects.append(AddToWatchList(lid, cid, check.party))
            basis.append(REG_26)
        case CheckStatus.DIVERTED:
            effects.append(SuspendLicence(lid, cid, details, f"{ART_17}; {ART_16}"))
            effects.append(
                OpenViolationCase(
                    lid,
                    check.exporter_uscc,
                    ViolationKind.DIVERSION,
                    ART_16,
                    cid,
                    check.party.party_id,
                )
            )
            # Art. 16 / Reg. 25: the exporter had to report the change at once.
            failure_to_report = not reported_earlier(check, reports, now)
            if failure_to_report:
                effects.append(
                    OpenViolationCase(
                        lid,
                        check.exporter_uscc,
                        ViolationKind.FAILURE_TO_REPORT,
                        f"{ART_16}; {REG_25}",
                        cid,
                        check.party.party_id,
                    )
                )
            basis += [ART_16, ART_18]  # Art. 18: the officer may consider the control list
    closed = dataclasses.replace(
        check,
        status=status,
        outcome_details=details,
        recorded_by=officer,
        recorded_at=now,
        overdue_confirmed=overdue_confirmed,
        failure_to_report=failure_to_report,
    )
    return CheckRecorded(check=closed, consequence=Consequence(tuple(effects), basis=tuple(basis)))


def record_outcome(
    check: EndUseCheck,
    outcome: CheckOutcome,
    *,
    officer: Officer,
    now: dt.datetime,
    reports: Iterable[ChangeReport] = (),
) -> CheckRecorded:
    """Record what a check found (ECL Art. 17) and what follows.

    VERIFIED: nothing. NOT_COOPERATING: the party goes on the watch list (Reg. 26).
    DIVERTED: the licence is suspended and a DIVERSION violation case opened for credit; with
    no earlier change report about that party or use (`reports`: the licence's reports) the
    check is also marked a failure to report and a FAILURE_TO_REPORT case opened (ECL Art. 16).
    """
    _require_aware("now", now)
    _check_authority(officer, check.authority, f"check {check.check_id}")
    if check.status is not CheckStatus.SCHEDULED:
        raise IllegalTransition(f"check {check.check_id} is already {check.status}")
    violations: list[FieldViolation] = []
    if not isinstance(outcome.status, CheckStatus) or outcome.status is CheckStatus.SCHEDULED:
        violations.append(
            FieldViolation("outcome.status", "must be VERIFIED, NOT_COOPERATING or DIVERTED")
        )
    elif outcome.status is not CheckStatus.VERIFIED and _blank(outcome.details):
        violations.append(FieldViolation("outcome.details", f"required for {outcome.status}"))
    if violations:
        raise InvalidReport(violations)
    return _close_check(
        check, outcome.status, (outcome.details or "").strip(), officer, now, reports
    )


def confirm_overdue(
    check: EndUseCheck, *, officer: Officer, now: dt.datetime, details: str = ""
) -> CheckRecorded:
    """An officer confirms an overdue check: it counts as NOT_COOPERATING (Reg. 26).

    Refused (IllegalTransition) before the deadline or once an outcome is recorded.
    """
    _require_aware("now", now)
    _check_authority(officer, check.authority, f"check {check.check_id}")
    if check.status is not CheckStatus.SCHEDULED:
        raise IllegalTransition(f"check {check.check_id} is already {check.status}")
    if not overdue(check, now):
        raise IllegalTransition(
            f"check {check.check_id} is not overdue: its deadline is {check.deadline.isoformat()}"
        )
    text = details.strip() or f"no outcome by the deadline {check.deadline.isoformat()}"
    return _close_check(
        check, CheckStatus.NOT_COOPERATING, text, officer, now, (), overdue_confirmed=True
    )

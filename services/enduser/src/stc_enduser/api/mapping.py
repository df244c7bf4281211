"""Protobuf requests to commands, stored values to protobuf resources."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid

from stc.enduser.v1 import (
    change_report_pb2,
    end_use_check_pb2,
    enduser_service_pb2,
    events_pb2,
)
from stc_common.errors import FieldViolation, ValidationFailed

from stc_enduser.convert import document_from_pb, from_ts, party_from_pb, party_pb, to_dict, ts
from stc_enduser.domain import rules
from stc_enduser.domain.model import (
    ChangeKind,
    CheckOutcome,
    CheckStatus,
    LicenceElement,
    Resolution,
    ResolutionKind,
)
from stc_enduser.events import outgoing
from stc_enduser.storage.checks import StoredCheck
from stc_enduser.storage.reports import StoredReport

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def resource_id(name: str, collection: str) -> str:
    """The id in ``{collection}/{id}`` (a bare id is accepted too)."""
    prefix = f"{collection}/"
    return name[len(prefix):] if name.startswith(prefix) else name


def _enum_name(enum, number: int, prefix: str) -> str | None:
    if number == 0:
        return None
    try:
        return enum.Name(number).removeprefix(prefix)
    except ValueError:
        return None


def change_kind(number: int) -> ChangeKind | None:
    """The domain ChangeKind of a proto number (None when unspecified or unknown)."""
    name = _enum_name(events_pb2.ChangeKind, number, "CHANGE_KIND_")
    return ChangeKind(name) if name else None


def request_hash(request: enduser_service_pb2.ReportChangeRequest) -> str:
    """A digest of the request without its request_id (a retry must carry the same body)."""
    body = enduser_service_pb2.ReportChangeRequest()
    body.CopyFrom(request)
    body.request_id = ""
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def report_change_fields(request: enduser_service_pb2.ReportChangeRequest) -> dict:
    """The ReportChange command fields taken from the request."""
    new_end_user_pb = None
    new_end_user = None
    if request.HasField("new_end_user"):
        p = request.new_end_user
        new_end_user = party_from_pb(p)
        # the new end user is the party the exporter names; screening screens it as END_USER
        stored = to_dict(p)
        stored["role"] = "PARTY_ROLE_END_USER"
        new_end_user_pb = stored
    return dict(
        request_id=request.request_id.strip(),
        request_hash=request_hash(request),
        licence_id=request.licence_id.strip(),
        kind=change_kind(request.kind),
        details=request.details,
        new_end_user=new_end_user,
        new_end_user_pb=new_end_user_pb,
        new_end_use=request.new_end_use if request.new_end_use else None,
        documents=tuple(document_from_pb(d) for d in request.documents),
        documents_pb=[to_dict(d) for d in request.documents],
        subject_party_id=request.subject_party_id.strip() or None,
    )


def resolution(request: enduser_service_pb2.ResolveChangeRequest) -> Resolution:
    """The domain Resolution; unknown element names are field violations."""
    name = _enum_name(events_pb2.ResolutionKind, request.resolution, "RESOLUTION_KIND_")
    elements: set[LicenceElement] = set()
    bad: list[FieldViolation] = []
    for i, e in enumerate(request.amended_elements):
        try:
            elements.add(LicenceElement(e.strip().upper()))
        except ValueError:
            bad.append(FieldViolation(f"amended_elements[{i}]",
                                      "unknown element; one of " + ", ".join(LicenceElement)))
    if bad:
        raise ValidationFailed(bad)
    return Resolution(
        kind=ResolutionKind(name) if name else None,  # type: ignore[arg-type]
        reasons=tuple(request.reasons), amended_elements=frozenset(elements))


def outcome(request: enduser_service_pb2.RecordEndUseCheckOutcomeRequest) -> CheckOutcome:
    """The domain CheckOutcome (an unspecified outcome stays None for the rules to report)."""
    name = _enum_name(events_pb2.CheckOutcome, request.outcome, "CHECK_OUTCOME_")
    return CheckOutcome(status=CheckStatus(name) if name else None,  # type: ignore[arg-type]
                        details=request.details)


def deadline(request: enduser_service_pb2.ScheduleEndUseCheckRequest) -> dt.datetime | None:
    """The requested deadline, None when absent."""
    return from_ts(request.deadline) if request.HasField("deadline") else None


def page_size(size: int) -> int:
    """The page size asked for, within bounds."""
    if size < 0:
        raise ValidationFailed([FieldViolation("page_size", "must not be negative")])
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(at: dt.datetime, ident: str) -> str:
    """An opaque page token for keyset pagination."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{ident}".encode()).decode()


def decode_token(token: str) -> tuple[dt.datetime, str] | None:
    """The (time, id) position of a page token; INVALID_ARGUMENT when it is not one of ours."""
    if not token:
        return None
    try:
        at, _, ident = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        uuid.UUID(ident)
        return dt.datetime.fromisoformat(at), ident
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed([FieldViolation("page_token", "not a valid page token")]) from exc


def report_pb(stored: StoredReport) -> change_report_pb2.ChangeReport:
    """The ChangeReport resource."""
    r = stored.report
    msg = change_report_pb2.ChangeReport(
        name=f"changeReports/{r.report_id}", report_id=r.report_id, reference=r.reference,
        licence_id=r.licence_id, exporter_uscc=r.exporter_uscc, authority=r.authority.value,
        reporter_role=outgoing.reporter_role(r.reporter_role), reporter_id=r.reporter_id,
        kind=outgoing.change_kind(r.kind), details=r.details, new_end_use=r.new_end_use or "",
        documents=outgoing.documents_pb(stored.documents_pb),
        subject_party_id=r.subject_party_id or "",
        status=change_report_pb2.ReportStatus.Value(f"REPORT_STATUS_{r.status.value}"),
        reported_at=ts(r.reported_at), elements=list(stored.elements),
    )
    if stored.new_end_user_pb:
        msg.new_end_user.CopyFrom(party_pb(stored.new_end_user_pb))
    if r.resolution is not None and r.resolved_by is not None:
        msg.resolution = outgoing.resolution_kind(r.resolution.kind)
        msg.resolution_reasons.extend(r.resolution.reasons)
        msg.resolved_by = r.resolved_by.officer_id
        msg.resolved_at.CopyFrom(ts(r.resolved_at))
    return msg


def report_change_response(stored: StoredReport) -> enduser_service_pb2.ReportChangeResponse:
    """The ReportChange answer: the report and what follows now."""
    return enduser_service_pb2.ReportChangeResponse(
        report=report_pb(stored), hold_licence=True,
        screen_new_end_user=stored.screen_new_end_user,
        recommended=outgoing.resolution_kind(stored.recommended), basis=list(stored.basis))


def check_pb(stored: StoredCheck, now: dt.datetime) -> end_use_check_pb2.EndUseCheck:
    """The EndUseCheck resource; `overdue` as of `now`."""
    k = stored.check
    msg = end_use_check_pb2.EndUseCheck(
        name=f"endUseChecks/{k.check_id}", check_id=k.check_id, licence_id=k.licence_id,
        exporter_uscc=k.exporter_uscc, authority=k.authority.value,
        party=party_pb(stored.party_pb), deadline=ts(k.deadline),
        scheduled_by=k.scheduled_by.officer_id, scheduled_at=ts(k.scheduled_at),
        status=end_use_check_pb2.CheckStatus.Value(f"CHECK_STATUS_{k.status.value}"),
        outcome_details=k.outcome_details, overdue_confirmed=k.overdue_confirmed,
        failure_to_report=k.failure_to_report, overdue=rules.overdue(k, now),
    )
    if k.recorded_by is not None:
        msg.recorded_by = k.recorded_by.officer_id
        msg.recorded_at.CopyFrom(ts(k.recorded_at))
    if stored.overdue_detected_at is not None:
        msg.overdue_detected_at.CopyFrom(ts(stored.overdue_detected_at))
    return msg

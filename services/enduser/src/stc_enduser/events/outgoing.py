"""The events this service publishes on stc.enduser.change.v1 (key: licence id).

Each builder turns a domain result (and its Consequence) into the event message, carrying
what the consumers need without asking back: licensing (hold, release, amend, re-apply,
suspend, revoke), screening (the new end user to screen, the party for the watch list, with
name, country and identifiers) and credit (the violation cases with their article).
"""

from __future__ import annotations

import datetime as dt

from google.protobuf import json_format
from stc.common.v1 import common_pb2
from stc.enduser.v1 import events_pb2

from stc_enduser.convert import party_pb, ts
from stc_enduser.domain.model import (
    AddToWatchList,
    AmendLicence,
    CheckRecorded,
    EndUseCheck,
    HoldLicence,
    OpenViolationCase,
    ReleaseHold,
    ReportAccepted,
    ReportResolved,
    RequireReapplication,
    ScreenParty,
    SuspendLicence,
)


def change_kind(kind: str) -> events_pb2.ChangeKind:
    """The events.proto ChangeKind number of a domain kind."""
    return events_pb2.ChangeKind.Value(f"CHANGE_KIND_{kind}")


def reporter_role(role: str) -> events_pb2.ReporterRole:
    """The events.proto ReporterRole number of a domain role."""
    return events_pb2.ReporterRole.Value(f"REPORTER_ROLE_{role}")


def resolution_kind(kind: str | None) -> events_pb2.ResolutionKind:
    """The events.proto ResolutionKind number of a domain resolution kind."""
    if not kind:
        return events_pb2.RESOLUTION_KIND_UNSPECIFIED
    return events_pb2.ResolutionKind.Value(f"RESOLUTION_KIND_{kind}")


def check_outcome(status: str) -> events_pb2.CheckOutcome:
    """The events.proto CheckOutcome number of a closed check's status (0 while SCHEDULED)."""
    name = f"CHECK_OUTCOME_{status}"
    if name not in events_pb2.CheckOutcome.keys():
        return events_pb2.CHECK_OUTCOME_UNSPECIFIED
    return events_pb2.CheckOutcome.Value(name)


def documents_pb(documents: list[dict]) -> list[common_pb2.DocumentReference]:
    """Stored document JSON as DocumentReference messages."""
    return [json_format.ParseDict(d, common_pb2.DocumentReference(), ignore_unknown_fields=True)
            for d in documents]


def change_reported(accepted: ReportAccepted, *, new_end_user: dict | None,
                    documents: list[dict]) -> events_pb2.ChangeReported:
    """ChangeReported: the licence goes on hold; a named new end user is to be screened."""
    r, c = accepted.report, accepted.consequence
    msg = events_pb2.ChangeReported(
        report_id=r.report_id, reference=r.reference, licence_id=r.licence_id,
        exporter_uscc=r.exporter_uscc, kind=change_kind(r.kind),
        reporter_role=reporter_role(r.reporter_role), new_end_use=r.new_end_use or "",
        details=r.details, hold_licence=bool(c.of_type(HoldLicence)),
        screen_new_end_user=bool(c.of_type(ScreenParty)), reported_at=ts(r.reported_at),
        authority=r.authority.value, recommended=resolution_kind(c.recommended),
        basis=list(c.basis), subject_party_id=r.subject_party_id or "",
        reporter_id=r.reporter_id, documents=documents_pb(documents),
    )
    if new_end_user:
        msg.new_end_user.CopyFrom(party_pb(new_end_user))
    return msg


def resolved_elements(resolved: ReportResolved) -> list[str]:
    """Elements amended (ACCEPT_AMENDMENT) or touched (REQUIRE_REAPPLICATION), sorted."""
    c = resolved.consequence
    elements: set[str] = set()
    for e in c.of_type(AmendLicence):
        elements |= {str(x) for x in e.elements}
    for r in c.of_type(RequireReapplication):
        elements |= {str(x) for x in r.elements}
    return sorted(elements)


def change_resolved(resolved: ReportResolved) -> events_pb2.ChangeResolved:
    """ChangeResolved: what licensing applies, then the report's hold is released."""
    r, c = resolved.report, resolved.consequence
    assert r.resolution is not None and r.resolved_by is not None
    return events_pb2.ChangeResolved(
        report_id=r.report_id, licence_id=r.licence_id, exporter_uscc=r.exporter_uscc,
        resolution=resolution_kind(r.resolution.kind), reasons=list(r.resolution.reasons),
        elements=resolved_elements(resolved), officer=r.resolved_by.officer_id,
        authority=r.resolved_by.authority.value, resolved_at=ts(r.resolved_at),
        reference=r.reference, basis=list(c.basis), release_hold=bool(c.of_type(ReleaseHold)),
    )


def check_scheduled(check: EndUseCheck, party: dict) -> events_pb2.EndUseCheckScheduled:
    """EndUseCheckScheduled."""
    return events_pb2.EndUseCheckScheduled(
        check_id=check.check_id, licence_id=check.licence_id, exporter_uscc=check.exporter_uscc,
        party=party_pb(party), deadline=ts(check.deadline),
        officer=check.scheduled_by.officer_id, authority=check.authority.value,
        scheduled_at=ts(check.scheduled_at),
    )


def check_completed(recorded: CheckRecorded, party: dict) -> events_pb2.EndUseCheckCompleted:
    """EndUseCheckCompleted: watch list (Reg. 26), suspension and violation cases (Art. 16)."""
    k, c = recorded.check, recorded.consequence
    assert k.recorded_by is not None
    return events_pb2.EndUseCheckCompleted(
        check_id=k.check_id, licence_id=k.licence_id, exporter_uscc=k.exporter_uscc,
        party=party_pb(party), outcome=check_outcome(k.status), details=k.outcome_details,
        failure_to_report=k.failure_to_report, overdue_confirmed=k.overdue_confirmed,
        officer=k.recorded_by.officer_id, authority=k.recorded_by.authority.value,
        recorded_at=ts(k.recorded_at), add_to_watch_list=bool(c.of_type(AddToWatchList)),
        suspend_licence=bool(c.of_type(SuspendLicence)),
        violation_cases=[
            events_pb2.ViolationCase(kind=v.kind.value, article=v.article,
                                     party_id=v.party_id or "")
            for v in c.of_type(OpenViolationCase)
        ],
        basis=list(c.basis),
    )


def check_overdue(check: EndUseCheck, party: dict, detected_at: dt.datetime
                  ) -> events_pb2.EndUseCheckOverdue:
    """EndUseCheckOverdue: for the officers' queue; nothing changes until one confirms."""
    return events_pb2.EndUseCheckOverdue(
        check_id=check.check_id, licence_id=check.licence_id, exporter_uscc=check.exporter_uscc,
        authority=check.authority.value, party=party_pb(party), deadline=ts(check.deadline),
        detected_at=ts(detected_at),
    )

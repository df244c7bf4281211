"""Every event the licensing service publishes, built in one place from domain objects: each
builder returns `(topic, key, message)` for `publish(uow, ...)`, the use cases' one way into
the outbox (written in the use case's own transaction). The topics and payloads are the
AsyncAPI contract (docs/asyncapi); keys are the operator's USCC, the application id or the
licence id, so one subject's events stay in order.
"""

from __future__ import annotations

import datetime as dt

from google.protobuf.message import Message
from stc.licensing.v1 import assessment_pb2, events_pb2
from stc_common.kafka.topics import APPLICATION, LICENCE, OPERATOR

from stc_licensing import wire
from stc_licensing.domain import discretion as discretion_rules
from stc_licensing.domain import holiday_calendar, model, temporary_controls
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import procedures as procedure_rules
from stc_licensing.domain.states import Action
from stc_licensing.storage.ports import AppRow, LicensingUnitOfWork

Outgoing = tuple[str, str, Message]

_DECISION = {Action.APPROVE: events_pb2.DECISION_APPROVE,
             Action.APPROVE_WITH_CONDITIONS: events_pb2.DECISION_APPROVE_WITH_CONDITIONS,
             Action.DENY: events_pb2.DECISION_DENY}


def decision_name(action: Action) -> str:
    """The Decision enum name of a decision (as kept in decision_records)."""
    return events_pb2.Decision.Name(_DECISION[action])


async def publish(uow: LicensingUnitOfWork, event: Outgoing) -> str:
    """Write one built event to the outbox of the unit of work's transaction."""
    topic, key, message = event
    return await uow.publish(topic, key, message)


# --------------------------------------------------------------------------- operators


def operator_registered(op: model.ExportOperator, at: dt.datetime) -> Outgoing:
    """OperatorRegistered."""
    return OPERATOR.name, op.uscc, events_pb2.OperatorRegistered(
        uscc=op.uscc, name_zh=op.name_zh, name_en=op.name_en, registered_at=wire.ts(at))


def icp_assessed(op: model.ExportOperator, kind: str, officer: str, at: dt.datetime,
                 outcome: str = "") -> Outgoing:
    """IcpAssessed: a self-assessment ("self") or an officer's audit ("audit"), Art. 14."""
    done = sum(1 for e in op.icp if e.status == model.IcpStatus.IMPLEMENTED)
    return OPERATOR.name, op.uscc, events_pb2.IcpAssessed(
        uscc=op.uscc, kind=kind, outcome=outcome or f"{done}/9 elements implemented",
        elements_implemented=done, officer=officer, assessed_at=wire.ts(at))


def qualification_changed(op: model.ExportOperator, officer: str) -> Outgoing:
    """QualificationChanged (Art. 23); empty fields when the qualification was cleared."""
    q = op.military_qualification
    return OPERATOR.name, op.uscc, events_pb2.QualificationChanged(
        uscc=op.uscc, certificate_no=q.certificate_no if q else "",
        scope=list(q.scope) if q else [],
        valid_from=wire.date_to_pb(q.valid_from) if q else None,
        valid_to=wire.date_to_pb(q.valid_to) if q else None, officer=officer)


# --------------------------------------------------------------------------- applications


def application_submitted(row: AppRow) -> Outgoing:
    """ApplicationSubmitted with the full content: the request to screen it."""
    return APPLICATION.name, row.id, events_pb2.ApplicationSubmitted(
        application_id=row.id, reference=row.reference, exporter_uscc=row.exporter_uscc,
        authority=row.authority, content=wire.content_for_events(row.content),
        submitted_at=wire.ts(row.submitted_at), deadline=wire.date_to_pb(row.deadline))


def application_withdrawn(row: AppRow, at: dt.datetime) -> Outgoing:
    """ApplicationWithdrawn."""
    return APPLICATION.name, row.id, events_pb2.ApplicationWithdrawn(
        application_id=row.id, exporter_uscc=row.exporter_uscc, withdrawn_at=wire.ts(at))


def information_provided(row: AppRow, answer: str, at: dt.datetime) -> Outgoing:
    """InformationProvided: an answer without changed content."""
    return APPLICATION.name, row.id, events_pb2.InformationProvided(
        application_id=row.id, exporter_uscc=row.exporter_uscc, answer=answer,
        provided_at=wire.ts(at))


def application_amended(row: AppRow, answer: str, at: dt.datetime) -> Outgoing:
    """ApplicationAmended with the new content: the request to screen it again."""
    return APPLICATION.name, row.id, events_pb2.ApplicationAmended(
        application_id=row.id, exporter_uscc=row.exporter_uscc,
        content=wire.content_for_events(row.content), answer=answer, amended_at=wire.ts(at))


def application_flagged(row: AppRow, reason: str, entry_id: str, at: dt.datetime) -> Outgoing:
    """ApplicationFlagged: a list change matched a pending application."""
    return APPLICATION.name, row.id, events_pb2.ApplicationFlagged(
        application_id=row.id, exporter_uscc=row.exporter_uscc, reason=reason,
        list_entry_id=entry_id, flagged_at=wire.ts(at))


def application_assessed(assessment: assessment_pb2.Assessment, uscc: str) -> Outgoing:
    """ApplicationAssessed from the stored Assessment (Art. 13)."""
    return APPLICATION.name, assessment.application_id, wire.assessed_event(assessment, uscc)


# --------------------------------------------------------------------------- review


def information_requested(row: AppRow, questions: list[str], officer: str,
                          at: dt.datetime) -> Outgoing:
    """InformationRequested (Reg. 17: the clock stops)."""
    return APPLICATION.name, row.id, events_pb2.InformationRequested(
        application_id=row.id, exporter_uscc=row.exporter_uscc, questions=questions,
        officer=officer, requested_at=wire.ts(at))


def expert_review_started(row: AppRow, officer: str, reason: str, at: dt.datetime) -> Outgoing:
    """ExpertReviewStarted (Reg. 17: the clock stops)."""
    return APPLICATION.name, row.id, events_pb2.ExpertReviewStarted(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        officer=officer, reason=reason, started_at=wire.ts(at))


def expert_review_ended(row: AppRow, officer: str, outcome: str, paused_working_days: int,
                        deadline: dt.date | None, at: dt.datetime) -> Outgoing:
    """ExpertReviewEnded with the working days kept off the clock and the new deadline."""
    return APPLICATION.name, row.id, events_pb2.ExpertReviewEnded(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        officer=officer, outcome=outcome, paused_working_days=paused_working_days,
        deadline=wire.date_to_pb(deadline), ended_at=wire.ts(at))


def application_decided(row: AppRow, action: Action, conditions: list[str],
                        reasons: list[str], officer: str, at: dt.datetime,
                        recommendation: str = "RECOMMENDATION_UNSPECIFIED",
                        judgements: tuple[discretion_rules.Judgement, ...] = ()) -> Outgoing:
    """ApplicationDecided, with the recommendation the officer had and the officer's
    judgement of every finding (issue 11 item 2)."""
    return APPLICATION.name, row.id, events_pb2.ApplicationDecided(
        application_id=row.id, exporter_uscc=row.exporter_uscc, decision=_DECISION[action],
        conditions=conditions, reasons=reasons, officer=officer, authority=row.authority,
        licence_id=row.licence_id or "", decided_at=wire.ts(at),
        recommendation=recommendation, judgements=judgements_to_pb(judgements))


_VERDICT_TO_PB = {discretion_rules.Verdict.ACCEPTED: "FINDING_VERDICT_ACCEPTED",
                  discretion_rules.Verdict.OVERRIDDEN: "FINDING_VERDICT_OVERRIDDEN"}


def judgements_to_pb(judgements: tuple[discretion_rules.Judgement, ...]
                     ) -> list[events_pb2.FindingJudgement]:
    """The officer's judgements as FindingJudgement messages."""
    return [events_pb2.FindingJudgement(code=j.code, reason=j.reason,
                                        verdict=_VERDICT_TO_PB[j.verdict]
                                        if j.verdict is not None
                                        else "FINDING_VERDICT_UNSPECIFIED")
            for j in judgements]


# --------------------------------------------------------------------------- procedures
# issue 11 items 2 and 4 (service/procedures.py)


def application_referred(row: AppRow, referral: procedure_rules.Referral) -> Outgoing:
    """ApplicationReferred: to the State Council (Reg. 17) or with the CMC (Art. 24)."""
    return APPLICATION.name, row.id, events_pb2.ApplicationReferred(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        referral=wire.referral_to_pb(referral))


def referral_ended(row: AppRow, referral: procedure_rules.Referral) -> Outgoing:
    """ReferralEnded, with the outcome."""
    return APPLICATION.name, row.id, events_pb2.ReferralEnded(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        referral=wire.referral_to_pb(referral))


def military_approval_recorded(row: AppRow,
                               approval: procedure_rules.MilitaryApproval) -> Outgoing:
    """MilitaryApprovalRecorded (Art. 24)."""
    return APPLICATION.name, row.id, events_pb2.MilitaryApprovalRecorded(
        application_id=row.id, exporter_uscc=row.exporter_uscc,
        approval=wire.approval_to_pb(approval))


def application_accepted(row: AppRow, acceptance: procedure_rules.Acceptance,
                         deadline: dt.date | None) -> Outgoing:
    """ApplicationAccepted: formal acceptance, the Reg. 17 clock's deadline."""
    return APPLICATION.name, row.id, events_pb2.ApplicationAccepted(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        acceptance=wire.acceptance_to_pb(acceptance), deadline=wire.date_to_pb(deadline))


def application_returned(row: AppRow, acceptance: procedure_rules.Acceptance) -> Outgoing:
    """ApplicationReturned: missing materials, before acceptance (no clock)."""
    return APPLICATION.name, row.id, events_pb2.ApplicationReturned(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        acceptance=wire.acceptance_to_pb(acceptance))


def application_resubmitted(row: AppRow, accepted_on: dt.date,
                            deadline: dt.date | None) -> Outgoing:
    """ApplicationResubmitted: the completed content, accepted that day (Reg. 17)."""
    return APPLICATION.name, row.id, events_pb2.ApplicationResubmitted(
        application_id=row.id, exporter_uscc=row.exporter_uscc,
        content=wire.content_for_events(row.content), accepted_on=wire.date_to_pb(accepted_on),
        deadline=wire.date_to_pb(deadline))


def deadline_approaching(row: AppRow, deadline: dt.date | None, remaining: int) -> Outgoing:
    """DeadlineApproaching (once per application)."""
    return APPLICATION.name, row.id, events_pb2.DeadlineApproaching(
        application_id=row.id, authority=row.authority, deadline=wire.date_to_pb(deadline),
        working_days_remaining=remaining)


def deadline_breached(row: AppRow, deadline: dt.date | None) -> Outgoing:
    """DeadlineBreached (once per application, Reg. 17)."""
    return APPLICATION.name, row.id, events_pb2.DeadlineBreached(
        application_id=row.id, authority=row.authority, deadline=wire.date_to_pb(deadline))


# --------------------------------------------------------------------------- licences


def licence_issued(lic: licence_rules.Licence, row: AppRow, at: dt.datetime) -> Outgoing:
    """LicenceIssued with the parties, items and end use of the application."""
    shown = wire.licence_to_pb(lic, wire.content_from_json(row.content), row.reference,
                               row.authority, at)
    return LICENCE.name, lic.id, events_pb2.LicenceIssued(
        licence_id=lic.id, application_id=row.id, exporter_uscc=row.exporter_uscc,
        authority=row.authority, licence_type=shown.licence_type, valid_from=shown.valid_from,
        valid_until=shown.valid_until, destination=shown.destination, parties=shown.parties,
        items=wire.content_from_json(row.content).items, end_use=shown.end_use,
        conditions=list(lic.conditions))


def licence_used(lic: licence_rules.Licence, record: licence_rules.ExportRecord) -> Outgoing:
    """LicenceUsed (exhausted once a single licence is used up)."""
    return LICENCE.name, lic.id, events_pb2.LicenceUsed(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, export_id=record.export_id,
        exhausted=lic.state == licence_rules.LicenceState.USED,
        exported_on=wire.date_to_pb(record.exported_on))


def licence_suspended(lic: licence_rules.Licence, reason: str, source: str, source_id: str,
                      at: dt.datetime) -> Outgoing:
    """LicenceSuspended (source: officer, rescreening or enduser)."""
    return LICENCE.name, lic.id, events_pb2.LicenceSuspended(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, reason=reason, source=source,
        source_id=source_id, suspended_at=wire.ts(at))


def licence_revoked(lic: licence_rules.Licence, reason: str, source: str, source_id: str,
                    at: dt.datetime) -> Outgoing:
    """LicenceRevoked."""
    return LICENCE.name, lic.id, events_pb2.LicenceRevoked(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, reason=reason, source=source,
        source_id=source_id, revoked_at=wire.ts(at))


def licence_reinstated(lic: licence_rules.Licence, reason: str, at: dt.datetime) -> Outgoing:
    """LicenceReinstated."""
    return LICENCE.name, lic.id, events_pb2.LicenceReinstated(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, reason=reason,
        reinstated_at=wire.ts(at))


def licence_held(lic: licence_rules.Licence, report_id: str, at: dt.datetime) -> Outgoing:
    """LicenceHeld while an end-user change report is open (Art. 16, Reg. 25)."""
    return LICENCE.name, lic.id, events_pb2.LicenceHeld(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, report_id=report_id,
        held_at=wire.ts(at))


def licence_hold_released(lic: licence_rules.Licence, report_id: str,
                          at: dt.datetime) -> Outgoing:
    """LicenceHoldReleased once the report is resolved."""
    return LICENCE.name, lic.id, events_pb2.LicenceHoldReleased(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, report_id=report_id,
        released_at=wire.ts(at))


def licence_amended(lic: licence_rules.Licence, report_id: str, elements: list[str],
                    at: dt.datetime) -> Outgoing:
    """LicenceAmended: the officer accepted the reported change as an amendment."""
    return LICENCE.name, lic.id, events_pb2.LicenceAmended(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, report_id=report_id,
        elements=elements, amended_at=wire.ts(at))


def licence_expired(lic: licence_rules.Licence) -> Outgoing:
    """LicenceExpired the day after valid_until."""
    return LICENCE.name, lic.id, events_pb2.LicenceExpired(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc,
        expired_on=wire.date_to_pb(lic.valid_until + dt.timedelta(days=1)))


# ------------------------------------------ holiday calendar as data (issue 11 item 3)


def deadline_recomputed(row: AppRow, before: tuple[dt.date | None, bool],
                        after: tuple[dt.date | None, bool],
                        entry: holiday_calendar.ScheduleEntry) -> Outgoing:
    """DeadlineRecomputed: an entered schedule moved (or made exact) a Reg. 17 deadline."""
    return APPLICATION.name, row.id, events_pb2.DeadlineRecomputed(
        application_id=row.id, authority=row.authority,
        previous_deadline=wire.date_to_pb(before[0]), previous_deadline_exact=before[1],
        deadline=wire.date_to_pb(after[0]), deadline_exact=after[1],
        schedule_year=entry.year, announcement=entry.announcement)


def holiday_schedule_announced(entry: holiday_calendar.ScheduleEntry, entered_by: str,
                               at: dt.datetime, recomputed: int) -> Outgoing:
    """HolidayScheduleAnnounced: back offices hear the calendar changed."""
    schedule = entry.schedule()
    return APPLICATION.name, f"holiday-schedules/{entry.year}", \
        events_pb2.HolidayScheduleAnnounced(
            year=entry.year, announcement=entry.announcement,
            holidays=[wire.date_to_pb(d) for d in sorted(schedule.holidays)],
            working_days=[wire.date_to_pb(d) for d in sorted(schedule.working_days)],
            entered_by=entered_by, entered_at=wire.ts(at), deadlines_recomputed=recomputed)


# ------------------------------------- temporary controls, ECL Art. 9(2) (issue 11 item 5)


def _measure_key(measure_id: str) -> str:
    return f"temporary-controls/{measure_id}"


def temporary_control_changed(measure: temporary_controls.TemporaryControl,
                              change: str) -> Outgoing:
    """TemporaryControlChanged: REGISTERED, EXTENDED, CANCELLED, LISTED or EXPIRED."""
    return APPLICATION.name, _measure_key(measure.measure_id), \
        events_pb2.TemporaryControlChanged(
            measure_id=measure.measure_id, announcement=measure.announcement,
            status=measure.status.value, start=wire.date_to_pb(measure.start),
            end=wire.date_to_pb(measure.end), ended_on=wire.date_to_pb(measure.ended_on),
            change=change,
            control_codes=[i.control_code for i in measure.items if i.control_code],
            hs_codes=[i.hs_code for i in measure.items if i.hs_code])


def temporary_control_expiring(measure: temporary_controls.TemporaryControl,
                               today: dt.date) -> Outgoing:
    """TemporaryControlExpiring: the measure entered its alert window (sent once)."""
    return APPLICATION.name, _measure_key(measure.measure_id), \
        events_pb2.TemporaryControlExpiring(
            measure_id=measure.measure_id, announcement=measure.announcement,
            end=wire.date_to_pb(measure.end), days_left=(measure.end - today).days)

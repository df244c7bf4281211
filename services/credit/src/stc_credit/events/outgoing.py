"""Every event the credit service publishes, built in one place (stc.credit.v1 events).

The use cases (stc_credit.service) and the consumers (events/handlers.py, the Faust
standing agent) write these through the unit of work's outbox; nothing else builds a
credit event. Topics: records, cases and repairs on stc.credit.record.v1; what the law
makes public (published records, checkpoints, repairs, ended publicity, deadline alerts) on
stc.credit.publication.v1 (ECL Art. 39; Interim Regulations on Enterprise Information
Publicity); standings on stc.credit.standing.v1.
"""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from google.type import date_pb2
from stc.credit.v1 import events_pb2

from stc_credit.domain import publication as pub
from stc_credit.domain.records import Case, CaseSource, CreditRecord
from stc_credit.domain.standing import CreditStanding, StandingLevel

LEVELS = {
    StandingLevel.GOOD: events_pb2.STANDING_LEVEL_GOOD,
    StandingLevel.WARNED: events_pb2.STANDING_LEVEL_WARNED,
    StandingLevel.PENALISED: events_pb2.STANDING_LEVEL_PENALISED,
    StandingLevel.BANNED: events_pb2.STANDING_LEVEL_BANNED,
}

#: CaseOpened.source of each case source (the event contract's words).
CASE_EVENT_SOURCE = {
    CaseSource.END_USE_CHECK_DIVERSION: "diversion",
    CaseSource.CHANGE_NOT_REPORTED: "failure_to_report",
}

END_REASONS = {
    "period_elapsed": events_pb2.PUBLICITY_END_REASON_PERIOD_ELAPSED,
    "credit_repair": events_pb2.PUBLICITY_END_REASON_CREDIT_REPAIR,
}


def pb_date(day: dt.date | None) -> date_pb2.Date | None:
    """A google.type.Date (None stays None)."""
    return None if day is None else date_pb2.Date(year=day.year, month=day.month, day=day.day)


def now_ts() -> timestamp_pb2.Timestamp:
    """The current time as a protobuf Timestamp."""
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


def record_created(record: CreditRecord, deadline: dt.date) -> events_pb2.CreditRecordCreated:
    """CreditRecordCreated: a penalty recorded (Arts. 33-38; Art. 39 credit record)."""
    return events_pb2.CreditRecordCreated(
        record_id=record.record_id,
        uscc=record.uscc,
        enterprise_name=record.enterprise_name,
        article=str(record.article),
        decision_no=record.decision_no,
        sanctions=sorted(str(s) for s in record.penalty.sanctions),
        fine_fen=record.penalty.fine_fen or 0,
        decision_date=pb_date(record.decision_date),
        effective_date=pb_date(record.effective_date),
        ban_until=pb_date(record.ban_until()),
        publication_deadline=pb_date(deadline),
        officer=record.decided_by,
    )


def record_published(record: CreditRecord, leaf_index: int, published_on: dt.date,
                     publicity_ends_on: dt.date, canonical: bytes
                     ) -> events_pb2.CreditRecordPublished:
    """CreditRecordPublished: the record's entry is on the publication log."""
    return events_pb2.CreditRecordPublished(
        record_id=record.record_id,
        uscc=record.uscc,
        leaf_index=leaf_index,
        published_on=pb_date(published_on),
        publicity_ends_on=pb_date(publicity_ends_on),
        canonical=canonical,
    )


def checkpoint_published(note: str, tree_size: int, root: bytes
                         ) -> events_pb2.CheckpointPublished:
    """CheckpointPublished: a signed tree head over the log after an append."""
    return events_pb2.CheckpointPublished(
        note=note, tree_size=tree_size, root_hash=root, published_at=now_ts())


def deadline_at_risk(record: CreditRecord, status: pub.DeadlineStatus
                     ) -> events_pb2.PublicationDeadlineAtRisk:
    """PublicationDeadlineAtRisk: an unpublished record near its 20-working-day deadline."""
    return events_pb2.PublicationDeadlineAtRisk(
        record_id=record.record_id,
        uscc=record.uscc,
        deadline=pb_date(status.deadline),
        working_days_left=status.working_days_left,
    )


def publicity_ended(record_id: str, uscc: str, ended_on: dt.date, reason: str
                    ) -> events_pb2.PublicityEnded:
    """PublicityEnded: the period ran out, or a credit repair ended it early."""
    return events_pb2.PublicityEnded(
        record_id=record_id, uscc=uscc, ended_on=pb_date(ended_on), reason=END_REASONS[reason])


def record_repaired(record: CreditRecord, repair_decision_no: str, repaired_on: dt.date,
                    leaf_index: int) -> events_pb2.CreditRecordRepaired:
    """CreditRecordRepaired: credit repair (信用修复) decided and logged."""
    return events_pb2.CreditRecordRepaired(
        record_id=record.record_id,
        uscc=record.uscc,
        repair_decision_no=repair_decision_no,
        repaired_on=pb_date(repaired_on),
        leaf_index=leaf_index,
    )


def standing_changed(s: CreditStanding) -> events_pb2.CreditStandingChanged:
    """CreditStandingChanged: the enterprise's standing as now computed."""
    return events_pb2.CreditStandingChanged(
        uscc=s.uscc,
        level=LEVELS[s.level],
        active_records=s.active_records,
        ban_until=pb_date(s.ban_until),
        record_ids=list(s.record_ids),
        as_of=pb_date(s.as_of),
        measure_ids=list(s.measure_ids),
        person_bans=[events_pb2.PersonBanInForce(
            id_number_sha256=digest, ban_until=pb_date(until))
            for digest, until in s.person_bans],
    )


def case_opened(case: Case) -> events_pb2.CaseOpened:
    """CaseOpened: a case awaiting an officer (Art. 17 diversion; Art. 16 / Reg. 25)."""
    return events_pb2.CaseOpened(
        case_id=case.case_id,
        uscc=case.uscc,
        source=CASE_EVENT_SOURCE[case.source],
        licence_id=case.licence_id or "",
        summary=case.summary,
        opened_at=now_ts(),
    )

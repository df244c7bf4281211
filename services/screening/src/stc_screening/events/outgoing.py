"""Every event screening publishes, built in one place (used by the use cases and by the
consumers' use cases alike): list changes and country measures on ``stc.screening.list.v1``,
screening results and re-screening matches on ``stc.screening.result.v1``, consultations on
``stc.screening.consultation.v1``. Topic and key go with each payload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from stc.screening.v1 import events_pb2 as ev
from stc_common.kafka.topics import SCREENING_CONSULTATION, SCREENING_LIST, SCREENING_RESULT

from stc_screening.convert import LIST_KIND_TO_PB, entry_to_pb, measure_to_pb, ts
from stc_screening.domain.consultations import Consultation
from stc_screening.domain.lists import ListEntry
from stc_screening.domain.policy import MeasureRecord

LIST_TOPIC = SCREENING_LIST.name
RESULT_TOPIC = SCREENING_RESULT.name
CONSULTATION_TOPIC = SCREENING_CONSULTATION.name


def list_entry_added(entry: ListEntry, *, officer: str, reason: str, at: dt.datetime
                     ) -> ev.ListEntryAdded:
    """A party went on a list (keyed by the entry id)."""
    return ev.ListEntryAdded(entry=entry_to_pb(entry), officer=officer, reason=reason,
                             added_at=ts(at))


def list_entry_updated(entry: ListEntry, *, officer: str, reason: str, at: dt.datetime
                       ) -> ev.ListEntryUpdated:
    """A listed party's entry changed."""
    return ev.ListEntryUpdated(entry=entry_to_pb(entry), officer=officer, reason=reason,
                               updated_at=ts(at))


def list_entry_removed(entry: ListEntry, *, officer: str, reason: str, at: dt.datetime
                       ) -> ev.ListEntryRemoved:
    """A party came off a list (delisting, Reg. 29, or gone from a re-imported list)."""
    return ev.ListEntryRemoved(entry_id=entry.entry_id, list_kind=LIST_KIND_TO_PB[entry.list_kind],
                               officer=officer, reason=reason, removed_at=ts(at))


def screening_completed(*, screening_id: str, subject_kind: str, subject_id: str,
                        exporter_uscc: str, party_hits: Sequence[ev.PartyHit],
                        findings: Sequence[ev.TransactionFinding], lists_version: str,
                        at: dt.datetime) -> ev.ScreeningCompleted:
    """The result of screening an application or a change report (keyed by subject id)."""
    return ev.ScreeningCompleted(
        screening_id=screening_id, subject_id=subject_id,
        subject_kind=ev.SubjectKind.Value(f"SUBJECT_KIND_{subject_kind}"),
        exporter_uscc=exporter_uscc, party_hits=list(party_hits), findings=list(findings),
        lists_version=lists_version, completed_at=ts(at))


def rescreening_match(*, subject_kind: str, subject_id: str, exporter_uscc: str,
                      hit: ev.PartyHit, trigger_event_id: str, at: dt.datetime
                      ) -> ev.RescreeningMatch:
    """A kept party now matches a list entry (licensing suspends or holds; Art. 18)."""
    return ev.RescreeningMatch(
        subject_id=subject_id, subject_kind=ev.SubjectKind.Value(f"SUBJECT_KIND_{subject_kind}"),
        exporter_uscc=exporter_uscc, hit=hit, trigger_event_id=trigger_event_id,
        matched_at=ts(at))


def country_measure_added(r: MeasureRecord, *, reason: str) -> ev.CountryMeasureAdded:
    """An officer entered a dated country measure (ECL Art. 8)."""
    return ev.CountryMeasureAdded(measure=measure_to_pb(r), officer=r.officer, reason=reason,
                                  added_at=ts(r.created_at))


def country_measure_changed(r: MeasureRecord, *, reason: str, change: str
                            ) -> ev.CountryMeasureChanged:
    """A country measure changed (``SUSPENDED``)."""
    return ev.CountryMeasureChanged(measure=measure_to_pb(r), officer=r.officer, reason=reason,
                                    change=change, changed_at=ts(r.updated_at))


def consultation_submitted(c: Consultation) -> ev.ConsultationSubmitted:
    """An exporter's question routed to an authority (Art. 12(4))."""
    return ev.ConsultationSubmitted(
        consultation_id=c.consultation_id, exporter_uscc=c.exporter_uscc,
        authority=c.authority, question=c.question, submitted_at=ts(c.submitted_at))


def consultation_answered(c: Consultation) -> ev.ConsultationAnswered:
    """The authority's answer."""
    assert c.answered_at is not None
    return ev.ConsultationAnswered(
        consultation_id=c.consultation_id, exporter_uscc=c.exporter_uscc,
        controlled=c.controlled, control_code=c.control_code, answer=c.answer,
        officer=c.officer, answered_at=ts(c.answered_at))

"""Request and response mapping of the ScreeningService (the only module, with the servicer,
that knows screening_service_pb2): requests to commands, domain answers to responses. The
conversions of shared messages (entries, parties, hits, findings, measures) are in
``stc_screening.convert`` and re-exported here for the servicer."""

from __future__ import annotations

from stc.screening.v1 import consultation_pb2, screening_service_pb2

from stc_screening.convert import (
    LIST_KIND_FROM_PB,
    LIST_KIND_TO_PB,
    PARTY_TYPE_FROM_PB,
    SCOPE_FROM_PB,
    SEVERITY_TO_PB,
    content_from_pb,
    entry_from_pb,
    entry_to_pb,
    finding_category,
    finding_to_pb,
    hit_to_pb,
    measure_from_pb,
    measure_to_pb,
    party_from_dict,
    party_to_dict,
    party_to_domain,
    ts,
)
from stc_screening.domain.classification import Candidate
from stc_screening.domain.consultations import Consultation
from stc_screening.domain.index import SearchResult
from stc_screening.domain.lists import ListEntry
from stc_screening.domain.search import MatchKind
from stc_screening.service.search import SearchFound

__all__ = [
    "LIST_KIND_FROM_PB", "LIST_KIND_TO_PB", "PARTY_TYPE_FROM_PB", "SCOPE_FROM_PB",
    "SEVERITY_TO_PB", "content_from_pb", "entry_from_pb", "entry_to_pb", "finding_category",
    "finding_to_pb", "hit_to_pb", "measure_from_pb", "measure_to_pb", "party_from_dict",
    "party_to_dict", "party_to_domain", "ts", "candidate_to_pb", "consultation_to_pb",
    "search_results",
]

_MATCH_KIND = {MatchKind.IDENTIFIER: screening_service_pb2.SEARCH_MATCH_KIND_IDENTIFIER,
               MatchKind.EXACT_NAME: screening_service_pb2.SEARCH_MATCH_KIND_EXACT_NAME,
               MatchKind.TOKEN: screening_service_pb2.SEARCH_MATCH_KIND_TOKEN,
               MatchKind.FUZZY: screening_service_pb2.SEARCH_MATCH_KIND_FUZZY}


def _search_entry(e: ListEntry, r: SearchResult | None
                  ) -> screening_service_pb2.SearchListEntry:
    if r is None:
        return screening_service_pb2.SearchListEntry(
            entry=entry_to_pb(e), score=0.0, matched_name="",
            match_kind=screening_service_pb2.SEARCH_MATCH_KIND_UNSPECIFIED,
            strength=screening_service_pb2.SEARCH_MATCH_STRENGTH_UNSPECIFIED)
    return screening_service_pb2.SearchListEntry(
        entry=entry_to_pb(e), score=round(r.score, 4), matched_name=r.matched,
        match_kind=_MATCH_KIND[r.kind],
        strength=screening_service_pb2.SearchMatchStrength.ValueType(int(r.strength)))


def search_results(found: SearchFound, offset: int, size: int
                   ) -> screening_service_pb2.SearchListEntriesResponse:
    """One page of the public search's results."""
    page = found.results[offset:offset + size]
    total = len(found.results)
    return screening_service_pb2.SearchListEntriesResponse(
        results=[_search_entry(e, r) for e, r in page],
        next_page_token=str(offset + size) if total > offset + size else "",
        total_size=total, matches_well=found.matches_well)


def candidate_to_pb(c: Candidate) -> screening_service_pb2.ClassificationCandidate:
    """A classification candidate with its reasons."""
    return screening_service_pb2.ClassificationCandidate(
        control_code=c.code, description_en=c.description_en, score=round(c.score, 4),
        reasons=[screening_service_pb2.ClassificationReason(kind=r.kind, detail=r.detail,
                                                            weight=r.weight)
                 for r in c.reasons])


def consultation_to_pb(c: Consultation) -> consultation_pb2.Consultation:
    """A consultation as the resource."""
    out = consultation_pb2.Consultation(
        name=f"consultations/{c.consultation_id}", consultation_id=c.consultation_id,
        exporter_uscc=c.exporter_uscc, authority=c.authority, question=c.question,
        item_description=c.item_description, hs_code=c.hs_code,
        parameters=dict(c.parameters),
        state=consultation_pb2.ConsultationState.Value(f"CONSULTATION_STATE_{c.state.value}"),
        controlled=c.controlled, control_code=c.control_code, answer=c.answer,
        officer=c.officer, submitted_at=ts(c.submitted_at))
    if c.answered_at:
        out.answered_at.CopyFrom(ts(c.answered_at))
    return out


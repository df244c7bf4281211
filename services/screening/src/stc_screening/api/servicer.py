"""grpc.aio servicer of stc.screening.v1.ScreeningService: validate, call one use case, map.

Who may call is the access table (api/access.py), enforced before each RPC runs:
SearchListEntries and GetListEntry are public (the control list is public, ECL Art. 18);
list changes and country measures are for MOFCOM officers and only on the PRC lists;
screening and classification for exporters, officers and auditors; consultations as their
docstrings say.

Every request's matching work is bounded by the limits of ``api/validation.py``
(INVALID_ARGUMENT naming the field beyond them) and runs on the matcher thread, never on the event loop (see
``stc_screening.matcher``); the service README lists the limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import grpc
from stc.screening.v1 import consultation_pb2, screening_service_pb2_grpc
from stc.screening.v1 import events_pb2 as ev
from stc.screening.v1 import screening_service_pb2 as pb
from stc_common.auth.access import guard
from stc_common.auth.jwt import Authority, Role, require
from stc_common.errors import NotFound, ViolationCollector

from stc_screening.api import mapping as m
from stc_screening.api import validation as v
from stc_screening.api.access import ACCESS
from stc_screening.config import SOURCE
from stc_screening.domain.items import is_valid_control_code
from stc_screening.domain.policy import measure_date_violations, suspension_violations
from stc_screening.service import (
    classification,
    commands,
    consultations,
    lists,
    measures,
    screening,
    search,
)
from stc_screening.service.state import ScreeningState
from stc_screening.storage.uow import uow_factory

__all__ = ["SOURCE", "ScreeningServicer", "register"]
_AUTHORITIES = {a.value for a in Authority}

# Who may screen: exporters, officers and auditors. An importer token (bound to one licence
# for change reports) may not use the screening tools.
_SCREENERS = (Role.EXPORTER, Role.OFFICER, Role.AUDITOR)


def _officer_authority(p: Any) -> str | None:
    """The authority an officer's token names; None for auditors (they read every one)."""
    return p.authority.value if p.role is Role.OFFICER and p.authority else None


class ScreeningServicer(screening_service_pb2_grpc.ScreeningServiceServicer):
    """The ScreeningService RPCs: validate, build a command, call one use case (inside a
    unit of work where it writes), map the answer."""

    def __init__(self, pool: asyncpg.Pool, state: ScreeningState) -> None:
        self.uows = uow_factory(pool, SOURCE)
        self.state = state

    # ------------------------------------------------------------------ public list reads

    async def SearchListEntries(self, request: pb.SearchListEntriesRequest, context: Any
                                ) -> pb.SearchListEntriesResponse:
        """Public: entries whose names match the query (the screening matcher), or all."""
        c = ViolationCollector()
        size, offset = v.page(c, request.page_size, request.page_token)
        kinds = v.kinds(c, request.list_kinds, "list_kinds")
        v.text(c, request.query, "query", v.MAX_NAME)
        c.raise_if_any()
        found = await search.search_list_entries(
            state=self.state, cmd=commands.SearchListEntries(query=request.query, kinds=kinds))
        return m.search_results(found, offset, size)

    async def GetListEntry(self, request: pb.GetListEntryRequest, context: Any) -> ev.ListEntry:
        """Public: one entry."""
        c = ViolationCollector()
        entry_id = v.entry_id(c, request.entry_id, "entry_id")
        c.raise_if_any()
        entry = search.get_list_entry(state=self.state, entry_id=entry_id)
        if entry is None:
            raise NotFound(f"list entry {request.entry_id} not found", reason="ENTRY_NOT_FOUND")
        return m.entry_to_pb(entry)

    # ------------------------------------------------------------------ officer list changes

    async def AddListEntry(self, request: pb.AddListEntryRequest, context: Any) -> ev.ListEntry:
        """Officers: put a party on the control list, watch list or UEL."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        v.validate_entry(c, request.entry, "entry")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        rid = v.request_id(c, request.request_id)
        c.raise_if_any()
        cmd = commands.AddListEntry(
            list_kind=m.LIST_KIND_FROM_PB[request.entry.list_kind],
            content=m.content_from_pb(request.entry), reason=request.reason.strip(),
            officer=p.subject, request_id=rid)
        async with self.uows() as uow:
            entry = await lists.add_list_entry(uow=uow, state=self.state, cmd=cmd)
        await self.state.apply_committed(uow.index_change)  # only after the commit
        return m.entry_to_pb(entry)

    async def UpdateListEntry(self, request: pb.UpdateListEntryRequest, context: Any
                              ) -> ev.ListEntry:
        """Officers: change a PRC list entry."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        entry_id = v.entry_id(c, request.entry.entry_id, "entry.entry_id")
        c.require(bool(request.entry.primary_name.strip()), "entry.primary_name",
                  "a name is required")
        v.validate_names(c, request.entry, "entry")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        c.raise_if_any()
        cmd = commands.UpdateListEntry(
            entry_id=entry_id, list_kind=m.LIST_KIND_FROM_PB.get(request.entry.list_kind),
            content=m.content_from_pb(request.entry), reason=request.reason.strip(),
            officer=p.subject)
        async with self.uows() as uow:
            entry = await lists.update_list_entry(uow=uow, state=self.state, cmd=cmd)
        await self.state.apply_committed(uow.index_change)
        return m.entry_to_pb(entry)

    async def RemoveListEntry(self, request: pb.RemoveListEntryRequest, context: Any
                              ) -> pb.RemoveListEntryResponse:
        """Officers: delisting (Reg. 29)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        entry_id = v.entry_id(c, request.entry_id, "entry_id")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        c.raise_if_any()
        async with self.uows() as uow:
            removed = await lists.remove_list_entry(uow=uow, cmd=commands.RemoveListEntry(
                entry_id=entry_id, reason=request.reason.strip(), officer=p.subject))
        await self.state.apply_committed(uow.index_change)
        return pb.RemoveListEntryResponse(entry_id=entry_id, removed=removed)

    # ------------------------------------------------------------------ screening

    async def ScreenParty(self, request: pb.ScreenPartyRequest, context: Any
                          ) -> pb.ScreenPartyResponse:
        """Exporters, officers and auditors: one party against all lists or a chosen few."""
        require(*_SCREENERS)
        c = ViolationCollector()
        v.validate_party(c, request.party, "party")
        kinds = v.kinds(c, request.list_kinds, "list_kinds")
        c.require(0 <= request.threshold <= 1, "threshold", "between 0 and 1")
        c.require(0 <= request.limit <= v.MAX_PAGE, "limit", f"between 0 and {v.MAX_PAGE}")
        c.raise_if_any()
        got = await screening.screen_party(state=self.state, cmd=commands.ScreenParty(
            party=m.party_to_domain(request.party), kinds=kinds,
            threshold=request.threshold or None, limit=request.limit or 20))
        return pb.ScreenPartyResponse(
            hits=[m.hit_to_pb(h, entry=got.entries.get(h.entry_id), party=request.party)
                  for h in got.hits[0]], lists_version=got.lists_version)

    async def ScreenParties(self, request: pb.ScreenPartiesRequest, context: Any
                            ) -> pb.ScreenPartiesResponse:
        """Exporters, officers and auditors: batch screening, up to MAX_BATCH parties (and
        MAX_BATCH_NAMES names and aliases) per call, one result per party in order."""
        require(*_SCREENERS)
        c = ViolationCollector()
        c.require(len(request.parties) > 0, "parties", "at least one party")
        v.validate_parties(c, request.parties, "parties", v.MAX_BATCH, v.MAX_BATCH_NAMES,
                          name_required=False)
        for i, p in enumerate(request.parties):
            if v.full(c):
                break
            c.require(bool(p.name.strip() or p.identifiers), f"parties[{i}].name",
                      "a name or an identifier is required")
        kinds = v.kinds(c, request.list_kinds, "list_kinds")
        c.require(0 <= request.threshold <= 1, "threshold", "between 0 and 1")
        c.require(0 <= request.limit <= v.MAX_PAGE, "limit", f"between 0 and {v.MAX_PAGE}")
        c.raise_if_any()
        parties = list(request.parties)
        got = await screening.screen_parties(state=self.state, cmd=commands.ScreenParties(
            parties=tuple(m.party_to_domain(p) for p in parties), kinds=kinds,
            threshold=request.threshold or None, limit=request.limit or 20))
        return pb.ScreenPartiesResponse(
            results=[pb.PartyScreening(
                party_id=p.party_id,
                hits=[m.hit_to_pb(h, entry=got.entries.get(h.entry_id), party=p) for h in hits])
                for p, hits in zip(parties, got.hits, strict=True)],
            lists_version=got.lists_version)

    async def ScreenTransaction(self, request: pb.ScreenTransactionRequest, context: Any
                                ) -> pb.ScreenTransactionResponse:
        """Any authenticated role: parties, destination, items, end use and red flags."""
        require(*_SCREENERS)
        c = ViolationCollector()
        c.require(len(request.parties) > 0, "parties", "at least one party")
        v.validate_parties(c, request.parties, "parties", v.MAX_PARTIES, v.MAX_TRANSACTION_NAMES)
        if v.count(c, len(request.items), v.MAX_ITEMS, "items", "items"):
            for i, it in enumerate(request.items):
                if not v.full(c):
                    v.text(c, it.description, f"items[{i}].description", v.MAX_DESCRIPTION)
        v.count(c, len(request.flags), v.MAX_FLAGS, "flags", "flags")
        v.text(c, request.end_use.statement, "end_use.statement", v.MAX_DESCRIPTION)
        dest = request.destination.strip()
        c.require(len(dest) == 2 and dest.isalpha(), "destination",
                  "an ISO 3166-1 alpha-2 code")
        qty = None
        if request.end_use_quantity.strip():
            try:
                qty = float(request.end_use_quantity)
            except ValueError:
                c.add("end_use_quantity", "a decimal number")
        on = v.date(c, request.on_date, "on_date") if request.HasField("on_date") else None
        c.raise_if_any()
        ts = await screening.screen_transaction_input(
            state=self.state, cmd=commands.ScreenTransaction(
                parties=tuple(request.parties), destination=dest, items=tuple(request.items),
                end_use=request.end_use,
                certificate=request.end_user_certificate
                if request.HasField("end_user_certificate") else None,
                facts=request.transaction if request.HasField("transaction") else None,
                flags=frozenset(f.strip().upper() for f in request.flags),
                end_use_quantity=qty, on=on))
        return pb.ScreenTransactionResponse(
            party_hits=ts.party_hits, findings=[m.finding_to_pb(f) for f in ts.result.findings],
            highest=m.SEVERITY_TO_PB[ts.result.highest], blocked=ts.result.blocked,
            lists_version=ts.lists_version)

    async def ClassifyItem(self, request: pb.ClassifyItemRequest, context: Any
                           ) -> pb.ClassifyItemResponse:
        """Any authenticated role: ranked control-list candidates with reasons."""
        require(*_SCREENERS)
        c = ViolationCollector()
        c.require(bool(request.description.strip() or request.parameters
                       or request.hs_code.strip()), "description",
                  "give a description, parameters or an HS code")
        v.text(c, request.description, "description", v.MAX_DESCRIPTION)
        v.count(c, len(request.parameters), v.MAX_PARAMETERS, "parameters", "parameters")
        params: dict[str, float] = {}
        for k, value in list(request.parameters.items())[:v.MAX_PARAMETERS]:
            try:
                params[k] = float(value)
            except ValueError:
                c.add(f"parameters[{k}]", "a number")
        hs = request.hs_code.strip()
        if hs:
            c.require(hs.isdigit() and 4 <= len(hs) <= 13, "hs_code", "4 to 13 digits")
        c.require(0 <= request.limit <= 50, "limit", "between 0 and 50")
        c.raise_if_any()
        got = await classification.classify(state=self.state, cmd=commands.ClassifyItem(
            description=request.description, parameters=params, hs_code=hs,
            limit=request.limit or 5))
        return pb.ClassifyItemResponse(candidates=[m.candidate_to_pb(x) for x in got])

    # ------------------------------------------------------------------ consultations

    async def SubmitConsultation(self, request: pb.SubmitConsultationRequest, context: Any
                                 ) -> consultation_pb2.Consultation:
        """Exporters: ask whether an item is controlled (Art. 12(4))."""
        p = require(Role.EXPORTER)
        c = ViolationCollector()
        authority = request.authority.strip().upper()
        c.require(authority in _AUTHORITIES, "authority", "MOFCOM, SASTIND, CAEA or CWC")
        c.require(bool(request.question.strip()), "question", "required")
        c.require(len(request.question) <= 10000, "question", "at most 10000 characters")
        rid = v.request_id(c, request.request_id)
        c.raise_if_any()
        async with self.uows() as uow:
            got = await consultations.submit_consultation(
                uow=uow, cmd=commands.SubmitConsultation(
                    exporter_uscc=p.uscc or "", authority=authority,
                    question=request.question.strip(),
                    item_description=request.item_description.strip(),
                    hs_code=request.hs_code.strip(), parameters=dict(request.parameters),
                    request_id=rid))
        return m.consultation_to_pb(got)

    async def GetConsultation(self, request: pb.GetConsultationRequest, context: Any
                              ) -> consultation_pb2.Consultation:
        """Exporters: their own; officers: their authority's; auditors: any."""
        p = require(Role.EXPORTER, Role.OFFICER, Role.AUDITOR)
        async with self.uows() as uow:
            got = await consultations.get_consultation(uow=uow, cmd=commands.GetConsultation(
                consultation_id=request.consultation_id.strip(),
                exporter_uscc=p.uscc if p.role is Role.EXPORTER else None,
                authority=_officer_authority(p)))
        return m.consultation_to_pb(got)

    async def ListConsultations(self, request: pb.ListConsultationsRequest, context: Any
                                ) -> pb.ListConsultationsResponse:
        """Officers: the consultations routed to their authority; auditors: all."""
        p = require(Role.OFFICER, Role.AUDITOR)
        c = ViolationCollector()
        size, offset = v.page(c, request.page_size, request.page_token)
        c.raise_if_any()
        state = None
        if request.state:
            state = consultation_pb2.ConsultationState.Name(request.state).removeprefix(
                "CONSULTATION_STATE_")
        async with self.uows() as uow:
            got = await consultations.list_consultations(
                uow=uow, cmd=commands.ListConsultations(
                    authority=_officer_authority(p), state=state, offset=offset,
                    limit=size + 1))
        return pb.ListConsultationsResponse(
            consultations=[m.consultation_to_pb(x) for x in got[:size]],
            next_page_token=str(offset + size) if len(got) > size else "")

    async def AnswerConsultation(self, request: pb.AnswerConsultationRequest, context: Any
                                 ) -> consultation_pb2.Consultation:
        """Officers of the consultation's authority answer (ConsultationAnswered)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        c.require(bool(request.consultation_id.strip()), "consultation_id", "required")
        c.require(bool(request.answer.strip()), "answer", "required")
        if request.controlled:
            c.require(is_valid_control_code(request.control_code.strip()), "control_code",
                      "a control-list code such as 1C902.a")
        c.raise_if_any()
        async with self.uows() as uow:
            got = await consultations.answer_consultation(
                uow=uow, cmd=commands.AnswerConsultation(
                    consultation_id=request.consultation_id.strip(),
                    authority=p.authority.value if p.authority else "", officer=p.subject,
                    controlled=request.controlled, control_code=request.control_code.strip(),
                    answer=request.answer.strip()))
        return m.consultation_to_pb(got)

    # ------------------------------------------------------------------ country measures

    async def AddCountryMeasure(self, request: pb.AddCountryMeasureRequest, context: Any
                                ) -> ev.CountryMeasure:
        """Officers: enter a dated measure the authority announced (CountryMeasureAdded)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        msg = request.measure
        c.require(v.country(msg.country), "measure.country", "an ISO 3166-1 alpha-2 code")
        c.require(bool(msg.title_en.strip() or msg.title_zh.strip()), "measure.title_en",
                  "a title (English or Chinese) is required")
        c.require(bool(msg.announcement.strip()), "measure.announcement",
                  "the announcement reference is required")
        c.require(msg.scope in m.SCOPE_FROM_PB, "measure.scope", "a scope is required")
        c.require(len(msg.measure_id) <= 100, "measure.measure_id", "at most 100 characters")
        effective = v.date(c, msg.effective_from, "measure.effective_from")
        c.require(msg.HasField("effective_from") and bool(msg.effective_from.year),
                  "measure.effective_from", "the effective date is required")
        s_from = v.date(c, msg.suspended_from, "measure.suspended_from")
        s_until = v.date(c, msg.suspended_until, "measure.suspended_until")
        expires = v.date(c, msg.expires_on, "measure.expires_on")
        v.add_all(c, measure_date_violations(effective_from=effective, expires_on=expires,
                                            suspended_from=s_from, suspended_until=s_until),
                 "measure.")
        for i, code in enumerate(msg.item_codes):
            c.require(bool(code.strip()) and len(code) <= 20, f"measure.item_codes[{i}]",
                      "a control-code prefix")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        rid = v.request_id(c, request.request_id)
        c.raise_if_any()
        # no id given: the use case assigns one (so a retry is the same request)
        measure = m.measure_from_pb(msg, msg.measure_id.strip())
        async with self.uows() as uow:
            got = await measures.add_country_measure(uow=uow, cmd=commands.AddCountryMeasure(
                measure=measure, officer=p.subject, reason=request.reason.strip(),
                request_id=rid))
        self.state.put_measure(got.measure)  # only after the commit
        return m.measure_to_pb(got)

    async def ListCountryMeasures(self, request: pb.ListCountryMeasuresRequest, context: Any
                                  ) -> pb.ListCountryMeasuresResponse:
        """Public: the measures officers entered (of a destination; in force on a date)."""
        c = ViolationCollector()
        size, offset = v.page(c, request.page_size, request.page_token)
        country = request.country.strip().upper()
        if country:
            c.require(v.country(country), "country", "an ISO 3166-1 alpha-2 code")
        on = v.date(c, request.in_force_on, "in_force_on") \
            if request.HasField("in_force_on") else None
        c.raise_if_any()
        async with self.uows() as uow:
            got = await measures.list_country_measures(
                uow=uow, cmd=commands.ListCountryMeasures(country=country, on=on))
        return pb.ListCountryMeasuresResponse(
            measures=[m.measure_to_pb(r) for r in got[offset:offset + size]],
            next_page_token=str(offset + size) if len(got) > offset + size else "")

    async def SuspendCountryMeasure(self, request: pb.SuspendCountryMeasureRequest,
                                    context: Any) -> ev.CountryMeasure:
        """Officers: suspend a measure (CountryMeasureChanged)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        c.require(bool(request.measure_id.strip()), "measure_id", "required")
        s_from = v.date(c, request.suspended_from, "suspended_from")
        c.require(s_from is not None or not request.suspended_from.year, "suspended_from",
                  "a valid date")
        c.require(bool(request.suspended_from.year), "suspended_from", "required")
        s_until = v.date(c, request.suspended_until, "suspended_until")
        v.add_all(c, suspension_violations(s_from, s_until))
        c.require(bool(request.reason.strip()), "reason", "the announcement or reason")
        c.raise_if_any()
        assert s_from is not None
        async with self.uows() as uow:
            got = await measures.suspend_country_measure(
                uow=uow, cmd=commands.SuspendCountryMeasure(
                    measure_id=request.measure_id.strip(), suspended_from=s_from,
                    suspended_until=s_until, officer=p.subject,
                    reason=request.reason.strip()))
        self.state.put_measure(got.measure)
        return m.measure_to_pb(got)


def register(state: ScreeningState) -> Callable[[grpc.aio.Server, asyncpg.Pool], None]:
    """The ServiceSpec register callback, bound to the process's index."""

    def _register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
        servicer = guard(ScreeningServicer(pool, state),
                         pb.DESCRIPTOR.services_by_name["ScreeningService"], ACCESS)
        screening_service_pb2_grpc.add_ScreeningServiceServicer_to_server(servicer, server)

    return _register

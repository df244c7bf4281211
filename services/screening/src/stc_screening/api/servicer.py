"""grpc.aio servicer of stc.screening.v1.ScreeningService: validate, call one use case, map.

Who may call is the access table (api/access.py), enforced before each RPC runs:
SearchListEntries and GetListEntry are public (the control list is public, ECL Art. 18);
list changes and country measures are for MOFCOM officers and only on the PRC lists;
screening and classification for exporters, officers and auditors; consultations as their
docstrings say.

Every request's matching work is bounded by the limits below (INVALID_ARGUMENT naming the
field beyond them) and runs on the matcher thread, never on the event loop (see
``stc_screening.matcher``); the service README lists the limits.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import grpc
from stc.screening.v1 import consultation_pb2, screening_service_pb2_grpc
from stc.screening.v1 import events_pb2 as ev
from stc.screening.v1 import screening_service_pb2 as pb
from stc_common.auth.access import guard
from stc_common.auth.jwt import Authority, Role, require
from stc_common.db.uow import unit_of_work
from stc_common.errors import NotFound, ViolationCollector
from stc_common.paging import is_offset_token, offset_from_token

from stc_screening import service
from stc_screening.api import mapping as m
from stc_screening.api.access import ACCESS
from stc_screening.domain.items import is_valid_control_code
from stc_screening.domain.lists import ListKind
from stc_screening.domain.search import MatchKind, matches_well
from stc_screening.service import ListChange, ScreeningState

SOURCE = "screening"
MAX_PAGE = 100
# Per-request limits of screening's own work: each name costs up to ~5 ms of matching. They
# agree with the edge's limits table (issue 10) where both bound the same field.
MAX_NAME = 300  # characters of a name, alias or search query
MAX_ADDRESS = 500
MAX_PARTY_ID = 64
MAX_ALIASES = 10  # per party
MAX_IDENTIFIERS = 10  # per party
MAX_IDENTIFIER = 100  # characters of an identifier's type or value
MAX_PARTIES = 10  # per ScreenTransaction
MAX_TRANSACTION_NAMES = 110  # names and aliases over the parties of one ScreenTransaction
MAX_ITEMS = 20  # per ScreenTransaction
MAX_FLAGS = 20  # per ScreenTransaction
MAX_BATCH = 1000  # parties per ScreenParties
MAX_BATCH_NAMES = 2000  # names and aliases over the parties of one ScreenParties
MAX_DESCRIPTION = 2000  # characters of an item description (ClassifyItem, items)
MAX_PARAMETERS = 10  # per ClassifyItem
MAX_LIST_KINDS = 10
MAX_ENTRY_ALIASES = 50  # per list entry (AddListEntry, UpdateListEntry)
MAX_ENTRY_IDENTIFIERS = 20
MAX_ENTRY_ID = 200
MAX_VIOLATIONS = 20  # field violations reported per request (and a count of the rest)
SEARCH_THRESHOLD = 0.75
_AUTHORITIES = {a.value for a in Authority}
_MATCH_KIND = {MatchKind.IDENTIFIER: pb.SEARCH_MATCH_KIND_IDENTIFIER,
               MatchKind.EXACT_NAME: pb.SEARCH_MATCH_KIND_EXACT_NAME,
               MatchKind.TOKEN: pb.SEARCH_MATCH_KIND_TOKEN,
               MatchKind.FUZZY: pb.SEARCH_MATCH_KIND_FUZZY}

# Who may screen: exporters, officers and auditors. An importer token (bound to one licence
# for change reports) may not use the screening tools.
_SCREENERS = (Role.EXPORTER, Role.OFFICER, Role.AUDITOR)


def _page(c: ViolationCollector, size: int, token: str, default: int = 20) -> tuple[int, int]:
    c.require(0 <= size <= MAX_PAGE, "page_size", f"must be between 0 and {MAX_PAGE}")
    offset = 0
    if token:
        if c.require(is_offset_token(token), "page_token", "not a token this service issued"):
            offset = offset_from_token(token)
    return (size or default), offset


def _clean(value: str) -> bool:
    """No NUL or other control characters (PostgreSQL text refuses NUL)."""
    return value.isprintable() or not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def _text(c: ViolationCollector, value: str, field: str, limit: int) -> bool:
    """A string within ``limit`` characters and without control characters."""
    if len(value) > limit:
        c.add(field, f"at most {limit} characters")
        return False
    return c.require(_clean(value), field, "no NUL or control characters")


def _entry_id(c: ViolationCollector, value: str, field: str) -> str:
    """A list entry id as the service issues them: required, short, no control characters."""
    entry_id = value.strip()
    if c.require(bool(entry_id), field, "required"):
        _text(c, entry_id, field, MAX_ENTRY_ID)
    return entry_id


def _full(c: ViolationCollector) -> bool:
    """Enough violations to answer: the rest are counted, not listed."""
    return len(c.violations) >= MAX_VIOLATIONS


def _count(c: ViolationCollector, n: int, limit: int, field: str, what: str) -> bool:
    return c.require(n <= limit, field, f"at most {limit} {what} (got {n})")


def _kinds(c: ViolationCollector, kinds, field: str) -> list[ListKind] | None:
    out = []
    if not _count(c, len(kinds), MAX_LIST_KINDS, field, "list kinds"):
        return None
    for i, k in enumerate(kinds):
        if k not in m.LIST_KIND_FROM_PB:
            c.add(f"{field}[{i}]", "unknown list kind")
        else:
            out.append(m.LIST_KIND_FROM_PB[k])
    return out or None


def _date(c: ViolationCollector, d, field: str) -> dt.date | None:
    """A google.type.Date as a date (None when unset); a violation when it is no date."""
    if not (d.year or d.month or d.day):
        return None
    try:
        return dt.date(d.year, d.month, d.day)
    except ValueError:
        c.add(field, "a valid date")
        return None


def _country(code: str) -> bool:
    code = code.strip()
    return len(code) == 2 and code.isascii() and code.isalpha()


def _validate_party(c: ViolationCollector, p, field: str, *, name_required: bool = True
                    ) -> None:
    """A party within the per-party limits (name, aliases, identifiers, address)."""
    if name_required:
        c.require(bool(p.name.strip()), f"{field}.name", "a name is required")
    _text(c, p.name, f"{field}.name", MAX_NAME)
    _text(c, p.party_id, f"{field}.party_id", MAX_PARTY_ID)
    _text(c, p.address, f"{field}.address", MAX_ADDRESS)
    if p.country:
        c.require(len(p.country.strip()) == 2 and p.country.strip().isalpha(),
                  f"{field}.country", "an ISO 3166-1 alpha-2 code")
    if _count(c, len(p.aliases), MAX_ALIASES, f"{field}.aliases", "aliases"):
        for i, a in enumerate(p.aliases):
            if _full(c):
                return
            _text(c, a, f"{field}.aliases[{i}]", MAX_NAME)
    if _count(c, len(p.identifiers), MAX_IDENTIFIERS, f"{field}.identifiers", "identifiers"):
        for i, ident in enumerate(p.identifiers):
            if _full(c):
                return
            _text(c, ident.type, f"{field}.identifiers[{i}].type", MAX_IDENTIFIER)
            _text(c, ident.value, f"{field}.identifiers[{i}].value", MAX_IDENTIFIER)


def _validate_parties(c: ViolationCollector, parties, field: str, max_parties: int,
                      max_names: int, *, name_required: bool = True) -> None:
    """Many parties: their count, each party, and the names and aliases they add up to."""
    if not _count(c, len(parties), max_parties, field, "parties"):
        return
    names = sum(1 + len(p.aliases) for p in parties)
    if not _count(c, names, max_names, field, "names and aliases in all"):
        return
    for i, p in enumerate(parties):
        if _full(c):
            return
        _validate_party(c, p, f"{field}[{i}]", name_required=name_required)


def _validate_names(c: ViolationCollector, e: ev.ListEntry, field: str) -> None:
    _text(c, e.primary_name, f"{field}.primary_name", MAX_NAME)
    if _count(c, len(e.aliases), MAX_ENTRY_ALIASES, f"{field}.aliases", "aliases"):
        for i, a in enumerate(e.aliases):
            if not _full(c):
                _text(c, a, f"{field}.aliases[{i}]", MAX_NAME)
    if _count(c, len(e.identifiers), MAX_ENTRY_IDENTIFIERS, f"{field}.identifiers",
              "identifiers"):
        for i, ident in enumerate(e.identifiers):
            if not _full(c):
                _text(c, ident.value, f"{field}.identifiers[{i}].value", MAX_IDENTIFIER)


def _validate_entry(c: ViolationCollector, e: ev.ListEntry, field: str) -> None:
    c.require(bool(e.primary_name.strip()), f"{field}.primary_name", "a name is required")
    _validate_names(c, e, field)
    if e.list_kind not in m.LIST_KIND_FROM_PB:
        c.add(f"{field}.list_kind", "a list kind is required")
    for i, cc in enumerate(e.countries):
        c.require(len(cc.strip()) == 2 and cc.strip().isalpha(), f"{field}.countries[{i}]",
                  "an ISO 3166-1 alpha-2 code")
    if e.party_type:
        c.require(e.party_type.strip().lower() in m.PARTY_TYPE_FROM_PB, f"{field}.party_type",
                  "entity, individual, vessel or aircraft")
    if e.control_measure:  # Art. 18: a measure belongs to a control-list designation
        c.require(e.list_kind == ev.LIST_KIND_CONTROL_LIST, f"{field}.control_measure",
                  "only a control-list entry carries a measure (Art. 18)")
        c.require(e.control_measure in ev.ControlMeasure.values(), f"{field}.control_measure",
                  "PROHIBIT, RESTRICT or SUSPEND")


class ScreeningServicer(screening_service_pb2_grpc.ScreeningServiceServicer):
    """The ScreeningService RPCs."""

    def __init__(self, pool: asyncpg.Pool, state: ScreeningState) -> None:
        self.pool, self.state = pool, state

    # ------------------------------------------------------------------ public list reads

    async def SearchListEntries(self, request: pb.SearchListEntriesRequest, context
                                ) -> pb.SearchListEntriesResponse:
        """Public: entries whose names match the query (the screening matcher), or all."""
        c = ViolationCollector()
        size, offset = _page(c, request.page_size, request.page_token)
        kinds = _kinds(c, request.list_kinds, "list_kinds")
        _text(c, request.query, "query", MAX_NAME)
        c.raise_if_any()
        q = request.query.strip()
        idx = self.state.index
        if q:
            found = await service.search_entries(self.state, q, kinds, SEARCH_THRESHOLD)
            rows = [(idx.get(r.entry_id), r.score, r.matched, _MATCH_KIND[r.kind],
                     int(r.strength)) for r in found]
            well = matches_well(r.strength for r in found)
        else:
            entries = await service.list_entries(self.state, kinds)
            rows = [(e, 0.0, "", pb.SEARCH_MATCH_KIND_UNSPECIFIED,
                     pb.SEARCH_MATCH_STRENGTH_UNSPECIFIED) for e in entries]
            well = True
        page = rows[offset:offset + size]
        nxt = str(offset + size) if len(rows) > offset + size else ""
        return pb.SearchListEntriesResponse(
            results=[pb.SearchListEntry(entry=m.entry_to_pb(e), score=round(s, 4),
                                        matched_name=n, match_kind=k, strength=st)
                     for e, s, n, k, st in page if e is not None],
            next_page_token=nxt, total_size=len(rows), matches_well=well)

    async def GetListEntry(self, request: pb.GetListEntryRequest, context) -> ev.ListEntry:
        """Public: one entry."""
        c = ViolationCollector()
        entry_id = _entry_id(c, request.entry_id, "entry_id")
        c.raise_if_any()
        entry = self.state.index.get(entry_id)
        if entry is None:
            raise NotFound(f"list entry {request.entry_id} not found", reason="ENTRY_NOT_FOUND")
        return m.entry_to_pb(entry)

    # ------------------------------------------------------------------ officer list changes

    async def AddListEntry(self, request: pb.AddListEntryRequest, context) -> ev.ListEntry:
        """Officers: put a party on the control list, watch list or UEL."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        _validate_entry(c, request.entry, "entry")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        c.raise_if_any()
        change = ListChange()
        async with unit_of_work(self.pool, SOURCE) as uow:
            entry = await service.add_list_entry(
                uow=uow, state=self.state, change=change,
                cmd=service.AddEntry(entry=request.entry, reason=request.reason.strip(),
                                     officer=p.subject, request_id=request.request_id.strip()))
        await self.state.apply_committed(change)  # only after the commit
        return m.entry_to_pb(entry)

    async def UpdateListEntry(self, request: pb.UpdateListEntryRequest, context
                              ) -> ev.ListEntry:
        """Officers: change a PRC list entry."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        _entry_id(c, request.entry.entry_id, "entry.entry_id")
        c.require(bool(request.entry.primary_name.strip()), "entry.primary_name",
                  "a name is required")
        _validate_names(c, request.entry, "entry")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        c.raise_if_any()
        change = ListChange()
        async with unit_of_work(self.pool, SOURCE) as uow:
            entry = await service.update_list_entry(
                uow=uow, state=self.state, entry=request.entry, reason=request.reason.strip(),
                officer=p.subject, change=change)
        await self.state.apply_committed(change)
        return m.entry_to_pb(entry)

    async def RemoveListEntry(self, request: pb.RemoveListEntryRequest, context
                              ) -> pb.RemoveListEntryResponse:
        """Officers: delisting (Reg. 29)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        _entry_id(c, request.entry_id, "entry_id")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        c.raise_if_any()
        change = ListChange()
        async with unit_of_work(self.pool, SOURCE) as uow:
            removed = await service.remove_list_entry(
                uow=uow, entry_id=request.entry_id.strip(), reason=request.reason.strip(),
                officer=p.subject, change=change)
        await self.state.apply_committed(change)
        return pb.RemoveListEntryResponse(entry_id=request.entry_id.strip(), removed=removed)

    # ------------------------------------------------------------------ screening

    async def ScreenParty(self, request: pb.ScreenPartyRequest, context
                          ) -> pb.ScreenPartyResponse:
        """Exporters, officers and auditors: one party against all lists or a chosen few."""
        require(*_SCREENERS)
        c = ViolationCollector()
        _validate_party(c, request.party, "party")
        kinds = _kinds(c, request.list_kinds, "list_kinds")
        c.require(0 <= request.threshold <= 1, "threshold", "between 0 and 1")
        c.require(0 <= request.limit <= MAX_PAGE, "limit", f"between 0 and {MAX_PAGE}")
        c.raise_if_any()
        hits = await service.screen_party(self.state, m.party_to_domain(request.party), kinds,
                                          request.threshold or None, request.limit or 20)
        return pb.ScreenPartyResponse(
            hits=[m.hit_to_pb(h, entry=self.state.index.get(h.entry_id), party=request.party)
                  for h in hits], lists_version=self.state.lists_version)

    async def ScreenParties(self, request: pb.ScreenPartiesRequest, context
                            ) -> pb.ScreenPartiesResponse:
        """Exporters, officers and auditors: batch screening, up to MAX_BATCH parties (and
        MAX_BATCH_NAMES names and aliases) per call, one result per party in order."""
        require(*_SCREENERS)
        c = ViolationCollector()
        c.require(len(request.parties) > 0, "parties", "at least one party")
        _validate_parties(c, request.parties, "parties", MAX_BATCH, MAX_BATCH_NAMES,
                          name_required=False)
        for i, p in enumerate(request.parties):
            if _full(c):
                break
            c.require(bool(p.name.strip() or p.identifiers), f"parties[{i}].name",
                      "a name or an identifier is required")
        kinds = _kinds(c, request.list_kinds, "list_kinds")
        c.require(0 <= request.threshold <= 1, "threshold", "between 0 and 1")
        c.require(0 <= request.limit <= MAX_PAGE, "limit", f"between 0 and {MAX_PAGE}")
        c.raise_if_any()
        parties = list(request.parties)
        found = await service.screen_parties(
            self.state, [m.party_to_domain(p) for p in parties], kinds,
            request.threshold or None, request.limit or 20)
        get = self.state.index.get
        return pb.ScreenPartiesResponse(
            results=[pb.PartyScreening(
                party_id=p.party_id,
                hits=[m.hit_to_pb(h, entry=get(h.entry_id), party=p) for h in hits])
                for p, hits in zip(parties, found, strict=True)],
            lists_version=self.state.lists_version)

    async def ScreenTransaction(self, request: pb.ScreenTransactionRequest, context
                                ) -> pb.ScreenTransactionResponse:
        """Any authenticated role: parties, destination, items, end use and red flags."""
        require(*_SCREENERS)
        c = ViolationCollector()
        c.require(len(request.parties) > 0, "parties", "at least one party")
        _validate_parties(c, request.parties, "parties", MAX_PARTIES, MAX_TRANSACTION_NAMES)
        if _count(c, len(request.items), MAX_ITEMS, "items", "items"):
            for i, it in enumerate(request.items):
                if not _full(c):
                    _text(c, it.description, f"items[{i}].description", MAX_DESCRIPTION)
        _count(c, len(request.flags), MAX_FLAGS, "flags", "flags")
        _text(c, request.end_use.statement, "end_use.statement", MAX_DESCRIPTION)
        dest = request.destination.strip()
        c.require(len(dest) == 2 and dest.isalpha(), "destination",
                  "an ISO 3166-1 alpha-2 code")
        qty = None
        if request.end_use_quantity.strip():
            try:
                qty = float(request.end_use_quantity)
            except ValueError:
                c.add("end_use_quantity", "a decimal number")
        on = _date(c, request.on_date, "on_date") if request.HasField("on_date") else None
        c.raise_if_any()
        ts = await service.screen_transaction_input(self.state, service.TransactionInput(
            parties=list(request.parties), destination=dest, items=list(request.items),
            end_use=request.end_use,
            certificate=request.end_user_certificate
            if request.HasField("end_user_certificate") else None,
            facts=request.transaction if request.HasField("transaction") else None,
            flags=frozenset(f.strip().upper() for f in request.flags), end_use_quantity=qty,
            on=on))
        return pb.ScreenTransactionResponse(
            party_hits=ts.party_hits, findings=[m.finding_to_pb(f) for f in ts.result.findings],
            highest=m.SEVERITY_TO_PB[ts.result.highest], blocked=ts.result.blocked,
            lists_version=self.state.lists_version)

    async def ClassifyItem(self, request: pb.ClassifyItemRequest, context
                           ) -> pb.ClassifyItemResponse:
        """Any authenticated role: ranked control-list candidates with reasons."""
        require(*_SCREENERS)
        c = ViolationCollector()
        c.require(bool(request.description.strip() or request.parameters
                       or request.hs_code.strip()), "description",
                  "give a description, parameters or an HS code")
        _text(c, request.description, "description", MAX_DESCRIPTION)
        _count(c, len(request.parameters), MAX_PARAMETERS, "parameters", "parameters")
        params: dict[str, float] = {}
        for k, v in list(request.parameters.items())[:MAX_PARAMETERS]:
            try:
                params[k] = float(v)
            except ValueError:
                c.add(f"parameters[{k}]", "a number")
        hs = request.hs_code.strip()
        if hs:
            c.require(hs.isdigit() and 4 <= len(hs) <= 13, "hs_code", "4 to 13 digits")
        c.require(0 <= request.limit <= 50, "limit", "between 0 and 50")
        c.raise_if_any()
        got = await service.classify(self.state, request.description, params, hs,
                               request.limit or 5)
        return pb.ClassifyItemResponse(candidates=[m.candidate_to_pb(x) for x in got])

    # ------------------------------------------------------------------ consultations

    async def SubmitConsultation(self, request: pb.SubmitConsultationRequest, context
                                 ) -> consultation_pb2.Consultation:
        """Exporters: ask whether an item is controlled (Art. 12(4))."""
        p = require(Role.EXPORTER)
        c = ViolationCollector()
        authority = request.authority.strip().upper()
        c.require(authority in _AUTHORITIES, "authority", "MOFCOM, SASTIND, CAEA or CWC")
        c.require(bool(request.question.strip()), "question", "required")
        c.require(len(request.question) <= 10000, "question", "at most 10000 characters")
        c.raise_if_any()
        async with unit_of_work(self.pool, SOURCE) as uow:
            row = await service.submit_consultation(uow=uow, cmd=service.SubmitConsultation(
                exporter_uscc=p.uscc or "", authority=authority,
                question=request.question.strip(),
                item_description=request.item_description.strip(),
                hs_code=request.hs_code.strip(), parameters=dict(request.parameters),
                request_id=request.request_id.strip()))
        return m.consultation_to_pb(row)

    async def GetConsultation(self, request: pb.GetConsultationRequest, context
                              ) -> consultation_pb2.Consultation:
        """Exporters: their own; officers: their authority's; auditors: any."""
        p = require(Role.EXPORTER, Role.OFFICER, Role.AUDITOR)
        async with self.pool.acquire() as conn:
            row = await service.get_consultation(
                conn=conn, consultation_id=request.consultation_id.strip(),
                exporter_uscc=p.uscc if p.role is Role.EXPORTER else None,
                authority=p.authority.value if p.role is Role.OFFICER and p.authority else None)
        return m.consultation_to_pb(row)

    async def ListConsultations(self, request: pb.ListConsultationsRequest, context
                                ) -> pb.ListConsultationsResponse:
        """Officers: the consultations routed to their authority; auditors: all."""
        p = require(Role.OFFICER, Role.AUDITOR)
        c = ViolationCollector()
        size, offset = _page(c, request.page_size, request.page_token)
        c.raise_if_any()
        state = None
        if request.state:
            state = consultation_pb2.ConsultationState.Name(request.state).removeprefix(
                "CONSULTATION_STATE_")
        async with self.pool.acquire() as conn:
            rows = await service.list_consultations(
                conn=conn, authority=p.authority.value if p.role is Role.OFFICER and p.authority
                else None, state=state,
                offset=offset, limit=size + 1)
        return pb.ListConsultationsResponse(
            consultations=[m.consultation_to_pb(r) for r in rows[:size]],
            next_page_token=str(offset + size) if len(rows) > size else "")

    async def AnswerConsultation(self, request: pb.AnswerConsultationRequest, context
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
        async with unit_of_work(self.pool, SOURCE) as uow:
            row = await service.answer_consultation(
                uow=uow, consultation_id=request.consultation_id.strip(),
                authority=p.authority.value if p.authority else "", officer=p.subject,
                controlled=request.controlled, control_code=request.control_code.strip(),
                answer=request.answer.strip())
        return m.consultation_to_pb(row)

    # ------------------------------------------------------------------ country measures

    async def AddCountryMeasure(self, request: pb.AddCountryMeasureRequest, context
                                ) -> ev.CountryMeasure:
        """Officers: enter a dated measure the authority announced (CountryMeasureAdded)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        msg = request.measure
        c.require(_country(msg.country), "measure.country", "an ISO 3166-1 alpha-2 code")
        c.require(bool(msg.title_en.strip() or msg.title_zh.strip()), "measure.title_en",
                  "a title (English or Chinese) is required")
        c.require(bool(msg.announcement.strip()), "measure.announcement",
                  "the announcement reference is required")
        c.require(msg.scope in m.SCOPE_FROM_PB, "measure.scope", "a scope is required")
        c.require(len(msg.measure_id) <= 100, "measure.measure_id", "at most 100 characters")
        effective = _date(c, msg.effective_from, "measure.effective_from")
        c.require(msg.HasField("effective_from") and bool(msg.effective_from.year),
                  "measure.effective_from", "the effective date is required")
        s_from = _date(c, msg.suspended_from, "measure.suspended_from")
        s_until = _date(c, msg.suspended_until, "measure.suspended_until")
        expires = _date(c, msg.expires_on, "measure.expires_on")
        if effective and expires:
            c.require(expires > effective, "measure.expires_on", "after the effective date")
        if s_until:
            c.require(s_from is not None and s_until > s_from, "measure.suspended_until",
                      "after suspended_from")
        if effective and s_from:
            c.require(s_from >= effective, "measure.suspended_from",
                      "on or after the effective date")
        for i, code in enumerate(msg.item_codes):
            c.require(bool(code.strip()) and len(code) <= 20, f"measure.item_codes[{i}]",
                      "a control-code prefix")
        c.require(bool(request.reason.strip()), "reason", "the legal reason is required")
        c.raise_if_any()
        measure = m.measure_from_pb(msg, msg.measure_id.strip() or f"measure-{uuid.uuid4()}")
        async with unit_of_work(self.pool, SOURCE) as uow:
            row = await service.add_country_measure(uow=uow, cmd=service.AddMeasure(
                measure=measure, officer=p.subject, reason=request.reason.strip(),
                request_id=request.request_id.strip()))
        self.state.put_measure(service.mrepo.to_domain(row))  # only after the commit
        return m.measure_to_pb(row)

    async def ListCountryMeasures(self, request: pb.ListCountryMeasuresRequest, context
                                  ) -> pb.ListCountryMeasuresResponse:
        """Public: the measures officers entered (of a destination; in force on a date)."""
        c = ViolationCollector()
        size, offset = _page(c, request.page_size, request.page_token)
        country = request.country.strip().upper()
        if country:
            c.require(_country(country), "country", "an ISO 3166-1 alpha-2 code")
        on = _date(c, request.in_force_on, "in_force_on") \
            if request.HasField("in_force_on") else None
        c.raise_if_any()
        async with self.pool.acquire() as conn:
            rows = await service.list_country_measures(conn=conn, country=country, on=on)
        return pb.ListCountryMeasuresResponse(
            measures=[m.measure_to_pb(r) for r in rows[offset:offset + size]],
            next_page_token=str(offset + size) if len(rows) > offset + size else "")

    async def SuspendCountryMeasure(self, request: pb.SuspendCountryMeasureRequest, context
                                    ) -> ev.CountryMeasure:
        """Officers: suspend a measure (CountryMeasureChanged)."""
        p = require(Role.OFFICER)
        c = ViolationCollector()
        c.require(bool(request.measure_id.strip()), "measure_id", "required")
        s_from = _date(c, request.suspended_from, "suspended_from")
        c.require(s_from is not None or not request.suspended_from.year, "suspended_from",
                  "a valid date")
        c.require(bool(request.suspended_from.year), "suspended_from", "required")
        s_until = _date(c, request.suspended_until, "suspended_until")
        if s_from and s_until:
            c.require(s_until > s_from, "suspended_until", "after suspended_from")
        c.require(bool(request.reason.strip()), "reason", "the announcement or reason")
        c.raise_if_any()
        assert s_from is not None
        async with unit_of_work(self.pool, SOURCE) as uow:
            row = await service.suspend_country_measure(
                uow=uow, measure_id=request.measure_id.strip(), suspended_from=s_from,
                suspended_until=s_until, officer=p.subject, reason=request.reason.strip())
        self.state.put_measure(service.mrepo.to_domain(row))
        return m.measure_to_pb(row)


def register(state: ScreeningState):
    """The ServiceSpec register callback, bound to the process's index."""

    def _register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
        servicer = guard(ScreeningServicer(pool, state),
                         pb.DESCRIPTOR.services_by_name["ScreeningService"], ACCESS)
        screening_service_pb2_grpc.add_ScreeningServiceServicer_to_server(servicer, server)

    return _register

"""Domain <-> message conversions shared by the events screening publishes and consumes and
by the API (list entries, parties, hits, findings, measures): the shared message types
(``stc.common.v1``, ``stc.screening.v1`` events), never the service's request or response
types, which only ``api/mapping.py`` knows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import timestamp_pb2
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2
from stc.screening.v1 import events_pb2 as ev

from stc_screening.domain.control_measures import control_measure, with_measure
from stc_screening.domain.lists import (
    Address,
    EntryContent,
    Identifier,
    ListEntry,
    ListKind,
    PartyType,
)
from stc_screening.domain.matching import Decision, Hit, Party
from stc_screening.domain.policy import CountryMeasure, MeasureRecord
from stc_screening.domain.transaction import (
    Finding,
    PartyRole,
    Severity,
    TransactionItem,
    TransactionParty,
)

LIST_KIND_TO_PB = {k: ev.ListKind.Value(f"LIST_KIND_{k.value}") for k in ListKind}
LIST_KIND_FROM_PB = {v: k for k, v in LIST_KIND_TO_PB.items()}
DECISION_TO_PB = {Decision.CLEAR: ev.HIT_DECISION_CLEAR,
                  Decision.POTENTIAL_MATCH: ev.HIT_DECISION_POTENTIAL_MATCH,
                  Decision.MATCH: ev.HIT_DECISION_MATCH}
SEVERITY_TO_PB = {Severity.INFO: ev.SEVERITY_INFO, Severity.LOW: ev.SEVERITY_LOW,
                  Severity.MEDIUM: ev.SEVERITY_MEDIUM, Severity.HIGH: ev.SEVERITY_HIGH,
                  Severity.BLOCKING: ev.SEVERITY_PROHIBITIVE}
ROLE_FROM_PB = {
    common_pb2.PARTY_ROLE_EXPORTER: PartyRole.EXPORTER,
    common_pb2.PARTY_ROLE_IMPORTER: PartyRole.IMPORTER,
    common_pb2.PARTY_ROLE_CONSIGNEE: PartyRole.CONSIGNEE,
    common_pb2.PARTY_ROLE_END_USER: PartyRole.END_USER,
    common_pb2.PARTY_ROLE_INTERMEDIARY: PartyRole.INTERMEDIARY,
    common_pb2.PARTY_ROLE_FREIGHT_FORWARDER: PartyRole.FREIGHT_FORWARDER,
    common_pb2.PARTY_ROLE_BANK: PartyRole.BANK_PAYER,
}
PARTY_TYPE_TO_PB = {PartyType.ENTITY: "entity", PartyType.INDIVIDUAL: "individual",
                    PartyType.VESSEL: "vessel", PartyType.AIRCRAFT: "aircraft",
                    PartyType.UNKNOWN: ""}
PARTY_TYPE_FROM_PB = {v: k for k, v in PARTY_TYPE_TO_PB.items() if v}


def ts(at: dt.datetime) -> timestamp_pb2.Timestamp:
    """A Timestamp from an aware datetime."""
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(at.astimezone(dt.UTC))
    return out


def date_to_pb(d: dt.date | None) -> date_pb2.Date | None:
    """A google.type.Date, or None."""
    return date_pb2.Date(year=d.year, month=d.month, day=d.day) if d else None


def date_from_pb(d: date_pb2.Date) -> dt.date | None:
    """A date from a google.type.Date (None when unset/zero)."""
    return dt.date(d.year, d.month, d.day) if d.year else None


# ----------------------------------------------------------------------------- list entries


def entry_to_pb(e: ListEntry) -> ev.ListEntry:
    """The domain entry as the ListEntry message."""
    return ev.ListEntry(
        entry_id=e.entry_id, list_kind=LIST_KIND_TO_PB[e.list_kind], legal_basis=e.legal_basis,
        source=e.source, primary_name=e.primary_name, aliases=list(e.aliases),
        party_type=PARTY_TYPE_TO_PB[e.party_type], countries=list(e.countries),
        addresses=[a.text() for a in e.addresses],
        identifiers=[common_pb2.PartyIdentifier(type=i.type, value=i.value, country=i.country)
                     for i in e.identifiers],
        programs=list(e.programs), announcement=e.announcement,
        listed_on=date_to_pb(e.listed_on), remarks=e.remarks, content_hash=e.content_hash,
        control_measure=control_measure_to_pb(e))


# Art. 18: the control-list measure (domain/control_measures.py)
_MEASURE_FROM_PB = {ev.CONTROL_MEASURE_PROHIBIT: "PROHIBIT",
                    ev.CONTROL_MEASURE_RESTRICT: "RESTRICT",
                    ev.CONTROL_MEASURE_SUSPEND: "SUSPEND"}


def control_measure_to_pb(e: ListEntry) -> str:
    """The ControlMeasure of an entry (UNSPECIFIED off the control list)."""
    measure = control_measure(e)
    return f"CONTROL_MEASURE_{measure}" if measure else "CONTROL_MEASURE_UNSPECIFIED"


def content_from_pb(m: ev.ListEntry) -> EntryContent:
    """An officer's ListEntry message as entry content (names stripped and de-duplicated)."""
    names = tuple(dict.fromkeys(n.strip() for n in [m.primary_name, *m.aliases] if n.strip()))
    return EntryContent(
        names=names,
        party_type=PARTY_TYPE_FROM_PB.get(m.party_type.strip().lower(), PartyType.ENTITY),
        countries=tuple(c.strip().upper() for c in m.countries if c.strip()),
        addresses=tuple(Address(street=a.strip()) for a in m.addresses if a.strip()),
        identifiers=tuple(Identifier(i.type.strip().upper(), i.value.strip(), i.country)
                          for i in m.identifiers if i.value.strip()),
        programs=with_measure(tuple(m.programs), _MEASURE_FROM_PB.get(m.control_measure)),
        announcement=m.announcement.strip(),
        listed_on=date_from_pb(m.listed_on) if m.HasField("listed_on") else None,
        remarks=m.remarks.strip())


def entry_from_pb(m: ev.ListEntry, *, entry_id: str, source: str) -> ListEntry:
    """A domain entry from an officer's ListEntry message (the hash is recomputed)."""
    return content_from_pb(m).entry(entry_id=entry_id, list_kind=LIST_KIND_FROM_PB[m.list_kind],
                                    source=source)


def content_from_party(party: common_pb2.Party, *, announcement: str, remarks: str
                       ) -> EntryContent:
    """A party (of an end-use check) as the content of an entity's list entry."""
    return content_from_pb(ev.ListEntry(
        list_kind=ev.LIST_KIND_WATCH_LIST, primary_name=party.name,
        aliases=list(party.aliases), countries=[party.country] if party.country else [],
        addresses=[party.address] if party.address else [],
        identifiers=list(party.identifiers), party_type="entity",
        announcement=announcement, remarks=remarks))


# ----------------------------------------------------------------------------- parties, hits


def party_to_dict(p: common_pb2.Party) -> dict[str, Any]:
    """A party as stored in the re-screening projection."""
    return {"party_id": p.party_id, "role": common_pb2.PartyRole.Name(p.role), "name": p.name,
            "aliases": list(p.aliases), "country": p.country, "address": p.address,
            "identifiers": [{"type": i.type, "value": i.value, "country": i.country}
                            for i in p.identifiers], "business": p.business}


def party_from_dict(d: dict[str, Any]) -> common_pb2.Party:
    """The projection's party back as a message."""
    return common_pb2.Party(
        party_id=d["party_id"], role=common_pb2.PartyRole.Value(d["role"]), name=d["name"],
        aliases=d.get("aliases", []), country=d.get("country", ""),
        address=d.get("address", ""), business=d.get("business", ""),
        identifiers=[common_pb2.PartyIdentifier(**i) for i in d.get("identifiers", [])])


def party_to_domain(p: common_pb2.Party) -> Party:
    """The matcher's Party from a common Party."""
    return Party(name=p.name.strip(),
                 aliases=tuple(a.strip() for a in p.aliases if a.strip()),
                 country=p.country.strip(), address=p.address.strip(),
                 identifiers=tuple(Identifier(i.type.strip().upper(), i.value.strip(),
                                              i.country) for i in p.identifiers
                                   if i.value.strip()))


def tx_party(p: common_pb2.Party, *, military_end_use: bool) -> TransactionParty:
    """A party of a transaction, with its role."""
    role = ROLE_FROM_PB.get(p.role, PartyRole.INTERMEDIARY)
    return TransactionParty(party_id=p.party_id, role=role, party=party_to_domain(p),
                            business_line=p.business,
                            is_military=military_end_use and role is PartyRole.END_USER)


def hit_to_pb(h: Hit, *, entry: ListEntry | None, party: common_pb2.Party | None = None
              ) -> ev.PartyHit:
    """A domain hit as a PartyHit, with the per-feature explanation."""
    nm = h.name_match
    features = [ev.FeatureScore(feature=k, score=float(v)) for k, v in h.features.items()]
    if nm is not None:
        for q, e, s in nm.unit_pairs:
            features.append(ev.FeatureScore(feature="unit", score=float(s), detail=f"{q}~{e}"))
    return ev.PartyHit(
        party_id=party.party_id if party else "",
        party_role=party.role if party else common_pb2.PARTY_ROLE_UNSPECIFIED,
        party_name=party.name if party else "", list_kind=LIST_KIND_TO_PB[h.list_kind],
        entry_id=h.entry_id, entry_name=entry.primary_name if entry else "",
        score=round(float(h.score), 4), decision=DECISION_TO_PB[h.decision],
        matched_name=nm.query_name if nm else h.matched_identifier,
        matched_entry_name=nm.entry_name if nm else h.matched_identifier,
        features=features, explanation=h.explanation,
        control_measure=control_measure_to_pb(entry) if entry else "CONTROL_MEASURE_UNSPECIFIED")


def finding_category(code: str) -> str:
    """destination, item, end_use, red_flag or list, from a finding's code."""
    if code.startswith(("ARMS_EMBARGO", "COUNTRY_MEASURE")):
        return "destination"
    if code.startswith("ITEM_") or code == "CATCH_ALL":
        return "item"
    if code in ("MILITARY_END_USE", "CERTIFICATE_MISSING"):
        return "end_use"
    if code.startswith("RF"):
        return "red_flag"
    return "list"


def finding_to_pb(f: Finding) -> ev.TransactionFinding:
    """A domain finding as a TransactionFinding; evidence as key=value strings."""
    evidence = [f"{k}={v}" for k, v in f.evidence.items() if v]
    if f.article:
        evidence.append(f"article={f.article}")
    return ev.TransactionFinding(category=finding_category(f.code), code=f.code,
                                 severity=SEVERITY_TO_PB[f.severity], text_en=f.text_en,
                                 text_zh=f.text_zh, evidence=evidence)


def items_to_domain(items: list[application_pb2.Item]) -> tuple[TransactionItem, ...]:
    """Transaction items from application items (quantity parsed where it is a number)."""
    out = []
    for i in items:
        try:
            qty = float(i.quantity) if i.quantity.strip() else None
        except ValueError:
            qty = None
        out.append(TransactionItem(code=i.control_code.strip(), description=i.description,
                                   quantity=qty, unit=i.unit))
    return tuple(out)


# ----------------------------------------------------------------------------- country measures

SCOPE_TO_PB = {"all": ev.MEASURE_SCOPE_ALL,
               "military_end_user": ev.MEASURE_SCOPE_MILITARY_END_USER,
               "military_end_use": ev.MEASURE_SCOPE_MILITARY_END_USE}
SCOPE_FROM_PB = {v: k for k, v in SCOPE_TO_PB.items()}


def measure_to_pb(r: MeasureRecord) -> ev.CountryMeasure:
    """A stored measure as a message."""
    m = r.measure
    return ev.CountryMeasure(
        measure_id=m.measure_id, country=m.country, title_en=m.title_en,
        title_zh=m.title_zh, basis=m.basis, announcement=m.announcement,
        scope=SCOPE_TO_PB.get(m.applies_to, ev.MEASURE_SCOPE_UNSPECIFIED),
        item_codes=list(m.item_codes), effective_from=date_to_pb(m.effective_from),
        suspended_from=date_to_pb(m.suspended_from),
        suspended_until=date_to_pb(m.suspended_until),
        expires_on=date_to_pb(m.ended_on), officer=r.officer, updated_at=ts(r.updated_at))


def measure_from_pb(msg: ev.CountryMeasure, measure_id: str) -> CountryMeasure:
    """The domain measure from an officer's message (validated before: it has an effective
    date)."""
    effective_from = date_from_pb(msg.effective_from)
    assert effective_from is not None
    return CountryMeasure(
        measure_id=measure_id, country=msg.country.strip().upper(),
        title_en=msg.title_en.strip(), title_zh=msg.title_zh.strip(), basis=msg.basis.strip(),
        effective_from=effective_from,
        suspended_from=date_from_pb(msg.suspended_from),
        suspended_until=date_from_pb(msg.suspended_until),
        ended_on=date_from_pb(msg.expires_on), applies_to=SCOPE_FROM_PB[msg.scope],
        item_codes=tuple(c.strip() for c in msg.item_codes if c.strip()),
        announcement=msg.announcement.strip())

"""Unit tests of the wiring: proto <-> domain mapping, stored entry round trips, finding
categories, the transaction built from application messages, settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as ap
from stc.screening.v1 import events_pb2 as ev
from stc_screening import convert as m
from stc_screening.config import ScreeningSettings
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import (
    Address,
    Identifier,
    ListChange,
    ListEntry,
    ListKind,
    PartyType,
)
from stc_screening.domain.matching import Party, Thresholds
from stc_screening.domain.transaction import PartyRole
from stc_screening.service import screening as service
from stc_screening.service.commands import ScreenTransaction
from stc_screening.service.state import ScreeningState
from stc_screening.storage.lists import entry_from_raw, entry_to_raw

ENTRY = ListEntry(
    entry_id="prc-control-list:abc", list_kind=ListKind.CONTROL_LIST,
    names=("Lockheed Martin Corporation", "洛克希德·马丁公司"), party_type=PartyType.ENTITY,
    source="MOFCOM announcement", countries=("US",),
    addresses=(Address(street="6801 Rockledge Dr", city="Bethesda", country="US"),),
    identifiers=(Identifier("REGISTRATION", "123-45", "US"),), programs=("P1",),
    announcement="MOFCOM Announcement 2025 No. 1", listed_on=dt.date(2025, 1, 2),
    remarks="r")


def test_every_list_kind_maps_both_ways():
    for kind in ListKind:
        assert m.LIST_KIND_FROM_PB[m.LIST_KIND_TO_PB[kind]] is kind


def test_stored_entry_round_trips_with_its_hash():
    back = entry_from_raw(entry_to_raw(ENTRY))
    assert back == ENTRY and back.content_hash == ENTRY.content_hash


def test_entry_to_pb_and_back_keeps_names_and_fields():
    pb = m.entry_to_pb(ENTRY)
    assert pb.primary_name == "Lockheed Martin Corporation"
    assert list(pb.aliases) == ["洛克希德·马丁公司"] and pb.party_type == "entity"
    assert pb.list_kind == ev.LIST_KIND_CONTROL_LIST and pb.listed_on.year == 2025
    back = m.entry_from_pb(pb, entry_id=ENTRY.entry_id, source=ENTRY.source)
    assert back.names == ENTRY.names and back.countries == ENTRY.countries
    assert back.identifiers == ENTRY.identifiers and back.listed_on == ENTRY.listed_on


def test_officer_entry_is_cleaned():
    pb = ev.ListEntry(list_kind=ev.LIST_KIND_WATCH_LIST, primary_name=" Acme ",
                      aliases=["Acme", " ", "阿克米"], countries=[" de "],
                      listed_on=date_pb2.Date(year=2026, month=1, day=5))
    e = m.entry_from_pb(pb, entry_id="prc-watch-list:x", source="officer:o")
    assert e.names == ("Acme", "阿克米") and e.countries == ("DE",)
    assert e.party_type is PartyType.ENTITY and e.listed_on == dt.date(2026, 1, 5)


def test_hit_to_pb_explains_the_match():
    index = ScreeningIndex([ENTRY])
    party = common_pb2.Party(party_id="p1", role=common_pb2.PARTY_ROLE_END_USER,
                             name="洛克希德·馬丁公司", country="US")
    hits = index.screen(m.party_to_domain(party))
    assert hits
    pb = m.hit_to_pb(hits[0], entry=ENTRY, party=party)
    assert pb.party_id == "p1" and pb.party_role == common_pb2.PARTY_ROLE_END_USER
    assert pb.entry_name == ENTRY.primary_name and pb.decision == ev.HIT_DECISION_MATCH
    assert pb.matched_name == "洛克希德·馬丁公司" and pb.explanation
    assert "name" in {f.feature for f in pb.features}


def test_party_dict_round_trip():
    p = common_pb2.Party(party_id="p", role=common_pb2.PARTY_ROLE_CONSIGNEE, name="n",
                         aliases=["a"], country="DE", address="x", business="b",
                         identifiers=[common_pb2.PartyIdentifier(type="LEI", value="1")])
    assert m.party_from_dict(m.party_to_dict(p)) == p


def test_finding_categories():
    assert m.finding_category("ARMS_EMBARGO_FULL") == "destination"
    assert m.finding_category("COUNTRY_MEASURE_MILITARY") == "destination"
    assert m.finding_category("ITEM_CODE_INVALID") == "item"
    assert m.finding_category("RF10") == "red_flag"
    assert m.finding_category("MILITARY_END_USE") == "end_use"
    assert m.finding_category("LIST_MATCH_CONTROL_LIST") == "list"


def test_transaction_from_application_messages():
    t = service.build_transaction(ScreenTransaction(
        parties=(common_pb2.Party(party_id="eu", role=common_pb2.PARTY_ROLE_END_USER,
                                  name="Army Depot 7", country="XX"),
                 common_pb2.Party(party_id="bk", role=common_pb2.PARTY_ROLE_BANK, name="B")),
        destination="xx ", items=(ap.Item(control_code="1C902.a", quantity="2.5"),
                                  ap.Item(description="unlisted", quantity="many")),
        end_use=ap.EndUse(category=ap.END_USE_CATEGORY_MILITARY),
        certificate=ap.EndUserCertificate(issuer_kind=ap.CERTIFICATE_ISSUER_END_USER),
        facts=ap.TransactionFacts(routing_countries=[" ae"], cash_payment=True,
                                  remove_origin_marks=True),
        on=dt.date(2026, 11, 2)))
    assert t.destination_country == "xx" and t.date == dt.date(2026, 11, 2)
    assert t.parties[0].is_military and t.parties[1].role is PartyRole.BANK_PAYER
    assert t.items[0].quantity == 2.5 and t.items[1].quantity is None
    assert t.certificate_issuer == "Army Depot 7"  # issued by the end user itself
    assert "military" in t.end_use and t.routing_countries == ("AE",)
    assert {"CASH_PAYMENT", "REMOVE_ORIGIN_MARKS"} <= t.flags


def test_state_applies_changes_and_versions():
    state = ScreeningState(Thresholds())
    v0 = state.lists_version
    state.apply(ListChange(put=[ENTRY]))
    assert ENTRY.entry_id in state.index and state.lists_version != v0
    assert state.index.screen(Party("Lockheed Martin Corp"))
    state.apply(ListChange(removed=[ENTRY.entry_id]))
    assert ENTRY.entry_id not in state.index and state.lists_version == v0


def test_data_dir_defaults_beside_the_repository(monkeypatch):
    monkeypatch.delenv("STC_DATA_DIR", raising=False)
    s = ScreeningSettings()
    assert s.data_path.parts[-2:] == ("shared", "data")
    monkeypatch.setenv("STC_DATA_DIR", "/data")
    assert ScreeningSettings().data_path == Path("/data")


def test_with_exporter_adds_the_uscc_once():
    uscc = "91310000MA1FL00001"
    eu = common_pb2.Party(party_id="p-eu", role=common_pb2.PARTY_ROLE_END_USER, name="X")
    # no exporter party: a nameless one with the USCC is added
    out = service.with_exporter([eu], uscc)
    assert [p.party_id for p in out] == ["p-eu", service.EXPORTER_PARTY_ID]
    assert out[1].role == common_pb2.PARTY_ROLE_EXPORTER and not out[1].name
    assert [(i.type, i.value) for i in out[1].identifiers] == [("USCC", uscc)]
    # an exporter party gets the USCC (a copy: the message is not changed) ...
    exp = common_pb2.Party(party_id="p-x", role=common_pb2.PARTY_ROLE_EXPORTER, name="某公司")
    out = service.with_exporter([exp, eu], uscc)
    assert [p.party_id for p in out] == ["p-x", "p-eu"] and not exp.identifiers
    assert [i.value for i in out[0].identifiers] == [uscc]
    # ... unless it has it already (any spelling)
    exp.identifiers.add(type="uscc", value="9131 0000 MA1F L00001")
    assert len(service.with_exporter([exp], uscc)[0].identifiers) == 1
    assert service.with_exporter([eu], "  ") == [eu]


async def test_a_nameless_party_hits_only_by_identifier():
    uscc = "91310000MA1FL00001"
    state = ScreeningState(Thresholds())
    state.index = ScreeningIndex([ENTRY, ListEntry(
        "prc-watch-list:u", ListKind.WATCH_LIST, ("Shanghai Listed Co",), PartyType.ENTITY,
        identifiers=(Identifier("USCC", uscc),))])
    ts = await service.screen_transaction_input(state=state, cmd=ScreenTransaction(
        parties=tuple(service.with_exporter([], uscc)), destination="DE", items=(),
        end_use=ap.EndUse(), certificate=None, facts=None, on=dt.date(2026, 5, 1)))
    assert [(h.party_id, h.entry_id, h.party_role) for h in ts.party_hits] == [
        ("exporter", "prc-watch-list:u", common_pb2.PARTY_ROLE_EXPORTER)]
    assert ts.party_hits[0].party_name == f"USCC {uscc}"

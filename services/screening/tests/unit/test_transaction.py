"""Transaction screening: lists, destination, items, catch-all and red flags."""

import csv
import datetime as dt
from importlib import resources

import pytest
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.items import ControlItem
from stc_screening.domain.lists import ListEntry, ListKind, PartyType
from stc_screening.domain.matching import Party
from stc_screening.domain.policy import ArmsEmbargo, CountryMeasure
from stc_screening.domain.transaction import (
    PartyRole,
    Severity,
    Transaction,
    TransactionItem,
    TransactionParty,
)
from stc_screening.domain.transaction import screen_transaction as _screen
from stc_screening.policy_files import finding_texts as default_texts

DAY = dt.date(2026, 3, 1)
EMBARGOES = [ArmsEmbargo("KP", "DPRK", "full", "UNSCR 1718", dt.date(2006, 10, 14)),
             ArmsEmbargo("SD", "Sudan", "Darfur region", "UNSCR 1556", dt.date(2004, 7, 30))]
ITEMS = {"1C902.a": ControlItem("1C902.a", "1", "C", "Samarium metal")}


def screen_transaction(*args, **kwargs):
    """The domain function with the shipped finding texts."""
    return _screen(*args, texts=default_texts(), **kwargs)


def _party(pid, role, name, country="", **kw):
    return TransactionParty(pid, role, Party(name, country=country), **kw)


def _tx(**kw) -> Transaction:
    base = dict(
        date=DAY, destination_country="DE",
        parties=(_party("imp", PartyRole.IMPORTER, "Muster Handel GmbH", "DE"),
                 _party("eu", PartyRole.END_USER, "Muster Magnet Werke GmbH", "DE")),
        items=(TransactionItem("1C902.a", "samarium magnets", 100),),
        end_use="Motors for industrial pumps", certificate_issuer="Muster Magnet Werke GmbH",
        payment_country="DE", payer_name="Muster Handel GmbH")
    base.update(kw)
    return Transaction(**base)


def test_clean_transaction_has_no_findings():
    r = screen_transaction(_tx(), {}, EMBARGOES, [], ITEMS)
    assert r.findings == () and r.highest is Severity.INFO and not r.blocked


def test_every_red_flag_is_a_data_row_with_both_languages():
    text = resources.files("stc_screening.data").joinpath("red_flags.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["code"] for r in rows] == [f"RF{i:02d}" for i in range(1, 21)]
    assert all(r["text_en"] and r["text_zh"] for r in rows)
    assert default_texts()["RF17"].text_zh.startswith("最终用户证明文件")


def test_full_arms_embargo_blocks_and_partial_is_high():
    r = screen_transaction(_tx(destination_country="KP"), {}, EMBARGOES, [], ITEMS)
    f = next(f for f in r.findings if f.code == "ARMS_EMBARGO_FULL")
    assert r.blocked and f.evidence["resolution"] == "UNSCR 1718"
    assert f.text_zh and f.text_en
    r = screen_transaction(_tx(destination_country="Sudan"), {}, EMBARGOES, [], ITEMS)
    assert "ARMS_EMBARGO_PARTIAL" in r.codes() and not r.blocked


def test_country_measure_applies_only_while_in_force():
    m = CountryMeasure("m1", "DE", "Ban on dual-use exports to military end users", "禁令",
                       "Announcement X", effective_from=dt.date(2026, 1, 1),
                       suspended_from=dt.date(2026, 2, 1), suspended_until=dt.date(2026, 4, 1),
                       applies_to="military_end_user")
    assert not m.in_force_on(DAY) and m.in_force_on(dt.date(2026, 1, 15))
    assert m.in_force_on(dt.date(2026, 4, 1)) and not m.in_force_on(dt.date(2025, 12, 31))
    mil = _tx(date=dt.date(2026, 5, 1), end_use="Components for the navy's patrol boats")
    r = screen_transaction(mil, {}, [], [m], ITEMS)
    assert {"COUNTRY_MEASURE", "RF15", "MILITARY_END_USE"} <= set(r.codes()) and r.blocked
    r = screen_transaction(_tx(date=dt.date(2026, 5, 1)), {}, [], [m], ITEMS)
    assert r.codes() == ["COUNTRY_MEASURE_MILITARY"]
    r = screen_transaction(_tx(date=DAY, end_use="navy"), {}, [], [m], ITEMS)
    assert "COUNTRY_MEASURE" not in r.codes()


def test_item_codes_checked_for_format_and_presence():
    items = (TransactionItem("1C902.a"), TransactionItem("1c902"), TransactionItem("3A001.a.1"),
             TransactionItem("", "hand tools"))
    r = screen_transaction(_tx(items=items), {}, [], [], ITEMS)
    ev = {(f.code, f.evidence.get("code", "")) for f in r.findings}
    assert ("ITEM_CODE_INVALID", "1c902") in ev
    assert ("ITEM_NOT_ON_CONTROL_LIST", "3A001.a.1") in ev
    assert ("ITEM_UNLISTED", "") in ev
    assert not any(c == "1C902.a" for _, c in ev)


def test_catch_all_and_military_end_use():
    r = screen_transaction(_tx(end_use="用于导弹制导系统"), {}, [], [], ITEMS)
    assert "CATCH_ALL" in r.codes() and r.blocked
    r = screen_transaction(_tx(end_use="Uranium enrichment centrifuges"), {}, [], [], ITEMS)
    assert "CATCH_ALL" in r.codes()
    r = screen_transaction(_tx(end_use="供军队使用"), {}, [], [], ITEMS)
    assert "MILITARY_END_USE" in r.codes() and "CATCH_ALL" not in r.codes()


def test_list_hits_say_which_list_and_end_user_raises_rf14():
    index = ScreeningIndex([
        ListEntry("prc:1", ListKind.CONTROL_LIST, ("Muster Magnet Werke GmbH",), PartyType.ENTITY),
        ListEntry("ofac:1", ListKind.OFAC_SDN, ("Muster Handel GmbH",), PartyType.ENTITY)])
    tx = _tx()
    hits = {p.party_id: index.screen(p.party) for p in tx.parties}
    r = screen_transaction(tx, hits, [], [], ITEMS)
    codes = r.codes()
    assert "LIST_MATCH_CONTROL_LIST" in codes and "LIST_MATCH_FOREIGN" in codes
    assert "RF14" in codes and r.blocked
    f = next(f for f in r.findings if f.code == "LIST_MATCH_CONTROL_LIST")
    assert f.evidence["entry_id"] == "prc:1" and "Art. 18" in f.evidence["legal_basis"]


def test_freight_forwarder_as_final_consignee():
    parties = (_party("imp", PartyRole.IMPORTER, "Muster Handel GmbH", "DE"),
               _party("eu", PartyRole.END_USER, "Speedy Freight Forwarding LLC", "DE"),
               _party("ff", PartyRole.FREIGHT_FORWARDER, "Speedy Freight Forwarding LLC", "DE"))
    r = screen_transaction(_tx(parties=parties, certificate_issuer="Speedy Freight Forwarding"),
                           {}, [], [], ITEMS)
    assert "RF10" in r.codes()


def test_routing_and_intermediary_in_a_hub_unrelated_to_the_end_user():
    parties = (*_tx().parties, _party("mid", PartyRole.INTERMEDIARY, "Gulf Bridge FZE", "UAE"))
    r = screen_transaction(_tx(parties=parties, routing_countries=("AE", "DE")), {}, [], [],
                           ITEMS)
    assert {"RF11", "RF19"} <= set(r.codes())
    # A hub that is the destination is not a detour.
    r = screen_transaction(_tx(destination_country="AE", routing_countries=("AE",),
                               payment_country="AE"), {}, [], [], ITEMS)
    assert "RF11" not in r.codes()


def test_certificate_issuer_must_be_end_user_or_its_government():
    r = screen_transaction(_tx(certificate_issuer="Some Broker Ltd"), {}, [], [], ITEMS)
    assert "RF17" in r.codes()
    r = screen_transaction(_tx(certificate_issuer="BAFA", certificate_issuer_is_government=True,
                               certificate_issuer_country="Germany"), {}, [], [], ITEMS)
    assert "RF17" not in r.codes()
    r = screen_transaction(_tx(certificate_issuer=""), {}, [], [], ITEMS)
    assert "CERTIFICATE_MISSING" in r.codes()


def test_quantity_payment_and_declared_flags():
    r = screen_transaction(_tx(end_use_quantity=10, payment_country="Cyprus",
                               payer_name="Offshore Payments Inc",
                               flags=frozenset({"CASH_PAYMENT", "SPLIT_SHIPMENTS"})),
                           {}, [], [], ITEMS)
    codes = r.codes()
    assert {"RF18", "RF05", "RF16"} <= set(codes)
    reasons = {f.evidence.get("reason") for f in r.findings if f.code == "RF20"}
    assert reasons == {"third country", "third party"}
    assert codes == [f.code for f in sorted(r.findings, key=lambda f: (-f.severity, f.code))]


@pytest.mark.parametrize("flag,code", [("REFUSES_END_USE_INFO", "RF02"),
                                       ("EVASIVE_REEXPORT", "RF13")])
def test_declared_flags_map_to_red_flags(flag, code):
    assert code in screen_transaction(_tx(flags=frozenset({flag})), {}, [], [], ITEMS).codes()

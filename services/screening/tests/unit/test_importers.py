"""Importers over the shipped files and over small newer-format samples."""

from pathlib import Path

import pytest
from stc_screening.domain.lists import ListKind, PartyType
from stc_screening.importers.bis import parse_bis_dpl
from stc_screening.importers.control_list import parse_control_list
from stc_screening.importers.ofac import parse_ofac_sdn, parse_remarks
from stc_screening.importers.policy import parse_arms_embargoes, parse_country_measures
from stc_screening.importers.prc import parse_prc_lists
from stc_screening.importers.un import parse_un_consolidated


def test_shipped_lists_load_with_unique_ids(all_entries):
    kinds = {e.list_kind for e in all_entries}
    assert {ListKind.OFAC_SDN, ListKind.UN_CONSOLIDATED, ListKind.BIS_DPL,
            ListKind.CONTROL_LIST, ListKind.WATCH_LIST,
            ListKind.UNRELIABLE_ENTITY_LIST} <= kinds
    ids = [e.entry_id for e in all_entries]
    assert len(ids) == len(set(ids))
    ofac = [e for e in all_entries if e.list_kind is ListKind.OFAC_SDN]
    assert len(ofac) > 8000 and sum(len(e.aliases) for e in ofac) > 10000


def test_ofac_entry_has_aliases_addresses_programs_and_uscc(all_entries):
    by_id = {e.entry_id: e for e in all_entries}
    cuba = by_id["ofac-sdn:306"]
    assert cuba.names[0] == "BANCO NACIONAL DE CUBA"
    assert "NATIONAL BANK OF CUBA" in cuba.aliases
    assert cuba.programs == ("CUBA",)
    assert cuba.addresses[0].city == "Zurich CH-8022"
    silverstar = by_id["ofac-sdn:24977"]
    assert ("USCC", "91222401MA0Y31E659") in [(i.type, i.value) for i in silverstar.identifiers]
    assert silverstar.party_type is PartyType.ENTITY


def test_remarks_parser():
    ids, nats, akas = parse_remarks(
        "DOB 1960; alt. Passport A123456 (Iran); nationality Iran; a.k.a. 'FOO BAR'.")
    assert [(i.type, i.value, i.country) for i in ids] == [("Passport", "A123456", "Iran")]
    assert nats == ("Iran",) and akas == ("FOO BAR",)


def test_ofac_accepts_a_newer_file_with_other_rows(tmp_path: Path):
    (tmp_path / "sdn.csv").write_text(
        '99001,"NEW TRADING CO., LTD.",-0- ,"IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
        '"Registration Number 12345 (China)."\r\n'
        '99002,"DOE, John",individual,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\x1a',
        encoding="utf-8")
    (tmp_path / "alt.csv").write_text('99002,1,"aka","DOE, Johnny",-0- \r\n', encoding="utf-8")
    entries = parse_ofac_sdn(tmp_path)
    assert [e.entry_id for e in entries] == ["ofac-sdn:99001", "ofac-sdn:99002"]
    assert entries[0].identifiers[0].value == "12345" and entries[0].remarks
    assert entries[1].names == ("DOE, John", "DOE, Johnny")
    assert entries[1].party_type is PartyType.INDIVIDUAL and entries[1].addresses == ()


def test_un_individual_with_document_and_original_script(data_dir):
    entries = parse_un_consolidated(data_dir / "lists" / "un_consolidated.xml")
    by_id = {e.entry_id: e for e in entries}
    e = by_id["un:CDi.019"]
    assert e.names[0] == "BAUDOIN NGARUYE WA MYAMURO"
    assert "Colonel Baudoin NGARUYE" in e.aliases
    assert e.identifiers[0].value == "1-78-09-44621-80"
    assert any(n == "صدام حسين التكريتي" for x in entries for n in x.names)
    assert {x.party_type for x in entries} == {PartyType.INDIVIDUAL, PartyType.ENTITY}


def test_bis_groups_rows_of_one_person(tmp_path: Path):
    header = "\t".join(f'"{h}"' for h in ("Name", "Street_Address", "City", "State", "Country",
                                           "Postal_Code", "Effective_Date", "Expiration_Date",
                                           "Standard_Order", "Last_Update", "Action",
                                           "FR_Citation"))
    row = ('"JANE ROE"\t"1 MAIN ST"\t"{city}"\t"TX"\t"US"\t"1"\t"01/02/2020"\t""\t"Y"\t""'
           '\t"ADDED"\t"85 F.R. 1"')
    path = tmp_path / "dpl.txt"
    path.write_text("\n".join([header, row.format(city="AUSTIN"), row.format(city="DALLAS")]))
    [e] = parse_bis_dpl(path)
    assert e.entry_id.startswith("bis-dpl:") and len(e.addresses) == 2
    assert e.listed_on.isoformat() == "2020-01-02"


def test_prc_lists_map_to_the_three_kinds(data_dir, tmp_path: Path):
    entries = parse_prc_lists(data_dir / "lists" / "prc_lists.csv")
    kinds = {e.list_kind for e in entries}
    assert kinds == {ListKind.CONTROL_LIST, ListKind.WATCH_LIST, ListKind.UNRELIABLE_ENTITY_LIST}
    lm = [e for e in entries if e.names[0] == "Lockheed Martin Corporation"]
    assert {e.list_kind for e in lm} == {ListKind.CONTROL_LIST, ListKind.UNRELIABLE_ENTITY_LIST}
    assert all("洛克希德·马丁公司" in e.names for e in lm)
    bad = tmp_path / "bad.csv"
    bad.write_text("list,name_en,name_zh,country,announcement,date\nsome_list,X,,US,A,2025-01-01\n")
    with pytest.raises(ValueError):
        parse_prc_lists(bad)
    zh = tmp_path / "zh.csv"
    zh.write_text("list,name_en,name_zh,country,announcement,date\n关注名单,X Corp,,JP,A,2025-01-01\n")
    assert parse_prc_lists(zh)[0].list_kind is ListKind.WATCH_LIST


def test_control_list_and_embargoes(data_dir):
    items = parse_control_list(data_dir / "control_list" / "prc_dual_use_2024_sample.csv")
    codes = {i.code for i in items}
    assert "1C902.a" in codes and len(codes) == len(items)
    assert next(i for i in items if i.code == "1C902.a").reference_hs[0] == "2805301910"
    embargoes = {e.country: e for e in parse_arms_embargoes(
        data_dir / "policy" / "unsc_arms_embargoes.csv")}
    assert embargoes["KP"].is_full and not embargoes["SD"].is_full
    assert embargoes["KP"].resolution == "UNSCR 1718"


def test_country_measures_csv(tmp_path: Path):
    path = tmp_path / "measures.csv"
    path.write_text(
        "measure_id,country,title_en,title_zh,basis,effective_from,suspended_from,"
        "suspended_until,ended_on,applies_to,item_codes\n"
        "m1,JP,Ban,禁止,MOFCOM 2026 No. 1,2026-01-06,,,,military_end_user,\n")
    [m] = parse_country_measures(path)
    assert m.country == "JP" and m.applies_to == "military_end_user" and m.item_codes == ()


def test_reimport_of_a_changed_prc_file_diffs_by_stable_ids(data_dir, tmp_path: Path):
    from stc_screening.domain.lists import diff_entries

    src = (data_dir / "lists" / "prc_lists.csv").read_text(encoding="utf-8").splitlines()
    old = parse_prc_lists(data_dir / "lists" / "prc_lists.csv")
    header, first, rest = src[0], src[1], src[2:]
    changed = first.replace("MOFCOM Announcement 2025 No. 1", "MOFCOM Announcement 2025 No. 1A")
    new_path = tmp_path / "prc.csv"
    new_path.write_text("\n".join([header, changed, *rest[1:],
                                   "watch_list,New Party Ltd,,JP,MOFCOM 2026 No. 9,2026-03-01"]),
                        encoding="utf-8")
    d = diff_entries(old, parse_prc_lists(new_path))
    assert [e.names[0] for e in d.added] == ["New Party Ltd"]
    assert [e.entry_id for e in d.removed] == [old[1].entry_id]
    assert [(o.entry_id, n.announcement) for o, n in d.updated] == [
        (old[0].entry_id, "MOFCOM Announcement 2025 No. 1A")]

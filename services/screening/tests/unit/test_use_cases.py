"""Unit tests of every screening use case over the in-memory unit of work
(``stc_screening.testing.fakes``): what each stores, what it publishes, what it does to the
index after the commit, and that a refusal stores and publishes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as ap
from stc.screening.v1 import events_pb2 as ev
from stc_common.errors import AlreadyExists, FailedPrecondition, NotFound
from stc_common.idempotency import RequestIdReused
from stc_screening.domain.consultations import ConsultationState
from stc_screening.domain.items import ControlItem
from stc_screening.domain.lists import (
    EntryContent,
    Identifier,
    ListChange,
    ListEntry,
    ListKind,
    PartyType,
)
from stc_screening.domain.matching import Party, Thresholds
from stc_screening.domain.policy import CountryMeasure
from stc_screening.policy_files import ParsedList
from stc_screening.service import (
    classification,
    commands,
    consultations,
    index,
    lists,
    measures,
    screening,
    search,
    subjects,
)
from stc_screening.service.state import ScreeningState
from stc_screening.storage.subjects import APPLICATION, LICENCE
from stc_screening.testing.fakes import FakeStore

OFFICER = "officer-1"
EXPORTER = "91310000MA1FL00001"
LISTED = "Kestrel Dynamics GmbH"


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def state() -> ScreeningState:
    return ScreeningState(Thresholds())


def _content(name: str = LISTED, **kw) -> EntryContent:
    return EntryContent(names=(name,), countries=("DE",), **kw)


def _add(name: str = LISTED, rid: str = "", kind: ListKind = ListKind.CONTROL_LIST
         ) -> commands.AddListEntry:
    return commands.AddListEntry(list_kind=kind, content=_content(name), reason="Art. 18",
                                 officer=OFFICER, request_id=rid)


async def _run(store: FakeStore, fn, **kw):
    async with store.uows()() as uow:
        got = await fn(uow=uow, **kw)
    return got, uow


async def _refused(store: FakeStore, exc: type[Exception], fn, **kw) -> Exception:
    before = store.snapshot()
    with pytest.raises(exc) as err:
        await _run(store, fn, **kw)
    assert store.snapshot() == before  # nothing stored, nothing published
    return err.value


async def _keep_application(store: FakeStore, name: str, app_id: str = "app-1") -> None:
    party = common_pb2.Party(party_id="eu", role=common_pb2.PARTY_ROLE_END_USER, name=name,
                             country="DE")
    async with store.uows()() as uow:
        await uow.subjects.upsert(APPLICATION, app_id, EXPORTER,
                                  [{"party_id": party.party_id, "role": "PARTY_ROLE_END_USER",
                                    "name": name, "aliases": [], "country": "DE",
                                    "address": "", "identifiers": [], "business": ""}])


# ----------------------------------------------------------------------------- officer changes


async def test_add_list_entry_stores_publishes_rescreens_and_indexes_after_commit(store, state):
    await _keep_application(store, LISTED)
    entry, uow = await _run(store, lists.add_list_entry, state=state, cmd=_add())
    assert entry.entry_id.startswith("prc-control-list:")
    assert store.entries[entry.entry_id] == (entry, "officer")
    added = store.events(ev.ListEntryAdded)
    assert [(a.entry.entry_id, a.officer, a.reason) for a in added] == [
        (entry.entry_id, OFFICER, "Art. 18")]
    matches = store.events(ev.RescreeningMatch)
    assert [(m.subject_id, m.hit.entry_id) for m in matches] == [("app-1", entry.entry_id)]
    assert matches[0].subject_kind == ev.SUBJECT_KIND_APPLICATION
    # the index changes only when the caller applies the committed change
    assert entry.entry_id not in state.index
    assert uow.index_change.put == [entry] and uow.index_change.rescreening_matches == 1
    await state.apply_committed(uow.index_change)
    assert state.index.get(entry.entry_id) == entry


async def test_a_repeated_request_id_replays_and_a_different_request_is_refused(store, state):
    first, _ = await _run(store, lists.add_list_entry, state=state, cmd=_add(rid="r-1"))
    before = store.snapshot()
    again, uow = await _run(store, lists.add_list_entry, state=state, cmd=_add(rid="r-1"))
    assert again == first and store.snapshot() == before and not uow.index_change.put
    err = await _refused(store, RequestIdReused, lists.add_list_entry, state=state,
                         cmd=_add("Another Party Ltd", rid="r-1"))
    assert err.code == "ALREADY_EXISTS" and err.reason == "REQUEST_ID_REUSED"
    assert err.metadata == {"existing_id": first.entry_id}


async def test_a_foreign_list_is_read_only(store, state):
    err = await _refused(store, FailedPrecondition, lists.add_list_entry, state=state,
                         cmd=_add(kind=ListKind.OFAC_SDN))
    assert err.reason == "FOREIGN_LIST_READ_ONLY"


async def test_update_list_entry(store, state):
    entry, _ = await _run(store, lists.add_list_entry, state=state, cmd=_add())
    await _keep_application(store, "凯斯特雷尔动力")
    cmd = commands.UpdateListEntry(entry_id=entry.entry_id, list_kind=None,
                                   content=EntryContent(names=(LISTED, "凯斯特雷尔动力"),
                                                        countries=("DE",)),
                                   reason="alias", officer="officer-2")
    updated, uow = await _run(store, lists.update_list_entry, state=state, cmd=cmd)
    assert updated.aliases == ("凯斯特雷尔动力",) and updated.content_hash != entry.content_hash
    assert store.entries[entry.entry_id][0] == updated
    got = store.events(ev.ListEntryUpdated)
    assert [(u.entry.content_hash, u.officer) for u in got] == [
        (updated.content_hash, "officer-2")]
    assert [m.hit.entry_id for m in store.events(ev.RescreeningMatch)] == [entry.entry_id]
    assert uow.index_change.put == [updated]
    # the same content again: nothing written or published
    before = store.snapshot()
    same, _ = await _run(store, lists.update_list_entry, state=state, cmd=cmd)
    assert same == updated and store.snapshot() == before


async def test_update_refusals_write_nothing(store, state):
    entry, _ = await _run(store, lists.add_list_entry, state=state, cmd=_add())
    await _refused(store, NotFound, lists.update_list_entry, state=state,
                   cmd=commands.UpdateListEntry("prc-control-list:nope", None, _content(), "r",
                                                OFFICER))
    err = await _refused(store, FailedPrecondition, lists.update_list_entry, state=state,
                         cmd=commands.UpdateListEntry(entry.entry_id, ListKind.WATCH_LIST,
                                                      _content("Changed"), "r", OFFICER))
    assert err.reason == "LIST_KIND_CHANGED"


async def test_an_officer_edit_takes_an_imported_entry_over(store, state):
    imported = ListEntry("prc-watch-list:imp", ListKind.WATCH_LIST, ("Imported Co",))
    async with store.uows()() as uow:
        await uow.lists.insert_many([imported], "import")
    await _run(store, lists.update_list_entry, state=state, cmd=commands.UpdateListEntry(
        imported.entry_id, None, _content("Imported Company"), "fix", OFFICER))
    assert store.entries[imported.entry_id][1] == "officer"


async def test_remove_list_entry(store, state):
    entry, _ = await _run(store, lists.add_list_entry, state=state, cmd=_add())
    store.hits[(APPLICATION, "a", "p", entry.entry_id)] = entry.content_hash
    removed, uow = await _run(store, lists.remove_list_entry, cmd=commands.RemoveListEntry(
        entry.entry_id, "delisted on application (Reg. 29)", OFFICER))
    assert removed and entry.entry_id not in store.entries and not store.hits
    ev_removed = store.events(ev.ListEntryRemoved)
    assert [(r.entry_id, r.list_kind) for r in ev_removed] == [
        (entry.entry_id, ev.LIST_KIND_CONTROL_LIST)]
    assert uow.index_change.removed == [entry.entry_id]
    await _refused(store, NotFound, lists.remove_list_entry,
                   cmd=commands.RemoveListEntry(entry.entry_id, "again", OFFICER))


async def test_remove_refuses_a_foreign_entry(store):
    ofac = ListEntry("ofac-sdn:1", ListKind.OFAC_SDN, ("Foreign Listed",))
    async with store.uows()() as uow:
        await uow.lists.insert_many([ofac], "import")
    await _refused(store, FailedPrecondition, lists.remove_list_entry,
                   cmd=commands.RemoveListEntry(ofac.entry_id, "r", OFFICER))


async def test_a_non_cooperating_party_goes_on_the_watch_list_once(store, state):
    party = common_pb2.Party(name="Evasive Trading FZE", country="ae", address="Dubai")
    cmd = commands.WatchListNonCooperating(check_id="c-1", party=party, officer="")
    entry, _ = await _run(store, lists.watch_list_non_cooperating, state=state, cmd=cmd)
    assert entry is not None and entry.entry_id == "prc-watch-list:check-c-1"
    assert store.entries[entry.entry_id][1] == "enduser"
    assert entry.countries == ("AE",) and "Reg. 26" in entry.remarks
    assert [a.officer for a in store.events(ev.ListEntryAdded)] == ["enduser"]
    before = store.snapshot()
    again, _ = await _run(store, lists.watch_list_non_cooperating, state=state, cmd=cmd)
    assert again is None and store.snapshot() == before


# ----------------------------------------------------------------------------- imports


def _parsed(entries: list[ListEntry]) -> ParsedList:
    return ParsedList("prc", Path("prc_lists.csv"), "sha", entries)


async def test_import_list_first_load_is_quiet_then_changes_are_published(store, state):
    a = ListEntry("prc-control-list:a", ListKind.CONTROL_LIST, ("Alpha Listed Co",))
    b = ListEntry("prc-watch-list:b", ListKind.WATCH_LIST, ("Beta Listed Co",))
    summary, uow = await _run(store, lists.import_list, parsed=_parsed([a, b]),
                              publish_initial=False)
    assert (summary.entries, summary.added, summary.published) == (2, 2, 0)
    assert set(store.entries) == {a.entry_id, b.entry_id} and not store.outbox
    assert {e.entry_id for e in uow.index_change.put} == {a.entry_id, b.entry_id}
    assert store.versions[0]["list_name"] == "prc"
    # an officer owns an entry: the importer never touches it
    owned, _ = await _run(store, lists.add_list_entry, state=state, cmd=_add())
    store.outbox.clear()
    a2 = ListEntry(a.entry_id, a.list_kind, ("Alpha Listed Company",))
    c = ListEntry("prc-control-list:c", ListKind.CONTROL_LIST, ("Gamma Listed Co",))
    summary, uow = await _run(store, lists.import_list, parsed=_parsed([a2, c]),
                              publish_initial=False)
    assert (summary.added, summary.updated, summary.removed, summary.published) == (1, 1, 1, 3)
    assert [type(m).__name__ for m in store.events()] == [
        "ListEntryAdded", "ListEntryUpdated", "ListEntryRemoved"]
    assert owned.entry_id in store.entries and b.entry_id not in store.entries
    assert uow.index_change.removed == [b.entry_id]


async def test_import_lists_applies_each_committed_list_to_the_index(store, state, tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "prc_lists.csv").write_text(
        "list,name_en,name_zh,country,announcement,date\n"
        'control_list,"Lockheed Martin Corporation",洛克希德·马丁公司,US,"MOFCOM 2025 No. 1",'
        "2025-01-02\n", encoding="utf-8")
    out = await lists.import_lists(store.uows(), data_dir=tmp_path, names=["prc", "un"],
                                   publish_initial=False, state=state)
    assert [(s.list_name, s.added) for s in out] == [("prc", 1)]  # no UN file: skipped
    assert len(store.entries) == 1 and not store.outbox
    (entry_id,) = store.entries
    assert state.index.get(entry_id) is not None  # applied after the commit
    assert store.versions[0]["file_sha256"] and store.versions[0]["entries"] == 1


async def test_sync_entry_follows_the_table(store, state):
    e = ListEntry("prc-control-list:s", ListKind.CONTROL_LIST, ("Sigma Listed Co",))
    async with store.uows()() as uow:
        await uow.lists.insert_many([e], "officer")
    await index.sync_entry(uows=store.uows(), state=state, entry_id=e.entry_id,
                           content_hash=e.content_hash)
    assert state.index.get(e.entry_id) == e
    store.entries.clear()
    await index.sync_entry(uows=store.uows(), state=state, entry_id=e.entry_id,
                           content_hash="")
    assert e.entry_id not in state.index


# ----------------------------------------------------------------------------- screening


def _listed_state(state: ScreeningState) -> ScreeningState:
    state.apply(ListChange(put=[
        ListEntry("prc-control-list:k", ListKind.CONTROL_LIST, (LISTED,), PartyType.ENTITY,
                  countries=("DE",)),
        ListEntry("prc-watch-list:u", ListKind.WATCH_LIST, ("Shanghai Listed Co",),
                  PartyType.ENTITY, identifiers=(Identifier("USCC", EXPORTER),))]))
    return state


def _content_msg(name: str) -> ap.ApplicationContent:
    return ap.ApplicationContent(
        destination="DE", exporter_uscc=EXPORTER,
        parties=[common_pb2.Party(party_id="eu", role=common_pb2.PARTY_ROLE_END_USER,
                                  name=name, country="DE")],
        end_use=ap.EndUse(statement="machining"))


async def test_screen_application_stores_keeps_and_publishes(store, state):
    _listed_state(state)
    msg, _ = await _run(store, screening.screen_application, state=state,
                        cmd=commands.ScreenApplication("app-9", EXPORTER, _content_msg(LISTED),
                                                       "evt-1", dt.date(2026, 5, 1)))
    assert {(h.party_id, h.entry_id) for h in msg.party_hits} == {
        ("eu", "prc-control-list:k"), ("exporter", "prc-watch-list:u")}
    assert store.events() == [msg] and msg.subject_kind == ev.SUBJECT_KIND_APPLICATION
    assert msg.lists_version == state.lists_version
    kept = store.subjects[(APPLICATION, "app-9")]
    assert [p["party_id"] for p in kept["parties"]] == ["eu", "exporter"]
    assert (APPLICATION, "app-9", "eu", "prc-control-list:k") in store.hits
    assert store.results[0]["trigger_event_id"] == "evt-1"
    assert store.results[0]["screening_id"] == msg.screening_id


async def test_screen_new_end_user_reports_a_control_list_hit_once(store, state):
    _listed_state(state)
    async with store.uows()() as uow:
        await uow.subjects.upsert(LICENCE, "lic-1", EXPORTER, [])
    party = common_pb2.Party(party_id="change:r1", role=common_pb2.PARTY_ROLE_END_USER,
                             name=LISTED)
    cmd = commands.ScreenNewEndUser("lic-1", EXPORTER, party, "evt-2")
    done, _ = await _run(store, screening.screen_new_end_user, state=state, cmd=cmd)
    assert done.subject_kind == ev.SUBJECT_KIND_CHANGE_REPORT and done.party_hits
    matches = store.events(ev.RescreeningMatch)
    assert [(m.subject_id, m.hit.entry_id) for m in matches] == [("lic-1", "prc-control-list:k")]
    assert [p["party_id"] for p in store.subjects[(LICENCE, "lic-1")]["parties"]] == [
        "change:r1"]
    await _run(store, screening.screen_new_end_user, state=state, cmd=cmd)
    assert len(store.events(ev.RescreeningMatch)) == 1  # reported once


async def test_keep_licence_swaps_the_application_and_drop_subject(store):
    await _keep_application(store, "Someone", app_id="app-3")
    store.hits[(APPLICATION, "app-3", "eu", "x")] = "h"
    await _run(store, subjects.keep_licence, cmd=commands.KeepLicence(
        "lic-3", "app-3", EXPORTER, (common_pb2.Party(party_id="eu", name="Someone"),)))
    assert set(store.subjects) == {(LICENCE, "lic-3")} and not store.hits
    dropped, _ = await _run(store, subjects.drop_subject,
                            cmd=commands.DropSubject(LICENCE, "lic-3"))
    assert dropped and not store.subjects and not store.outbox
    again, _ = await _run(store, subjects.drop_subject,
                          cmd=commands.DropSubject(LICENCE, "lic-3"))
    assert not again


async def test_screen_party_parties_and_search_read_the_index(state):
    _listed_state(state)
    got = await screening.screen_party(state=state, cmd=commands.ScreenParty(Party(LISTED)))
    assert [h.entry_id for h in got.hits[0]] == ["prc-control-list:k"]
    assert got.entries["prc-control-list:k"].primary_name == LISTED
    batch = await screening.screen_parties(state=state, cmd=commands.ScreenParties(
        (Party(LISTED), Party("Nobody At All Ltd"), Party(""))))
    assert [len(h) for h in batch.hits] == [1, 0, 0]
    found = await search.search_list_entries(
        state=state, cmd=commands.SearchListEntries("Kestrel"))
    assert [e.entry_id for e, _ in found.results] == ["prc-control-list:k"]
    every = await search.search_list_entries(
        state=state, cmd=commands.SearchListEntries("", (ListKind.WATCH_LIST,)))
    assert [e.entry_id for e, r in every.results] == ["prc-watch-list:u"]
    assert every.matches_well


async def test_classify_uses_the_shipped_control_items(state):
    state.control_items = {"1C117.c": ControlItem(
        "1C117.c", "1", "C", "Tungsten alloys with a density exceeding 17.5 g/cm3")}
    got = await classification.classify(state=state, cmd=commands.ClassifyItem(
        description="tungsten alloy", parameters={"density": 18.2}))
    assert got and got[0].code == "1C117.c"


# ----------------------------------------------------------------------------- country measures


def _measure(mid: str = "", **kw) -> CountryMeasure:
    base = dict(measure_id=mid, country="XX", title_en="Ban on dual-use exports", title_zh="",
                basis="MOFCOM 2026 No. 1", effective_from=dt.date(2026, 1, 1),
                applies_to="military_end_user", announcement="MOFCOM 2026 No. 1")
    base.update(kw)
    return CountryMeasure(**base)


async def test_add_country_measure_stores_publishes_and_replays(store):
    cmd = commands.AddCountryMeasure(_measure(), OFFICER, "Art. 8", request_id="m-1")
    rec, _ = await _run(store, measures.add_country_measure, cmd=cmd)
    assert rec.measure_id.startswith("measure-") and store.measures[rec.measure_id] == rec
    added = store.events(ev.CountryMeasureAdded)
    assert [(a.measure.measure_id, a.officer, a.reason) for a in added] == [
        (rec.measure_id, OFFICER, "Art. 8")]
    before = store.snapshot()
    again, _ = await _run(store, measures.add_country_measure, cmd=cmd)
    assert again == rec and store.snapshot() == before
    err = await _refused(store, RequestIdReused, measures.add_country_measure,
                         cmd=commands.AddCountryMeasure(_measure(country="YY"), OFFICER,
                                                        "Art. 8", request_id="m-1"))
    assert err.metadata == {"existing_id": rec.measure_id}
    await _run(store, measures.add_country_measure,
               cmd=commands.AddCountryMeasure(_measure("fixed"), OFFICER, "r"))
    err = await _refused(store, AlreadyExists, measures.add_country_measure,
                         cmd=commands.AddCountryMeasure(_measure("fixed"), OFFICER, "r"))
    assert err.reason == "MEASURE_EXISTS"


async def test_suspend_and_list_country_measures(store):
    rec, _ = await _run(store, measures.add_country_measure,
                        cmd=commands.AddCountryMeasure(_measure("m"), OFFICER, "r"))
    await _refused(store, FailedPrecondition, measures.suspend_country_measure,
                   cmd=commands.SuspendCountryMeasure("m", dt.date(2025, 12, 1), None,
                                                      OFFICER, "too early"))
    await _refused(store, NotFound, measures.suspend_country_measure,
                   cmd=commands.SuspendCountryMeasure("nope", dt.date(2026, 2, 1), None,
                                                      OFFICER, "r"))
    got, _ = await _run(store, measures.suspend_country_measure,
                        cmd=commands.SuspendCountryMeasure("m", dt.date(2026, 3, 1),
                                                           dt.date(2026, 4, 1), "officer-9",
                                                           "talks"))
    assert got.measure.suspended_from == dt.date(2026, 3, 1) and got.officer == "officer-9"
    changed = store.events(ev.CountryMeasureChanged)
    assert [(c.change, c.officer) for c in changed] == [("SUSPENDED", "officer-9")]
    in_force, _ = await _run(store, measures.list_country_measures,
                             cmd=commands.ListCountryMeasures("XX", dt.date(2026, 3, 15)))
    assert in_force == []
    later, _ = await _run(store, measures.list_country_measures,
                          cmd=commands.ListCountryMeasures("XX", dt.date(2026, 4, 2)))
    assert [r.measure_id for r in later] == ["m"]


async def test_index_loads_measures_and_reconciles(store, state):
    await _run(store, measures.add_country_measure,
               cmd=commands.AddCountryMeasure(_measure("m"), OFFICER, "r"))
    await index.load_measures(uows=store.uows(), state=state)
    assert [m.measure_id for m in state.measures] == ["m"]
    e = ListEntry("prc-control-list:z", ListKind.CONTROL_LIST, ("Zeta Listed Co",))
    async with store.uows()() as uow:
        await uow.lists.insert_many([e], "officer")
    state.apply(ListChange(put=[ListEntry("prc-control-list:gone", ListKind.CONTROL_LIST,
                                          ("Gone Co",))]))
    assert await index.reconcile(uows=store.uows(), state=state) == 2
    assert {x.entry_id for x in state.index.entries()} == {e.entry_id}
    await index.build_index(uows=store.uows(), state=state)
    assert len(state.index) == 1


# ----------------------------------------------------------------------------- consultations


def _question(rid: str = "", question: str = "Is SmCo powder controlled?"
              ) -> commands.SubmitConsultation:
    return commands.SubmitConsultation(exporter_uscc=EXPORTER, authority="MOFCOM",
                                       question=question, hs_code="8505111000",
                                       request_id=rid)


async def test_submit_consultation_stores_publishes_and_replays(store):
    c, _ = await _run(store, consultations.submit_consultation, cmd=_question("q-1"))
    assert store.consultations[c.consultation_id] == c
    assert c.state is ConsultationState.SUBMITTED
    sub = store.events(ev.ConsultationSubmitted)
    assert [(s.consultation_id, s.authority) for s in sub] == [(c.consultation_id, "MOFCOM")]
    before = store.snapshot()
    again, _ = await _run(store, consultations.submit_consultation, cmd=_question("q-1"))
    assert again == c and store.snapshot() == before
    err = await _refused(store, RequestIdReused, consultations.submit_consultation,
                         cmd=_question("q-1", "Another question?"))
    assert err.metadata == {"existing_id": c.consultation_id}
    # another exporter may use the same request id
    other, _ = await _run(store, consultations.submit_consultation,
                          cmd=commands.SubmitConsultation("91110000XXXXXXXX0X", "MOFCOM",
                                                          "Q?", request_id="q-1"))
    assert other.consultation_id != c.consultation_id


async def test_consultation_visibility_and_answer(store):
    c, _ = await _run(store, consultations.submit_consultation, cmd=_question())
    get = consultations.get_consultation
    assert (await _run(store, get, cmd=commands.GetConsultation(
        c.consultation_id, exporter_uscc=EXPORTER)))[0] == c
    for cmd in (commands.GetConsultation(c.consultation_id, exporter_uscc="other"),
                commands.GetConsultation(c.consultation_id, authority="SASTIND"),
                commands.GetConsultation("not-a-uuid"),
                commands.GetConsultation(str(uuid.uuid4()))):
        await _refused(store, NotFound, get, cmd=cmd)
    mofcom, _ = await _run(store, consultations.list_consultations,
                           cmd=commands.ListConsultations("MOFCOM", None, 0, 10))
    sastind, _ = await _run(store, consultations.list_consultations,
                            cmd=commands.ListConsultations("SASTIND", None, 0, 10))
    assert [x.consultation_id for x in mofcom] == [c.consultation_id] and sastind == []
    answer = commands.AnswerConsultation(c.consultation_id, "MOFCOM", "off-3", True, "1C902.a",
                                         "Controlled.")
    await _refused(store, NotFound, consultations.answer_consultation,
                   cmd=commands.AnswerConsultation(c.consultation_id, "SASTIND", "off-4",
                                                   False, "", "No."))
    done, _ = await _run(store, consultations.answer_consultation, cmd=answer)
    assert done.answered and done.officer == "off-3" and done.answered_at is not None
    assert store.consultations[c.consultation_id] == done
    answered = store.events(ev.ConsultationAnswered)
    assert [(a.controlled, a.control_code, a.officer) for a in answered] == [
        (True, "1C902.a", "off-3")]
    err = await _refused(store, FailedPrecondition, consultations.answer_consultation,
                         cmd=answer)
    assert err.reason == "CONSULTATION_ANSWERED"

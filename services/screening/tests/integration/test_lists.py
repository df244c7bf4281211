"""Lists: every shipped list imported (counts per list, re-import changes nothing, a newer
file yields added/updated/removed events that every replica's index follows), public search
without a token, officer-only changes on the PRC lists only."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import sys
import time
import uuid
from collections import Counter

import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import events_pb2 as lic
from stc.screening.v1 import events_pb2 as ev
from stc.screening.v1 import screening_service_pb2 as pb
from stc_common.db.pool import create_pool
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.kafka.topics import LICENCE
from stc_common.testing.service import bearer
from stc_screening.config import SOURCE
from stc_screening.importers.bundle import load_lists
from stc_screening.policy_files import LIST_SOURCES
from stc_screening.service.lists import import_lists
from stc_screening.storage.uow import uow_factory

from .conftest import EXPORTER, party

pytestmark = pytest.mark.integration


async def test_every_shipped_list_is_imported_and_reimport_changes_nothing(stack):
    expected = Counter(e.list_kind.value for e in load_lists(stack.settings.data_path))
    rows = await stack.fetchval(
        "SELECT json_object_agg(list_kind, n) FROM "
        "(SELECT list_kind, count(*) n FROM list_entries WHERE origin = 'import' GROUP BY 1) x")
    got = json.loads(rows)
    assert got == dict(expected)
    assert got["OFAC_SDN"] > 8000 and got["UN_CONSOLIDATED"] > 900
    assert got["BIS_DPL"] > 400 and got["CONTROL_LIST"] > 0
    assert len(stack.state.index) == await stack.fetchval("SELECT count(*) FROM list_entries")
    snapshot = ("SELECT md5(string_agg(entry_id || content_hash || updated_at::text, ',' "
                "ORDER BY entry_id)) FROM list_entries WHERE origin = 'import'")
    before = await stack.fetchval(snapshot)

    pool = await create_pool(stack.dsn)
    try:
        t0 = time.perf_counter()
        summary = await import_lists(uow_factory(pool, SOURCE),
                                     data_dir=stack.settings.data_path,
                                     names=list(LIST_SOURCES), publish_initial=True)
        seconds = time.perf_counter() - t0
    finally:
        await pool.close()
    print(f"\nre-import of {sum(s.entries for s in summary)} entries: {seconds:.2f}s")
    assert {s.list_name for s in summary} == {"ofac", "un", "bis", "prc"}
    assert all((s.added, s.updated, s.removed, s.published) == (0, 0, 0, 0) for s in summary)
    assert await stack.fetchval(snapshot) == before  # no row written
    runs = await stack.fetchval("SELECT count(*) FROM list_versions")
    assert runs == 8  # four on start, four now


async def test_a_newer_file_publishes_its_changes_and_the_index_follows(stack, tmp_path):
    data = tmp_path / "data"
    (data / "lists").mkdir(parents=True)
    src = stack.settings.data_path / "lists" / "prc_lists.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    changed_row = rows[0]
    new_name = f"Newco Avionics {uuid.uuid4().hex[:6]} Ltd"
    rows = rows[:-1]
    rows[0] = {**changed_row, "announcement": "MOFCOM Announcement 2026 No. 99"}
    rows.append({"list": "control_list", "name_en": new_name, "name_zh": "",
                 "country": "US", "announcement": "MOFCOM Announcement 2026 No. 99",
                 "date": "2026-11-01"})
    with (data / "lists" / "prc_lists.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    # an active licence names the party the newer file lists
    licence_id = f"LIC-{uuid.uuid4().hex[:12]}"
    await stack.produce(LICENCE.name, licence_id, lic.LicenceIssued(
        licence_id=licence_id, exporter_uscc=EXPORTER, authority="MOFCOM", destination="US",
        parties=[party("p-eu", common_pb2.PARTY_ROLE_END_USER, new_name, "US")]))
    await stack.wait_until("SELECT true FROM subjects WHERE subject_id = $1", licence_id)
    # the CLI, as an operator runs it, in its own process (a second "replica" of the writer)
    env = {**os.environ, "STC_DATABASE_URL": stack.dsn, "STC_LOG_LEVEL": "WARNING",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    t0 = time.perf_counter()
    out = await run_cli(env, "import", "--list", "prc", "--data-dir", str(data))
    prc_line = next(line for line in out.splitlines() if line.startswith("prc"))
    assert prc_line.split()[1:6] == [str(len(rows)), "1", "1", "1", "3"], out
    # every change went out on the list topic ...
    added, _ = await stack.reader.wait_for(_entry_id_for(new_name), ev.ListEntryAdded)
    assert added.entry.primary_name == new_name
    match, _ = await stack.reader.wait_for(licence_id, ev.RescreeningMatch)
    assert match.hit.entry_id == added.entry.entry_id
    assert match.trigger_event_id and match.subject_kind == ev.SUBJECT_KIND_LICENCE
    # ... and the running service's index follows without a restart (list topic sync)
    deadline = time.perf_counter() + 10
    while True:
        got = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query=new_name))
        if any(r.entry.primary_name == new_name for r in got.results):
            break
        assert time.perf_counter() < deadline, "index did not follow the newer file"
        await asyncio.sleep(0.1)
    print(f"\nnewer PRC file -> searchable in the running service after "
          f"{time.perf_counter() - t0:.2f}s (CLI process included)")
    # put the shipped file back: the reverse changes
    shutil.copy(src, data / "lists" / "prc_lists.csv")
    out = await run_cli(env, "import", "--list", "prc", "--data-dir", str(data))
    prc_line = next(line for line in out.splitlines() if line.startswith("prc"))
    assert prc_line.split()[2:5] == ["1", "1", "1"], out


async def run_cli(env: dict[str, str], *args: str) -> str:
    """Run `python -m stc_screening ARGS` in its own process; its standard output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stc_screening", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


def _entry_id_for(name_en: str) -> str:
    from stc_screening.domain.lists import make_entry_id, slug_key

    return make_entry_id("prc-control-list", slug_key(name_en, "US"))


async def test_public_search_and_get_need_no_token(stack):
    got = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(
        query="洛克希德马丁", list_kinds=[ev.LIST_KIND_CONTROL_LIST]))
    assert got.results, "Lockheed Martin is on the control list with its Chinese name"
    top = got.results[0]
    assert top.entry.list_kind == ev.LIST_KIND_CONTROL_LIST
    assert "Lockheed Martin" in top.entry.primary_name
    assert top.score >= 0.84
    one = await stack.stub.GetListEntry(pb.GetListEntryRequest(entry_id=top.entry.entry_id))
    assert one.primary_name == top.entry.primary_name and one.content_hash
    # paging through a whole list without a query
    page1 = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(
        list_kinds=[ev.LIST_KIND_WATCH_LIST], page_size=3))
    page2 = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(
        list_kinds=[ev.LIST_KIND_WATCH_LIST], page_size=3, page_token=page1.next_page_token))
    assert len(page1.results) == 3 and page1.next_page_token
    assert not {r.entry.entry_id for r in page1.results} & {r.entry.entry_id
                                                          for r in page2.results}
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.GetListEntry(pb.GetListEntryRequest(entry_id="prc-control-list:nope"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    # screening is not public
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.ScreenParty(pb.ScreenPartyRequest(party=common_pb2.Party(name="x")))
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # nor for an importer's token, which only reports changes on its one licence
    importer = bearer("importer", licence="lic-1", party="importer")
    screen_x = pb.ScreenPartyRequest(party=common_pb2.Party(name="x"))
    for call, req in ((stack.stub.ScreenParty, screen_x),
                      (stack.stub.ClassifyItem, pb.ClassifyItemRequest(description="tungsten"))):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await call(req, metadata=importer)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_list_changes_are_for_officers_and_prc_lists_only(stack):
    entry = ev.ListEntry(list_kind=ev.LIST_KIND_CONTROL_LIST, primary_name="Test Party Ltd",
                         countries=["US"])
    for md, code in ((stack.exporter(), grpc.StatusCode.PERMISSION_DENIED),
                     ((), grpc.StatusCode.UNAUTHENTICATED)):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stack.stub.AddListEntry(pb.AddListEntryRequest(entry=entry, reason="x"),
                                          metadata=md)
        assert exc.value.code() == code
    foreign = ev.ListEntry(list_kind=ev.LIST_KIND_OFAC_SDN, primary_name="Test Party Ltd")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AddListEntry(pb.AddListEntryRequest(entry=foreign, reason="x"),
                                      metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(exc.value) == "FOREIGN_LIST_READ_ONLY"
    ofac_id = next(e.entry_id for e in stack.state.index.entries()
                   if e.entry_id.startswith("ofac-sdn:"))
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.UpdateListEntry(pb.UpdateListEntryRequest(
            entry=ev.ListEntry(entry_id=ofac_id, primary_name="changed"), reason="x"),
            metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.RemoveListEntry(pb.RemoveListEntryRequest(entry_id=ofac_id,
                                                                   reason="x"),
                                         metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # validation: every bad field at once
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AddListEntry(pb.AddListEntryRequest(
            entry=ev.ListEntry(list_kind=ev.LIST_KIND_WATCH_LIST, countries=["USA"])),
            metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in field_violations(exc.value)}
    assert fields == {"entry.primary_name", "entry.countries[0]", "reason"}

    # an officer adds, updates (idempotent retry by request id) and removes (Reg. 29)
    name = f"Kestrel Dynamics {uuid.uuid4().hex[:6]} GmbH"
    rid = uuid.uuid4().hex
    req = pb.AddListEntryRequest(entry=ev.ListEntry(list_kind=ev.LIST_KIND_WATCH_LIST,
                                                    primary_name=name, countries=["DE"]),
                                 reason="Reg. 26", request_id=rid)
    added = await stack.stub.AddListEntry(req, metadata=stack.officer())
    again = await stack.stub.AddListEntry(req, metadata=stack.officer())
    assert again.entry_id == added.entry_id and added.entry_id.startswith("prc-watch-list:")
    # the same request id with a different request: refused, naming the entry that holds it
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AddListEntry(pb.AddListEntryRequest(
            entry=ev.ListEntry(list_kind=ev.LIST_KIND_WATCH_LIST, primary_name=name + " II",
                               countries=["DE"]), reason="Reg. 26", request_id=rid),
            metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(exc.value) == "REQUEST_ID_REUSED"
    assert len(stack.reader.events(added.entry_id, ev.ListEntryAdded)) <= 1
    await stack.reader.wait_for(added.entry_id, ev.ListEntryAdded)
    upd = ev.ListEntry(entry_id=added.entry_id, list_kind=ev.LIST_KIND_WATCH_LIST,
                       primary_name=name, aliases=["凯斯特雷尔动力"], countries=["DE"])
    updated = await stack.stub.UpdateListEntry(pb.UpdateListEntryRequest(entry=upd,
                                                                         reason="alias"),
                                               metadata=stack.officer())
    assert list(updated.aliases) == ["凯斯特雷尔动力"]
    assert updated.content_hash != added.content_hash
    await stack.reader.wait_for(added.entry_id, ev.ListEntryUpdated)
    found = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query="凯斯特雷尔动力"))
    assert added.entry_id in [r.entry.entry_id for r in found.results]
    await stack.stub.RemoveListEntry(pb.RemoveListEntryRequest(
        entry_id=added.entry_id, reason="delisted on application (Reg. 29)"),
        metadata=stack.officer())
    removed, _ = await stack.reader.wait_for(added.entry_id, ev.ListEntryRemoved)
    assert removed.list_kind == ev.LIST_KIND_WATCH_LIST and "Reg. 29" in removed.reason
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.GetListEntry(pb.GetListEntryRequest(entry_id=added.entry_id))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_screen_party_traditional_chinese_with_explanation(stack):
    got = await stack.stub.ScreenParty(pb.ScreenPartyRequest(
        party=common_pb2.Party(party_id="q1", name="洛克希德·馬丁公司", country="US")),
        metadata=stack.exporter())
    assert got.hits and got.lists_version
    top = got.hits[0]
    assert top.list_kind in (ev.LIST_KIND_CONTROL_LIST, ev.LIST_KIND_UNRELIABLE_ENTITY_LIST)
    assert top.decision == ev.HIT_DECISION_MATCH and top.party_id == "q1"
    assert top.matched_entry_name and top.explanation
    assert {f.feature for f in top.features} >= {"name", "country"}
    only_uel = await stack.stub.ScreenParty(pb.ScreenPartyRequest(
        party=common_pb2.Party(name="洛克希德·馬丁公司"),
        list_kinds=[ev.LIST_KIND_UNRELIABLE_ENTITY_LIST]), metadata=stack.officer())
    assert only_uel.hits
    assert {h.list_kind for h in only_uel.hits} == {ev.LIST_KIND_UNRELIABLE_ENTITY_LIST}
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.ScreenParty(pb.ScreenPartyRequest(
            party=common_pb2.Party(name=" ", country="Germany"), threshold=2),
            metadata=stack.exporter())
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(exc.value)} == {"party.name", "party.country",
                                                           "threshold"}



async def test_public_search_by_word_prefix_and_identifier(stack):
    got = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query="Ryonbong"))
    kinds = {r.entry.list_kind for r in got.results
             if "RYONBONG GENERAL" in r.entry.primary_name.upper()}
    assert {ev.LIST_KIND_OFAC_SDN, ev.LIST_KIND_UN_CONSOLIDATED} <= kinds
    assert got.results[0].match_kind == pb.SEARCH_MATCH_KIND_TOKEN
    lm = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query="lockheed"))
    assert "Lockheed Martin" in lm.results[0].entry.primary_name
    # a USCC typed alone finds its entry first, as an identifier match
    holder = next(e for e in stack.state.index.entries()
                  for i in e.identifiers if "USCC" in i.type.upper())
    uscc = next(i.value for i in holder.identifiers if "USCC" in i.type.upper())
    by_id = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query=uscc))
    assert by_id.results[0].entry.entry_id == holder.entry_id
    assert by_id.results[0].match_kind == pb.SEARCH_MATCH_KIND_IDENTIFIER
    # list filter and paging over word matches
    q = pb.SearchListEntriesRequest(query="korea", list_kinds=[ev.LIST_KIND_UN_CONSOLIDATED],
                                    page_size=5)
    p1 = await stack.stub.SearchListEntries(q)
    q.page_token = p1.next_page_token
    p2 = await stack.stub.SearchListEntries(q)
    assert p1.total_size > 5 and len(p1.results) == 5 and p2.results
    ids1, ids2 = ({r.entry.entry_id for r in p.results} for p in (p1, p2))
    assert not ids1 & ids2
    assert all(r.entry.list_kind == ev.LIST_KIND_UN_CONSOLIDATED
               for r in [*p1.results, *p2.results])


async def test_public_search_says_how_well_it_matches(stack):
    """Issue 15: a result linked to the query only by reordered syllables is WEAK, and the
    answer says nothing matches well; a real name is a STRONG match."""
    huawei = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query="华为"))
    assert not huawei.matches_well
    assert all(r.strength == pb.SEARCH_MATCH_STRENGTH_WEAK for r in huawei.results)
    lm = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(query="lockheed"))
    assert lm.matches_well
    assert lm.results[0].strength == pb.SEARCH_MATCH_STRENGTH_STRONG
    listing = await stack.stub.SearchListEntries(pb.SearchListEntriesRequest(page_size=3))
    assert listing.matches_well and listing.results
    assert {r.strength for r in listing.results} == {pb.SEARCH_MATCH_STRENGTH_UNSPECIFIED}

"""Event flows: ApplicationSubmitted -> ScreeningCompleted (hit + embargo finding), a list
change -> RescreeningMatch for an active licence's party, ChangeReported -> screening of the
new end user, EndUseCheckCompleted(NOT_COOPERATING) -> watch list (Reg. 26)."""

from __future__ import annotations

import time
import uuid

import pytest
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.enduser.v1 import events_pb2 as eu
from stc.licensing.v1 import application_pb2
from stc.licensing.v1 import events_pb2 as lic
from stc.screening.v1 import events_pb2 as ev
from stc.screening.v1 import screening_service_pb2 as pb
from stc_common.grpc.errors import error_reason
from stc_common.kafka.topics import APPLICATION, ENDUSER_CHANGE, LICENCE

from .conftest import EXPORTER, app_submitted, party

pytestmark = pytest.mark.integration

R = common_pb2


async def test_application_submitted_is_screened_and_completed(stack):
    app_id = f"APP-{uuid.uuid4().hex[:12]}"
    parties = [party("p-exp", R.PARTY_ROLE_EXPORTER, "上海精密仪器有限公司", "CN"),
               party("p-imp", R.PARTY_ROLE_IMPORTER, "Pyongyang Trading Corp", "KP"),
               party("p-eu", R.PARTY_ROLE_END_USER, "Lockheed Martin Corporation", "US")]
    t0 = time.perf_counter()
    eid = await stack.produce(APPLICATION.name, app_id,
                              app_submitted(app_id, parties=parties, destination="KP"))
    done, at = await stack.reader.wait_for(app_id, ev.ScreeningCompleted)
    print(f"\nApplicationSubmitted -> ScreeningCompleted: {at - t0:.2f}s")
    assert done.subject_kind == ev.SUBJECT_KIND_APPLICATION and done.subject_id == app_id
    assert done.exporter_uscc == EXPORTER and done.lists_version and done.screening_id
    eu_hits = [h for h in done.party_hits if h.party_id == "p-eu"]
    assert any(h.list_kind == ev.LIST_KIND_CONTROL_LIST and h.decision == ev.HIT_DECISION_MATCH
               for h in eu_hits)
    assert all(h.party_role == R.PARTY_ROLE_END_USER for h in eu_hits)
    codes = {f.code: f for f in done.findings}
    assert codes["ARMS_EMBARGO_FULL"].category == "destination"
    assert codes["ARMS_EMBARGO_FULL"].severity == ev.SEVERITY_PROHIBITIVE
    assert codes["ARMS_EMBARGO_FULL"].text_zh
    assert "LIST_MATCH_CONTROL_LIST" in codes and "RF14" in codes
    # stored, parties kept for re-screening, and a redelivery is a no-op (inbox)
    assert await stack.fetchval(
        "SELECT trigger_event_id FROM screening_results WHERE subject_id = $1", app_id) == eid
    assert await stack.fetchval("SELECT jsonb_array_length(parties) FROM subjects "
                                "WHERE subject_kind = 'APPLICATION' AND subject_id = $1",
                                app_id) == 3


async def _issue_licence(stack, parties) -> str:
    licence_id = f"LIC-{uuid.uuid4().hex[:12]}"
    await stack.produce(LICENCE.name, licence_id, lic.LicenceIssued(
        licence_id=licence_id, application_id=f"APP-{licence_id}", exporter_uscc=EXPORTER,
        authority="MOFCOM", licence_type=application_pb2.LICENCE_TYPE_SINGLE,
        valid_from=date_pb2.Date(year=2026, month=11, day=1),
        valid_until=date_pb2.Date(year=2027, month=10, day=31), destination="DE",
        parties=parties))
    await stack.wait_until("SELECT true FROM subjects WHERE subject_kind = 'LICENCE' "
                           "AND subject_id = $1", licence_id)
    return licence_id


async def test_list_change_rescreens_active_licences_within_seconds(stack):
    tag = uuid.uuid4().hex[:6]
    name = f"Zhongyuan Precision Optics {tag} Ltd"
    licence_id = await _issue_licence(stack, [
        party("p-imp", R.PARTY_ROLE_IMPORTER, "Hamburg Import GmbH", "DE"),
        party("p-eu", R.PARTY_ROLE_END_USER, name, "DE")])
    other = await _issue_licence(stack, [party("p-eu", R.PARTY_ROLE_END_USER,
                                                 "Berliner Messtechnik AG", "DE")])
    t0 = time.perf_counter()
    entry = await stack.stub.AddListEntry(pb.AddListEntryRequest(
        entry=ev.ListEntry(list_kind=ev.LIST_KIND_CONTROL_LIST, primary_name=name,
                           countries=["DE"]),
        reason="MOFCOM announcement (ECL Art. 18)"), metadata=stack.officer())
    added, _ = await stack.reader.wait_for(entry.entry_id, ev.ListEntryAdded)
    match, at = await stack.reader.wait_for(licence_id, ev.RescreeningMatch)
    print(f"\nAddListEntry -> RescreeningMatch on the licence: {at - t0:.2f}s")
    assert match.subject_kind == ev.SUBJECT_KIND_LICENCE and match.exporter_uscc == EXPORTER
    assert match.hit.entry_id == entry.entry_id and match.hit.party_id == "p-eu"
    assert match.hit.list_kind == ev.LIST_KIND_CONTROL_LIST
    assert match.trigger_event_id  # the ListEntryAdded event's id
    assert not stack.reader.events(other, ev.RescreeningMatch)
    # the same entry again (a no-op update) reports nothing new
    await stack.stub.UpdateListEntry(pb.UpdateListEntryRequest(entry=entry, reason="same"),
                                     metadata=stack.officer())
    # a revoked licence is no longer re-screened
    await stack.produce(LICENCE.name, licence_id, lic.LicenceRevoked(
        licence_id=licence_id, exporter_uscc=EXPORTER, reason="test"))
    await stack.wait_until("SELECT NOT EXISTS (SELECT 1 FROM subjects WHERE subject_id = $1)",
                           licence_id)
    assert len(stack.reader.events(licence_id, ev.RescreeningMatch)) == 1
    assert added.entry.primary_name == name


async def test_pending_application_is_flagged_by_a_new_listing(stack):
    tag = uuid.uuid4().hex[:6]
    app_id = f"APP-{uuid.uuid4().hex[:12]}"
    name = f"Orion Microwave {tag} Co., Ltd."
    await stack.produce(APPLICATION.name, app_id, app_submitted(app_id, parties=[
        party("p-eu", R.PARTY_ROLE_END_USER, name, "AE")]))
    await stack.reader.wait_for(app_id, ev.ScreeningCompleted)
    await stack.stub.AddListEntry(pb.AddListEntryRequest(
        entry=ev.ListEntry(list_kind=ev.LIST_KIND_UNRELIABLE_ENTITY_LIST,
                           primary_name=f"Orion Microwave {tag}", countries=["AE"]),
        reason="UEL"), metadata=stack.officer())
    match, _ = await stack.reader.wait_for(app_id, ev.RescreeningMatch)
    assert match.subject_kind == ev.SUBJECT_KIND_APPLICATION
    assert match.hit.list_kind == ev.LIST_KIND_UNRELIABLE_ENTITY_LIST
    # withdrawn: dropped from the projection
    await stack.produce(APPLICATION.name, app_id, lic.ApplicationWithdrawn(
        application_id=app_id, exporter_uscc=EXPORTER))
    await stack.wait_until("SELECT NOT EXISTS (SELECT 1 FROM subjects WHERE subject_id = $1)",
                           app_id)


async def test_change_report_screens_the_new_end_user(stack):
    licence_id = await _issue_licence(stack, [party("p-eu", R.PARTY_ROLE_END_USER,
                                                    "Berliner Messtechnik AG", "DE")])
    report_id = uuid.uuid4().hex
    t0 = time.perf_counter()
    await stack.produce(ENDUSER_CHANGE.name, licence_id, eu.ChangeReported(
        report_id=report_id, licence_id=licence_id, exporter_uscc=EXPORTER,
        kind=eu.CHANGE_KIND_END_USER_CHANGED, screen_new_end_user=True, hold_licence=True,
        new_end_user=party("p-new", R.PARTY_ROLE_END_USER, "洛克希德·马丁公司", "US")),
        source="enduser")
    done, at = await stack.reader.wait_for(licence_id, ev.ScreeningCompleted)
    print(f"\nChangeReported -> ScreeningCompleted: {at - t0:.2f}s")
    assert done.subject_kind == ev.SUBJECT_KIND_CHANGE_REPORT and done.subject_id == licence_id
    assert any(h.list_kind == ev.LIST_KIND_CONTROL_LIST and h.party_id == "p-new"
               for h in done.party_hits)
    match, _ = await stack.reader.wait_for(licence_id, ev.RescreeningMatch)
    assert match.subject_kind == ev.SUBJECT_KIND_LICENCE
    assert match.hit.list_kind == ev.LIST_KIND_CONTROL_LIST
    # a report that does not ask for screening is ignored
    quiet = await _issue_licence(stack, [party("p-eu", R.PARTY_ROLE_END_USER, "X GmbH", "DE")])
    await stack.produce(ENDUSER_CHANGE.name, quiet, eu.ChangeReported(
        report_id=uuid.uuid4().hex, licence_id=quiet, exporter_uscc=EXPORTER,
        kind=eu.CHANGE_KIND_END_USE_CHANGED, screen_new_end_user=False), source="enduser")
    await stack.reader.wait_for(licence_id, ev.RescreeningMatch)
    assert not stack.reader.events(quiet, ev.ScreeningCompleted)


async def test_non_cooperation_puts_the_party_on_the_watch_list(stack):
    tag = uuid.uuid4().hex[:6]
    name = f"Delta Freight Solutions {tag} FZE"
    # an active licence naming the same party: the new watch-list entry re-screens it
    licence_id = await _issue_licence(stack, [party("p-eu", R.PARTY_ROLE_END_USER, name, "AE")])
    check_id = uuid.uuid4().hex
    await stack.produce(ENDUSER_CHANGE.name, licence_id, eu.EndUseCheckCompleted(
        check_id=check_id, licence_id=licence_id, exporter_uscc=EXPORTER,
        party=party("p-eu", R.PARTY_ROLE_END_USER, name, "AE"),
        outcome=eu.CHECK_OUTCOME_NOT_COOPERATING, add_to_watch_list=True, officer="off-7",
        authority="MOFCOM"), source="enduser")
    entry_id = f"prc-watch-list:check-{check_id}"
    added, _ = await stack.reader.wait_for(entry_id, ev.ListEntryAdded)
    assert added.entry.list_kind == ev.LIST_KIND_WATCH_LIST and "Reg. 26" in added.reason
    got = await stack.stub.GetListEntry(pb.GetListEntryRequest(entry_id=entry_id))
    assert got.primary_name == name
    match, _ = await stack.reader.wait_for(licence_id, ev.RescreeningMatch)
    assert match.hit.entry_id == entry_id and match.hit.list_kind == ev.LIST_KIND_WATCH_LIST


async def test_exporter_is_screened_by_its_uscc_even_when_not_a_party(stack):
    from stc_common.uscc import make_uscc

    uscc = make_uscc(f"91320000MA{uuid.uuid4().hex[:7].upper()}")
    entry = await stack.stub.AddListEntry(pb.AddListEntryRequest(
        entry=ev.ListEntry(list_kind=ev.LIST_KIND_WATCH_LIST,
                           primary_name=f"Jiangsu Listed Exporter {uuid.uuid4().hex[:6]} Co",
                           identifiers=[R.PartyIdentifier(type="USCC", value=uscc)]),
        reason="Reg. 26"), metadata=stack.officer())
    # the exporter is not among the parties; nobody else is listed
    app_id = f"APP-{uuid.uuid4().hex[:12]}"
    await stack.produce(APPLICATION.name, app_id, app_submitted(
        app_id, exporter=uscc,
        parties=[party("p-eu", R.PARTY_ROLE_END_USER, "Berliner Messtechnik AG", "DE")]))
    done, _ = await stack.reader.wait_for(app_id, ev.ScreeningCompleted)
    hits = [h for h in done.party_hits if h.entry_id == entry.entry_id]
    assert len(hits) == 1
    assert hits[0].party_role == R.PARTY_ROLE_EXPORTER and hits[0].party_id == "exporter"
    assert hits[0].decision == ev.HIT_DECISION_MATCH and uscc in hits[0].matched_name
    assert "LIST_MATCH_WATCH_LIST" in {f.code for f in done.findings}
    # an exporter party without the USCC among its identifiers is matched by the USCC too
    app2 = f"APP-{uuid.uuid4().hex[:12]}"
    await stack.produce(APPLICATION.name, app2, app_submitted(
        app2, exporter=uscc, parties=[party("p-x", R.PARTY_ROLE_EXPORTER, "某某贸易公司", "CN")]))
    done2, _ = await stack.reader.wait_for(app2, ev.ScreeningCompleted)
    assert [(h.party_id, h.party_role) for h in done2.party_hits
            if h.entry_id == entry.entry_id] == [("p-x", R.PARTY_ROLE_EXPORTER)]
    # a clean exporter: no exporter hit
    app3 = f"APP-{uuid.uuid4().hex[:12]}"
    await stack.produce(APPLICATION.name, app3, app_submitted(
        app3, parties=[party("p-eu", R.PARTY_ROLE_END_USER, "Berliner Messtechnik AG", "DE")]))
    done3, _ = await stack.reader.wait_for(app3, ev.ScreeningCompleted)
    assert not [h for h in done3.party_hits if h.party_role == R.PARTY_ROLE_EXPORTER]


async def test_watch_list_entry_reaches_the_index_only_after_commit(stack):
    from stc_common import envelope
    from stc_common.consumer import Subscription
    from stc_common.db.pool import create_pool
    from stc_screening.events.consumer import ScreeningConsumer
    from stc_screening.events.handlers import subscriptions

    on_check = next(s.handler for s in subscriptions(stack.state)
                    if s.message_cls is eu.EndUseCheckCompleted)
    seen_in_index: list[bool] = []

    async def failing(uow, env, msg):
        await on_check(uow, env, msg)  # the watch-list row is written in this transaction
        seen_in_index.append(f"prc-watch-list:check-{msg.check_id}" in stack.state.index)
        raise RuntimeError("a later step of the handler fails")

    def check_event(check_id: str, name: str):
        msg = eu.EndUseCheckCompleted(
            check_id=check_id, licence_id="LIC-x", exporter_uscc=EXPORTER,
            party=party("p-eu", R.PARTY_ROLE_END_USER, name, "AE"),
            outcome=eu.CHECK_OUTCOME_NOT_COOPERATING, officer="off-7", authority="MOFCOM")
        _, headers, value = envelope.encode(msg, source="enduser", subject="LIC-x")
        return envelope.decode(headers, value), msg

    pool = await create_pool(stack.dsn)
    try:
        def consumer(handler):
            return ScreeningConsumer(
                state=stack.state, name=f"t-{uuid.uuid4().hex[:6]}", topics=[], pool=pool,
                bootstrap=stack.settings.kafka_bootstrap_servers, group_id="unused",
                subscriptions=[Subscription(eu.EndUseCheckCompleted, handler)],
                source="screening")

        bad = consumer(failing)
        check_id = uuid.uuid4().hex
        env, msg = check_event(check_id, f"Phantom Trading {check_id[:6]} FZE")
        with pytest.raises(RuntimeError):
            await bad.handle(env, msg, next(iter(bad.handlers.values())), "t", 0, 0)
        entry_id = f"prc-watch-list:check-{check_id}"
        assert seen_in_index == [False]  # not before the commit ...
        assert entry_id not in stack.state.index  # ... nor after the rollback
        assert not await stack.fetchval("SELECT count(*) FROM list_entries WHERE entry_id = $1",
                                        entry_id)
        # the same handler, committed: in the index as soon as handle returns
        good = consumer(on_check)
        check_id = uuid.uuid4().hex
        env, msg = check_event(check_id, f"Real Trading {check_id[:6]} FZE")
        assert await good.handle(env, msg, next(iter(good.handlers.values())), "t", 0, 0) \
            == "handled"
        assert f"prc-watch-list:check-{check_id}" in stack.state.index
    finally:
        await pool.close()


async def test_country_measures_are_managed_by_officers_and_applied_on_the_date(stack):
    import datetime as dt

    import grpc
    from google.protobuf import timestamp_pb2

    def d(s: str) -> date_pb2.Date:
        x = dt.date.fromisoformat(s)
        return date_pb2.Date(year=x.year, month=x.month, day=x.day)

    measure_id = f"test-measure-{uuid.uuid4().hex[:8]}"
    measure = ev.CountryMeasure(
        measure_id=measure_id, country="NZ", title_en="Test: no dual-use items to military end "
        "users", title_zh="测试：禁止向军事最终用户出口两用物项", basis="ECL Art. 13(5)",
        announcement="Test announcement 1", scope=ev.MEASURE_SCOPE_MILITARY_END_USER,
        effective_from=d("2026-03-01"))
    req = pb.AddCountryMeasureRequest(measure=measure, reason="announced")
    for md, code in ((None, grpc.StatusCode.UNAUTHENTICATED),
                     (stack.exporter(), grpc.StatusCode.PERMISSION_DENIED)):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stack.stub.AddCountryMeasure(req, metadata=md)
        assert exc.value.code() == code
    bad = pb.AddCountryMeasureRequest(measure=ev.CountryMeasure(country="NZL"), reason="x")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AddCountryMeasure(bad, metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    added = await stack.stub.AddCountryMeasure(req, metadata=stack.officer())
    assert added.measure_id == measure_id and added.officer == "officer-1"
    event, _ = await stack.reader.wait_for(measure_id, ev.CountryMeasureAdded)
    assert event.measure.announcement == "Test announcement 1"
    # a request id: the retry replays, another measure under the same id is refused
    rid = uuid.uuid4().hex
    again_req = pb.AddCountryMeasureRequest(measure=ev.CountryMeasure(
        country="NU", title_en="Test: request ids", announcement="Test announcement 3",
        scope=ev.MEASURE_SCOPE_ALL, effective_from=d("2030-01-01")), reason="announced",
        request_id=rid)
    first = await stack.stub.AddCountryMeasure(again_req, metadata=stack.officer())
    again = await stack.stub.AddCountryMeasure(again_req, metadata=stack.officer())
    assert again.measure_id == first.measure_id and first.measure_id.startswith("measure-")
    again_req.measure.title_en = "Test: another measure"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AddCountryMeasure(again_req, metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(exc.value) == "REQUEST_ID_REUSED"

    async def screen_app(day: str, military: bool = True) -> set[str]:
        app_id = f"APP-{uuid.uuid4().hex[:12]}"
        msg = app_submitted(app_id, destination="NZ", parties=[
            party("p-eu", R.PARTY_ROLE_END_USER, "Wellington Test Works Ltd", "NZ")])
        if military:
            msg.content.end_use.category = application_pb2.END_USE_CATEGORY_MILITARY
        at = dt.datetime.fromisoformat(f"{day}T02:00:00+00:00")
        msg.submitted_at.CopyFrom(timestamp_pb2.Timestamp(seconds=int(at.timestamp())))
        await stack.produce(APPLICATION.name, app_id, msg)
        done, _ = await stack.reader.wait_for(app_id, ev.ScreeningCompleted)
        return {f.code for f in done.findings if f.code.startswith("COUNTRY_MEASURE")
                and any(measure_id in e for e in f.evidence)} | (
            {"RF15"} if any(f.code == "RF15" for f in done.findings) else set())

    assert await screen_app("2026-02-15") == set()  # before the effective date
    assert await screen_app("2026-04-01") == {"COUNTRY_MEASURE", "RF15"}
    assert await screen_app("2026-04-01", military=False) == {"COUNTRY_MEASURE_MILITARY"}
    # public list, in force on a date
    listed = await stack.stub.ListCountryMeasures(pb.ListCountryMeasuresRequest(
        country="NZ", in_force_on=d("2026-04-01")))
    assert [x.measure_id for x in listed.measures] == [measure_id]
    assert not (await stack.stub.ListCountryMeasures(pb.ListCountryMeasuresRequest(
        country="NZ", in_force_on=d("2026-02-01")))).measures
    # suspended for the summer
    susp = await stack.stub.SuspendCountryMeasure(pb.SuspendCountryMeasureRequest(
        measure_id=measure_id, suspended_from=d("2026-06-01"), suspended_until=d("2026-09-01"),
        reason="Test announcement 2"), metadata=stack.officer())
    assert susp.suspended_until == d("2026-09-01")
    changed, _ = await stack.reader.wait_for(measure_id, ev.CountryMeasureChanged)
    assert changed.change == "SUSPENDED" and changed.reason == "Test announcement 2"
    assert await screen_app("2026-07-01") == set()
    assert await screen_app("2026-09-15") == {"COUNTRY_MEASURE", "RF15"}
    # ScreenTransaction on a date
    tx = pb.ScreenTransactionRequest(
        parties=[party("p-eu", R.PARTY_ROLE_END_USER, "Wellington Test Works Ltd", "NZ")],
        destination="NZ", items=[application_pb2.Item(control_code="1C117.c",
                                                       description="tungsten")],
        end_use=application_pb2.EndUse(category=application_pb2.END_USE_CATEGORY_MILITARY,
                                        statement="armour"))
    for day, expect in (("2026-04-01", True), ("2026-02-01", False), ("2026-07-01", False)):
        tx.on_date.CopyFrom(d(day))
        got = await stack.stub.ScreenTransaction(tx, metadata=stack.exporter())
        assert any(f.code == "COUNTRY_MEASURE" for f in got.findings) is expect, day
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.SuspendCountryMeasure(pb.SuspendCountryMeasureRequest(
            measure_id="nope", suspended_from=d("2026-06-01"), reason="x"),
            metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND

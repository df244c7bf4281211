"""Unit tests of the consumers' handlers over the in-memory unit of work: each consumed
event becomes a command for the same use cases the API calls (Flow 2, the re-screening
projection, Art. 16 change reports, Reg. 26 end-use checks)."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.common.v1 import common_pb2
from stc.enduser.v1 import events_pb2 as eu
from stc.licensing.v1 import application_pb2 as ap
from stc.licensing.v1 import events_pb2 as lic
from stc.screening.v1 import events_pb2 as ev
from stc_common.envelope import Envelope
from stc_screening.domain.lists import ListChange, ListEntry, ListKind
from stc_screening.domain.matching import Thresholds
from stc_screening.events.handlers import subscriptions
from stc_screening.service.state import ScreeningState
from stc_screening.storage.subjects import APPLICATION, LICENCE
from stc_screening.testing.fakes import FakeStore

EXPORTER = "91310000MA1FL00001"
LISTED = "Kestrel Dynamics GmbH"


@pytest.fixture
def state() -> ScreeningState:
    s = ScreeningState(Thresholds())
    s.apply(ListChange(put=[ListEntry("prc-control-list:k", ListKind.CONTROL_LIST, (LISTED,))]))
    return s


def _env(event_id: str = "evt-1") -> Envelope:
    return Envelope(id=event_id, type="", source="licensing",
                    time=dt.datetime(2026, 5, 1, 20, 0, tzinfo=dt.UTC), subject=None,
                    traceparent=None, data=b"")


async def _deliver(store: FakeStore, state: ScreeningState, msg, event_id: str = "evt-1"):
    handlers = {s.message_cls: s.handler for s in subscriptions(state)}
    async with store.uows()() as uow:
        await handlers[type(msg)](uow, _env(event_id), msg)
    return uow


def _submitted(app_id: str, name: str = LISTED) -> lic.ApplicationSubmitted:
    return lic.ApplicationSubmitted(application_id=app_id, exporter_uscc=EXPORTER,
                                    content=ap.ApplicationContent(
        destination="DE", parties=[common_pb2.Party(
            party_id="eu", role=common_pb2.PARTY_ROLE_END_USER, name=name)]))


async def test_a_submitted_application_is_screened_and_kept(state):
    store = FakeStore()
    await _deliver(store, state, _submitted("app-1"))
    (done,) = store.events(ev.ScreeningCompleted)
    assert done.subject_id == "app-1" and done.exporter_uscc == EXPORTER
    assert [h.entry_id for h in done.party_hits] == ["prc-control-list:k"]
    assert store.results[0]["trigger_event_id"] == "evt-1"
    assert (APPLICATION, "app-1") in store.subjects


async def test_decisions_and_licences_move_the_projection(state):
    store = FakeStore()
    await _deliver(store, state, _submitted("app-2", "Someone Else"))
    # approved: kept until LicenceIssued swaps it for the licence
    await _deliver(store, state, lic.ApplicationDecided(application_id="app-2",
                                                         licence_id="lic-2"))
    assert (APPLICATION, "app-2") in store.subjects
    await _deliver(store, state, lic.LicenceIssued(
        licence_id="lic-2", application_id="app-2", exporter_uscc=EXPORTER,
        parties=[common_pb2.Party(party_id="eu", name="Someone Else")]))
    assert set(store.subjects) == {(LICENCE, "lic-2")}
    await _deliver(store, state, lic.LicenceUsed(licence_id="lic-2", exhausted=False))
    assert set(store.subjects) == {(LICENCE, "lic-2")}
    await _deliver(store, state, lic.LicenceRevoked(licence_id="lic-2"))
    assert not store.subjects
    await _deliver(store, state, _submitted("app-3", "Third Party"))
    await _deliver(store, state, lic.ApplicationDecided(application_id="app-3"))  # denied
    assert not store.subjects


async def test_a_change_report_screens_the_new_end_user(state):
    store = FakeStore()
    async with store.uows()() as uow:
        await uow.subjects.upsert(LICENCE, "lic-5", EXPORTER, [])
    await _deliver(store, state, eu.ChangeReported(
        report_id="r-1", licence_id="lic-5", exporter_uscc=EXPORTER, screen_new_end_user=True,
        new_end_user=common_pb2.Party(name=LISTED)))
    (match,) = store.events(ev.RescreeningMatch)
    assert match.subject_id == "lic-5" and match.hit.party_id == "change:r-1"
    before = store.snapshot()  # not asked to screen: nothing happens
    await _deliver(store, state, eu.ChangeReported(
        report_id="r-2", licence_id="lic-5", new_end_user=common_pb2.Party(name=LISTED)))
    assert store.snapshot() == before


async def test_a_non_cooperating_end_user_goes_on_the_watch_list(state):
    store = FakeStore()
    uow = await _deliver(store, state, eu.EndUseCheckCompleted(
        check_id="c-7", outcome=eu.CHECK_OUTCOME_NOT_COOPERATING,
        party=common_pb2.Party(name="Evasive Trading FZE", country="AE")))
    assert "prc-watch-list:check-c-7" in store.entries
    assert [a.entry.entry_id for a in store.events(ev.ListEntryAdded)] == [
        "prc-watch-list:check-c-7"]
    # the fake is used as it is: its index change is the caller's to apply after commit
    assert [e.entry_id for e in uow.index_change.put] == ["prc-watch-list:check-c-7"]
    before = store.snapshot()
    await _deliver(store, state, eu.EndUseCheckCompleted(
        check_id="c-8", outcome=eu.CHECK_OUTCOME_NOT_COOPERATING, party=common_pb2.Party()))
    assert store.snapshot() == before  # no party named: nothing to list

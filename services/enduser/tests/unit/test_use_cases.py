"""Every end-user use case over the in-memory unit of work (stc_enduser.testing.fakes): what
it stores, what it publishes, and that a refusal stores and publishes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.common.v1 import common_pb2
from stc.enduser.v1 import events_pb2
from stc.licensing.v1 import events_pb2 as lic_events
from stc_common.auth.jwt import Authority as JwtAuthority
from stc_common.auth.jwt import Principal, Role
from stc_common.envelope import Envelope
from stc_common.errors import NotFound, ValidationFailed
from stc_common.idempotency import RequestIdReused
from stc_common.kafka.topics import ENDUSER_CHANGE
from stc_enduser.convert import to_dict
from stc_enduser.domain.errors import IllegalTransition, InvalidReport, LicenceClosed
from stc_enduser.domain.model import Authority as DomainAuthority
from stc_enduser.domain.model import (
    ChangeKind,
    CheckOutcome,
    CheckStatus,
    Document,
    LicenceStatus,
    Officer,
    ReportStatus,
    Resolution,
    ResolutionKind,
)
from stc_enduser.events.handlers import issued_command
from stc_enduser.service import checks, licences, reports
from stc_enduser.testing.fakes import FakeEndUserStore

from .conftest import EXPORTER, OTHER_EXPORTER, SHA

NOW = dt.datetime(2026, 11, 28, 3, 45, tzinfo=dt.UTC)
LIC = "LIC-1"
MOFCOM = Officer("off-1", DomainAuthority.MOFCOM)
SASTIND = Officer("off-9", DomainAuthority.SASTIND)


def party(pid: str, role: int, name: str) -> dict:
    return to_dict(common_pb2.Party(party_id=pid, role=role, name=name, country="DE"))


@pytest.fixture
async def store() -> FakeEndUserStore:
    s = FakeEndUserStore()
    async with s.transaction() as uow:
        await uow.licences.upsert_issued(
            licence_id=LIC, exporter_uscc=EXPORTER, authority="MOFCOM", destination="DE",
            parties=[party("p-imp", common_pb2.PARTY_ROLE_IMPORTER, "Hamburg Import GmbH"),
                     party("p-eu", common_pb2.PARTY_ROLE_END_USER, "Berliner Messtechnik AG")],
            item_codes=["3A001.a.1"], event_id="ev-issued")
    return s


def report_cmd(**kw) -> reports.ReportChange:
    values = dict(
        caller_uscc=EXPORTER, request_id="req-1", request_hash="h1", licence_id=LIC,
        kind=ChangeKind.END_USE_CHANGED, details="The end user now calibrates radar benches.",
        new_end_user=None, new_end_user_pb=None,
        new_end_use="calibration of civil radar test benches",
        documents=(Document("letter.pdf", SHA),),
        documents_pb=[{"title": "letter.pdf", "sha256": SHA}], subject_party_id=None, now=NOW)
    values.update(kw)
    return reports.ReportChange(**values)


async def report(store, cmd):
    async with store.transaction() as uow:
        return await reports.report_change(uow=uow, cmd=cmd)


def officer_principal(authority: JwtAuthority = JwtAuthority.MOFCOM) -> Principal:
    return Principal("off-1", Role.OFFICER, authority=authority)


# -- change reports -----------------------------------------------------------------------


async def test_report_change_stores_the_report_and_announces_it(store):
    result = await report(store, report_cmd())
    stored = result.stored
    assert not result.replayed and set(store.reports) == {stored.report.report_id}
    assert stored.report.reference == "CR-2026-000001"
    assert stored.report.status is ReportStatus.OPEN
    assert [(e.topic, e.key, e.type) for e in store.outbox] == [
        (ENDUSER_CHANGE.name, LIC, "stc.enduser.v1.ChangeReported")]
    msg = store.outbox[0].message
    assert msg.report_id == stored.report.report_id and msg.hold_licence


async def test_same_request_replays_and_a_different_one_is_refused(store):
    first = await report(store, report_cmd())
    again = await report(store, report_cmd())
    assert again.replayed and again.stored.report.report_id == first.stored.report.report_id
    with pytest.raises(RequestIdReused) as err:
        await report(store, report_cmd(request_hash="h2", details="something else"))
    assert (err.value.code, err.value.reason) == ("ALREADY_EXISTS", "REQUEST_ID_REUSED")
    assert err.value.metadata == {"existing_id": first.stored.report.report_id}
    assert len(store.reports) == 1 and len(store.outbox) == 1
    # request ids are the caller's: another exporter's req-1 is its own (and its licence
    # is unknown to it)
    with pytest.raises(NotFound):
        await report(store, report_cmd(caller_uscc=OTHER_EXPORTER))


@pytest.mark.parametrize("status", ["REVOKED", "EXPIRED"])
async def test_reports_on_a_closed_licence_are_refused_and_write_nothing(store, status):
    async with store.transaction() as uow:
        assert await uow.licences.set_status(LIC, status)
    with pytest.raises(LicenceClosed) as err:
        await report(store, report_cmd())
    assert (err.value.code, err.value.reason) == ("FAILED_PRECONDITION", f"LICENCE_{status}")
    assert store.reports == {} and store.outbox == [] and store.requests == {}


async def test_suspended_licence_still_takes_reports(store):
    async with store.transaction() as uow:
        assert await uow.licences.set_status(LIC, "SUSPENDED")
    assert (await report(store, report_cmd())).stored.report.licence_id == LIC


async def test_invalid_report_writes_nothing_and_draws_no_reference(store):
    with pytest.raises(InvalidReport) as err:
        await report(store, report_cmd(details=" ", documents=(), kind=None))
    assert {"details", "kind"} <= err.value.fields()
    assert store.reports == {} and store.outbox == [] and store.sequences == {}


async def test_importer_reports_on_its_own_licence_only(store):
    cmd = report_cmd(caller_uscc="", importer_licence_id=LIC, importer_party_id="p-imp",
                     request_id="imp-1")
    stored = (await report(store, cmd)).stored
    assert stored.report.reporter_id == "p-imp"
    with pytest.raises(NotFound):
        await report(store, report_cmd(caller_uscc="", importer_licence_id=LIC,
                                       importer_party_id="p-eu", request_id="imp-2"))
    assert len(store.reports) == 1


async def test_resolve_change_stores_and_announces_and_refusals_write_nothing(store):
    stored = (await report(store, report_cmd())).stored
    rid = stored.report.report_id
    resolution = Resolution(ResolutionKind.SUSPEND_LICENCE, ("the end use changed",))
    with pytest.raises(NotFound):  # another authority's report
        async with store.transaction() as uow:
            await reports.resolve_change(uow=uow, cmd=reports.ResolveChange(
                SASTIND, rid, resolution, NOW))
    assert len(store.outbox) == 1
    async with store.transaction() as uow:
        out = await reports.resolve_change(uow=uow, cmd=reports.ResolveChange(
            MOFCOM, rid, resolution, NOW))
    assert out.report.status is not ReportStatus.OPEN
    assert store.reports[rid].report.resolution == resolution
    assert [e.type for e in store.outbox][-1] == "stc.enduser.v1.ChangeResolved"
    assert store.outbox[-1].message.resolution == events_pb2.RESOLUTION_KIND_SUSPEND_LICENCE
    with pytest.raises(IllegalTransition):  # already resolved
        async with store.transaction() as uow:
            await reports.resolve_change(uow=uow, cmd=reports.ResolveChange(
                MOFCOM, rid, resolution, NOW))
    assert len(store.outbox) == 2


async def test_reading_reports_follows_tenants_and_authorities(store):
    rid = (await report(store, report_cmd())).stored.report.report_id
    async with store.transaction() as uow:
        mine = await reports.get_change_report(
            uow=uow, principal=Principal("x", Role.EXPORTER, uscc=EXPORTER), report_id=rid)
        assert mine.report.report_id == rid
        for p in (Principal("y", Role.EXPORTER, uscc=OTHER_EXPORTER),
                  officer_principal(JwtAuthority.SASTIND)):
            with pytest.raises(NotFound):
                await reports.get_change_report(uow=uow, principal=p, report_id=rid)
        listed = await reports.list_change_reports(uow=uow, cmd=reports.ListReports(
            officer_principal(), None, True, None, 10))
        theirs = await reports.list_change_reports(uow=uow, cmd=reports.ListReports(
            officer_principal(JwtAuthority.SASTIND), None, False, None, 10))
    assert [s.report.report_id for s in listed] == [rid] and theirs == []


# -- end-use checks -----------------------------------------------------------------------


async def schedule(store, officer=MOFCOM, party_id="p-eu", deadline=NOW + dt.timedelta(days=30)):
    async with store.transaction() as uow:
        return await checks.schedule_end_use_check(uow=uow, cmd=checks.ScheduleCheck(
            officer, LIC, party_id, deadline, NOW))


async def test_schedule_check_stores_and_announces_and_refusals_write_nothing(store):
    with pytest.raises(NotFound):
        await schedule(store, officer=SASTIND)
    with pytest.raises(ValidationFailed) as err:
        await schedule(store, party_id="p-nobody", deadline=None)
    assert {v.field for v in err.value.violations} == {"party_id", "deadline"}
    assert store.checks == {} and store.outbox == []
    stored = await schedule(store)
    assert set(store.checks) == {stored.check.check_id}
    assert stored.check.status is CheckStatus.SCHEDULED
    assert [e.type for e in store.outbox] == ["stc.enduser.v1.EndUseCheckScheduled"]


async def test_a_diversion_without_a_report_is_a_failure_to_report(store):
    stored = await schedule(store)
    cid = stored.check.check_id
    outcome = CheckOutcome(CheckStatus.DIVERTED, "re-exported to a third country")
    with pytest.raises(NotFound):
        async with store.transaction() as uow:
            await checks.record_end_use_check_outcome(uow=uow, cmd=checks.RecordOutcome(
                SASTIND, cid, outcome, NOW))
    async with store.transaction() as uow:
        closed = await checks.record_end_use_check_outcome(uow=uow, cmd=checks.RecordOutcome(
            MOFCOM, cid, outcome, NOW))
    assert closed.check.status is CheckStatus.DIVERTED and closed.check.failure_to_report
    assert store.checks[cid].check.status is CheckStatus.DIVERTED
    completed = store.outbox[-1].message
    assert store.outbox[-1].type == "stc.enduser.v1.EndUseCheckCompleted"
    assert completed.outcome == events_pb2.CHECK_OUTCOME_DIVERTED
    assert completed.failure_to_report and completed.exporter_uscc == EXPORTER
    before = len(store.outbox)
    with pytest.raises(IllegalTransition):
        async with store.transaction() as uow:
            await checks.record_end_use_check_outcome(uow=uow, cmd=checks.RecordOutcome(
                MOFCOM, cid, outcome, NOW))
    assert len(store.outbox) == before


async def test_overdue_checks_are_flagged_once_then_confirmed(store):
    stored = await schedule(store, deadline=NOW + dt.timedelta(days=1))
    cid = stored.check.check_id
    with pytest.raises(IllegalTransition):  # not overdue yet
        async with store.transaction() as uow:
            await checks.confirm_overdue_check(uow=uow, cmd=checks.ConfirmOverdue(
                MOFCOM, cid, "no answer", NOW))
    later = NOW + dt.timedelta(days=2)
    for _ in range(2):
        async with store.transaction() as uow:
            await checks.flag_overdue_checks(uow=uow, now=later)
    assert [e.type for e in store.outbox][1:] == ["stc.enduser.v1.EndUseCheckOverdue"]
    assert store.checks[cid].overdue_detected_at == later
    before = len(store.outbox)
    with pytest.raises(NotFound):  # another authority's check
        async with store.transaction() as uow:
            await checks.confirm_overdue_check(uow=uow, cmd=checks.ConfirmOverdue(
                SASTIND, cid, "no answer", later))
    assert len(store.outbox) == before
    assert store.checks[cid].check.status is CheckStatus.SCHEDULED
    async with store.transaction() as uow:
        closed = await checks.confirm_overdue_check(uow=uow, cmd=checks.ConfirmOverdue(
            MOFCOM, cid, "no answer to three letters", later))
    assert closed.check.status is CheckStatus.NOT_COOPERATING and closed.check.overdue_confirmed
    assert store.outbox[-1].message.add_to_watch_list
    async with store.transaction() as uow:
        got = await checks.get_end_use_check(uow=uow, principal=officer_principal(),
                                             check_id=cid)
        listed = await checks.list_end_use_checks(uow=uow, cmd=checks.ListChecks(
            officer_principal(), None, False, False, None, 10, later))
        with pytest.raises(NotFound):
            await checks.get_end_use_check(uow=uow, principal=officer_principal(
                JwtAuthority.SASTIND), check_id=cid)
    assert got.check.check_id == cid and [c.check.check_id for c in listed] == [cid]


# -- the licence projection ---------------------------------------------------------------


async def test_licence_events_build_the_projection_and_final_states_stay(store):
    env = Envelope(id="ev-2", source="licensing", type="stc.licensing.v1.LicenceIssued",
                   subject="LIC-2", time=NOW, data=b"", traceparent=None)
    msg = lic_events.LicenceIssued(
        licence_id="LIC-2", exporter_uscc=f" {EXPORTER.lower()} ", authority="sastind",
        destination="de", parties=[common_pb2.Party(party_id="p-eu", name="Berliner AG",
                                                    role=common_pb2.PARTY_ROLE_END_USER)])
    cmd = issued_command(env, msg)
    assert (cmd.exporter_uscc, cmd.authority, cmd.destination) == (
        EXPORTER, DomainAuthority.SASTIND, "DE")
    async with store.transaction() as uow:
        assert await licences.project_issued(uow=uow, cmd=cmd)
        assert not await licences.project_issued(uow=uow, cmd=cmd)  # again: refreshed only
        assert await licences.project_status(uow=uow, licence_id="LIC-2",
                                             status=LicenceStatus.REVOKED)
        # revoked is final; an unknown licence changes nothing
        assert not await licences.project_status(uow=uow, licence_id="LIC-2",
                                                 status=LicenceStatus.ACTIVE)
        assert not await licences.project_status(uow=uow, licence_id="LIC-9",
                                                 status=LicenceStatus.SUSPENDED)
        assert await licences.project_amendment(uow=uow, licence_id=LIC,
                                                elements=("CONSIGNEE",))
        assert not await licences.project_amendment(uow=uow, licence_id="LIC-9",
                                                    elements=("CONSIGNEE",))
        projected = await uow.licences.get("LIC-2")
    assert projected is not None and projected.status is LicenceStatus.REVOKED
    assert projected.view.end_user_ids == frozenset({"p-eu"})
    assert store.licences[LIC]["amended_elements"] == ["CONSIGNEE"]
    assert store.outbox == []  # the projection publishes nothing
    msg.authority = "NOBODY"
    with pytest.raises(ValueError):  # to the dead-letter topic
        issued_command(env, msg)

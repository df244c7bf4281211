"""Every credit use case over the in-memory unit of work (stc_credit.testing.fakes): what it
stores, what it publishes, and that a refusal stores and publishes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from stc.credit.v1 import events_pb2
from stc.enduser.v1 import events_pb2 as enduser_events
from stc_common.envelope import Envelope
from stc_common.errors import FailedPrecondition, NotFound, ValidationFailed
from stc_common.idempotency import RequestIdReused
from stc_common.kafka.topics import CREDIT_PUBLICATION, CREDIT_RECORD, CREDIT_STANDING
from stc_credit import agents
from stc_credit.domain.checkpoint import parse_and_verify_checkpoint
from stc_credit.domain.merkle import leaf_hash, verify_consistency, verify_inclusion
from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.records import CaseStatus, Penalty, ResponsiblePerson
from stc_credit.domain.standing import StandingLevel
from stc_credit.events.handlers import check_command
from stc_credit.service import cases, publication, records, standing
from stc_credit.service.commands import (
    ConsistencyQuery,
    DecideCaseCmd,
    ListCasesQuery,
    ListPublicationsQuery,
    ListRecordsQuery,
    LogContext,
    OpenCasesFromCheckCmd,
    PublishedRecordQuery,
    RecordMeasureCmd,
    RecordViolationCmd,
    ReleasePublicationHoldCmd,
    RepairRecordCmd,
)
from stc_credit.testing.fakes import FakeCreditStore

from .conftest import USCC_A, USCC_B

TODAY = dt.date(2026, 10, 12)
ORIGIN = "stc.test/credit-log"


class Clock:
    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


@pytest.fixture
def clock() -> Clock:
    return Clock(TODAY)


@pytest.fixture
def ctx(signer, clock) -> LogContext:
    return LogContext(signer=signer, origin=ORIGIN, today=clock)


@pytest.fixture
def store() -> FakeCreditStore:
    return FakeCreditStore()


def banned(make_record, **kw):
    """An Art. 34 record with a 24-month Art. 39 ban and a responsible person."""
    values = dict(application_ban_months=24,
                  responsible_persons=(ResponsiblePerson("张三", "110101199001011234"),))
    values.update(kw)
    return make_record(**values)


def violation(record, request_id="req-1", **kw) -> RecordViolationCmd:
    return RecordViolationCmd(request_id=request_id, record=record, authority="mofcom", **kw)


def types(events) -> list[str]:
    return [e.type.rsplit(".", 1)[1] for e in events]


async def record(store, ctx, cmd):
    async with store.transaction() as uow:
        return await records.record_violation(uow=uow, cmd=cmd, ctx=ctx)


# -- records ------------------------------------------------------------------------------


async def test_record_violation_stores_publishes_and_announces_the_standing(
        store, ctx, make_record):
    view = await record(store, ctx, violation(banned(make_record)))
    assert set(store.records) == {"rec-1"} and view.stored.authority == "mofcom"
    assert view.publication is not None and view.publication.leaf_index == 0
    assert types(store.outbox) == ["CreditRecordCreated", "CreditRecordPublished",
                                   "CreditRecordPublished", "CheckpointPublished",
                                   "CreditStandingChanged"]
    assert [e.topic for e in store.outbox] == [
        CREDIT_RECORD.name, CREDIT_RECORD.name, CREDIT_PUBLICATION.name,
        CREDIT_PUBLICATION.name, CREDIT_STANDING.name]
    created = store.outbox[0].message
    assert created.record_id == "rec-1" and created.uscc == USCC_A and created.article
    assert store.standings[USCC_A].level is StandingLevel.BANNED
    assert len(store.log) == 1 and set(store.checkpoints) == {1}


async def test_same_request_again_replays_and_writes_nothing(store, ctx, make_record):
    first = await record(store, ctx, violation(banned(make_record)))
    before = len(store.outbox)
    # the servicer assigns a fresh record id to every call: still the same request
    again = await record(store, ctx, violation(banned(make_record, record_id="rec-2")))
    assert again.stored.record.record_id == first.stored.record.record_id == "rec-1"
    assert set(store.records) == {"rec-1"} and len(store.outbox) == before


async def test_reused_request_id_for_another_decision_is_refused(store, ctx, make_record):
    await record(store, ctx, violation(banned(make_record)))
    before = (dict(store.records), len(store.outbox))
    other = banned(make_record, record_id="rec-2", decision_no="商务部行罚〔2026〕99号")
    with pytest.raises(RequestIdReused) as err:
        await record(store, ctx, violation(other))
    assert err.value.code == "ALREADY_EXISTS" and err.value.reason == "REQUEST_ID_REUSED"
    assert err.value.metadata == {"existing_id": "rec-1"}
    with pytest.raises(RequestIdReused):  # the same decision from another authority
        await record(store, ctx, dataclasses.replace(
            violation(banned(make_record, record_id="rec-3")), authority="sastind"))
    assert (dict(store.records), len(store.outbox)) == before


async def test_an_old_row_without_fingerprint_replays_for_its_own_authority_only(
        store, ctx, make_record):
    await record(store, ctx, violation(banned(make_record)))
    store.records["rec-1"] = dataclasses.replace(store.records["rec-1"],
                                                 request_fingerprint=None)
    other = banned(make_record, record_id="rec-2", decision_no="其他")
    assert (await record(store, ctx, violation(other))).stored.record.record_id == "rec-1"
    with pytest.raises(RequestIdReused):
        await record(store, ctx, dataclasses.replace(violation(other), authority="sastind"))


async def test_invalid_record_is_refused_and_nothing_is_written(store, ctx, make_record):
    bad = make_record(decided_by="")
    with pytest.raises(ValidationFailed) as err:
        await record(store, ctx, violation(bad, publicity_months=99))
    fields = {v.field for v in err.value.violations}
    assert "authorization" in fields and "publicity_months" in fields
    assert store.records == {} and store.outbox == [] and store.log == []


async def test_a_future_or_held_record_waits_then_publish_pending_publishes_it(
        store, ctx, clock, make_record):
    future = make_record(record_id="rec-f", decision_date=TODAY + dt.timedelta(days=3),
                         effective_date=TODAY + dt.timedelta(days=20))
    held = make_record(record_id="rec-h", uscc=USCC_B)
    await record(store, ctx, violation(future, request_id="f"))
    await record(store, ctx, violation(held, request_id="h", publication_hold="appeal"))
    assert store.publications == {} and store.log == []
    # the future record is not effective yet: only the held one changes a standing
    assert types(store.outbox) == ["CreditRecordCreated", "CreditRecordCreated",
                                   "CreditStandingChanged"]
    store.outbox.clear()
    async with store.transaction() as uow:
        assert await publication.publish_pending(uow=uow, ctx=ctx) == (0, 0)
    clock.day = TODAY + dt.timedelta(days=3)
    async with store.transaction() as uow:
        published, _ = await publication.publish_pending(uow=uow, ctx=ctx)
    assert published == 1 and set(store.publications) == {"rec-f"}
    assert "rec-h" not in store.publications  # held: waits for the officer
    assert "CreditRecordPublished" in types(store.outbox)


async def test_held_record_near_its_deadline_raises_one_alert(store, ctx, clock,
                                                              make_record):
    held = make_record(record_id="rec-h")
    await record(store, ctx, violation(held, request_id="h", publication_hold="appeal"))
    store.outbox.clear()
    clock.day = store.records["rec-h"].publication_deadline - dt.timedelta(days=1)
    for _ in range(2):
        async with store.transaction() as uow:
            await publication.publish_pending(uow=uow, ctx=ctx)
    assert types(store.outbox) == ["PublicationDeadlineAtRisk"]
    assert store.outbox[0].message.record_id == "rec-h" and store.alerts == {"rec-h"}


async def test_a_failing_publication_is_rolled_back_and_blocks_no_other(
        store, ctx, clock, make_record, monkeypatch):
    for rid, uscc in (("rec-1", USCC_A), ("rec-2", USCC_B)):
        await record(store, ctx, violation(make_record(
            record_id=rid, uscc=uscc, decision_date=TODAY + dt.timedelta(days=1),
            effective_date=TODAY + dt.timedelta(days=10)),
            request_id=rid))
    store.outbox.clear()
    real = publication.publish_record

    async def failing(uow, rec, *args):
        await real(uow, rec, *args)
        if rec.record_id == "rec-1":
            raise RuntimeError("boom")

    monkeypatch.setattr(publication, "publish_record", failing)
    clock.day = TODAY + dt.timedelta(days=1)
    async with store.transaction() as uow:
        published, _ = await publication.publish_pending(uow=uow, ctx=ctx)
    assert published == 1 and set(store.publications) == {"rec-2"}
    assert [r.record_id for r in store.log] == ["rec-2"]  # rec-1's append was undone
    assert {e.key for e in store.events("CreditRecordPublished")} == {USCC_B}


async def test_release_publication_hold_publishes_and_refusals_write_nothing(
        store, ctx, make_record):
    await record(store, ctx, violation(make_record(), publication_hold="appeal"))
    before = len(store.outbox)
    with pytest.raises(NotFound):  # another authority's record
        async with store.transaction() as uow:
            await publication.release_publication_hold(
                uow=uow, cmd=ReleasePublicationHoldCmd("rec-1", "off-9", "sastind"), ctx=ctx)
    with pytest.raises(ValidationFailed):
        async with store.transaction() as uow:
            await publication.release_publication_hold(
                uow=uow, cmd=ReleasePublicationHoldCmd(" ", "off-1", "mofcom"), ctx=ctx)
    assert len(store.outbox) == before and store.publications == {}
    async with store.transaction() as uow:
        view = await publication.release_publication_hold(
            uow=uow, cmd=ReleasePublicationHoldCmd("rec-1", "off-1", "mofcom"), ctx=ctx)
    assert view.publication is not None and view.stored.publication_hold is None
    assert "CreditRecordPublished" in types(store.outbox[before:])
    with pytest.raises(FailedPrecondition) as err:
        async with store.transaction() as uow:
            await publication.release_publication_hold(
                uow=uow, cmd=ReleasePublicationHoldCmd("rec-1", "off-1", "mofcom"), ctx=ctx)
    assert err.value.reason == "PUBLICATION_NOT_HELD"


async def test_elapsed_publicity_is_announced_once(store, ctx, clock, make_record):
    view = await record(store, ctx, violation(make_record()))
    assert view.publication is not None
    clock.day = view.publication.publicity_ends_on + dt.timedelta(days=1)
    store.outbox.clear()
    for _ in range(2):
        async with store.transaction() as uow:
            await publication.end_elapsed_publicity(uow=uow, ctx=ctx)
    assert types(store.outbox) == ["PublicityEnded"]
    assert store.outbox[0].message.reason == events_pb2.PUBLICITY_END_REASON_PERIOD_ELAPSED


async def repair(store, ctx, cmd):
    async with store.transaction() as uow:
        return await publication.repair_record(uow=uow, cmd=cmd, ctx=ctx)


async def test_repair_appends_announces_replays_and_refuses_reuse(store, ctx, clock,
                                                                  make_record):
    view = await record(store, ctx, violation(make_record()))
    assert view.publication is not None
    clock.day = view.publication.published_on + dt.timedelta(days=200)
    cmd = RepairRecordCmd("rep-1", "rec-1", "信复〔2026〕1号", clock.day, "off-1", "mofcom")
    store.outbox.clear()
    repaired = await repair(store, ctx, cmd)
    assert repaired.leaf_index == 1 and len(store.log) == 2
    assert repaired.view.publication is not None
    assert repaired.view.publication.repaired_on == clock.day
    assert types(store.outbox) == ["CreditRecordRepaired", "CreditRecordRepaired",
                                   "CheckpointPublished", "PublicityEnded"]
    before = len(store.outbox)
    assert (await repair(store, ctx, cmd)).leaf_index == 1  # the same request: replayed
    with pytest.raises(RequestIdReused):
        await repair(store, ctx, dataclasses.replace(cmd, repair_decision_no="其他"))
    with pytest.raises(NotFound):
        await repair(store, ctx, dataclasses.replace(cmd, request_id="x",
                                                     authority="sastind"))
    assert len(store.outbox) == before and len(store.log) == 2


async def test_repair_of_an_unpublished_record_writes_nothing(store, ctx, make_record):
    await record(store, ctx, violation(make_record(), publication_hold="appeal"))
    before = len(store.outbox)
    with pytest.raises(FailedPrecondition) as err:
        await repair(store, ctx, RepairRecordCmd("rep-1", "rec-1", "信复", TODAY, "off-1",
                                                 "mofcom"))
    assert err.value.reason == "NOT_PUBLISHED"
    assert len(store.outbox) == before and store.log == []


# -- measures -----------------------------------------------------------------------------


async def measure(store, ctx, cmd):
    async with store.transaction() as uow:
        return await records.record_measure(uow=uow, cmd=cmd, ctx=ctx)


async def test_record_measure_stores_weighs_on_standing_and_replays(store, ctx,
                                                                     make_measure):
    cmd = RecordMeasureCmd("m-req", make_measure(issued_on=TODAY), authority="mofcom")
    m = await measure(store, ctx, cmd)
    assert set(store.measures) == {m.measure_id}
    assert types(store.outbox) == ["CreditStandingChanged"]
    assert store.standings[USCC_A].level is StandingLevel.WARNED
    again = await measure(store, ctx, dataclasses.replace(
        cmd, measure=make_measure(measure_id="m-2", issued_on=TODAY)))
    assert again.measure_id == m.measure_id and len(store.outbox) == 1
    with pytest.raises(RequestIdReused):
        await measure(store, ctx, dataclasses.replace(
            cmd, measure=make_measure(measure_id="m-3", reference="other", issued_on=TODAY)))
    assert len(store.measures) == 1 and len(store.outbox) == 1


async def test_invalid_measure_is_refused_and_nothing_is_written(store, ctx, make_measure):
    bad = make_measure(uscc="nonsense", reference=" ", issued_on=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as err:
        await measure(store, ctx, RecordMeasureCmd("m-req", bad))
    assert {v.field for v in err.value.violations} == {"uscc", "reference", "issued_on"}
    assert store.measures == {} and store.outbox == []


# -- cases --------------------------------------------------------------------------------


def check_cmd(**kw) -> OpenCasesFromCheckCmd:
    values = dict(event_id="ev-1", uscc=USCC_A, licence_id="lic-1", diverted=True,
                  failure_to_report=True, details="diverted to a military end user",
                  day=TODAY, authority="mofcom")
    values.update(kw)
    return OpenCasesFromCheckCmd(**values)


async def open_cases(store, cmd):
    async with store.transaction() as uow:
        return await cases.open_cases_from_check(uow=uow, cmd=cmd)


async def test_check_findings_open_cases_once(store):
    opened = await open_cases(store, check_cmd())
    assert len(opened) == 2 and len(store.cases) == 2
    assert {e.message.source for e in store.events("CaseOpened")} == {"diversion",
                                                                    "failure_to_report"}
    assert all(c.authority == "mofcom" for c in store.cases.values())
    assert await open_cases(store, check_cmd()) == []  # the same event again: nothing
    assert len(store.cases) == 2 and len(store.outbox) == 2
    assert await open_cases(store, check_cmd(event_id="ev-2", diverted=False,
                                             failure_to_report=False)) == []


async def decide(store, ctx, cmd):
    async with store.transaction() as uow:
        return await cases.decide_case(uow=uow, cmd=cmd, ctx=ctx)


async def test_decide_case_with_a_penalty_records_and_closes_it(store, ctx, make_record):
    case = (await open_cases(store, check_cmd(failure_to_report=False)))[0]
    cmd = DecideCaseCmd(case.case_id, CaseStatus.PENALTY_RECORDED, "off-1",
                        violation=violation(make_record(), case_id=case.case_id),
                        authority="mofcom")
    decided = await decide(store, ctx, cmd)
    assert decided.case.status is CaseStatus.PENALTY_RECORDED
    assert decided.record is not None and decided.case.outcome_id == "rec-1"
    assert store.cases[case.case_id].status is CaseStatus.PENALTY_RECORDED
    assert store.records["rec-1"].case_id == case.case_id
    before = len(store.outbox)
    with pytest.raises(FailedPrecondition) as err:
        await decide(store, ctx, DecideCaseCmd(case.case_id, CaseStatus.DISMISSED, "off-1",
                                               authority="mofcom"))
    assert err.value.reason == "CASE_ALREADY_DECIDED" and len(store.outbox) == before


async def test_decide_case_refusals_write_nothing(store, ctx, make_record, make_measure):
    case = (await open_cases(store, check_cmd(failure_to_report=False)))[0]
    before = (dict(store.cases), len(store.outbox))
    refused = [
        (DecideCaseCmd(case.case_id, CaseStatus.DISMISSED, "off-9", authority="sastind"),
         NotFound),
        (DecideCaseCmd(case.case_id, CaseStatus.OPEN, "off-1", authority="mofcom"),
         ValidationFailed),
        (DecideCaseCmd(case.case_id, CaseStatus.PENALTY_RECORDED, "off-1", authority="mofcom"),
         ValidationFailed),
        (DecideCaseCmd(case.case_id, CaseStatus.PENALTY_RECORDED, "off-1", authority="mofcom",
                       violation=violation(make_record(uscc=USCC_B))), ValidationFailed),
        (DecideCaseCmd(case.case_id, CaseStatus.MEASURE_RECORDED, "off-1", authority="mofcom",
                       measure=RecordMeasureCmd("m", make_measure(uscc=USCC_B))),
         ValidationFailed),
    ]
    for cmd, error in refused:
        with pytest.raises(error):
            await decide(store, ctx, cmd)
    assert (dict(store.cases), len(store.outbox)) == before and store.records == {}


async def test_decide_case_with_a_measure_or_dismissal(store, ctx, make_measure):
    first, second = await open_cases(store, check_cmd())
    decided = await decide(store, ctx, DecideCaseCmd(
        first.case_id, CaseStatus.MEASURE_RECORDED, "off-1", authority="mofcom",
        measure=RecordMeasureCmd("m", make_measure(issued_on=TODAY), first.case_id)))
    assert decided.measure is not None and decided.case.outcome_id == decided.measure.measure_id
    dismissed = await decide(store, ctx, DecideCaseCmd(second.case_id, CaseStatus.DISMISSED,
                                                       "off-1", authority="mofcom"))
    assert dismissed.case.status is CaseStatus.DISMISSED and dismissed.record is None
    async with store.transaction() as uow:
        listed, more = await cases.list_cases(uow=uow, query=ListCasesQuery(False, 0, 1))
        open_now, _ = await cases.list_cases(uow=uow, query=ListCasesQuery(True, 0, 10))
        others, _ = await cases.list_cases(
            uow=uow, query=ListCasesQuery(False, 0, 10, authority="sastind"))
    assert len(listed) == 1 and more and open_now == [] and others == []


def test_end_use_check_event_becomes_the_command():
    env = Envelope(id="ev-9", source="enduser", type="stc.enduser.v1.EndUseCheckCompleted",
                   subject=USCC_A, time=dt.datetime(2026, 10, 11, 18, 0, tzinfo=dt.UTC),
                   data=b"", traceparent=None)
    msg = enduser_events.EndUseCheckCompleted(
        check_id="chk-1", exporter_uscc=USCC_A, licence_id="lic-1", authority="mofcom",
        outcome=enduser_events.CHECK_OUTCOME_DIVERTED)
    cmd = check_command(env, msg)
    assert cmd is not None and cmd.diverted and not cmd.failure_to_report
    assert cmd.day == dt.date(2026, 10, 12)  # 18:00 UTC is the next day in Beijing
    assert cmd.details == "end-use check chk-1" and cmd.authority == "mofcom"
    msg.outcome = enduser_events.CHECK_OUTCOME_VERIFIED
    assert check_command(env, msg) is None


# -- reading ------------------------------------------------------------------------------


async def test_lists_bans_standing_and_proofs(store, ctx, make_record):
    await record(store, ctx, violation(banned(make_record)))
    await record(store, ctx, violation(make_record(record_id="rec-2", decision_no="二号"),
                                       request_id="req-2"))
    async with store.transaction() as uow:
        views, more = await records.list_records(
            uow=uow, query=ListRecordsQuery(USCC_A, 0, 1))
        theirs, _ = await records.list_records(
            uow=uow, query=ListRecordsQuery(USCC_A, 0, 10, authority="sastind"))
        bans = await records.person_bans(uow=uow, id_number=" 110101199001011234 ")
        current = await standing.current_standing(uow, USCC_A, TODAY)
        feed, after = await publication.list_publications(
            uow=uow, query=ListPublicationsQuery(None, -1, 10, False), today=TODAY)
        cp = await publication.get_checkpoint(uow=uow, tree_size=0)
        entry = await publication.get_published_record(uow=uow,
                                                       query=PublishedRecordQuery(0, 2))
        proof = await publication.get_consistency_proof(uow=uow,
                                                        query=ConsistencyQuery(1, 2))
        with pytest.raises(ValidationFailed):
            await publication.get_published_record(uow=uow, query=PublishedRecordQuery(5, 9))
        with pytest.raises(NotFound):
            await publication.get_checkpoint(uow=uow, tree_size=7)
        with pytest.raises(ValidationFailed):
            await records.person_bans(uow=uow, id_number=" ")
    assert len(views) == 1 and more and theirs == []
    assert [r.record_id for r, _ in bans] == ["rec-1"]
    assert current.level is StandingLevel.BANNED
    assert [e.seq for e in feed] == [0, 1] and after == -1  # -1: no more
    checkpoint = parse_and_verify_checkpoint(cp.note, ctx.signer.verifier())
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 2, cp.root)
    assert verify_inclusion(leaf_hash(entry.canonical), 0, 2, entry.inclusion_proof, cp.root)
    assert verify_consistency(1, 2, store.checkpoints[1].root, cp.root, proof)


async def test_refresh_all_standings_announces_what_time_changed(store, ctx, clock,
                                                                 make_measure):
    await measure(store, ctx, RecordMeasureCmd("m", make_measure(issued_on=TODAY)))
    store.outbox.clear()
    assert await standing.refresh_all_standings(new_uow=store.factory(), today=TODAY) == 0
    later = TODAY + dt.timedelta(days=3 * 366)
    assert await standing.refresh_all_standings(new_uow=store.factory(), today=later) == 1
    assert types(store.outbox) == ["CreditStandingChanged"]
    assert store.standings[USCC_A].level is StandingLevel.GOOD


async def test_standing_agent_recomputes_only_on_record_events(store, ctx, make_record):
    await record(store, ctx, violation(banned(make_record)))
    store.outbox.clear()
    state = agents.StandingAgent()
    created = events_pb2.CreditRecordCreated(record_id="rec-1", uscc=USCC_A)
    await agents.handle("stc.credit.v1.CreditRecordCreated", created.SerializeToString(),
                        store.factory(), TODAY, state)
    await agents.handle("stc.credit.v1.CaseOpened", b"", store.factory(), TODAY, state)
    assert state.handled == 1 and list(state.recent) == ["rec-1"]
    assert store.outbox == []  # the use case announced the standing already: not twice


# -- issue 11 item 7: the penalty path of a case (domain/penalty_path.py) -------------------


async def test_decide_case_penalty_path_refusals_write_nothing(store, ctx, make_record):
    """A diversion case's penalty must rest on an article that fits it (not Art. 38), and a
    dismissal with an Administrative Penalty Law ground must name a ground that waives
    (APL Arts. 33, 36; 33(1) only for a first violation): INVALID_ARGUMENT naming the
    field, nothing stored or published."""
    case = (await open_cases(store, check_cmd(failure_to_report=False)))[0]
    before = (dict(store.cases), len(store.outbox))
    refused = [
        (DecideCaseCmd(case.case_id, CaseStatus.PENALTY_RECORDED, "off-1", authority="mofcom",
                       violation=violation(make_record(article=Article.ART_38),
                                           case_id=case.case_id)),
         "violation.article"),
        (DecideCaseCmd(case.case_id, CaseStatus.DISMISSED, "off-1", authority="mofcom",
                       penalty_law_ground="32(1)"), "penalty_law_ground"),
        (DecideCaseCmd(case.case_id, CaseStatus.DISMISSED, "off-1", authority="mofcom",
                       penalty_law_ground="33(1) first violation"), "penalty_law_ground"),
    ]
    for cmd, field in refused:
        with pytest.raises(ValidationFailed) as err:
            await decide(store, ctx, cmd)
        assert field in {v.field for v in err.value.violations}
    assert (dict(store.cases), len(store.outbox)) == before and store.records == {}


async def test_decide_case_not_penalised_keeps_its_apl_ground(store, ctx, make_record):
    first, second = await open_cases(store, check_cmd())
    dismissed = await decide(store, ctx, DecideCaseCmd(
        first.case_id, CaseStatus.DISMISSED, "off-1", authority="mofcom",
        penalty_law_ground="33(1) first violation", first_violation=True))
    assert dismissed.case.penalty_law_ground == "33(1) first violation"
    assert store.cases[first.case_id].penalty_law_ground == "33(1) first violation"
    # a reduced penalty (APL Art. 32) below the Art. 34 minimum, its ground on case and record
    reduced = make_record(penalty=Penalty.of(Sanction.ORDER_TO_STOP, fine_fen=100_000 * 100),
                          penalty_law_ground="32(1)")
    decided = await decide(store, ctx, DecideCaseCmd(
        second.case_id, CaseStatus.PENALTY_RECORDED, "off-1", authority="mofcom",
        violation=violation(reduced, case_id=second.case_id)))
    assert decided.case.penalty_law_ground == "32(1)"
    assert store.records["rec-1"].record.penalty_law_ground == "32(1)"


async def test_art39_standing_event_carries_person_bans_as_hashes_only(store, ctx,
                                                                       make_record):
    """Art. 39: the bans of the responsible persons reach licensing as SHA-256 of the
    normalised ID number (five years, or for life after a conviction), never the number."""
    persons = (ResponsiblePerson("张三", " 11010119900101123x "),
               ResponsiblePerson("李四", "110101198001011111", criminally_convicted=True))
    rec = await record(store, ctx, violation(banned(make_record, responsible_persons=persons)))
    event = store.outbox[-1].message
    assert types(store.outbox)[-1] == "CreditStandingChanged"
    got = {b.id_number_sha256: (b.ban_until.year if b.HasField("ban_until") else None)
           for b in event.person_bans}
    five_years = rec.stored.record.effective_date.year + 5
    assert got == {hashlib.sha256(b"11010119900101123X").hexdigest(): five_years,
                   hashlib.sha256(b"110101198001011111").hexdigest(): None}
    assert b"110101" not in event.SerializeToString()

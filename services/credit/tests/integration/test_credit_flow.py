"""The credit service over real gRPC, Kafka and PostgreSQL.

violation -> published on the feed within its deadline -> standing BANNED on the compacted
topic (and in the Faust table); statutory fine range; public RPCs without a token; tenant
isolation; the database refusing UPDATE/DELETE on the log; cases from end-use checks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
import time
import uuid

import asyncpg
import grpc
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from google.type import date_pb2
from stc.credit.v1 import credit_pb2, events_pb2
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc.enduser.v1 import events_pb2 as enduser_events
from stc_common import envelope
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import (
    CREDIT_PUBLICATION,
    CREDIT_RECORD,
    CREDIT_STANDING,
    ENDUSER_CHANGE,
)
from stc_common.testing.kafka import produce_event
from stc_common.testing.service import bearer
from stc_common.uscc import CHARSET, make_uscc
from stc_credit.domain.checkpoint import parse_and_verify_checkpoint
from stc_credit.domain.merkle import leaf_hash, verify_consistency, verify_inclusion
from stc_credit.domain.records import add_years


def random_uscc() -> str:
    """A valid USCC nobody else uses."""
    return make_uscc("91310000" + "".join(random.choice(CHARSET) for _ in range(9)))


pytestmark = pytest.mark.integration

OFFICER = bearer("officer", authority="MOFCOM", subject="officer-li")
YUAN = 100


def d(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def from_pb(value: date_pb2.Date) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def violation(uscc: str, today: dt.date, **overrides) -> pb.RecordViolationRequest:
    """A lawful Art. 34 penalty: turnover 100,000 yuan, fine 600,000 yuan (fixed range)."""
    fields = dict(
        request_id=str(uuid.uuid4()),
        uscc=uscc,
        enterprise_name="上海示例科技有限公司",
        article="34",
        decision_no=f"商务部行罚〔2026〕{uuid.uuid4().hex[:4]}号",
        decision_sha256=hashlib.sha256(b"decision").hexdigest(),
        penalty=credit_pb2.Penalty(
            sanctions=["order_to_stop", "confiscation"], fine_fen=600_000 * YUAN,
            confiscated_fen=80_000 * YUAN,
        ),
        turnover_fen=100_000 * YUAN,
        decision_date=d(today - dt.timedelta(days=6)),
        effective_date=d(today - dt.timedelta(days=1)),
        responsible_persons=[
            credit_pb2.ResponsiblePerson(name="张三", id_number="310101199001011234")
        ],
        application_ban_months=60,  # Art. 39: the officer decides the five-year ban
    )  # fmt: skip
    fields.update(overrides)
    return pb.RecordViolationRequest(**fields)


def stub(target: str) -> tuple[grpc.aio.Channel, pb_grpc.CreditServiceStub]:
    channel = grpc.aio.insecure_channel(target)
    return channel, pb_grpc.CreditServiceStub(channel)


async def test_violation_is_published_in_time_and_bans_the_exporter(credit, reader):
    uscc = random_uscc()
    feed = await reader(CREDIT_PUBLICATION.name)
    records = await reader(CREDIT_RECORD.name)
    standing_topic = await reader(CREDIT_STANDING.name)
    today = credit.clock()
    channel, api = stub(credit.target)
    async with channel:
        t0 = time.perf_counter()  # the clock of the reader's arrival times
        req = violation(uscc, today)
        rec = (await api.RecordViolation(req, metadata=OFFICER)).record
        assert rec.published and rec.leaf_index == 0
        again = (await api.RecordViolation(req, metadata=OFFICER)).record  # same request_id
        assert again.record_id == rec.record_id
        other = pb.RecordViolationRequest()  # a different decision under the same request_id
        other.CopyFrom(req)
        other.decision_no = "商务部行罚〔2026〕另号"
        with pytest.raises(grpc.aio.AioRpcError) as reused:
            await api.RecordViolation(other, metadata=OFFICER)
        assert reused.value.code() is grpc.StatusCode.ALREADY_EXISTS
        assert error_reason(reused.value) == "REQUEST_ID_REUSED"

        created, _ = await records.wait_match(
            lambda e, k: e.type.endswith("CreditRecordCreated") and k == uscc.encode()
        )
        published_env, t_pub = await feed.wait_match(
            lambda e, k: e.type.endswith("CreditRecordPublished") and k == uscc.encode()
        )
        published = events_pb2.CreditRecordPublished.FromString(published_env.data)
        deadline = from_pb(
            events_pb2.CreditRecordCreated.FromString(created.data).publication_deadline
        )
        assert from_pb(published.published_on) <= deadline  # 20 working days (publicity regs.)
        assert published.record_id == rec.record_id
        assert "张三" not in published.canonical.decode()  # responsible persons never published
        await feed.wait_match(lambda e, k: e.type.endswith("CheckpointPublished"))

        changed_env, t_std = await standing_topic.wait_match(
            lambda e, k: e.type.endswith("CreditStandingChanged") and k == uscc.encode()
        )
        changed = events_pb2.CreditStandingChanged.FromString(changed_env.data)
        assert changed.level == events_pb2.STANDING_LEVEL_BANNED
        effective = today - dt.timedelta(days=1)
        assert from_pb(changed.ban_until) == add_years(effective, 5)  # Art. 39: five years
        assert list(changed.record_ids) == [rec.record_id]
        print(f"\nrecorded -> published on feed {t_pub - t0:.2f}s, -> standing {t_std - t0:.2f}s")

        # exactly one standing change for this exporter, although the agent recomputed it too
        for _ in range(200):
            if credit.agent is not None and rec.record_id in credit.agent.recent:
                break
            await asyncio.sleep(0.1)
        assert credit.agent is not None and rec.record_id in credit.agent.recent
        held = (await api.GetCreditStanding(pb.GetCreditStandingRequest(uscc=uscc),
                                            metadata=OFFICER)).standing
        assert held.level == events_pb2.STANDING_LEVEL_BANNED
        assert from_pb(held.ban_until) == add_years(effective, 5)
        await asyncio.sleep(1.0)
        with pytest.raises(TimeoutError):  # drain: no second change arrives
            await standing_topic.wait_match(
                lambda e, k: k == uscc.encode() and e.id != changed_env.id, timeout=1.0
            )
        ours = standing_topic.envelopes(key=uscc)
        assert len(ours) == 1

        got = (
            await api.GetCreditStanding(pb.GetCreditStandingRequest(uscc=uscc), metadata=OFFICER)
        ).standing
        assert got.level == events_pb2.STANDING_LEVEL_BANNED

    admin = AIOKafkaAdminClient(bootstrap_servers=credit.settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        res = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, CREDIT_STANDING.name)]
        )
        configs = {c[0]: c[1] for c in res[0].resources[0][4]}
        assert configs["cleanup.policy"] == "compact"
    finally:
        await admin.close()


async def test_art39_no_application_ban_unless_the_officer_decides_one(credit):
    """Art. 39 (MAY refuse for up to five years): a record without a decided ban leaves the
    exporter PENALISED, not BANNED; a ban longer than five years is INVALID_ARGUMENT."""
    uscc = random_uscc()
    channel, api = stub(credit.target)
    async with channel:
        rec = (await api.RecordViolation(violation(uscc, credit.clock(),
                                                   application_ban_months=0),
                                         metadata=OFFICER)).record
        assert not rec.application_ban and not rec.HasField("ban_until")
        got = (await api.GetCreditStanding(pb.GetCreditStandingRequest(uscc=uscc),
                                           metadata=OFFICER)).standing
        assert got.level == events_pb2.STANDING_LEVEL_PENALISED and not got.HasField("ban_until")
        other = random_uscc()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RecordViolation(violation(other, credit.clock(), application_ban_months=61),
                                      metadata=OFFICER)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        fields = dict(field_violations(err.value))
        assert "at most five years" in fields["application_ban_months"]


async def test_fine_outside_statutory_range_is_invalid_argument(credit):
    uscc = random_uscc()
    channel, api = stub(credit.target)
    async with channel:
        too_high = violation(
            uscc, credit.clock(),
            penalty=credit_pb2.Penalty(sanctions=["order_to_stop"], fine_fen=6_000_000 * YUAN),
        )  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RecordViolation(too_high, metadata=OFFICER)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        fields = dict(field_violations(err.value))
        assert "penalty.fine_fen" in fields and "above the maximum" in fields["penalty.fine_fen"]
        listed = await api.ListCreditRecords(
            pb.ListCreditRecordsRequest(uscc=uscc), metadata=OFFICER
        )
        assert list(listed.records) == []  # nothing half-written
        bad_article = violation(uscc, credit.clock(), article="99")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RecordViolation(bad_article, metadata=OFFICER)
        assert "article" in dict(field_violations(err.value))


async def test_public_rpcs_need_no_token_and_their_proofs_verify(credit):
    uscc = random_uscc()
    channel, api = stub(credit.target)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RecordViolation(violation(uscc, credit.clock()))
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RecordViolation(
                violation(uscc, credit.clock()), metadata=bearer("exporter", uscc=uscc)
            )
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.GetCheckpoint(pb.GetCheckpointRequest())
        assert err.value.code() is grpc.StatusCode.NOT_FOUND  # empty log

        for _ in range(3):
            await api.RecordViolation(violation(uscc, credit.clock()), metadata=OFFICER)

        head = await api.GetCheckpoint(pb.GetCheckpointRequest())  # no metadata at all
        cp = parse_and_verify_checkpoint(head.note, credit.verifier_key)
        assert cp.size == head.tree_size == 3 and cp.root == head.root_hash
        for i in range(3):
            r = await api.GetPublishedRecord(pb.GetPublishedRecordRequest(leaf_index=i))
            assert verify_inclusion(leaf_hash(r.canonical), i, 3, list(r.inclusion_proof), cp.root)
        old = await api.GetPublishedRecord(pb.GetPublishedRecordRequest(leaf_index=0, tree_size=1))
        assert old.tree_size == 1
        proof = await api.GetConsistencyProof(pb.GetConsistencyProofRequest(old_size=1, new_size=3))
        assert verify_consistency(1, 3, leaf_hash(old.canonical), cp.root, list(proof.proof))

        listed = await api.ListPublications(pb.ListPublicationsRequest(uscc=uscc, page_size=2))
        assert [p.leaf_index for p in listed.publications] == [0, 1] and listed.next_page_token
        rest = await api.ListPublications(
            pb.ListPublicationsRequest(uscc=uscc, page_size=2, page_token=listed.next_page_token)
        )
        assert [p.leaf_index for p in rest.publications] == [2] and all(
            p.shown for p in rest.publications
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.GetPublishedRecord(pb.GetPublishedRecordRequest(leaf_index=3))
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_exporter_sees_only_its_own_standing_and_no_persons(credit):
    mine, other = random_uscc(), random_uscc()
    channel, api = stub(credit.target)
    async with channel:
        await api.RecordViolation(violation(mine, credit.clock()), metadata=OFFICER)
        await api.RecordViolation(violation(other, credit.clock()), metadata=OFFICER)
        me = bearer("exporter", uscc=mine)
        own = await api.GetCreditStanding(pb.GetCreditStandingRequest(uscc=mine), metadata=me)
        assert own.standing.level == events_pb2.STANDING_LEVEL_BANNED
        records = await api.ListCreditRecords(pb.ListCreditRecordsRequest(uscc=mine), metadata=me)
        assert len(records.records) == 1 and not records.records[0].responsible_persons
        as_officer = await api.ListCreditRecords(
            pb.ListCreditRecordsRequest(uscc=mine), metadata=OFFICER
        )
        assert as_officer.records[0].responsible_persons[0].name == "张三"
        auditor = await api.GetCreditStanding(
            pb.GetCreditStandingRequest(uscc=other), metadata=bearer("auditor")
        )
        assert auditor.standing.uscc == other
        for call, req in (
            (api.GetCreditStanding, pb.GetCreditStandingRequest(uscc=other)),
            (api.ListCreditRecords, pb.ListCreditRecordsRequest(uscc=other)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(req, metadata=me)
            assert err.value.code() is grpc.StatusCode.NOT_FOUND


async def test_database_refuses_update_and_delete_on_the_log(credit):
    channel, api = stub(credit.target)
    async with channel:
        await api.RecordViolation(violation(random_uscc(), credit.clock()), metadata=OFFICER)
    conn = await asyncpg.connect(credit.dsn)
    try:
        for sql in (
            "UPDATE publication_log SET canonical = '\\x00'::bytea WHERE seq = 0",
            "DELETE FROM publication_log WHERE seq = 0",
            "TRUNCATE publication_log",
            "UPDATE checkpoints SET note = 'x'",
            "DELETE FROM checkpoints",
        ):
            with pytest.raises(asyncpg.PostgresError) as err:
                await conn.execute(sql)
            assert "append-only" in str(err.value) or "permission denied" in str(err.value)
        assert await conn.fetchval("SELECT count(*) FROM publication_log") == 1
        assert await conn.fetchval("SELECT count(*) FROM checkpoints") == 1
    finally:
        await conn.close()


async def test_diversion_found_opens_a_case_that_an_officer_turns_into_a_record(
    credit, reader, kafka_bootstrap
):
    uscc = random_uscc()
    records = await reader(CREDIT_RECORD.name)
    check = enduser_events.EndUseCheckCompleted(
        check_id=f"chk-{uuid.uuid4().hex[:8]}", licence_id=f"lic-{uuid.uuid4().hex[:8]}",
        exporter_uscc=uscc, outcome=enduser_events.CHECK_OUTCOME_DIVERTED,
        details="items found at an undeclared end user", officer="officer-wang",
        authority="MOFCOM",
    )  # fmt: skip
    quiet = enduser_events.EndUseCheckCompleted(
        check_id="chk-ok", licence_id=check.licence_id, exporter_uscc=uscc,
        outcome=enduser_events.CHECK_OUTCOME_VERIFIED,
    )  # fmt: skip
    producer = make_producer(kafka_bootstrap, client_id="credit-test")
    await producer.start()
    try:
        for msg in (quiet, check):  # a verified check opens nothing
            await produce_event(producer, ENDUSER_CHANGE.name, msg.licence_id, msg,
                                source="enduser")
    finally:
        await producer.stop()

    channel, api = stub(credit.target)
    async with channel:
        ours: list = []
        for _ in range(300):  # the consumer opens the case shortly after the event
            cases = await api.ListCases(pb.ListCasesRequest(page_size=500), metadata=OFFICER)
            ours = [c for c in cases.cases if c.uscc == uscc]
            if ours:
                break
            await asyncio.sleep(0.1)
        assert len(ours) == 1 and ours[0].status == credit_pb2.CASE_STATUS_OPEN
        opened, _ = await records.wait_match(
            lambda e, k: (
                e.type.endswith("CaseOpened")
                and events_pb2.CaseOpened.FromString(e.data).case_id == ours[0].case_id
            )
        )
        assert events_pb2.CaseOpened.FromString(opened.data).source == "diversion"
        assert ours[0].licence_id == check.licence_id
        # nothing became a record without an officer
        listed = await api.ListCreditRecords(
            pb.ListCreditRecordsRequest(uscc=uscc), metadata=OFFICER
        )
        assert list(listed.records) == []
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.ListCases(pb.ListCasesRequest(), metadata=bearer("exporter", uscc=uscc))
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED

        decided = await api.DecideCase(
            pb.DecideCaseRequest(
                case_id=ours[0].case_id,
                decision=credit_pb2.CASE_STATUS_PENALTY_RECORDED,
                violation=violation(uscc, credit.clock()),
            ),
            metadata=OFFICER,
        )
        assert decided.case.status == credit_pb2.CASE_STATUS_PENALTY_RECORDED
        assert decided.case.outcome_id == decided.record.record_id and decided.record.published
        listed = await api.ListCreditRecords(
            pb.ListCreditRecordsRequest(uscc=uscc), metadata=OFFICER
        )
        assert [r.record_id for r in listed.records] == [decided.record.record_id]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.DecideCase(
                pb.DecideCaseRequest(
                    case_id=ours[0].case_id, decision=credit_pb2.CASE_STATUS_DISMISSED
                ),
                metadata=OFFICER,
            )
        assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(err.value) == "CASE_ALREADY_DECIDED"


async def test_future_decision_waits_then_the_ticker_publishes_it(credit, reader):
    uscc = random_uscc()
    feed = await reader(CREDIT_PUBLICATION.name)
    start = credit.clock.day
    channel, api = stub(credit.target)
    async with channel:
        req = violation(
            uscc, start, decision_date=d(start + dt.timedelta(days=2)),
            effective_date=d(start + dt.timedelta(days=10)),
        )  # fmt: skip
        rec = (await api.RecordViolation(req, metadata=OFFICER)).record
        assert not rec.published
        await asyncio.sleep(1.2)  # two ticks: nothing is due yet
        assert not feed.envelopes(key=uscc)
        credit.clock.day = start + dt.timedelta(days=2)
        t0 = time.monotonic()
        env, _ = await feed.wait_match(
            lambda e, k: e.type.endswith("CreditRecordPublished") and k == uscc.encode(), timeout=10
        )
        print(f"\nticker published the due record after {time.monotonic() - t0:.2f}s")
        published = events_pb2.CreditRecordPublished.FromString(env.data)
        assert from_pb(published.published_on) == start + dt.timedelta(days=2)


async def test_credit_repair_ends_publicity_but_not_the_ban(credit, reader):
    uscc = random_uscc()
    feed = await reader(CREDIT_PUBLICATION.name)
    start = credit.clock.day
    channel, api = stub(credit.target)
    async with channel:
        rec = (await api.RecordViolation(violation(uscc, start), metadata=OFFICER)).record
        repair = pb.RepairRecordRequest(
            request_id=str(uuid.uuid4()), record_id=rec.record_id,
            repair_decision_no="信用修复〔2027〕1号", decided_on=d(start + dt.timedelta(days=30)),
        )  # fmt: skip
        credit.clock.day = start + dt.timedelta(days=30)
        with pytest.raises(grpc.aio.AioRpcError) as err:  # minimum publicity: 3 months
            await api.RepairRecord(repair, metadata=OFFICER)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "decided_on" in dict(field_violations(err.value))

        later = start + dt.timedelta(days=120)
        credit.clock.day = later
        repair.decided_on.CopyFrom(d(later))
        repaired = await api.RepairRecord(repair, metadata=OFFICER)
        assert repaired.leaf_index == 1 and from_pb(repaired.record.repaired_on) == later
        again = await api.RepairRecord(repair, metadata=OFFICER)  # same request_id
        assert again.leaf_index == 1
        env, _ = await feed.wait_match(
            lambda e, k: e.type.endswith("CreditRecordRepaired") and k == uscc.encode()
        )
        assert events_pb2.CreditRecordRepaired.FromString(env.data).leaf_index == 1

        shown = await api.ListPublications(pb.ListPublicationsRequest(uscc=uscc))
        assert list(shown.publications) == []  # no longer shown after repair
        everything = await api.ListPublications(
            pb.ListPublicationsRequest(uscc=uscc, include_ended=True)
        )
        assert [(p.leaf_index, p.kind) for p in everything.publications] == [
            (0, "penalty"), (1, "repair"),
        ]  # fmt: skip
        standing = await api.GetCreditStanding(
            pb.GetCreditStandingRequest(uscc=uscc), metadata=OFFICER
        )
        assert standing.standing.level == events_pb2.STANDING_LEVEL_BANNED  # Art. 39 runs on


async def test_measure_makes_a_clean_exporter_warned(credit, reader):
    uscc = random_uscc()
    standing_topic = await reader(CREDIT_STANDING.name)
    channel, api = stub(credit.target)
    async with channel:
        before = await api.GetCreditStanding(
            pb.GetCreditStandingRequest(uscc=uscc), metadata=OFFICER
        )
        assert before.standing.level == events_pb2.STANDING_LEVEL_GOOD
        await api.RecordMeasure(
            pb.RecordMeasureRequest(
                request_id=str(uuid.uuid4()), uscc=uscc,
                kind=credit_pb2.MEASURE_KIND_SUPERVISORY_TALK, reference="约谈〔2026〕7号",
                issued_on=d(credit.clock()),
            ),
            metadata=OFFICER,
        )  # fmt: skip
        env, _ = await standing_topic.wait_match(lambda e, k: k == uscc.encode())
        assert events_pb2.CreditStandingChanged.FromString(env.data).level == (
            events_pb2.STANDING_LEVEL_WARNED
        )


async def test_failure_to_report_opens_its_own_case(credit, reader, kafka_bootstrap):
    uscc = random_uscc()
    records = await reader(CREDIT_RECORD.name)
    check = enduser_events.EndUseCheckCompleted(
        check_id=f"chk-{uuid.uuid4().hex[:8]}", licence_id=f"lic-{uuid.uuid4().hex[:8]}",
        exporter_uscc=uscc, outcome=enduser_events.CHECK_OUTCOME_DIVERTED,
        failure_to_report=True, details="diverted; no change report (Art. 16)",
        authority="MOFCOM",
    )  # fmt: skip
    producer = make_producer(kafka_bootstrap, client_id="credit-test")
    await producer.start()
    try:
        eid, headers, value = envelope.encode(check, source="enduser", subject=check.licence_id)
        for _ in range(2):  # redelivered: the inbox makes the second a no-op
            await producer.send_and_wait(
                ENDUSER_CHANGE.name, value, key=check.licence_id.encode(), headers=headers
            )
    finally:
        await producer.stop()
    await records.wait_match(
        lambda e, k: e.type.endswith("CaseOpened") and k == uscc.encode()
        and events_pb2.CaseOpened.FromString(e.data).source == "failure_to_report", timeout=60,
    )  # fmt: skip
    with pytest.raises(TimeoutError):  # drain what else arrives for this exporter
        await records.wait_match(lambda e, k: False, timeout=1.5)
    channel, api = stub(credit.target)
    async with channel:
        listed = await api.ListCases(
            pb.ListCasesRequest(filter="all", page_size=500), metadata=OFFICER
        )
    ours = {c.case_id: c.source for c in listed.cases if c.uscc == uscc}
    assert sorted(ours.values()) == ["change_not_reported", "end_use_check_diversion"]
    # Another credit instance on the shared broker (a `make run`, an e2e run) may open its
    # own cases from the same event: count only the CaseOpened of this service's cases.
    opened = [
        m.source
        for m in (
            events_pb2.CaseOpened.FromString(e.data)
            for e in records.envelopes(key=uscc)
            if e.type.endswith("CaseOpened")
        )
        if m.case_id in ours
    ]
    assert sorted(opened) == ["diversion", "failure_to_report"]  # once each, not twice


async def test_concurrent_decisions_never_publish_a_standing_that_goes_backwards(credit, reader):
    uscc = random_uscc()
    standing_topic = await reader(CREDIT_STANDING.name)
    channel, api = stub(credit.target)
    async with channel:
        recs = await asyncio.gather(
            *(
                api.RecordViolation(violation(uscc, credit.clock()), metadata=OFFICER)
                for _ in range(4)
            ),
            api.RecordMeasure(
                pb.RecordMeasureRequest(
                    request_id=str(uuid.uuid4()), uscc=uscc, reference="警示函〔2026〕2号",
                    kind=credit_pb2.MEASURE_KIND_WARNING_LETTER, issued_on=d(credit.clock()),
                ),
                metadata=OFFICER,
            ),
        )  # fmt: skip
    ids = {r.record.record_id for r in recs[:4]}
    await standing_topic.wait_match(
        lambda e, k: (
            k == uscc.encode()
            and set(events_pb2.CreditStandingChanged.FromString(e.data).record_ids) == ids
        )
    )
    with pytest.raises(TimeoutError):  # drain
        await standing_topic.wait_match(lambda e, k: False, timeout=1.5)
    states = [
        (set(m.record_ids), set(m.measure_ids))
        for m in (
            events_pb2.CreditStandingChanged.FromString(e.data)
            for e in standing_topic.envelopes(key=uscc)
        )
    ]
    assert states[-1][0] == ids and len(states[-1][1]) == 1
    assert len(states) <= 5  # at most one per transaction
    for (r1, m1), (r2, m2) in zip(states, states[1:], strict=False):
        assert r1 <= r2 and m1 <= m2 and (r1, m1) != (r2, m2), states  # only ever grows

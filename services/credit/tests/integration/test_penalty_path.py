"""Issue 11 item 7 over the real credit service, Kafka and PostgreSQL: every case the end-user
service opens can close lawfully, and a reduced or waived penalty records its Administrative
Penalty Law ground on the decision."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
import uuid

import grpc
import pytest
from google.type import date_pb2
from stc.credit.v1 import credit_pb2
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc.enduser.v1 import events_pb2 as enduser_events
from stc_common.grpc.errors import field_violations
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import ENDUSER_CHANGE
from stc_common.testing.kafka import produce_event
from stc_common.testing.service import bearer
from stc_common.uscc import CHARSET, make_uscc

pytestmark = pytest.mark.integration
OFFICER = bearer("officer", authority="MOFCOM", subject="officer-zhao")
YUAN = 100


def _uscc() -> str:
    return make_uscc("91310000" + "".join(random.choice(CHARSET) for _ in range(9)))


def _d(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _violation(uscc: str, today: dt.date, **kw) -> pb.RecordViolationRequest:
    fields = dict(
        request_id=str(uuid.uuid4()), uscc=uscc, enterprise_name="上海示例科技有限公司",
        article="34", decision_no=f"商务部行罚〔2026〕{uuid.uuid4().hex[:4]}号",
        decision_sha256=hashlib.sha256(b"decision").hexdigest(),
        penalty=credit_pb2.Penalty(sanctions=["order_to_stop"], fine_fen=600_000 * YUAN),
        turnover_fen=0, decision_date=_d(today - dt.timedelta(days=3)),
        effective_date=_d(today - dt.timedelta(days=1)))
    fields.update(kw)
    return pb.RecordViolationRequest(**fields)


async def _open_cases(credit, kafka_bootstrap, uscc: str, n: int) -> list:
    """`n` diversion cases for `uscc`, opened by the consumer from EndUseCheckCompleted."""
    producer = make_producer(kafka_bootstrap, client_id="credit-penalty-path-test")
    await producer.start()
    try:
        for _ in range(n):
            msg = enduser_events.EndUseCheckCompleted(
                check_id=f"chk-{uuid.uuid4().hex[:8]}", licence_id=f"lic-{uuid.uuid4().hex[:8]}",
                exporter_uscc=uscc, outcome=enduser_events.CHECK_OUTCOME_DIVERTED,
                details="items found at an undeclared end user", officer="officer-wang",
                authority="MOFCOM")
            await produce_event(producer, ENDUSER_CHANGE.name, msg.licence_id, msg,
                                source="enduser")
    finally:
        await producer.stop()
    channel = grpc.aio.insecure_channel(credit.target)
    api = pb_grpc.CreditServiceStub(channel)
    try:
        for _ in range(300):
            cases = await api.ListCases(pb.ListCasesRequest(page_size=500), metadata=OFFICER)
            ours = [c for c in cases.cases if c.uscc == uscc]
            if len(ours) >= n:
                return ours
            await asyncio.sleep(0.1)
    finally:
        await channel.close()
    raise AssertionError(f"{n} cases for {uscc} were not opened")


async def test_art34_apl_art32_33_diversion_cases_close_lawfully_with_the_ground_recorded(
        credit, kafka_bootstrap):
    """A diversion case (ECL Art. 17) closes (a) with an Art. 34 penalty reduced under APL
    Art. 32 below Art. 34's minimum, the ground on the record and the case; (b) not penalised
    under APL Art. 33(2), the ground on the dismissed case; an article that does not fit the
    case (Art. 38) and a waiver ground on a penalty are refused naming the field."""
    uscc = _uscc()
    first, second, third = await _open_cases(credit, kafka_bootstrap, uscc, 3)
    today = credit.clock()
    async with grpc.aio.insecure_channel(credit.target) as channel:
        api = pb_grpc.CreditServiceStub(channel)

        # (a) reduced: 100,000 yuan is under Art. 34's 500,000 minimum; lawful with 32(1)
        reduced = await api.DecideCase(pb.DecideCaseRequest(
            case_id=first.case_id, decision=credit_pb2.CASE_STATUS_PENALTY_RECORDED,
            violation=_violation(uscc, today, penalty=credit_pb2.Penalty(
                sanctions=["order_to_stop"], fine_fen=100_000 * YUAN),
                penalty_law_ground="32(1)")), metadata=OFFICER)
        assert reduced.record.penalty_law_ground == "32(1)"
        assert reduced.record.penalty.fine_fen == 100_000 * YUAN
        assert reduced.case.penalty_law_ground == "32(1)"
        assert reduced.case.status == credit_pb2.CASE_STATUS_PENALTY_RECORDED

        # without the ground the same fine is below the minimum
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.DecideCase(pb.DecideCaseRequest(
                case_id=second.case_id, decision=credit_pb2.CASE_STATUS_PENALTY_RECORDED,
                violation=_violation(uscc, today, penalty=credit_pb2.Penalty(
                    sanctions=["order_to_stop"], fine_fen=100_000 * YUAN))), metadata=OFFICER)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "penalty.fine_fen" in {f for f, _ in field_violations(err.value)}

        # an article that does not fit a diversion case
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.DecideCase(pb.DecideCaseRequest(
                case_id=second.case_id, decision=credit_pb2.CASE_STATUS_PENALTY_RECORDED,
                violation=_violation(uscc, today, article="38", penalty=credit_pb2.Penalty(
                    sanctions=["warning"], fine_fen=200_000 * YUAN))), metadata=OFFICER)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "violation.article" in {f for f, _ in field_violations(err.value)}

        # (b) not penalised: the exporter proved it had no fault (APL Art. 33(2))
        waived = await api.DecideCase(pb.DecideCaseRequest(
            case_id=second.case_id, decision=credit_pb2.CASE_STATUS_DISMISSED,
            penalty_law_ground="33(2)", reason="the importer forged the end-use statement"),
            metadata=OFFICER)
        assert waived.case.status == credit_pb2.CASE_STATUS_DISMISSED
        assert waived.case.penalty_law_ground == "33(2)" and not waived.HasField("record")

        # a reduction ground cannot waive a penalty
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.DecideCase(pb.DecideCaseRequest(
                case_id=third.case_id, decision=credit_pb2.CASE_STATUS_DISMISSED,
                penalty_law_ground="32(1)"), metadata=OFFICER)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "penalty_law_ground" in {f for f, _ in field_violations(err.value)}

        # only the reduced penalty became a credit record
        listed = await api.ListCreditRecords(pb.ListCreditRecordsRequest(uscc=uscc),
                                             metadata=OFFICER)
        assert [r.record_id for r in listed.records] == [reduced.record.record_id]
        assert listed.records[0].penalty_law_ground == "32(1)"

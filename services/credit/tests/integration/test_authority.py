"""Credit cases, records and measures belong to one authority (ECL Arts. 33-39), over real
gRPC, Kafka and PostgreSQL: the case to the authority of the licence whose end-use check
opened it, a record to the authority whose officer imposed it. Another authority's officer
finds neither (NOT_FOUND, filtered lists); auditors see all; standings bind everyone."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from stc.credit.v1 import credit_pb2
from stc.credit.v1 import credit_service_pb2 as pb
from stc.enduser.v1 import events_pb2 as enduser_events
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import CREDIT_RECORD, ENDUSER_CHANGE
from stc_common.testing.kafka import produce_event
from stc_common.testing.service import bearer

from .test_credit_flow import d, random_uscc, stub, violation

pytestmark = pytest.mark.integration

MOFCOM = bearer("officer", authority="MOFCOM", subject="officer-li")
SASTIND = bearer("officer", authority="SASTIND", subject="officer-zhao")
AUDITOR = bearer("auditor")


async def _code(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_records_are_the_imposing_authority_s(credit):
    uscc = random_uscc()
    today = credit.clock()
    channel, api = stub(credit.target)
    async with channel:
        held = (await api.RecordViolation(
            violation(uscc, today, publication_hold_reason="redacting trade secrets"),
            metadata=MOFCOM)).record
        listed = {
            who: [r.record_id for r in (await api.ListCreditRecords(
                pb.ListCreditRecordsRequest(uscc=uscc), metadata=md)).records]
            for who, md in (("mofcom", MOFCOM), ("sastind", SASTIND), ("auditor", AUDITOR))
        }
        assert listed == {"mofcom": [held.record_id], "sastind": [], "auditor": [held.record_id]}
        assert await _code(api.ReleasePublicationHold(
            pb.ReleasePublicationHoldRequest(record_id=held.record_id), metadata=SASTIND)
        ) is grpc.StatusCode.NOT_FOUND
        released = await api.ReleasePublicationHold(
            pb.ReleasePublicationHoldRequest(record_id=held.record_id), metadata=MOFCOM)
        assert released.record.published
        later = today + dt.timedelta(days=200)
        credit.clock.day = later
        repair = pb.RepairRecordRequest(request_id=str(uuid.uuid4()), record_id=held.record_id,
                                        repair_decision_no="商务部信复〔2026〕1号",
                                        decided_on=d(later))
        assert await _code(api.RepairRecord(repair, metadata=SASTIND)) is grpc.StatusCode.NOT_FOUND
        assert (await api.RepairRecord(repair, metadata=MOFCOM)).leaf_index >= 1
        # the same request id from another authority is not a replay of MOFCOM's decision
        again = violation(uscc, today, request_id=f"dup-{uuid.uuid4().hex}")
        await api.RecordViolation(again, metadata=MOFCOM)
        err = await _code(api.RecordViolation(again, metadata=SASTIND))
        assert err is grpc.StatusCode.ALREADY_EXISTS  # stc_common.idempotency
        # a standing binds every authority (Art. 39): every officer reads it
        for md in (MOFCOM, SASTIND):
            standing = await api.GetCreditStanding(pb.GetCreditStandingRequest(uscc=uscc),
                                                   metadata=md)
            assert standing.standing.uscc == uscc


async def test_cases_are_the_checking_authority_s(credit, reader, kafka_bootstrap):
    uscc = random_uscc()
    records = await reader(CREDIT_RECORD.name)
    check = enduser_events.EndUseCheckCompleted(
        check_id=f"chk-{uuid.uuid4().hex[:8]}", licence_id=f"lic-{uuid.uuid4().hex[:8]}",
        exporter_uscc=uscc, outcome=enduser_events.CHECK_OUTCOME_DIVERTED,
        details="items found at an undeclared end user", authority="MOFCOM",
    )  # fmt: skip
    producer = make_producer(kafka_bootstrap, client_id="credit-authority-test")
    await producer.start()
    try:
        await produce_event(producer, ENDUSER_CHANGE.name, check.licence_id, check,
                            source="enduser")
    finally:
        await producer.stop()
    await records.wait_match(lambda e, k: e.type.endswith("CaseOpened") and k == uscc.encode(),
                             timeout=60)
    channel, api = stub(credit.target)
    async with channel:
        def ours(resp):
            return [c.case_id for c in resp.cases if c.uscc == uscc]

        req = pb.ListCasesRequest(filter="all", page_size=500)
        mine = ours(await api.ListCases(req, metadata=MOFCOM))
        assert len(mine) == 1
        assert ours(await api.ListCases(req, metadata=SASTIND)) == []
        assert ours(await api.ListCases(req, metadata=AUDITOR)) == mine
        dismiss = pb.DecideCaseRequest(case_id=mine[0], decision=credit_pb2.CASE_STATUS_DISMISSED,
                                       reason="not established")
        assert await _code(api.DecideCase(dismiss, metadata=SASTIND)) is grpc.StatusCode.NOT_FOUND
        decided = await api.DecideCase(dismiss, metadata=MOFCOM)
        assert decided.case.status == credit_pb2.CASE_STATUS_DISMISSED

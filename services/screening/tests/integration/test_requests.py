"""Request/response RPCs: transaction screening with red flags (code, EN/ZH text),
classification help, the Art. 12(4) consultation flow with tenant isolation, and validation
errors with their fields."""

from __future__ import annotations

import uuid

import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as ap
from stc.screening.v1 import consultation_pb2
from stc.screening.v1 import events_pb2 as ev
from stc.screening.v1 import screening_service_pb2 as pb
from stc_common.grpc.errors import error_reason, field_violations

from .conftest import EXPORTER, OTHER_EXPORTER, party

pytestmark = pytest.mark.integration
R = common_pb2


async def test_screen_transaction_raises_red_flags_with_bilingual_text(stack):
    req = pb.ScreenTransactionRequest(
        parties=[party("p-imp", R.PARTY_ROLE_IMPORTER, "Berliner Handel GmbH", "DE"),
                 party("p-eu", R.PARTY_ROLE_END_USER, "Global Freight Forwarding LLC", "DE"),
                 party("p-int", R.PARTY_ROLE_INTERMEDIARY, "Gulf Trading FZE", "AE")],
        destination="DE",
        items=[ap.Item(control_code="1C902.a", description="SmCo magnets", quantity="50"),
               ap.Item(control_code="1X999", description="bad code")],
        end_use=ap.EndUse(category=ap.END_USE_CATEGORY_CIVIL, statement="motors"),
        end_user_certificate=ap.EndUserCertificate(
            issuer_kind=ap.CERTIFICATE_ISSUER_OTHER, issuer_name="Some Broker Ltd"),
        transaction=ap.TransactionFacts(routing_countries=["AE"], payment_country="PA",
                                        cash_payment=True))
    got = await stack.stub.ScreenTransaction(req, metadata=stack.exporter())
    codes = {f.code: f for f in got.findings}
    for code in ("RF10", "RF11", "RF17", "RF19", "RF20", "RF05", "ITEM_CODE_INVALID"):
        assert code in codes, (code, sorted(codes))
    assert codes["RF10"].category == "red_flag" and codes["RF10"].text_en
    assert codes["RF10"].text_zh and codes["ITEM_CODE_INVALID"].category == "item"
    assert got.highest >= ev.SEVERITY_HIGH and got.lists_version
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.ScreenTransaction(pb.ScreenTransactionRequest(
            parties=[party("a", R.PARTY_ROLE_END_USER, "")], destination="Germany",
            end_use_quantity="lots"), metadata=stack.exporter())
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(exc.value)} == {
        "parties[0].name", "destination", "end_use_quantity"}


async def test_classify_item_ranks_control_list_candidates(stack):
    got = await stack.stub.ClassifyItem(pb.ClassifyItemRequest(
        description="钐钴永磁材料", hs_code="8505111000"), metadata=stack.exporter())
    assert got.candidates and got.candidates[0].control_code == "1C902.a"
    assert got.candidates[0].reasons[0].kind == "keyword"
    dense = await stack.stub.ClassifyItem(pb.ClassifyItemRequest(
        description="tungsten nickel iron alloy", parameters={"density": "18.2"}),
        metadata=stack.officer())
    assert dense.candidates[0].control_code == "1C117.c"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.ClassifyItem(pb.ClassifyItemRequest(parameters={"density": "heavy"},
                                                             hs_code="12ab"),
                                      metadata=stack.exporter())
    assert {f for f, _ in field_violations(exc.value)} == {"parameters[density]", "hs_code"}


async def test_consultation_flow_with_tenant_isolation(stack):
    rid = uuid.uuid4().hex
    req = pb.SubmitConsultationRequest(authority="MOFCOM", question="Is our SmCo magnet "
                                       "powder controlled?", item_description="SmCo powder",
                                       hs_code="8505111000", request_id=rid)
    c = await stack.stub.SubmitConsultation(req, metadata=stack.exporter())
    again = await stack.stub.SubmitConsultation(req, metadata=stack.exporter())
    assert again.consultation_id == c.consultation_id
    with pytest.raises(grpc.aio.AioRpcError) as exc:  # same id, another question
        await stack.stub.SubmitConsultation(pb.SubmitConsultationRequest(
            authority="MOFCOM", question="Is our NdFeB powder controlled?", request_id=rid),
            metadata=stack.exporter())
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(exc.value) == "REQUEST_ID_REUSED"
    assert c.state == consultation_pb2.CONSULTATION_STATE_SUBMITTED
    assert c.exporter_uscc == EXPORTER and c.name == f"consultations/{c.consultation_id}"
    submitted, _ = await stack.reader.wait_for(c.consultation_id, ev.ConsultationSubmitted)
    assert submitted.authority == "MOFCOM"
    # another exporter: NOT_FOUND, not PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.GetConsultation(pb.GetConsultationRequest(
            consultation_id=c.consultation_id), metadata=stack.exporter(OTHER_EXPORTER))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    # officers see their authority's queue only
    mine = await stack.stub.ListConsultations(pb.ListConsultationsRequest(page_size=100),
                                              metadata=stack.officer("MOFCOM"))
    assert c.consultation_id in [x.consultation_id for x in mine.consultations]
    theirs = await stack.stub.ListConsultations(pb.ListConsultationsRequest(page_size=100),
                                                metadata=stack.officer("SASTIND"))
    assert c.consultation_id not in [x.consultation_id for x in theirs.consultations]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.ListConsultations(pb.ListConsultationsRequest(),
                                           metadata=stack.exporter())
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AnswerConsultation(pb.AnswerConsultationRequest(
            consultation_id=c.consultation_id, controlled=True, control_code="bad",
            answer=""), metadata=stack.officer())
    assert {f for f, _ in field_violations(exc.value)} == {"control_code", "answer"}
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AnswerConsultation(pb.AnswerConsultationRequest(
            consultation_id=c.consultation_id, controlled=True, control_code="1C902.a",
            answer="yes"), metadata=stack.officer("SASTIND"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND  # another authority's: as if absent
    answered = await stack.stub.AnswerConsultation(pb.AnswerConsultationRequest(
        consultation_id=c.consultation_id, controlled=True, control_code="1C902.a",
        answer="Controlled under 1C902.a; apply for a licence."),
        metadata=stack.officer("MOFCOM", subject="off-3"))
    assert answered.state == consultation_pb2.CONSULTATION_STATE_ANSWERED
    event, _ = await stack.reader.wait_for(c.consultation_id, ev.ConsultationAnswered)
    assert event.controlled and event.control_code == "1C902.a" and event.officer == "off-3"
    own = await stack.stub.GetConsultation(pb.GetConsultationRequest(
        consultation_id=c.consultation_id), metadata=stack.exporter())
    assert own.answer.startswith("Controlled") and own.answered_at.seconds
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.AnswerConsultation(pb.AnswerConsultationRequest(
            consultation_id=c.consultation_id, answer="again"), metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(exc.value) == "CONSULTATION_ANSWERED"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.SubmitConsultation(pb.SubmitConsultationRequest(authority="NASA"),
                                            metadata=stack.exporter())
    assert {f for f, _ in field_violations(exc.value)} == {"authority", "question"}
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await stack.stub.SubmitConsultation(req, metadata=stack.officer())
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED

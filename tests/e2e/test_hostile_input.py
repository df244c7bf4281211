"""Each bad input of issue 10, sent to the platform as `make run` starts it: INVALID_ARGUMENT
naming the field (never INTERNAL or UNKNOWN), error details within the trailer limit."""

from __future__ import annotations

import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.credit.v1 import credit_service_pb2
from stc.licensing.v1 import application_pb2, licensing_service_pb2
from stc.screening.v1 import screening_service_pb2
from stc_common.auth.jwt import mint_token
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.uscc import make_uscc

pytestmark = pytest.mark.e2e
USCC = make_uscc("91350100MA0004321")
EXPORTER = (("authorization", f"Bearer {mint_token(role='exporter', uscc=USCC)}"),)
OFFICER = (("authorization", f"Bearer {mint_token(role='officer', authority='MOFCOM')}"),)
AUDITOR = (("authorization", f"Bearer {mint_token(role='auditor')}"),)
PUBLIC = ()
LIC = "/stc.licensing.v1.LicensingService/"
SCR = "/stc.screening.v1.ScreeningService/"
CRE = "/stc.credit.v1.CreditService/"
END = "/stc.enduser.v1.EndUserService/"
HUGE = str(2**64)

CASES = [
    # (service, method, request, metadata, the field named)
    ("licensing", LIC + "GetApplication",
     licensing_service_pb2.GetApplicationRequest(application_id="a\x00b"), EXPORTER,
     "application_id"),
    ("licensing", LIC + "GetLicence",
     licensing_service_pb2.GetLicenceRequest(licence_id="\x00"), EXPORTER, "licence_id"),
    ("credit", CRE + "GetCreditStanding",
     credit_service_pb2.GetCreditStandingRequest(uscc=USCC[:5] + "\x00"), AUDITOR, "uscc"),
    ("credit", CRE + "ListPublications",
     credit_service_pb2.ListPublicationsRequest(uscc="\x00"), PUBLIC, "uscc"),
    ("credit", CRE + "ListPublications",
     credit_service_pb2.ListPublicationsRequest(page_token="-1"), PUBLIC, "page_token"),
    ("credit", CRE + "ListPublications",
     credit_service_pb2.ListPublicationsRequest(page_token=HUGE), PUBLIC, "page_token"),
    ("screening", SCR + "SearchListEntries",
     screening_service_pb2.SearchListEntriesRequest(query="x", page_token="abc"), PUBLIC,
     "page_token"),
    ("screening", SCR + "SearchListEntries",
     screening_service_pb2.SearchListEntriesRequest(query="x", page_token="-3"), PUBLIC,
     "page_token"),
    ("screening", SCR + "SearchListEntries",
     screening_service_pb2.SearchListEntriesRequest(query="x", page_token=HUGE), PUBLIC,
     "page_token"),
    ("licensing", LIC + "ListApplications",
     licensing_service_pb2.ListApplicationsRequest(page_token="-5"), OFFICER, "page_token"),
    ("licensing", LIC + "ListApplications",
     licensing_service_pb2.ListApplicationsRequest(page_token="9" * 30), OFFICER, "page_token"),
    ("licensing", LIC + "ListApplications",
     licensing_service_pb2.ListApplicationsRequest(state=999), OFFICER, "state"),
    ("licensing", LIC + "SubmitApplication",
     licensing_service_pb2.SubmitApplicationRequest(
         request_id="r" * 10_000,
         content=application_pb2.ApplicationContent(exporter_uscc=USCC)),
     EXPORTER, "request_id"),
    ("screening", SCR + "ScreenTransaction",
     screening_service_pb2.ScreenTransactionRequest(
         parties=[common_pb2.Party(name="n", aliases=["ab"] * 100_000)]),
     EXPORTER, "parties[0].aliases"),
    ("licensing", LIC + "RequestInformation",
     licensing_service_pb2.RequestInformationRequest(
         application_id="x", questions=["?"] * 100_000),
     OFFICER, "questions"),
]


def _unary(channel, method):
    return channel.unary_unary(method, request_serializer=None, response_deserializer=None)


@pytest.mark.parametrize(("svc", "method", "request_", "metadata", "field"), CASES,
                         ids=[f"{c[1].rsplit('/', 1)[1]}-{c[4]}-{i}" for i, c in enumerate(CASES)])
async def test_bad_input_is_invalid_argument_naming_the_field(
    platform, svc, method, request_, metadata, field
):
    async with grpc.aio.insecure_channel(platform["addresses"][svc]) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _unary(ch, method)(request_.SerializeToString(), metadata=metadata, timeout=20)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert field in [f for f, _ in field_violations(err.value)]
    trailers = err.value.trailing_metadata() or ()
    assert sum(len(k) + len(v) for k, v in trailers) < 16 * 1024


async def test_nul_in_the_watched_id_ends_the_stream_with_invalid_argument(platform):
    async with grpc.aio.insecure_channel(platform["addresses"]["licensing"]) as ch:
        call = ch.unary_stream(LIC + "WatchApplication", request_serializer=None,
                               response_deserializer=None)(
            licensing_service_pb2.WatchApplicationRequest(application_id="\x00")
            .SerializeToString(), metadata=EXPORTER, timeout=20)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call.read()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err.value)] == ["application_id"]


@pytest.mark.parametrize(
    ("svc", "method", "metadata"),
    [("licensing", LIC + "GetApplication", EXPORTER),
     ("screening", SCR + "SearchListEntries", PUBLIC),
     ("enduser", END + "GetChangeReport", EXPORTER),
     ("credit", CRE + "GetCheckpoint", PUBLIC)],
)
async def test_malformed_protobuf_is_invalid_argument(platform, svc, method, metadata):
    async with grpc.aio.insecure_channel(platform["addresses"][svc]) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _unary(ch, method)(b"\x0a\xff\xff\xff\x0f", metadata=metadata, timeout=20)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err.value) == "MALFORMED_REQUEST"


async def test_a_message_past_the_receive_limit_is_refused_by_size(platform):
    request = licensing_service_pb2.WithdrawApplicationRequest(reason="x" * (2 << 20))
    async with grpc.aio.insecure_channel(platform["addresses"]["licensing"]) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _unary(ch, LIC + "WithdrawApplication")(
                request.SerializeToString(), metadata=EXPORTER, timeout=20)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

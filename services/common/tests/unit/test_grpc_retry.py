"""The client retry interceptor over a real loopback gRPC server whose handler refuses the
first calls: retried where safe, not retried where a retry could run the work twice."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from stc_common.grpc.retry import RetryInterceptor, RetryPolicy, safe_to_retry

SERVICE = "stc.test.v1.Flaky"


class _Flaky:
    def __init__(self, failures: int, code: grpc.StatusCode, advice: float | None = None):
        self.failures, self.code, self.advice, self.calls = failures, code, advice, 0

    async def handle(self, request: struct_pb2.Struct, context) -> struct_pb2.Struct:
        self.calls += 1
        if self.calls <= self.failures:
            if self.advice is not None:
                info = error_details_pb2.RetryInfo(
                    retry_delay=duration_pb2.Duration(nanos=int(self.advice * 1e9)))
                status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="busy")
                status.details.add().Pack(info)
                await context.abort(self.code, "busy", trailing_metadata=(
                    ("grpc-status-details-bin", status.SerializeToString()),))
            await context.abort(self.code, "busy")
        return struct_pb2.Struct(fields={"calls": struct_pb2.Value(number_value=self.calls)})


async def _serve(flaky: _Flaky) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(
        flaky.handle, request_deserializer=struct_pb2.Struct.FromString,
        response_serializer=struct_pb2.Struct.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        SERVICE, {"GetThing": handler, "CreateThing": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


async def _call(address: str, method: str, request: struct_pb2.Struct,
                interceptor: RetryInterceptor, timeout: float | None = 10):
    async with grpc.aio.insecure_channel(address, interceptors=[interceptor]) as ch:
        rpc = ch.unary_unary(f"/{SERVICE}/{method}",
                             request_serializer=struct_pb2.Struct.SerializeToString,
                             response_deserializer=struct_pb2.Struct.FromString)
        return await rpc(request, timeout=timeout)


def _no_wait(waits: list[float]):
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
    return sleep


async def test_resource_exhausted_is_retried_with_growing_backoff_until_it_succeeds():
    flaky = _Flaky(3, grpc.StatusCode.RESOURCE_EXHAUSTED)
    server, address = await _serve(flaky)
    waits: list[float] = []
    policy = RetryPolicy(attempts=5, initial=0.1, maximum=2.0)
    try:
        answer = await _call(address, "CreateThing", struct_pb2.Struct(),
                             RetryInterceptor(policy, sleep=_no_wait(waits)))
    finally:
        await server.stop(None)
    assert answer.fields["calls"].number_value == 4 and flaky.calls == 4
    assert len(waits) == 3
    for i, w in enumerate(waits, start=1):  # full jitter under a doubling cap
        assert 0 <= w <= min(2.0, 0.1 * 2 ** (i - 1))


async def test_the_servers_retry_advice_is_followed():
    flaky = _Flaky(1, grpc.StatusCode.RESOURCE_EXHAUSTED, advice=0.25)
    server, address = await _serve(flaky)
    waits: list[float] = []
    try:
        await _call(address, "CreateThing", struct_pb2.Struct(),
                    RetryInterceptor(sleep=_no_wait(waits)))
    finally:
        await server.stop(None)
    assert waits == [pytest.approx(0.25)]


async def test_unavailable_is_not_retried_for_a_write_without_a_request_id():
    flaky = _Flaky(1, grpc.StatusCode.UNAVAILABLE)
    server, address = await _serve(flaky)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(address, "CreateThing", struct_pb2.Struct(),
                        RetryInterceptor(sleep=_no_wait([])))
        # a read is retried
        flaky.calls = 0
        answer = await _call(address, "GetThing", struct_pb2.Struct(),
                             RetryInterceptor(sleep=_no_wait([])))
    finally:
        await server.stop(None)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert answer.fields["calls"].number_value == 2


async def test_attempts_are_bounded_and_the_last_error_surfaces():
    flaky = _Flaky(100, grpc.StatusCode.RESOURCE_EXHAUSTED)
    server, address = await _serve(flaky)
    interceptor = RetryInterceptor(RetryPolicy(attempts=3), sleep=_no_wait([]))
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(address, "CreateThing", struct_pb2.Struct(), interceptor)
    finally:
        await server.stop(None)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert flaky.calls == 3 and interceptor.retries == 2


class _WithId:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id


def test_safe_to_retry_rules():
    ua, rx = grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED
    assert safe_to_retry(rx, "SubmitApplication", _WithId(""))
    assert safe_to_retry(ua, "SubmitApplication", _WithId("r-1"))
    assert not safe_to_retry(ua, "SubmitApplication", _WithId(""))
    assert not safe_to_retry(ua, "DecideApplication", object())
    assert safe_to_retry(ua, "ListLicences", object())
    assert not safe_to_retry(grpc.StatusCode.INVALID_ARGUMENT, "GetLicence", object())
    assert not safe_to_retry(grpc.StatusCode.DEADLINE_EXCEEDED, "GetLicence", object())

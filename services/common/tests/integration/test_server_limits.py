"""Server limits over a real channel (issue 10, item 7): concurrent calls per caller and per
service, open streams per caller (RESOURCE_EXHAUSTED at once, never a queue), a stream that
ends with UNAUTHENTICATED when its token expires, malformed bytes and limit violations as
INVALID_ARGUMENT before the method runs, and the receive size taken from the limits."""

import asyncio
import datetime as dt

import grpc
import pytest
from google.protobuf import wrappers_pb2
from stc_common.auth.jwt import TokenVerifier, mint_token
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.grpc.limits import FieldLimits
from stc_common.grpc.server import ServerLimits, build_server, shutdown

pytestmark = pytest.mark.integration
SERVICE = "stc.test.v1.LimitService"
USCC = "91350100M000100Y43"


class _Gate:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0
        self.calls = 0


def _register(gate: _Gate):
    async def hold(request, context):
        gate.calls += 1
        gate.entered += 1
        await gate.release.wait()
        return wrappers_pb2.StringValue(value=request.value)

    async def watch(request, context):
        gate.calls += 1
        n = 0
        while True:
            yield wrappers_pb2.StringValue(value=str(n))
            n += 1
            await asyncio.sleep(0.2)

    def register(server):
        handlers = {
            "Hold": grpc.unary_unary_rpc_method_handler(
                hold,
                request_deserializer=wrappers_pb2.StringValue.FromString,
                response_serializer=wrappers_pb2.StringValue.SerializeToString,
            ),
            "Watch": grpc.unary_stream_rpc_method_handler(
                watch,
                request_deserializer=wrappers_pb2.StringValue.FromString,
                response_serializer=wrappers_pb2.StringValue.SerializeToString,
            ),
        }
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])

    return register


@pytest.fixture
async def limited():
    gate = _Gate()
    server, port, health = await build_server(
        service="test",
        register=_register(gate),
        service_names=[SERVICE],
        verifier=TokenVerifier(),
        port=0,
        limits=FieldLimits(max_string=50),
        server_limits=ServerLimits(
            max_concurrent_rpcs=5, max_rpcs_per_principal=2, max_streams_per_principal=1
        ),
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch, gate
    gate.release.set()
    await shutdown(server, health, grace=1)


def _auth(**claims):
    token = mint_token(**claims) if claims else mint_token(role="exporter", uscc=USCC)
    return (("authorization", f"Bearer {token}"),)


def _hold(ch):
    return ch.unary_unary(
        f"/{SERVICE}/Hold",
        request_serializer=lambda b: b if isinstance(b, bytes) else b.SerializeToString(),
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )


def _watch(ch):
    return ch.unary_stream(
        f"/{SERVICE}/Watch",
        request_serializer=wrappers_pb2.StringValue.SerializeToString,
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )


async def _until_entered(gate: _Gate, n: int) -> None:
    for _ in range(200):
        if gate.entered >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {gate.entered} calls entered")


async def test_calls_beyond_the_per_caller_limit_are_refused_not_queued(limited):
    ch, gate = limited
    me = _auth()
    held = [asyncio.ensure_future(_hold(ch)(wrappers_pb2.StringValue(value="a"), metadata=me))
            for _ in range(2)]
    await _until_entered(gate, 2)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _hold(ch)(wrappers_pb2.StringValue(value="b"), metadata=me, timeout=5)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(err.value) == "TOO_MANY_CALLS"
    # another caller still gets in; then the service-wide limit (5) refuses the sixth
    others = [
        asyncio.ensure_future(_hold(ch)(wrappers_pb2.StringValue(value="c"),
                                        metadata=_auth(role="officer", authority=a)))
        for a in ("MOFCOM", "CAEA", "CWC")
    ]
    await _until_entered(gate, 5)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _hold(ch)(wrappers_pb2.StringValue(value="d"),
                        metadata=_auth(role="auditor"), timeout=5)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(err.value) == "SERVER_BUSY"
    gate.release.set()
    assert [r.value for r in await asyncio.gather(*held, *others)] == ["a", "a", "c", "c", "c"]
    # released: the same caller is admitted again
    assert (await _hold(ch)(wrappers_pb2.StringValue(value="e"), metadata=me)).value == "e"


async def test_a_second_stream_is_refused_and_a_stream_ends_when_its_token_expires(limited):
    ch, _ = limited
    me = _auth(role="exporter", uscc=USCC, ttl=dt.timedelta(seconds=3))
    first = _watch(ch)(wrappers_pb2.StringValue(value="x"), metadata=me)
    assert (await first.read()).value == "0"
    second = _watch(ch)(wrappers_pb2.StringValue(value="y"), metadata=me)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await second.read()
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(err.value) == "TOO_MANY_STREAMS"
    seen = 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        while True:
            await first.read()
            seen += 1
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(err.value) == "TOKEN_EXPIRED"
    assert seen >= 3  # it did stream until the token ran out


async def test_a_token_for_74_years_is_refused(limited):
    ch, gate = limited
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _hold(ch)(wrappers_pb2.StringValue(value="a"),
                        metadata=_auth(role="auditor", ttl=dt.timedelta(days=365 * 74)))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(err.value) == "TOKEN_LIFETIME"
    assert gate.calls == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"\x0a\xff\xff\xff", "(request)"),  # a length beyond the message
        (b"\x0a\x02\xc3\x28", "(request)"),  # invalid UTF-8 in the string
        (b"\x0f", "(request)"),  # a bad wire type
        (wrappers_pb2.StringValue(value="a\x00b").SerializeToString(), "value"),
        (wrappers_pb2.StringValue(value="x" * 51).SerializeToString(), "value"),
    ],
)
async def test_malformed_or_out_of_limits_bytes_are_invalid_argument(limited, payload, field):
    ch, gate = limited
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _hold(ch)(payload, metadata=_auth(), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err.value)] == [field]
    assert gate.calls == 0  # the method never ran


async def test_the_receive_limit_comes_from_the_limits(limited):
    ch, gate = limited
    with pytest.raises(grpc.aio.AioRpcError) as err:  # 64 KiB floor for an unknown service
        await _hold(ch)(b"\x0a" + b"\x80\x80\x08" + b"x" * (128 * 1024), metadata=_auth())
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert gate.calls == 0

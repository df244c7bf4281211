"""The gRPC bootstrap over a real channel: health, reflection, auth, error mapping."""

import datetime as dt

import asyncpg
import grpc
import pytest
from aiokafka.errors import KafkaConnectionError
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from stc_common.auth.jwt import Role, TokenVerifier, current_principal, mint_token, require
from stc_common.errors import FieldViolation, NotFound, ValidationFailed
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.grpc.server import build_server, shutdown
from stc_common.testing.keys import foreign_signing_key_pem

pytestmark = pytest.mark.integration
SERVICE = "stc.test.v1.EchoService"
USCC = "91350100M000100Y43"


async def _echo(request, context):
    p = require(Role.EXPORTER, Role.OFFICER)
    if request.value == "bad":
        raise ValidationFailed([FieldViolation("value", "must not be 'bad'")])
    if request.value == "missing":
        raise NotFound("no such thing")
    if request.value == "boom":
        raise RuntimeError("secret internals")
    if request.value == "db-closed":
        raise asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed")
    if request.value == "db-refused":
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    if request.value == "db-down":
        raise asyncpg.CannotConnectNowError("the database system is starting up")
    if request.value == "pool-timeout":
        raise TimeoutError()
    if request.value == "broker-down":
        raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]")
    return wrappers_pb2.StringValue(value=f"{p.role.value}:{p.uscc or p.authority}:{request.value}")


async def _public(request, context):
    p = current_principal()
    return wrappers_pb2.StringValue(value="anonymous" if p is None else p.role.value)


def _register(server):
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(
            _echo,
            request_deserializer=wrappers_pb2.StringValue.FromString,
            response_serializer=wrappers_pb2.StringValue.SerializeToString,
        ),
        "Public": grpc.unary_unary_rpc_method_handler(
            _public,
            request_deserializer=wrappers_pb2.StringValue.FromString,
            response_serializer=wrappers_pb2.StringValue.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])


@pytest.fixture
async def channel():
    server, port, health = await build_server(
        service="test",
        register=_register,
        service_names=[SERVICE],
        verifier=TokenVerifier(),
        public_methods=[f"/{SERVICE}/Public"],
        port=0,
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await shutdown(server, health, grace=1)


def _call(channel, method):
    return channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=wrappers_pb2.StringValue.SerializeToString,
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )


def _auth(token):
    return (("authorization", f"Bearer {token}"),)


async def test_health_answers_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    overall = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    svc = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE))
    assert overall.status == svc.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names = []
    async for resp in stub.ServerReflectionInfo(requests()):
        names = [s.name for s in resp.list_services_response.service]
    assert SERVICE in names and "grpc.health.v1.Health" in names


async def test_valid_token_reaches_the_method(channel):
    resp = await _call(channel, "Echo")(
        wrappers_pb2.StringValue(value="hi"), metadata=_auth(mint_token(role="exporter", uscc=USCC))
    )
    assert resp.value == f"exporter:{USCC}:hi"


@pytest.mark.parametrize(
    "metadata,reason",
    [
        ((), "TOKEN_MISSING"),
        ((("authorization", "Basic abc"),), "TOKEN_MALFORMED"),
        ((("authorization", "Bearer not.a.jwt"),), "TOKEN_INVALID"),
    ],
)
async def test_missing_or_malformed_token_is_unauthenticated(channel, metadata, reason):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _call(channel, "Echo")(wrappers_pb2.StringValue(value="hi"), metadata=metadata)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(err.value) == reason


async def test_forged_and_expired_tokens_are_unauthenticated(channel):
    other = foreign_signing_key_pem()
    forged = mint_token(role="officer", authority="MOFCOM", private_key_pem=other)
    expired = mint_token(
        role="officer",
        authority="MOFCOM",
        ttl=dt.timedelta(seconds=1),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    import jwt as pyjwt

    alg_none = pyjwt.encode(
        {
            "sub": "x",
            "role": "officer",
            "authority": "MOFCOM",
            "iat": 1,
            "exp": 4102444800,
            "iss": "stc-dev",
            "aud": "stc-platform",
        },
        key=None,
        algorithm="none",
    )
    for token, reason in (
        (forged, "TOKEN_INVALID"),
        (expired, "TOKEN_EXPIRED"),
        (alg_none, "TOKEN_INVALID"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(channel, "Echo")(wrappers_pb2.StringValue(value="x"), metadata=_auth(token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_reason(err.value) == reason


async def test_wrong_role_is_permission_denied(channel):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _call(channel, "Echo")(
            wrappers_pb2.StringValue(value="x"), metadata=_auth(mint_token(role="auditor"))
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(err.value) == "ROLE_NOT_ALLOWED"


async def test_public_method_needs_no_token(channel):
    anon = await _call(channel, "Public")(wrappers_pb2.StringValue())
    signed = await _call(channel, "Public")(
        wrappers_pb2.StringValue(), metadata=_auth(mint_token(role="auditor"))
    )
    assert (anon.value, signed.value) == ("anonymous", "auditor")


async def test_domain_errors_become_rich_statuses(channel):
    token = _auth(mint_token(role="officer", authority="CAEA"))
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await _call(channel, "Echo")(wrappers_pb2.StringValue(value="bad"), metadata=token)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(bad.value) == [("value", "must not be 'bad'")]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await _call(channel, "Echo")(wrappers_pb2.StringValue(value="missing"), metadata=token)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as boom:
        await _call(channel, "Echo")(wrappers_pb2.StringValue(value="boom"), metadata=token)
    assert boom.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in boom.value.details()


async def test_request_id_is_echoed(channel):
    call = _call(channel, "Public")(
        wrappers_pb2.StringValue(), metadata=(("x-request-id", "req-42"),)
    )
    await call
    assert ("x-request-id", "req-42") in tuple(await call.trailing_metadata())


@pytest.mark.parametrize(
    "value", ["db-closed", "db-refused", "db-down", "pool-timeout", "broker-down"]
)
async def test_unreachable_engines_answer_unavailable_not_internal(channel, value):
    """Issue 10 item 8: while PostgreSQL or Kafka is away the answer is retryable."""
    token = _auth(mint_token(role="officer", authority="MOFCOM"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _call(channel, "Echo")(wrappers_pb2.StringValue(value=value), metadata=token)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "5432" not in err.value.details() and "9092" not in err.value.details()

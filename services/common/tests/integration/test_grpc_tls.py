"""TLS and mutual TLS on the gRPC bootstrap, over real channels on free ports.

Certificates are made per test module by the development tool (`stc_common.tools.devcerts`):
one trusted set, and a second, unrelated set standing in for "someone else's CA".
"""

import asyncio
import contextlib
import logging

import grpc
import pytest
import structlog
import structlog.testing
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from stc_cli import context as cli_context
from stc_common.auth.jwt import Role, TokenVerifier, mint_token, require
from stc_common.config import ServiceSettings
from stc_common.grpc.errors import error_reason
from stc_common.grpc.server import (
    ServerTls,
    TlsConfigError,
    build_server,
    load_server_tls,
    shutdown,
)
from stc_common.runtime import ServiceSpec, run_service
from stc_common.tools.devcerts import write_dev_certs

pytestmark = pytest.mark.integration
SERVICE = "stc.test.v1.TlsEchoService"
USCC = "91350100M000100Y43"
CLIENT_CN = "stc-test-client"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return write_dev_certs(tmp_path_factory.mktemp("tls") / "good", client_cn=CLIENT_CN)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A complete set from another CA (same host names and client CN)."""
    return write_dev_certs(tmp_path_factory.mktemp("tls") / "other", client_cn=CLIENT_CN)


async def _whoami(request, context):
    p = require(Role.EXPORTER, Role.OFFICER)
    peer = structlog.contextvars.get_contextvars().get("peer_cn", "-")
    return wrappers_pb2.StringValue(value=f"{p.role.value}:{p.uscc}|peer={peer}")


def _register(server):
    handler = grpc.unary_unary_rpc_method_handler(
        _whoami,
        request_deserializer=wrappers_pb2.StringValue.FromString,
        response_serializer=wrappers_pb2.StringValue.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE, {"WhoAmI": handler})]
    )


def _settings(**tls) -> ServiceSettings:
    return ServiceSettings(**{k: str(v) for k, v in tls.items()})


@contextlib.asynccontextmanager
async def _server(tls: ServerTls | None):
    server, port, health = await build_server(
        service="tls-test",
        register=_register,
        service_names=[SERVICE],
        verifier=TokenVerifier(),
        port=0,
        tls=tls,
    )
    try:
        yield port
    finally:
        await shutdown(server, health, grace=0.5)


@pytest.fixture
async def tls_port(certs):
    tls = load_server_tls(_settings(tls_cert_file=certs.server_cert, tls_key_file=certs.server_key))
    assert tls is not None and tls.mode == "tls"
    async with _server(tls) as port:
        yield port


@pytest.fixture
async def mtls_port(certs):
    tls = load_server_tls(
        _settings(
            tls_cert_file=certs.server_cert,
            tls_key_file=certs.server_key,
            tls_client_ca_file=certs.ca,
        )
    )
    assert tls is not None and tls.mode == "mtls"
    async with _server(tls) as port:
        yield port


def _creds(ca, cert=None, key=None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


def _whoami_call(ch):
    return ch.unary_unary(
        f"/{SERVICE}/WhoAmI",
        request_serializer=wrappers_pb2.StringValue.SerializeToString,
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )


def _token():
    return (("authorization", f"Bearer {mint_token(role='exporter', uscc=USCC)}"),)


async def _health(ch) -> int:
    r = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return r.status


async def _refused(ch) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _whoami_call(ch)(wrappers_pb2.StringValue(), metadata=_token(), timeout=5)
    return err.value.code()


# --- TLS ---------------------------------------------------------------------------------


async def test_tls_client_gets_health_reflection_and_an_authorised_call(certs, tls_port):
    async with grpc.aio.secure_channel(f"127.0.0.1:{tls_port}", _creds(certs.ca)) as ch:
        assert await _health(ch) == health_pb2.HealthCheckResponse.SERVING

        async def list_services():
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        names = []
        async for resp in reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(
            list_services()
        ):
            names = [s.name for s in resp.list_services_response.service]
        assert SERVICE in names

        reply = await _whoami_call(ch)(wrappers_pb2.StringValue(), metadata=_token())
        # one-way TLS: no client certificate, so no peer CN in the log context
        assert reply.value == f"exporter:{USCC}|peer=-"

        # TLS does not replace the token: still UNAUTHENTICATED without one
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _whoami_call(ch)(wrappers_pb2.StringValue())
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_reason(err.value) == "TOKEN_MISSING"


@pytest.mark.parametrize("mode", ["plaintext", "tls", "mtls"])
async def test_the_server_logs_its_transport_mode(certs, mode, monkeypatch):
    tls = {
        "plaintext": None,
        "tls": ServerTls(certs.server_cert.read_bytes(), certs.server_key.read_bytes()),
        "mtls": ServerTls(
            certs.server_cert.read_bytes(), certs.server_key.read_bytes(), certs.ca.read_bytes()
        ),
    }[mode]
    # a service started by an earlier test leaves structlog filtering below WARNING, and
    # capture_logs only swaps the processors: let info through for this test
    saved = structlog.get_config()
    # loggers are cached on first use (stc_common.logging): the server module's logger was
    # bound with an earlier configuration, so give it a fresh one for this test (restored after)
    from stc_common.grpc import server as server_module
    from stc_common.logging import get_logger
    monkeypatch.setattr(server_module, "log", get_logger("stc_common.grpc"))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            async with _server(tls):
                pass
    finally:
        structlog.configure(**saved)
    listening = [e for e in logs if e["event"] == "grpc.listening"]
    assert [e["transport"] for e in listening] == [mode]


async def test_also_by_host_name_localhost(certs, tls_port):
    async with grpc.aio.secure_channel(f"localhost:{tls_port}", _creds(certs.ca)) as ch:
        assert await _health(ch) == health_pb2.HealthCheckResponse.SERVING


async def test_plaintext_client_cannot_talk_to_a_tls_server(tls_port):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{tls_port}") as ch:
        assert await _refused(ch) == grpc.StatusCode.UNAVAILABLE


async def test_client_does_not_trust_a_server_signed_by_another_ca(foreign, tls_port):
    async with grpc.aio.secure_channel(f"127.0.0.1:{tls_port}", _creds(foreign.ca)) as ch:
        assert await _refused(ch) == grpc.StatusCode.UNAVAILABLE


# --- mutual TLS --------------------------------------------------------------------------


async def test_mtls_refuses_a_client_without_a_certificate(certs, mtls_port):
    async with grpc.aio.secure_channel(f"127.0.0.1:{mtls_port}", _creds(certs.ca)) as ch:
        assert await _refused(ch) == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.aio.AioRpcError):
            await _health(ch)  # health too: the handshake itself fails


async def test_mtls_refuses_a_certificate_from_another_ca(certs, foreign, mtls_port):
    creds = _creds(certs.ca, foreign.client_cert, foreign.client_key)
    async with grpc.aio.secure_channel(f"127.0.0.1:{mtls_port}", creds) as ch:
        assert await _refused(ch) == grpc.StatusCode.UNAVAILABLE


async def test_mtls_accepts_the_right_certificate_and_logs_its_cn(certs, mtls_port):
    creds = _creds(certs.ca, certs.client_cert, certs.client_key)
    async with grpc.aio.secure_channel(f"127.0.0.1:{mtls_port}", creds) as ch:
        assert await _health(ch) == health_pb2.HealthCheckResponse.SERVING
        reply = await _whoami_call(ch)(wrappers_pb2.StringValue(), metadata=_token())
        # both identities reach the method: the JWT principal and the client certificate
        assert reply.value == f"exporter:{USCC}|peer={CLIENT_CN}"
        # the certificate authenticates the system, the token still authorises the call
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _whoami_call(ch)(wrappers_pb2.StringValue())
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_cli_channel_speaks_tls_and_mtls(certs, mtls_port, monkeypatch):
    monkeypatch.setitem(cli_context.ADDRESSES, "licensing", f"127.0.0.1:{mtls_port}")
    monkeypatch.setenv("STC_TLS_CA_FILE", str(certs.ca))
    monkeypatch.delenv("STC_TLS_CLIENT_CERT_FILE", raising=False)
    monkeypatch.delenv("STC_TLS_CLIENT_KEY_FILE", raising=False)
    async with cli_context.channel("licensing") as ch:  # TLS but no client certificate
        assert await _refused(ch) == grpc.StatusCode.UNAVAILABLE

    monkeypatch.setenv("STC_TLS_CLIENT_CERT_FILE", str(certs.client_cert))
    with pytest.raises(cli_context.TlsSettingsError, match="STC_TLS_CLIENT_KEY_FILE"):
        cli_context.channel("licensing")

    monkeypatch.setenv("STC_TLS_CLIENT_KEY_FILE", str(certs.client_key))
    async with cli_context.channel("licensing") as ch:
        assert await _health(ch) == health_pb2.HealthCheckResponse.SERVING


async def test_the_cli_channel_stays_plaintext_without_tls_settings(monkeypatch):
    for var in ("STC_TLS_CA_FILE", "STC_TLS_CLIENT_CERT_FILE", "STC_TLS_CLIENT_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    assert cli_context.channel_credentials() is None
    async with _server(None) as port:
        monkeypatch.setitem(cli_context.ADDRESSES, "licensing", f"127.0.0.1:{port}")
        async with cli_context.channel("licensing") as ch:
            assert await _health(ch) == health_pb2.HealthCheckResponse.SERVING


# --- misconfiguration --------------------------------------------------------------------


async def test_a_certificate_without_a_key_stops_the_service_before_it_starts(certs, tmp_path):
    settings = _settings(
        tls_cert_file=certs.server_cert,
        # nothing listens here: reaching the database would be a different error
        database_url="postgresql://stc@127.0.0.1:1/none",
        log_json=False,
    )
    spec = ServiceSpec(name="tls-test", migrations=tmp_path, service_names=[], register=print)
    with pytest.raises(TlsConfigError, match="STC_TLS_KEY_FILE is not set"):
        await asyncio.wait_for(run_service(settings, spec, stop=asyncio.Event()), timeout=5)


def test_tls_is_off_by_default():
    assert load_server_tls(ServiceSettings()) is None


@pytest.mark.parametrize(
    "setting,fields",
    [
        ("STC_TLS_CERT_FILE", {"tls_key_file": "server_key"}),
        ("STC_TLS_CERT_FILE", {"tls_client_ca_file": "ca"}),
        ("STC_TLS_CERT_FILE", {"tls_cert_file": "/nonexistent.pem", "tls_key_file": "server_key"}),
        ("STC_TLS_KEY_FILE", {"tls_cert_file": "server_cert", "tls_key_file": "/nonexistent.pem"}),
        # a key that is not the certificate's (the client's key)
        ("STC_TLS_KEY_FILE", {"tls_cert_file": "server_cert", "tls_key_file": "client_key"}),
        (
            "STC_TLS_CLIENT_CA_FILE",
            {
                "tls_cert_file": "server_cert",
                "tls_key_file": "server_key",
                "tls_client_ca_file": "/x",
            },
        ),
        # a key is not a CA certificate
        (
            "STC_TLS_CLIENT_CA_FILE",
            {
                "tls_cert_file": "server_cert",
                "tls_key_file": "server_key",
                "tls_client_ca_file": "ca_key",
            },
        ),
    ],
)
def test_misconfiguration_names_the_setting(certs, setting, fields):
    values = {k: getattr(certs, v) if hasattr(certs, v) else v for k, v in fields.items()}
    with pytest.raises(TlsConfigError) as err:
        load_server_tls(_settings(**values))
    assert str(err.value).startswith(setting), str(err.value)

"""grpc.aio server bootstrap shared by the four services.

One interceptor does, for every call and in this order: request id (from `x-request-id`
metadata or new) bound into the log context and echoed in the response metadata; bearer-token
authentication (methods listed as public may be called without a token); the call log and the
Prometheus counters; domain errors mapped to google.rpc.Status; PostgreSQL or Kafka being
unreachable (connection refused or lost, pool timeouts) mapped to UNAVAILABLE, which clients
may retry, instead of INTERNAL. Health checking and reflection
are registered on every server. `run_until_signalled` stops gracefully on SIGTERM/SIGINT.

Transport security is optional and off by default (the local stack is plaintext on
loopback). `load_server_tls` turns the `STC_TLS_*` settings into a `ServerTls`: a server
certificate and key switch TLS on; a client CA on top switches mutual TLS on (client
certificates required and verified against that CA). mTLS authenticates the calling system;
the bearer token stays the authorisation. The client certificate's common name is bound into
the log context as `peer_cn`, next to the token's `principal`.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from stc_common.auth.jwt import TokenVerifier, set_principal
from stc_common.config import ServiceSettings
from stc_common.engines import is_unavailable
from stc_common.errors import DomainError, Unauthenticated
from stc_common.grpc.errors import internal_status, to_status, unavailable_status
from stc_common.logging import get_logger
from stc_common.metrics import GRPC_LATENCY, GRPC_REQUESTS

log = get_logger("stc_common.grpc")
_LOG_KEYS = ("request_id", "method", "principal", "role", "peer_cn")


class TlsConfigError(ValueError):
    """The TLS settings cannot work; the message names the setting to fix."""


@dataclass(frozen=True)
class ServerTls:
    """PEM material for the server's TLS (and, with `client_ca`, mutual TLS)."""

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None

    @property
    def mode(self) -> str:
        return "mtls" if self.client_ca else "tls"

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.client_ca,
            require_client_auth=bool(self.client_ca),
        )


def _read_pem(setting: str, path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"{setting}={path!r} cannot be read: {exc.strerror or exc}") from exc
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"{setting}={path!r} is not a PEM file")
    return data


def load_server_tls(settings: ServiceSettings) -> ServerTls | None:
    """Read and check the `STC_TLS_*` files; None when TLS is off. Raises TlsConfigError."""
    cert_file, key_file = settings.tls_cert_file, settings.tls_key_file
    ca_file = settings.tls_client_ca_file
    if not (cert_file or key_file or ca_file):
        return None
    if not cert_file:
        raise TlsConfigError(
            "STC_TLS_CERT_FILE is not set, but "
            + ("STC_TLS_KEY_FILE" if key_file else "STC_TLS_CLIENT_CA_FILE")
            + " is: TLS needs the server certificate and its key"
        )
    if not key_file:
        raise TlsConfigError(
            "STC_TLS_KEY_FILE is not set, but STC_TLS_CERT_FILE is: "
            "TLS needs the server certificate's private key"
        )
    cert = _read_pem("STC_TLS_CERT_FILE", cert_file)
    key = _read_pem("STC_TLS_KEY_FILE", key_file)
    ca = _read_pem("STC_TLS_CLIENT_CA_FILE", ca_file) if ca_file else None
    _check_pair(cert, key, cert_file, key_file)
    if ca is not None:
        _check_certificates("STC_TLS_CLIENT_CA_FILE", ca_file, ca)
    return ServerTls(cert_chain=cert, private_key=key, client_ca=ca)


def _check_certificates(setting: str, path: str, pem: bytes) -> list:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TlsConfigError(f"{setting}={path!r} holds no valid certificate: {exc}") from exc


def _check_pair(cert_pem: bytes, key_pem: bytes, cert_file: str, key_file: str) -> None:
    """Fail at start, not at the first handshake, when the key does not fit the certificate."""
    leaf = _check_certificates("STC_TLS_CERT_FILE", cert_file, cert_pem)[0]
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise TlsConfigError(
            f"STC_TLS_KEY_FILE={key_file!r} holds no unencrypted private key: {exc}"
        ) from exc
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != leaf.public_key().public_bytes(*raw):
        raise TlsConfigError(
            f"STC_TLS_KEY_FILE={key_file!r} is not the key of STC_TLS_CERT_FILE={cert_file!r}"
        )


def peer_common_name(context) -> str | None:
    """The verified client certificate's CN (mutual TLS), or None."""
    try:
        auth = context.auth_context() or {}
    except Exception:  # noqa: BLE001 - no transport security information at all
        return None
    names = auth.get("x509_common_name") or ()
    return names[0].decode(errors="replace") if names else None


class PlatformInterceptor(grpc.aio.ServerInterceptor):
    """Request ids, auth, logging, metrics and error mapping for every method."""

    def __init__(self, service: str, verifier: TokenVerifier, public_methods: Iterable[str] = ()):
        self.service = service
        self.verifier = verifier
        self.public = set(public_methods)

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        if method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return handler
        metadata = dict(details.invocation_metadata or ())
        public = method in self.public
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method, metadata, public),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method, metadata, public),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _enter(self, method: str, metadata: dict, public: bool, context) -> str:
        request_id = metadata.get("x-request-id") or str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(request_id=request_id, method=method)
        auth = metadata.get("authorization", "")
        principal = None
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated(
                    "authorization metadata must be 'Bearer <token>'", reason="TOKEN_MALFORMED"
                )
            principal = self.verifier.verify(token.strip())
        elif not public:
            raise Unauthenticated("this method needs a bearer token", reason="TOKEN_MISSING")
        set_principal(principal)
        if peer := peer_common_name(context):
            structlog.contextvars.bind_contextvars(peer_cn=peer)
        if principal:
            structlog.contextvars.bind_contextvars(
                principal=principal.subject, role=principal.role.value
            )
        return request_id

    async def _fail(self, context, method: str, exc: BaseException) -> str:
        if isinstance(exc, DomainError):
            status = to_status(exc)
            log.info("grpc.rejected", code=exc.code, reason=exc.reason, error=exc.message)
        elif is_unavailable(exc):
            status = unavailable_status()
            log.warning("grpc.unavailable", error=repr(exc)[:500])
        else:
            status = internal_status()
            log.exception("grpc.internal_error", error=repr(exc))
        await context.abort_with_status(status)
        return status.code.name  # pragma: no cover - abort raises

    def _wrap_unary(self, behaviour: Callable, method: str, metadata: dict, public: bool):
        async def wrapper(request, context):
            start, code = time.perf_counter(), "OK"
            try:
                rid = self._enter(method, metadata, public, context)
                context.set_trailing_metadata((("x-request-id", rid),))
                return await behaviour(request, context)
            except (DomainError, Exception) as exc:
                if isinstance(exc, asyncio.CancelledError):
                    code = "CANCELLED"
                    raise
                code = _code_of(exc)
                if _is_abort(exc):
                    code = "ABORTED_BY_HANDLER"
                    raise
                await self._fail(context, method, exc)
            finally:
                self._observe(method, code, start)
                set_principal(None)
                structlog.contextvars.unbind_contextvars(*_LOG_KEYS)

        return wrapper

    def _wrap_stream(self, behaviour: Callable, method: str, metadata: dict, public: bool):
        async def wrapper(request, context):
            start, code = time.perf_counter(), "OK"
            try:
                rid = self._enter(method, metadata, public, context)
                context.set_trailing_metadata((("x-request-id", rid),))
                async for item in behaviour(request, context):
                    yield item
            except (DomainError, Exception) as exc:
                code = _code_of(exc)
                if _is_abort(exc):
                    raise
                await self._fail(context, method, exc)
            finally:
                self._observe(method, code, start)
                set_principal(None)
                structlog.contextvars.unbind_contextvars(*_LOG_KEYS)

        return wrapper

    def _observe(self, method: str, code: str, start: float) -> None:
        elapsed = time.perf_counter() - start
        GRPC_REQUESTS.labels(self.service, method, code).inc()
        GRPC_LATENCY.labels(self.service, method).observe(elapsed)
        log.info("grpc.call", code=code, ms=round(elapsed * 1000, 2))


def _code_of(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.code
    return "UNAVAILABLE" if is_unavailable(exc) else "INTERNAL"


def _is_abort(exc: BaseException) -> bool:
    # context.abort() raises an AbortError (a plain Exception subclass) that must propagate
    return type(exc).__name__ in {"AbortError", "InternalError", "UsageError"} or isinstance(
        exc, asyncio.CancelledError
    )


async def build_server(
    *,
    service: str,
    register: Callable[[grpc.aio.Server], None],
    service_names: list[str],
    verifier: TokenVerifier,
    public_methods: Iterable[str] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ServerTls | None = None,
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    """Create and start a server with health and reflection; return it and its bound port.

    With `tls` the port is secure (TLS, or mutual TLS when it carries a client CA); without
    it the port is plaintext. Health and reflection are served on the same port either way.
    """
    server = grpc.aio.server(
        interceptors=[PlatformInterceptor(service, verifier, public_methods)],
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 16 << 20)],
    )
    register(server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = [
        *service_names,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    ]
    reflection.enable_server_reflection(names, server)
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, tls.credentials())
    await server.start()
    for name in ("", *service_names):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    mode = tls.mode if tls else "plaintext"
    log.info("grpc.listening", host=host, port=bound, services=service_names, transport=mode)
    return server, bound, health


def install_signal_handlers(stop: asyncio.Event) -> None:
    """Set `stop` on SIGTERM or SIGINT (graceful shutdown)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def shutdown(
    server: grpc.aio.Server, health: health_aio.HealthServicer, grace: float = 5.0
) -> None:
    """Report NOT_SERVING, then stop accepting calls and let in-flight ones finish."""
    await health.enter_graceful_shutdown()
    await server.stop(grace)
    log.info("grpc.stopped")

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

Limits at the edge (issue 10): the interceptor takes each request's raw bytes, parses them
itself (malformed protobuf is INVALID_ARGUMENT, not INTERNAL) and walks the message against
the service's limits table (`stc_common.grpc.limits`) before the servicer runs; the max
receive message length is sized from that table. `ServerLimits` bounds concurrent calls per
service and per caller and open streams per caller (beyond: RESOURCE_EXHAUSTED at once, never
a queue) and sets keepalive and connection age; a stream ends with UNAUTHENTICATED when its
token expires.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from stc_common.auth.jwt import Principal, TokenVerifier, current_principal, set_principal
from stc_common.config import ServiceSettings
from stc_common.engines import is_unavailable
from stc_common.errors import ResourceExhausted, ServiceError, Unauthenticated
from stc_common.grpc.errors import internal_status, to_status, unavailable_status
from stc_common.grpc.limits import FieldLimits, check_request, max_receive_length, parse_request
from stc_common.logging import get_logger
from stc_common.metrics import GRPC_LATENCY, GRPC_REQUESTS

log = get_logger("stc_common.grpc")
SLOW_CALL_S = 1.0  # a unary call that took longer is logged at info even when it went well
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


@dataclass(frozen=True)
class ServerLimits:
    """Concurrency, keepalive and connection-age limits of one server (settings: STC_GRPC_*)."""

    max_concurrent_rpcs: int = 256
    max_rpcs_per_principal: int = 64
    max_streams_per_principal: int = 8
    keepalive_time_s: int = 60
    keepalive_timeout_s: int = 20
    max_connection_idle_s: int = 300
    max_connection_age_s: int = 3600
    max_connection_age_grace_s: int = 300

    @classmethod
    def from_settings(cls, s: ServiceSettings) -> ServerLimits:
        """The limits the STC_GRPC_* settings ask for."""
        return cls(
            max_concurrent_rpcs=s.grpc_max_concurrent_rpcs,
            max_rpcs_per_principal=s.grpc_max_rpcs_per_principal,
            max_streams_per_principal=s.grpc_max_streams_per_principal,
            keepalive_time_s=s.grpc_keepalive_time_s,
            keepalive_timeout_s=s.grpc_keepalive_timeout_s,
            max_connection_idle_s=s.grpc_max_connection_idle_s,
            max_connection_age_s=s.grpc_max_connection_age_s,
            max_connection_age_grace_s=s.grpc_max_connection_age_grace_s,
        )

    def channel_options(self) -> list[tuple[str, int]]:
        """The grpc core options for keepalive and connection age/idle."""
        return [
            ("grpc.keepalive_time_ms", self.keepalive_time_s * 1000),
            ("grpc.keepalive_timeout_ms", self.keepalive_timeout_s * 1000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.max_connection_idle_ms", self.max_connection_idle_s * 1000),
            ("grpc.max_connection_age_ms", self.max_connection_age_s * 1000),
            ("grpc.max_connection_age_grace_ms", self.max_connection_age_grace_s * 1000),
        ]


class Admission:
    """Counts calls in flight (per service, per caller) and open streams per caller.

    Nothing waits here: a call over a limit is refused at once (RESOURCE_EXHAUSTED). The
    event loop is single-threaded, so plain counters are exact.
    """

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.total = 0
        self.calls: Counter[str] = Counter()
        self.streams: Counter[str] = Counter()

    def enter(self, key: str, stream: bool) -> None:
        """Admit one call of `key` or raise ResourceExhausted naming the limit."""
        lim = self.limits
        if self.total >= lim.max_concurrent_rpcs:
            raise ResourceExhausted(
                f"the service has {lim.max_concurrent_rpcs} calls in flight: retry later",
                reason="SERVER_BUSY",
            )
        if self.calls[key] >= lim.max_rpcs_per_principal:
            raise ResourceExhausted(
                f"at most {lim.max_rpcs_per_principal} calls in flight per caller",
                reason="TOO_MANY_CALLS",
            )
        if stream and self.streams[key] >= lim.max_streams_per_principal:
            raise ResourceExhausted(
                f"at most {lim.max_streams_per_principal} open streams per caller",
                reason="TOO_MANY_STREAMS",
            )
        self.total += 1
        self.calls[key] += 1
        if stream:
            self.streams[key] += 1

    def leave(self, key: str, stream: bool) -> None:
        """Release what `enter` took."""
        self.total -= 1
        self.calls[key] -= 1
        if not self.calls[key]:
            del self.calls[key]
        if stream:
            self.streams[key] -= 1
            if not self.streams[key]:
                del self.streams[key]


def caller_key(principal: Principal | None, context) -> str:
    """Whom a call counts against: the token's subject, or the client address when public."""
    if principal is not None:
        return f"{principal.role.value}:{principal.subject}"
    peer = context.peer() or ""
    return "peer:" + peer.rpartition(":")[0]


class PlatformInterceptor(grpc.aio.ServerInterceptor):
    """Request ids, auth, logging, metrics and error mapping for every method."""

    def __init__(
        self,
        service: str,
        verifier: TokenVerifier,
        public_methods: Iterable[str] = (),
        limits: FieldLimits | None = None,
        server_limits: ServerLimits | None = None,
    ):
        self.service = service
        self.verifier = verifier
        self.public = set(public_methods)
        self.limits = limits or FieldLimits()
        self.admission = Admission(server_limits or ServerLimits())

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        if method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return handler
        metadata = dict(details.invocation_metadata or ())
        public = method in self.public
        # raw bytes in (no request_deserializer): the wrapper parses and checks them itself
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(
                    self._checked(handler.unary_unary, handler.request_deserializer),
                    method, metadata, public,
                ),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(
                    self._checked_stream(handler.unary_stream, handler.request_deserializer),
                    method, metadata, public,
                ),
                response_serializer=handler.response_serializer,
            )
        return handler

    def _request(self, deserializer, raw):
        """Parse and walk one request (INVALID_ARGUMENT naming the field when it is bad)."""
        request = parse_request(deserializer, raw) if deserializer else raw
        if hasattr(request, "DESCRIPTOR"):
            check_request(request, self.limits)
        return request

    def _checked(self, behaviour: Callable, deserializer) -> Callable:
        """A unary behaviour run within the admission limits on a checked request."""

        async def run(raw, context):
            key = caller_key(current_principal(), context)
            self.admission.enter(key, stream=False)
            try:
                return await behaviour(self._request(deserializer, raw), context)
            finally:
                self.admission.leave(key, stream=False)

        return run

    def _checked_stream(self, behaviour: Callable, deserializer) -> Callable:
        """A streaming behaviour: admission, a checked request, and the token's expiry."""

        async def run(raw, context):
            principal = current_principal()
            key = caller_key(principal, context)
            self.admission.enter(key, stream=True)
            try:
                items = behaviour(self._request(deserializer, raw), context)
                expires = principal.expires_at if principal else None
                async for item in _until(items, expires):
                    yield item
            finally:
                self.admission.leave(key, stream=True)

        return run

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
        if isinstance(exc, ServiceError):
            status = to_status(exc)
            # a refusal for load comes in floods under overload: the metrics count each and
            # the refusing code logs an aggregate (licensing's admission), so debug here
            level = log.debug if exc.code == "RESOURCE_EXHAUSTED" else log.info
            level("grpc.rejected", code=exc.code, reason=exc.reason, error=exc.message)
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
            except (ServiceError, Exception) as exc:
                if isinstance(exc, asyncio.CancelledError):
                    code = "CANCELLED"
                    raise
                code = _code_of(exc)
                if _is_abort(exc):
                    code = "ABORTED_BY_HANDLER"
                    raise
                await self._fail(context, method, exc)
            finally:
                self._leave(method, code, start)

        return wrapper

    def _wrap_stream(self, behaviour: Callable, method: str, metadata: dict, public: bool):
        async def wrapper(request, context):
            start, code = time.perf_counter(), "OK"
            try:
                rid = self._enter(method, metadata, public, context)
                context.set_trailing_metadata((("x-request-id", rid),))
                async for item in behaviour(request, context):
                    yield item
            except (ServiceError, Exception) as exc:
                code = _code_of(exc)
                if _is_abort(exc):
                    raise
                await self._fail(context, method, exc)
            finally:
                self._leave(method, code, start, stream=True)

        return wrapper

    def _leave(self, method: str, code: str, start: float, stream: bool = False) -> None:
        """After every call: count and time it, log it, forget its principal and log context.

        A call that went well is logged at debug: the metrics count and time every call, and
        a JSON line per call was more than half of licensing's log lines per application
        (issue 14). Failed calls, and unary calls slower than SLOW_CALL_S, stay at info; a
        stream that its client cancelled (how a watch ends) went well, and a call refused for
        load (RESOURCE_EXHAUSTED) is counted, not logged at info: under overload there are
        thousands a minute, and the refusing code logs them once a second in aggregate."""
        elapsed = time.perf_counter() - start
        GRPC_REQUESTS.labels(self.service, method, code).inc()
        GRPC_LATENCY.labels(self.service, method).observe(elapsed)
        fine = code in ("OK", "RESOURCE_EXHAUSTED") or (stream and code == "CANCELLED")
        if fine and (stream or elapsed < SLOW_CALL_S):
            log.debug("grpc.call", code=code, ms=round(elapsed * 1000, 2))
        else:
            log.info("grpc.call", code=code, ms=round(elapsed * 1000, 2))
        set_principal(None)
        structlog.contextvars.unbind_contextvars(*_LOG_KEYS)


def _code_of(exc: BaseException) -> str:
    if isinstance(exc, ServiceError):
        return exc.code
    return "UNAVAILABLE" if is_unavailable(exc) else "INTERNAL"


async def _until(items, expires_at: float | None):
    """Yield from the async generator `items` until the token expires (UNAUTHENTICATED)."""
    if expires_at is None:
        async for item in items:
            yield item
        return

    async def step():
        try:
            return True, await items.__anext__()
        except StopAsyncIteration:
            return False, None

    try:
        while True:
            remaining = expires_at - time.time()
            if remaining <= 0:
                raise Unauthenticated("the token expired during the stream", reason="TOKEN_EXPIRED")
            try:
                more, item = await asyncio.wait_for(step(), remaining)
            except TimeoutError:
                raise Unauthenticated(
                    "the token expired during the stream", reason="TOKEN_EXPIRED"
                ) from None
            if not more:
                return
            yield item
    finally:
        await items.aclose()


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
    limits: FieldLimits | None = None,
    server_limits: ServerLimits | None = None,
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    """Create and start a server with health and reflection; return it and its bound port.

    With `tls` the port is secure (TLS, or mutual TLS when it carries a client CA); without
    it the port is plaintext. Health and reflection are served on the same port either way.
    """
    limits = limits or FieldLimits()
    server_limits = server_limits or ServerLimits()
    server = grpc.aio.server(
        interceptors=[
            PlatformInterceptor(service, verifier, public_methods, limits, server_limits)
        ],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", receive_length(service_names, limits)),
            *server_limits.channel_options(),
        ],
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


def receive_length(service_names: Iterable[str], limits: FieldLimits) -> int:
    """The max receive message length for these services, sized from their limits table."""
    pool = descriptor_pool.Default()
    found = []
    for name in service_names:
        try:
            found.append(pool.FindServiceByName(name))
        except KeyError:  # a service whose code is not generated protobuf (tests)
            continue
    return max_receive_length(found, limits)


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

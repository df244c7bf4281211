"""grpc.aio server bootstrap shared by the four services.

One interceptor does, for every call and in this order: request id (from `x-request-id`
metadata or new) bound into the log context and echoed in the response metadata; bearer-token
authentication (methods listed as public may be called without a token); the call log and the
Prometheus counters; domain errors mapped to google.rpc.Status. Health checking and reflection
are registered on every server. `run_until_signalled` stops gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable, Iterable

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from stc_common.auth.jwt import TokenVerifier, set_principal
from stc_common.errors import DomainError, Unauthenticated
from stc_common.grpc.errors import internal_status, to_status
from stc_common.logging import get_logger
from stc_common.metrics import GRPC_LATENCY, GRPC_REQUESTS

log = get_logger("stc_common.grpc")


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
        if principal:
            structlog.contextvars.bind_contextvars(
                principal=principal.subject, role=principal.role.value
            )
        return request_id

    async def _fail(self, context, method: str, exc: BaseException) -> str:
        if isinstance(exc, DomainError):
            status = to_status(exc)
            log.info("grpc.rejected", code=exc.code, reason=exc.reason, error=exc.message)
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
                code = exc.code if isinstance(exc, DomainError) else "INTERNAL"
                if _is_abort(exc):
                    code = "ABORTED_BY_HANDLER"
                    raise
                await self._fail(context, method, exc)
            finally:
                self._observe(method, code, start)
                set_principal(None)
                structlog.contextvars.unbind_contextvars(
                    "request_id", "method", "principal", "role"
                )

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
                code = exc.code if isinstance(exc, DomainError) else "INTERNAL"
                if _is_abort(exc):
                    raise
                await self._fail(context, method, exc)
            finally:
                self._observe(method, code, start)
                set_principal(None)

        return wrapper

    def _observe(self, method: str, code: str, start: float) -> None:
        elapsed = time.perf_counter() - start
        GRPC_REQUESTS.labels(self.service, method, code).inc()
        GRPC_LATENCY.labels(self.service, method).observe(elapsed)
        log.info("grpc.call", code=code, ms=round(elapsed * 1000, 2))


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
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    """Create and start a server with health and reflection; return it and its bound port."""
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
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    for name in ("", *service_names):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("grpc.listening", host=host, port=bound, services=service_names)
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

"""Run a whole service in-process for integration tests, on free ports, against the real stack."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stc_common.auth.jwt import mint_token
from stc_common.config import ServiceSettings
from stc_common.runtime import ServiceSpec, run_service


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_grpc_ready(port: int, timeout: float = 90) -> None:
    """Wait until the server's health check answers SERVING."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while True:
            try:
                r = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"gRPC server on {port} not SERVING after {timeout}s")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_service(
    settings: ServiceSettings,
    spec: ServiceSpec,
    with_relay: bool = True,
    *,
    development: bool = True,
    ready_timeout: float = 90,
    stop_timeout: float = 30,
) -> AsyncIterator[int]:
    """Start the service (settings' grpc_port should come from free_port()); yield the port.

    In development mode (the committed keys accepted) unless `development=False`. Start-up
    fails after `ready_timeout` seconds without a SERVING health check (screening builds its
    list index first and wants longer on a loaded machine); the service gets `stop_timeout`
    seconds to stop.
    """
    if development:
        settings = settings.model_copy(update={"environment": "development"})
    stop = asyncio.Event()
    task = asyncio.create_task(run_service(settings, spec, with_relay=with_relay, stop=stop))
    try:
        ready = asyncio.create_task(wait_grpc_ready(settings.grpc_port, ready_timeout))
        done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # raises the start-up error
            raise RuntimeError("service stopped during start-up")
        ready.result()
        yield settings.grpc_port
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=stop_timeout)


def bearer(role: str, **claims: Any) -> tuple[tuple[str, str], ...]:
    """gRPC metadata with a development-key token, e.g. bearer('exporter', uscc=...)."""
    return (("authorization", f"Bearer {mint_token(role=role, **claims)}"),)

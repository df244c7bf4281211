"""The process skeleton every service's composition root uses.

`run_service` wires settings, logging, pool, migrations, the outbox relay, the consumers and
the gRPC server, serves until SIGTERM/SIGINT, then stops in reverse order: gRPC first (health
NOT_SERVING, in-flight calls finish), then consumers (offsets of handled records committed),
then the relay, then the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc

from stc_common.auth.jwt import TokenVerifier
from stc_common.config import ConfigError, ServiceSettings
from stc_common.consumer import EventConsumer
from stc_common.db.migrate import MigrationSource, migrate
from stc_common.db.pool import create_pool
from stc_common.grpc.server import (
    TlsConfigError,
    build_server,
    install_signal_handlers,
    load_server_tls,
    shutdown,
)
from stc_common.logging import configure_logging, get_logger
from stc_common.metrics import serve_metrics
from stc_common.outbox import OutboxRelay

log = get_logger("stc_common.runtime")


@dataclass
class ServiceSpec:
    """What a service plugs into the skeleton."""

    name: str
    migrations: Path
    service_names: list[str]
    register: Callable[[grpc.aio.Server, asyncpg.Pool], None]
    public_methods: list[str] = field(default_factory=list)
    consumers: Callable[[asyncpg.Pool], list[EventConsumer]] = lambda pool: []
    # extra long-running tasks (e.g. a deadline ticker): each gets (pool, stop)
    background: list[Callable[[asyncpg.Pool, asyncio.Event], Awaitable[None]]] = field(
        default_factory=list
    )
    on_start: Callable[[asyncpg.Pool], Awaitable[None]] | None = None


async def run_migrations(settings: ServiceSettings, spec: ServiceSpec) -> list[str]:
    """Apply the common and the service's migrations."""
    return await migrate(settings.database_url, [MigrationSource(spec.name, spec.migrations)])


async def run_service(
    settings: ServiceSettings,
    spec: ServiceSpec,
    *,
    with_relay: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one service process until it is signalled (or `stop` is set)."""
    configure_logging(spec.name, settings.log_level, settings.log_json)
    try:  # before anything is started: a TLS or key misconfiguration is a start-up error
        settings.check_keys()
        tls = load_server_tls(settings)
    except (TlsConfigError, ConfigError) as exc:
        log.error("service.misconfigured", error=str(exc))
        raise
    if stop is None:  # a real process: SIGTERM/SIGINT stop it; tests pass their own event
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            install_signal_handlers(stop)
    if settings.migrate_on_start:
        await run_migrations(settings, spec)
    serve_metrics(settings.metrics_port)
    pool = await create_pool(
        settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    tasks: list[asyncio.Task] = []
    server = health = None
    try:
        if spec.on_start:
            await spec.on_start(pool)
        if with_relay:
            relay = OutboxRelay(
                dsn=settings.database_url,
                bootstrap=settings.kafka_bootstrap_servers,
                service=spec.name,
                batch_size=settings.relay_batch_size,
                poll_interval=settings.relay_poll_interval_s,
            )
            tasks.append(asyncio.create_task(relay.run(stop), name="relay"))
        for consumer in spec.consumers(pool):
            tasks.append(asyncio.create_task(consumer.run(stop), name=f"consumer:{consumer.name}"))
        for bg in spec.background:
            tasks.append(asyncio.create_task(bg(pool, stop), name=getattr(bg, "__name__", "bg")))
        verifier = TokenVerifier(
            settings.jwt_public_key(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        server, port, health = await build_server(
            service=spec.name,
            register=lambda s: spec.register(s, pool),
            service_names=spec.service_names,
            verifier=verifier,
            public_methods=spec.public_methods,
            host=settings.grpc_host,
            port=settings.grpc_port,
            tls=tls,
        )
        log.info("service.ready", grpc_port=port, metrics_port=settings.metrics_port)
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopper and t.exception():
                log.error("service.task_failed", task=t.get_name(), error=repr(t.exception()))
        stop.set()
    finally:
        stop.set()
        if server is not None:
            await shutdown(server, health)
        for t in tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(t, timeout=10)
        await pool.close()
        log.info("service.stopped")

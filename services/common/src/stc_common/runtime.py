"""The process skeleton every service's composition root uses.

`run_service` wires settings, logging, pool, migrations, the outbox relay, the consumers and
the gRPC server, serves until SIGTERM/SIGINT, then stops in reverse order: gRPC first (health
NOT_SERVING, in-flight calls finish), then consumers (offsets of handled records committed),
then the relay, then the pool.

The engines may fail (issue 10 item 8). Every long-running task (relay, consumers, background
jobs) is supervised: when it fails it is restarted after a backoff, and after
`task_max_failures` consecutive failures the service stops and `run_service` raises
`ServiceFailed`, so the process exits with a non-zero code and a supervisor restarts it. An
engine monitor checks PostgreSQL and Kafka every few seconds and turns the gRPC health status
NOT_SERVING while either is unreachable, SERVING again once both answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from grpc_health.v1 import health_pb2

from stc_common.auth.jwt import TokenVerifier
from stc_common.config import ConfigError, ServiceSettings
from stc_common.consumer import EventConsumer
from stc_common.db.migrate import MigrationSource, migrate
from stc_common.db.pool import connect, create_pool
from stc_common.engines import Backoff, FailedForGood, sleep_or_stop
from stc_common.grpc.limits import FieldLimits
from stc_common.grpc.server import (
    ServerLimits,
    TlsConfigError,
    build_server,
    install_signal_handlers,
    load_server_tls,
    shutdown,
)
from stc_common.logging import configure_logging, get_logger
from stc_common.metrics import ENGINE_UP, TASK_FAILURES, serve_metrics
from stc_common.outbox import OutboxRelay

log = get_logger("stc_common.runtime")


class ServiceFailed(RuntimeError):
    """A background task failed for good: the process must exit non-zero."""


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    max_failures: int = 8,
    healthy_after_s: float = 60.0,
    backoff: Backoff | None = None,
) -> None:
    """Run `run()` until `stop`; restart it with backoff when it fails, at most
    `max_failures` times in a row (a run longer than `healthy_after_s` resets the count);
    then re-raise its error."""
    backoff = backoff or Backoff(initial=1.0, maximum=30.0)
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except FailedForGood as exc:
            TASK_FAILURES.labels(name).inc()
            log.error("service.task_failed", task=name, error=repr(exc))
            raise
        except Exception as exc:
            if stop.is_set():
                return
            if loop.time() - started > healthy_after_s:
                backoff.succeeded()
            delay = backoff.failed()
            TASK_FAILURES.labels(name).inc()
            if backoff.failures >= max_failures:
                log.error(
                    "service.task_failed", task=name, error=repr(exc), attempts=backoff.failures
                )
                raise
            log.warning(
                "service.task_restart",
                task=name,
                error=repr(exc),
                attempt=backoff.failures,
                retry_in=round(delay, 2),
            )
            await sleep_or_stop(stop, delay)


class EngineMonitor:
    """Watches PostgreSQL and Kafka; drives the gRPC health status from what it sees.

    An engine counts as lost after `down_after` failed checks in a row (one slow answer on a
    loaded machine does not flip the health status), and as back after one good check.
    """

    def __init__(
        self,
        *,
        dsn: str,
        bootstrap: str,
        interval_s: float = 2.0,
        timeout_s: float = 3.0,
        down_after: int = 2,
    ) -> None:
        self.dsn, self.bootstrap = dsn, bootstrap
        self.interval_s, self.timeout_s, self.down_after = interval_s, timeout_s, down_after
        self.up: dict[str, bool] = {}
        self._failed: dict[str, int] = {"postgres": 0, "kafka": 0}
        self._conn: asyncpg.Connection | None = None
        self._kafka: Any = None  # aiokafka's AIOKafkaClient, imported when first needed

    async def check_postgres(self) -> bool:
        """One round trip on the monitor's own connection (a new one after a failure)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect(self.dsn)
                await self._conn.fetchval("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable now"
            await self._drop_conn()
            return False

    async def check_kafka(self) -> bool:
        """One metadata round trip to the cluster (an open port is not readiness): the
        brokers and the controller, no topics. Asking for every topic's metadata every 2 s,
        in every process, made the broker list all of them (issue 14); an answer without
        brokers counts as a failed check."""
        from aiokafka.client import AIOKafkaClient
        from aiokafka.protocol.metadata import MetadataRequest

        try:
            async with asyncio.timeout(self.timeout_s):
                if self._kafka is None:
                    self._kafka = AIOKafkaClient(
                        bootstrap_servers=self.bootstrap,
                        client_id="stc-engine-monitor",
                        request_timeout_ms=int(self.timeout_s * 1000),
                        metadata_max_age_ms=3_600_000,  # nothing here reads topic metadata
                    )
                    await self._kafka.bootstrap()
                node = self._kafka.get_random_node()
                if node is None:
                    raise ConnectionError("no broker known")
                answer = await self._kafka.send(node, MetadataRequest([]))
                if not answer.brokers:
                    raise ConnectionError("the cluster answered without brokers")
            return True
        except Exception:  # noqa: BLE001
            await self._drop_kafka()
            return False

    async def _drop_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def _drop_kafka(self) -> None:
        client, self._kafka = self._kafka, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 2)

    async def run(self, stop: asyncio.Event, on_change: Callable[[bool], Awaitable[None]]) -> None:
        """Check every `interval_s`; call `on_change(serving)` when the verdict changes."""
        serving: bool | None = None
        try:
            while not stop.is_set():
                checks = await asyncio.gather(self.check_postgres(), self.check_kafka())
                verdict = {}
                for engine, answered in zip(("postgres", "kafka"), checks, strict=True):
                    self._failed[engine] = 0 if answered else self._failed[engine] + 1
                    ok = verdict[engine] = self._failed[engine] < self.down_after
                    ENGINE_UP.labels(engine).set(1 if ok else 0)
                    if self.up.get(engine) is not None and self.up[engine] != ok:
                        (log.info if ok else log.warning)(
                            "engine.back" if ok else "engine.lost", engine=engine
                        )
                    self.up[engine] = ok
                if all(verdict.values()) != serving:
                    serving = all(verdict.values())
                    await on_change(serving)
                await sleep_or_stop(stop, self.interval_s)
        finally:
            await self._drop_conn()
            await self._drop_kafka()


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
    # the request limits the edge enforces (<service>/api/limits.py); None = the defaults
    limits: FieldLimits | None = None


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
    failed: BaseException | None = None

    def start(name: str, run: Callable[[], Awaitable[None]]) -> None:
        tasks.append(
            asyncio.create_task(
                supervise(name, run, stop, max_failures=settings.task_max_failures), name=name
            )
        )

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
                max_db_failures=settings.relay_max_db_failures,
            )
            start("relay", functools.partial(relay.run, stop))
        for consumer in spec.consumers(pool):
            start(f"consumer:{consumer.name}", functools.partial(consumer.run, stop))
        for bg in spec.background:
            start(getattr(bg, "__name__", "bg"), functools.partial(bg, pool, stop))
        verifier = TokenVerifier(
            settings.jwt_public_key(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_lifetime_s=settings.jwt_max_lifetime_s,
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
            limits=spec.limits or FieldLimits(),
            server_limits=ServerLimits.from_settings(settings),
        )
        log.info("service.ready", grpc_port=port, metrics_port=settings.metrics_port)

        async def set_serving(serving: bool) -> None:
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if serving
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            for name in ("", *spec.service_names):
                await health.set(name, status)
            log.info("service.health", serving=serving)

        monitor = EngineMonitor(
            dsn=settings.database_url,
            bootstrap=settings.kafka_bootstrap_servers,
            interval_s=settings.engine_check_interval_s,
        )
        start("engine_monitor", lambda: monitor.run(stop, set_serving))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopper and not t.cancelled() and t.exception():
                failed = t.exception()
                log.error("service.failed", task=t.get_name(), error=repr(failed))
        stopper.cancel()
        stop.set()
    finally:
        stop.set()
        if server is not None:
            await shutdown(server, health)
        for t in tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(t, timeout=10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pool.close(), 10)
        log.info("service.stopped", failed=failed is not None)
    if failed is not None:
        raise ServiceFailed(f"background task failed for good: {failed!r}") from failed


def run_process(coro: Awaitable[None]) -> None:
    """`asyncio.run` a service; a task that failed for good exits the process with code 1."""
    try:
        asyncio.run(coro)  # type: ignore[arg-type]
    except ServiceFailed as exc:
        print(f"service failed: {exc}", file=sys.stderr)
        sys.exit(1)

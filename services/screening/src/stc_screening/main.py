"""Composition root of the screening service: settings, index, spec, consumers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from stc.screening.v1 import screening_service_pb2
from stc_common.auth.access import public_methods
from stc_common.consumer import EventConsumer
from stc_common.engines import sleep_or_stop
from stc_common.kafka.topics import APPLICATION, ENDUSER_CHANGE, LICENCE
from stc_common.logging import get_logger
from stc_common.naming import consumer_group
from stc_common.runtime import ServiceSpec, run_process, run_service

from stc_screening.api.access import ACCESS
from stc_screening.api.limits import LIMITS
from stc_screening.api.servicer import register
from stc_screening.config import SOURCE, ScreeningSettings
from stc_screening.domain.matching import Thresholds
from stc_screening.events.consumer import ScreeningConsumer
from stc_screening.events.handlers import subscriptions
from stc_screening.events.index_sync import index_sync
from stc_screening.match_pool import MatchPool, default_size
from stc_screening.policy_files import LIST_SOURCES, load_policy
from stc_screening.service import index, screening
from stc_screening.service.lists import import_lists
from stc_screening.service.state import ScreeningState
from stc_screening.storage.lists import start_lock
from stc_screening.storage.uow import uow_factory

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SERVICE_NAME = screening_service_pb2.DESCRIPTOR.services_by_name["ScreeningService"].full_name
PUBLIC_METHODS = public_methods(
    screening_service_pb2.DESCRIPTOR.services_by_name["ScreeningService"], ACCESS)
log = get_logger("stc_screening.main")


def new_state(settings: ScreeningSettings) -> ScreeningState:
    """An empty state with the configured thresholds."""
    return ScreeningState(
        Thresholds(potential=settings.potential_threshold, match=settings.match_threshold))


async def import_if_empty(pool: asyncpg.Pool, settings: ScreeningSettings,
                          state: ScreeningState) -> None:
    """The first start on an empty database imports every shipped list. Replicas starting
    together take turns on a session advisory lock: the first imports, the others wait and
    then find the table full (never a UniqueViolation, never a second import)."""
    uows = uow_factory(pool, SOURCE)
    async with start_lock(pool):
        async with uows() as uow:
            if await uow.lists.count() != 0:
                return
        t0 = time.perf_counter()
        summary = await import_lists(
            uows, data_dir=settings.data_path, names=list(LIST_SOURCES),
            publish_initial=settings.publish_initial_load, thresholds=state.thresholds)
        log.info("lists.imported_on_start", entries=sum(s.entries for s in summary),
                 seconds=round(time.perf_counter() - t0, 3))


def match_pool(state: ScreeningState, processes: int, settings: ScreeningSettings
               ) -> Callable[[asyncpg.Pool, asyncio.Event], Awaitable[None]]:
    """The background task that forks the batch matcher processes once the index is built
    (``on_start`` ran before), keeps them on the current index and stops them with the
    service."""
    async def run_match_pool(_: asyncpg.Pool, stop: asyncio.Event) -> None:
        # a pool that fails (a fork refused: out of memory) never stops the service: batches
        # run on the matcher thread meanwhile, and a new pool is tried 30 s later
        while not stop.is_set():
            pool = MatchPool(size=processes, matcher=state.matcher,
                             generation=lambda: state.generation,
                             handler=screening.pool_handler(state),
                             max_queue=settings.matcher_max_queue,
                             debounce_s=settings.screening_match_refork_debounce_s)
            state.pool = pool
            try:
                await pool.run(stop)
            except Exception as exc:  # noqa: BLE001
                log.error("match_pool.failed", error=repr(exc))
            finally:
                if state.pool is pool:
                    state.pool = None
            await sleep_or_stop(stop, 30.0)
    return run_match_pool


def build_spec(settings: ScreeningSettings,
               state: ScreeningState | None = None) -> ServiceSpec:
    """The service spec: migrations, gRPC servicer, consumers, index build and sync."""
    state = state or new_state(settings)
    state.matcher.max_queue = settings.matcher_max_queue

    async def on_start(pool: asyncpg.Pool) -> None:
        state.set_policy(load_policy(settings.data_path))
        if settings.import_on_start:
            await import_if_empty(pool, settings, state)
        uows = uow_factory(pool, SOURCE)
        await index.build_index(uows=uows, state=state)
        await index.load_measures(uows=uows, state=state)

    def consumers(pool: asyncpg.Pool) -> list[EventConsumer]:
        return [ScreeningConsumer(
            state=state, name="screening.subjects", topics=[APPLICATION.name, LICENCE.name,
                                               ENDUSER_CHANGE.name], pool=pool,
            bootstrap=settings.kafka_bootstrap_servers,
            group_id=consumer_group(settings.consumer_group_prefix, "screening", "subjects"),
            subscriptions=subscriptions(state), source=SOURCE)]

    background = [index_sync(state, settings.kafka_bootstrap_servers,
                             settings.index_reconcile_interval_s)] if settings.index_sync else []
    processes = settings.screening_match_processes
    if processes is None:
        processes = default_size()
    if processes > 0:
        background.append(match_pool(state, processes, settings))
    return ServiceSpec(
        name=settings.service_name, migrations=MIGRATIONS, service_names=[SERVICE_NAME],
        register=register(state), public_methods=PUBLIC_METHODS, consumers=consumers,
        background=background, on_start=on_start, limits=LIMITS)


def main() -> None:
    """Serve until SIGTERM."""
    settings = ScreeningSettings()
    run_process(run_service(settings, build_spec(settings)))

"""The engines may fail (issue 10 item 8), over a real PostgreSQL: periodic jobs run once
across replicas and fail the process after a bounded number of failed rounds; a background
task that fails for good ends `run_service` with ServiceFailed (a non-zero exit); the engine
monitor turns health NOT_SERVING while an engine is unreachable."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections import Counter

import pytest
from stc_common.config import ServiceSettings
from stc_common.db.migrate import migrate
from stc_common.db.pool import create_pool
from stc_common.engines import FailedForGood
from stc_common.periodic import PeriodicJobFailed, periodic
from stc_common.runtime import EngineMonitor, ServiceFailed, ServiceSpec, run_service, supervise

pytestmark = pytest.mark.integration


async def test_a_periodic_job_runs_once_across_replicas_and_moves_on_when_its_holder_stops(
    fresh_database,
):
    dsn = await fresh_database("periodic")
    await migrate(dsn, [])
    pool = await create_pool(dsn, max_size=4)
    rounds: Counter[str] = Counter()

    def job_of(holder: str):
        async def job(_pool) -> None:
            rounds[holder] += 1

        return job

    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    try:
        a = asyncio.create_task(
            periodic("job", job_of("a"), interval_s=0.05, holder="a")(pool, stop_a)
        )
        await asyncio.sleep(0.3)  # a holds the lease before b starts
        b = asyncio.create_task(
            periodic("job", job_of("b"), interval_s=0.05, holder="b")(pool, stop_b)
        )
        await asyncio.sleep(1.0)
        both = dict(rounds)
        stop_a.set()  # a stops and gives the lease up: b takes over at its next round
        await a
        before = rounds["b"]
        await asyncio.sleep(0.5)
        stop_b.set()
        await b
    finally:
        await pool.close()
    assert both.get("a", 0) >= 10
    assert both.get("b", 0) == 0, f"the job ran in two replicas at once: {both}"
    assert rounds["b"] - before >= 3, "the standby did not take the job over"


async def test_a_periodic_job_survives_failed_rounds_and_fails_after_n(fresh_database):
    dsn = await fresh_database("periodic")
    await migrate(dsn, [])
    pool = await create_pool(dsn, max_size=4)
    calls = 0

    async def flaky(_pool) -> None:  # fails twice, then works
        nonlocal calls
        calls += 1
        if calls in (2, 3):
            raise ConnectionRefusedError("database away")

    async def broken(_pool) -> None:
        raise RuntimeError("a bug")

    stop = asyncio.Event()
    try:
        task = asyncio.create_task(
            periodic("flaky", flaky, interval_s=0.02, max_failures=3, backoff_max_s=0.05)(
                pool, stop
            )
        )
        await asyncio.sleep(0.6)
        stop.set()
        await task  # did not raise: two failures in a row are under the limit
        with pytest.raises(PeriodicJobFailed):
            await asyncio.wait_for(
                periodic("broken", broken, interval_s=0.02, max_failures=3, backoff_max_s=0.05)(
                    pool, asyncio.Event()
                ),
                timeout=10,
            )
    finally:
        await pool.close()
    assert calls > 5


async def test_supervise_restarts_a_crashed_task_and_gives_up_on_a_final_failure():
    runs = 0

    async def crashes_twice() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise OSError("broker away")

    stop = asyncio.Event()
    from stc_common.engines import Backoff

    await supervise("t", crashes_twice, stop, max_failures=5, backoff=Backoff(0.01, 0.02))
    assert runs == 3

    async def gives_up() -> None:
        raise FailedForGood("no database for 20 attempts")

    with pytest.raises(FailedForGood):
        await supervise("t", gives_up, stop, max_failures=5, backoff=Backoff(0.01, 0.02))


async def test_a_task_failed_for_good_ends_the_service_with_service_failed(
    fresh_database, kafka_bootstrap, tmp_path
):
    dsn = await fresh_database("runtime")

    async def dies(_pool, _stop) -> None:
        raise FailedForGood("gave up")

    settings = ServiceSettings(
        database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, grpc_port=0, metrics_port=0
    )
    spec = ServiceSpec(
        name="dies",
        migrations=tmp_path,
        service_names=[],
        register=lambda s, p: None,
        background=[dies],
    )
    with pytest.raises(ServiceFailed):
        await asyncio.wait_for(
            run_service(settings, spec, with_relay=False, stop=asyncio.Event()), 60
        )


async def test_the_process_exits_non_zero_when_a_task_fails_for_good(
    fresh_database, kafka_bootstrap, tmp_path
):
    """What a supervisor (systemd, Kubernetes, honcho) sees: exit code 1, not 0."""
    dsn = await fresh_database("runtime")
    script = tmp_path / "svc.py"
    script.write_text(
        textwrap.dedent(f"""
        from pathlib import Path
        from stc_common.config import ServiceSettings
        from stc_common.engines import FailedForGood
        from stc_common.runtime import ServiceSpec, run_process, run_service

        async def dies(_pool, _stop):
            raise FailedForGood("gave up")

        settings = ServiceSettings(database_url={dsn!r}, kafka_bootstrap_servers={kafka_bootstrap!r},
                                   grpc_port=0, metrics_port=0)
        spec = ServiceSpec(name="dies", migrations=Path({str(tmp_path)!r}), service_names=[],
                           register=lambda s, p: None, background=[dies])
        run_process(run_service(settings, spec, with_relay=False))
    """)
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 1, err.decode()[-2000:]
    assert b"service failed" in err


async def test_engine_monitor_reports_unreachable_engines_and_their_return(
    pg_admin_dsn, kafka_bootstrap
):
    seen: list[bool] = []

    async def on_change(serving: bool) -> None:
        seen.append(serving)

    stop = asyncio.Event()
    dead = EngineMonitor(
        dsn="postgresql://stc@127.0.0.1:1/none",
        bootstrap=kafka_bootstrap,
        interval_s=0.1,
        timeout_s=1,
        down_after=1,
    )
    task = asyncio.create_task(dead.run(stop, on_change))
    await asyncio.sleep(0.5)
    dead.dsn = pg_admin_dsn  # the database "comes back"
    await asyncio.sleep(1.5)
    dead.bootstrap = "127.0.0.1:1"  # the broker "goes away" (a new client is made)
    await dead._drop_kafka()  # noqa: SLF001 - as after a failed check
    await asyncio.sleep(2.5)
    stop.set()
    await task
    assert seen[:3] == [False, True, False], seen
    assert dead.up == {"postgres": True, "kafka": False}

"""Periodic jobs: one error policy and one leader across replicas, for every service.

A periodic job (licensing's Reg. 17 deadline ticker, enduser's overdue-check scan, credit's
publication ticker and daily standing refresh) is an `async def job(pool)` run every
`interval_s` by `periodic(...)`, which gives every service the same behaviour:

- A failed round is logged (with the traceback unless an engine is simply away), counted in
  `stc_task_failures_total`, and retried after a backoff instead of the interval; after
  `max_failures` failed rounds in a row the task raises `PeriodicJobFailed`, the runtime stops
  the service and the process exits non-zero (issue 10 item 8: never retry forever).
- With `once_across_replicas` (the default) a round runs only in the replica that holds the
  job's lease in `periodic_leases` (common migration 0002): the holder renews it at every
  round; another replica takes the job over once the lease has expired (3 intervals + 5 s
  after the holder's last round), so every periodic job runs once across the replicas of a
  service, not once per replica (issue 14 item 4). A lease lives in a row, not in a session,
  so losing a database connection loses nothing; a replica that stops gives its leases up.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from stc_common.engines import Backoff, FailedForGood, is_unavailable, sleep_or_stop
from stc_common.logging import get_logger
from stc_common.metrics import TASK_FAILURES

log = get_logger("stc_common.periodic")

# who holds a lease: this process (host, pid and a random part against pid reuse)
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

Job = Callable[[asyncpg.Pool], Awaitable[object]]
Task = Callable[[asyncpg.Pool, asyncio.Event], Awaitable[None]]


class PeriodicJobFailed(FailedForGood):
    """A periodic job failed `max_failures` rounds in a row."""


async def take_lease(pool: asyncpg.Pool, job: str, holder: str, lease_s: float) -> bool:
    """Take or renew `job`'s lease for `lease_s` seconds; True when `holder` has it now."""
    async with pool.acquire() as conn:
        return bool(
            await conn.fetchval(
                """INSERT INTO periodic_leases (job, holder, expires_at)
                   VALUES ($1, $2, now() + make_interval(secs => $3))
                   ON CONFLICT (job) DO UPDATE
                       SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                       WHERE periodic_leases.holder = EXCLUDED.holder
                          OR periodic_leases.expires_at < now()
                   RETURNING true""",
                job,
                holder,
                float(lease_s),
            )
        )


async def release_lease(pool: asyncpg.Pool, job: str, holder: str) -> None:
    """Give `job`'s lease up, so another replica takes over at its next round."""
    async with pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM periodic_leases WHERE job = $1 AND holder = $2", job, holder
        )


def periodic(
    name: str,
    job: Job,
    *,
    interval_s: float,
    max_failures: int = 10,
    once_across_replicas: bool = True,
    holder: str = HOLDER,
    lease_s: float | None = None,
    backoff_max_s: float = 30.0,
) -> Task:
    """The background task `(pool, stop)` that runs `job(pool)` every `interval_s`."""
    lease = lease_s if lease_s is not None else 3 * interval_s + 5

    async def run_periodically(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        backoff = Backoff(initial=min(1.0, interval_s), maximum=max(backoff_max_s, interval_s))
        leading = False
        try:
            while not stop.is_set():
                try:
                    leading = not once_across_replicas or await take_lease(
                        pool, name, holder, lease
                    )
                    if leading:
                        await job(pool)
                    backoff.succeeded()
                    delay = interval_s
                except Exception as exc:
                    delay = backoff.failed()
                    TASK_FAILURES.labels(name).inc()
                    if backoff.failures >= max_failures:
                        log.error(
                            "periodic.failed",
                            job=name,
                            error=repr(exc)[:500],
                            failures=backoff.failures,
                        )
                        raise PeriodicJobFailed(
                            f"{name} failed {backoff.failures} rounds in a row: {exc!r}"
                        ) from exc
                    if is_unavailable(exc):
                        log.warning(
                            "periodic.engine_unavailable",
                            job=name,
                            error=repr(exc)[:500],
                            failures=backoff.failures,
                            retry_in=round(delay, 2),
                        )
                    else:
                        log.exception(
                            "periodic.round_failed",
                            job=name,
                            failures=backoff.failures,
                            retry_in=round(delay, 2),
                        )
                await sleep_or_stop(stop, delay)
        finally:
            if leading and once_across_replicas:
                try:
                    await asyncio.wait_for(release_lease(pool, name, holder), 5)
                except Exception:  # noqa: BLE001 - the lease expires by itself
                    pass

    run_periodically.__name__ = name
    return run_periodically

"""Where screening's CPU-heavy work runs: one matcher thread beside the event loop.

Name matching is pure Python at a few milliseconds per name; run on the event loop, one
request with many names froze gRPC, health checks and the Kafka consumers for as long as it
took (ECL Art. 13: the authority's review tooling must stay available). Every screen,
search, classification and re-screening therefore runs as a job on a single worker thread,
and every change to the in-memory index runs on that same thread, so jobs never see an
index half-changed and need no lock. Jobs are small (one party, a chunk of a batch), so a
list change or another caller waits at most one job, and the event loop only waits for the
GIL's switch interval (5 ms) while a job runs.

One thread, because the index lives in this process and changes here. Batches are the
exception (issue 14): their chunks go to matcher processes forked from this one while those
hold the current index (``stc_screening.match_pool``: copy-on-write, never a stale copy), and
come back to this thread whenever they do not. Work in flight is bounded: beyond
``max_queue`` waiting jobs a caller gets RESOURCE_EXHAUSTED (retry later) instead of
queueing for seconds.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from stc_common.errors import ServiceError

T = TypeVar("T")


class MatcherBusy(ServiceError):
    """Too much screening work queued already (RESOURCE_EXHAUSTED: retry with backoff)."""

    code = "RESOURCE_EXHAUSTED"


class Matcher:
    """A single worker thread for matching jobs and index changes, with a bounded queue."""

    def __init__(self, max_queue: int = 256) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stc-matcher")
        self.max_queue = max_queue
        self.queued = 0
        self.jobs = 0

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a read-only job (screen, search, classify) on the matcher thread."""
        if self.queued >= self.max_queue:
            raise MatcherBusy(f"{self.queued} screening jobs are waiting; retry later",
                              reason="SCREENING_BUSY")
        return await self._submit(fn, *args, **kwargs)

    async def run_always(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a job that must not be refused: an index change (it is committed), the
        screening of a consumed event, the re-screening inside a list change."""
        return await self._submit(fn, *args, **kwargs)

    async def _submit(self, fn: Callable[..., T], *args, **kwargs) -> T:
        loop = asyncio.get_running_loop()
        self.queued += 1
        try:
            fut = loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
            # a cancelled caller (client gone) leaves the job to finish on the thread; the
            # shield keeps the queue count honest until then
            try:
                return await asyncio.shield(fut)
            except asyncio.CancelledError:
                await asyncio.wait([fut])
                raise
        finally:
            self.queued -= 1
            self.jobs += 1

    def close(self) -> None:
        """Stop the thread once the queued jobs are done."""
        self._pool.shutdown(wait=False, cancel_futures=True)

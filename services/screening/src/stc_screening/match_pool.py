"""A pool of matcher worker processes for batch screening (issue 14): the second core.

Matching is pure Python, so one process matches on one core however many threads it has
(the GIL). For ScreenParties, whose chunks are independent, the service forks ``size``
worker processes once its index is built: each child is a copy-on-write image of the
parent at that instant — the ~276 MB index included, nothing shipped or rebuilt — and
answers chunks of parties over a socket pair while the service's own matcher thread keeps
single-party screening, transactions, applications and every index change in process.

Never a stale index. The index has a version (``ScreeningState.generation``, bumped by every
change the matcher thread applies); the pool remembers the version it was forked at, and a
chunk goes to a worker only while the two are equal. After a list change the stale workers
get no more work — every chunk runs in process on the matcher thread, exactly as with no
pool — and the pool is forked again lazily (only once a batch has asked for it) and
debounced (once the index has been quiet for ``debounce_s``, so an import of thousands of
entries costs one fork, not thousands). Forks run as jobs on the matcher thread, the only
thread that changes the index, so a child never copies an index half-changed.

Work in flight is bounded (``max_queue`` chunks waiting for a worker, then
RESOURCE_EXHAUSTED like the matcher thread's queue); a worker that dies (its socket closes)
has its chunk run in process and is replaced on the next tick; the pool stops with the
service (``run`` returns when ``stop`` is set; every child is told to exit, then killed if
it does not, and reaped). A child ignores SIGINT (the terminal's Ctrl-C reaches the whole
process group; the parent stops it), closes every descriptor it inherited except its
socket (the gRPC port, Kafka and PostgreSQL connections stay the parent's alone) and exits
when the parent is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from stc_common.logging import get_logger

from stc_screening.matcher import Matcher, MatcherBusy

log = get_logger("stc_screening.match_pool")


class PoolUnavailable(Exception):
    """The pool cannot take this chunk (stale, stopped, or its worker died): run it in
    process instead."""


MAX_DEFAULT_SIZE = 8


def usable_cores(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """The cores this process may use: the CPUs it may run on, bounded by its cgroup's CPU
    quota when it has one (a container limited to 2 CPUs on a 32-core node counts 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    return cores


def default_size(cores: int | None = None) -> int:
    """Worker processes sized for the machine: one per usable core from two cores on (at
    most MAX_DEFAULT_SIZE); none on a single core (a worker would only compete with the
    service for it)."""
    cores = usable_cores() if cores is None else cores
    return min(cores, MAX_DEFAULT_SIZE) if cores >= 2 else 0


def _child_main(conn: Connection, handler: Callable[[Any], Any], parent: int) -> None:
    """The worker's loop: a payload in, ``(True, result)`` or ``(False, error)`` out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)  # the parent's asyncio self-pipe is not ours to write
    keep = conn.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 20)
    gc.freeze()  # the inherited index stays out of the collector's walks (as in the parent)
    while True:
        if not conn.poll(1.0):
            if os.getppid() != parent:
                return
            continue
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        if payload is None:
            return
        try:
            answer: tuple[bool, Any] = (True, handler(payload))
        except Exception as exc:  # the parent re-raises it for the caller
            answer = (False, f"{type(exc).__name__}: {exc}")
        conn.send(answer)


@dataclass(eq=False)
class _Worker:
    pid: int
    conn: Connection
    generation: int
    dead: bool = False  # its socket closed or its process was collected
    retired: bool = False  # replaced by a fork of a newer index, or the pool stopped


@dataclass(eq=False)
class _Job:
    payload: Any
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop

    def settle(self, ok: bool, value: Any) -> None:
        """Hand the answer to the caller on its event loop (from a feeder thread)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self.loop.call_soon_threadsafe(_settle, self.future, ok, value)


def _settle(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.done():  # the caller went away
        return
    if ok:
        future.set_result(value)
    elif isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_exception(RuntimeError(f"matcher worker failed: {value}"))


class MatchPool:
    """``size`` forked matcher processes over one index version (see the module text).

    Each worker has a feeder thread in the service that owns its socket: it takes the next
    chunk from one shared queue, checks that its worker still holds the current index,
    sends the chunk and waits for the answer (the GIL is released meanwhile), so a worker
    goes on to the next chunk without a turn of the event loop in between."""

    def __init__(self, *, size: int, matcher: Matcher, generation: Callable[[], int],
                 handler: Callable[[Any], Any], max_queue: int = 256,
                 debounce_s: float = 1.0, tick_s: float = 0.25) -> None:
        self.size = size
        self.matcher = matcher
        self.current = generation
        self.handler = handler
        self.max_queue = max_queue
        self.debounce_s = debounce_s
        self.tick_s = tick_s
        self.generation = -1  # the index version the workers were forked at
        self.workers: list[_Worker] = []
        self.forks = 0  # workers forked in all
        self.replaced = 0  # workers that died and were replaced
        self.chunks = 0  # chunks the workers answered
        self.waiting = 0  # chunks queued or running
        self.wanted = False  # a batch found the pool stale since the last fork
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._seen = (-1, 0.0)  # (generation, when it was first seen) for the debounce
        self._stopped = False

    # ------------------------------------------------------------------ state

    @property
    def alive(self) -> list[_Worker]:
        """The workers not known dead."""
        return [w for w in self.workers if not w.dead]

    @property
    def fresh(self) -> bool:
        """True when live workers hold the index version the service has now."""
        return (not self._stopped and self.generation == self.current()
                and any(not w.dead for w in self.workers))

    # ------------------------------------------------------------------ forking

    def _fork_one(self, generation: int) -> _Worker:
        """Fork one worker (on the matcher thread: the index does not change meanwhile)."""
        ours, theirs = Pipe(duplex=True)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 0
            try:
                _child_main(theirs, self.handler, parent)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self.forks += 1
        return _Worker(pid, ours, generation)

    def _fork(self, count: int) -> tuple[int, list[_Worker]]:
        generation = self.current()
        made: list[_Worker] = []
        try:
            for _ in range(count):
                made.append(self._fork_one(generation))
        except BaseException:
            for w in made:  # a fork refused half-way: none of this batch survives
                _stop_child(w)
            raise
        return generation, made

    def _start(self, workers: list[_Worker]) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        for w in workers:
            t = threading.Thread(target=self._feed, args=(w,), daemon=True,
                                 name=f"stc-match-pool-{w.pid}")
            self._threads.append(t)
            t.start()

    async def refork(self) -> None:
        """Replace every worker by a fork of the index as it is now."""
        if self._stopped:
            return
        generation, fresh = await self.matcher.run_always(self._fork, self.size)
        if self._stopped:
            for w in fresh:
                w.retired = True
                _stop_child(w)
            return
        old, self.workers = self.workers, fresh
        self.generation = generation
        self.wanted = False
        for w in old:  # their threads send them away after the chunk in hand, if any
            w.retired = True
        self._start(fresh)
        log.info("match_pool.forked", workers=len(fresh), generation=generation,
                 retired=len(old))

    async def _replace_dead(self) -> None:
        """Fork a replacement for each worker that died (at the current index version)."""
        for w in self.workers:
            if not w.dead:
                with contextlib.suppress(ChildProcessError):
                    pid, _ = os.waitpid(w.pid, os.WNOHANG)  # noqa: ASYNC222 (never blocks)
                    if pid:
                        w.dead = True
        dead = [w for w in self.workers if w.dead]
        if not dead:
            return
        for w in dead:
            w.retired = True
            _ZOMBIES.append(w.pid)
        self.workers = [w for w in self.workers if not w.dead]
        if self.workers and self.generation != self.current():
            return  # a re-fork replaces them all
        generation, fresh = await self.matcher.run_always(self._fork, len(dead))
        if self._stopped or (self.workers and generation != self.generation):
            for w in fresh:  # the index moved on meanwhile: the re-fork will follow
                w.retired = True
                _stop_child(w)
            return
        self.generation = generation
        self.workers += fresh
        self.replaced += len(dead)
        self._start(fresh)
        log.warning("match_pool.worker_replaced", workers=len(dead),
                    pids=[w.pid for w in dead])

    # ------------------------------------------------------------------ running

    async def run_chunk(self, payload: Any) -> Any:
        """One chunk on a worker of the current index version; PoolUnavailable when none
        can take it (stale, stopped, its worker died), MatcherBusy beyond ``max_queue``."""
        if not self.fresh:
            self.wanted = True
            raise PoolUnavailable("stale")
        if self.waiting >= self.max_queue:
            raise MatcherBusy(f"{self.waiting} screening chunks are waiting; retry later",
                              reason="SCREENING_BUSY")
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self.waiting += 1
        future.add_done_callback(self._finished)
        self._jobs.put(_Job(payload, future, loop))
        return await future

    def _finished(self, future: asyncio.Future) -> None:
        self.waiting -= 1
        if not future.cancelled() and future.exception() is None:
            self.chunks += 1
        elif not future.cancelled() and isinstance(future.exception(), PoolUnavailable):
            self.wanted = True

    def _feed(self, w: _Worker) -> None:
        """A feeder thread: the next chunk to this worker while it holds the current index."""
        try:
            while not (w.retired or self._stopped):
                try:
                    job = self._jobs.get(timeout=0.5)
                except queue.Empty:
                    continue
                if job is None:  # the pool stops: pass it on to the next thread
                    self._jobs.put(None)
                    return
                if job.future.done():  # the caller went away
                    continue
                if w.retired:  # a newer fork takes it
                    self._jobs.put(job)
                    return
                if w.generation != self.current():
                    # the index changed after this worker was forked: never answer from it
                    job.settle(False, PoolUnavailable("stale"))
                    continue
                try:
                    w.conn.send(job.payload)
                    ok, value = w.conn.recv()
                except (EOFError, OSError):
                    w.dead = True
                    job.settle(False, PoolUnavailable("worker died"))
                    return
                job.settle(ok, value)
        finally:
            _stop_child(w)

    async def run(self, stop: asyncio.Event) -> None:
        """Fork the workers, keep them current and complete until ``stop``; then stop them."""
        try:
            await self.refork()
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.tick_s)
                if stop.is_set():
                    break
                await self._tick()
        finally:
            await self.close()

    async def _tick(self) -> None:
        reap_zombies()
        await self._replace_dead()
        now = time.monotonic()
        gen = self.current()
        if gen != self._seen[0]:
            self._seen = (gen, now)
        if gen != self.generation and self.wanted and now - self._seen[1] >= self.debounce_s:
            await self.refork()

    # ------------------------------------------------------------------ stopping

    async def close(self) -> None:
        """Stop the feeders and the workers (told to exit, killed after 2 s), reap them."""
        if self._stopped:
            return
        self._stopped = True
        workers, self.workers = self.workers, []
        for w in workers:
            w.retired = True
        self._jobs.put(None)
        while True:  # chunks nobody will take: their callers run them in process
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and not job.future.done():
                job.future.set_exception(PoolUnavailable("stopped"))
        loop = asyncio.get_running_loop()
        threads = list(self._threads)
        await loop.run_in_executor(None, _join, threads, 3.0)
        for w in workers:
            _stop_child(w)
        await loop.run_in_executor(None, reap_zombies, 2.0)
        log.info("match_pool.stopped", workers=len(workers))


def _join(threads: list[threading.Thread], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))


def _stop_child(w: _Worker) -> None:
    """Tell a worker to exit and close its socket; it is collected by ``reap_zombies``."""
    if not w.dead:
        with contextlib.suppress(OSError, ValueError):
            w.conn.send(None)
    with contextlib.suppress(OSError):
        w.conn.close()
    if w.pid not in _ZOMBIES:
        _ZOMBIES.append(w.pid)


# pids of workers told to exit (or dead) and not yet collected
_ZOMBIES: list[int] = []


def reap_zombies(wait_s: float = 0.0) -> None:
    """Collect workers that have exited (kill those still there after ``wait_s`` > 0)."""
    deadline = time.monotonic() + wait_s
    while _ZOMBIES:
        for pid in list(_ZOMBIES):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                with contextlib.suppress(ValueError):
                    _ZOMBIES.remove(pid)
        if not _ZOMBIES or time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    if wait_s > 0:
        for pid in list(_ZOMBIES):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            with contextlib.suppress(ValueError):
                _ZOMBIES.remove(pid)

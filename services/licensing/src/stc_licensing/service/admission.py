"""Admission of new applications: the work in flight between a submission and its
assessment, bounded by a limit that follows the observed latency (issue 14 item 3).

Beyond the platform's capacity the queue would grow in Kafka, where the gRPC concurrency
limits cannot see it, and every accepted application would wait seconds for screening. So a
submission is refused at once with RESOURCE_EXHAUSTED (reason PIPELINE_FULL, with RetryInfo)
while `limit` applications await assessment (SUBMITTED or SCREENING, counted over all
replicas in PostgreSQL); the client retries with the same request id. The count is read at
most every `ttl_s` per process and counted up locally in between, so the check costs one
indexed query per 100 ms, not one per submission, and a refusal costs no query at all.

The limit adapts (`AdaptiveLimit`, AIMD): licensing writes both the acceptance and the
assessment, so each assessment made in this process is a latency sample (accepted →
assessed). When the 99th percentile of the last 100 samples exceeds the target, the limit is
cut by a quarter; samples of applications accepted before that cut are then ignored (they
show the old limit's queue, not the new one's). While the samples stay under the target, the
limit grows by one every `interval_s`. Either happens only while the limit is used (at least
half of it in flight): below that the queue the limit admits is not what makes the latency.
Floor and ceiling bound it; the ceiling is STC_MAX_APPLICATIONS_AWAITING_ASSESSMENT (0: no
limit at all). With replicas each process keeps its own limit from its own share of the
assessments against the shared count; the latency is the platform's, so the limits agree.

Refusals are cheap and quiet: no database round trip beyond the cached count, one aggregated
log line per second while refusing (not one per call), and a RetryInfo delay that grows with
the overload (refused per admitted submission over the last seconds), jittered so that the
retries of many clients do not come back together.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from stc_common.errors import ResourceExhausted
from stc_common.logging import get_logger

log = get_logger("stc_licensing.service.admission")

LIMIT_GAUGE = Gauge(
    "stc_licensing_admission_limit",
    "Applications allowed to await assessment before submissions are refused (0: no limit)")
LATENCY_GAUGE = Gauge(
    "stc_licensing_admission_latency_seconds",
    "The percentile (STC_ADMISSION_LATENCY_PERCENTILE) of accepted-to-assessed over the last "
    "assessments of this process, as of the adaptive limit's last judgement")
AWAITING_GAUGE = Gauge(
    "stc_licensing_awaiting_assessment",
    "Applications awaiting assessment over all replicas, as last read (counted up in between)")
REFUSED = Counter(
    "stc_licensing_admission_refused_total",
    "Submissions refused with RESOURCE_EXHAUSTED PIPELINE_FULL")

def quantile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class AdaptiveLimit:
    """AIMD on accepted → assessed latency: ×`decrease` when the window's `percentile` exceeds
    `target_s`, +`increase` per `interval_s` while it stays under; either only while the
    limit is used (at least half of it in flight since the last change: a latency that the
    admitted queue does not cause, a busy machine, is no reason to refuse more).
    `clock` is monotonic seconds (a fake in the tests)."""

    ceiling: int = 100
    floor: int = 5
    initial: int = 20
    target_s: float = 0.7
    percentile: float = 99.0
    window: int = 100
    min_samples: int = 20
    decrease: float = 0.75
    increase: float = 1.0
    interval_s: float = 0.5
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.floor = max(1, min(self.floor, self.ceiling))
        self.limit: float = float(min(max(self.initial, self.floor), self.ceiling))
        self._samples: deque[float] = deque(maxlen=self.window)
        self._since = -math.inf  # samples of applications accepted before this are stale
        self._changed_at = -math.inf
        self._peak = 0  # the most in flight since the last change
        self.last_seen: float | None = None  # the window's percentile at the last judgement

    @property
    def value(self) -> int:
        """The limit in force (whole applications)."""
        return int(self.limit)

    def in_flight(self, count: int) -> None:
        """Note how many await assessment (the limit grows only when it is used)."""
        self._peak = max(self._peak, count)

    def observed(self) -> float | None:
        """The window's percentile, or None without samples."""
        return quantile(list(self._samples), self.percentile / 100) if self._samples else None

    def observe(self, latency_s: float) -> None:
        """One application assessed `latency_s` after it was accepted; maybe adjust."""
        now = self.clock()
        if latency_s < 0 or now - latency_s < self._since:
            return  # a clock step, or accepted under the previous limit
        self._samples.append(latency_s)
        if len(self._samples) < self.min_samples or now - self._changed_at < self.interval_s:
            return
        seen = self.last_seen = quantile(list(self._samples), self.percentile / 100)
        if 2 * self._peak < self.limit:
            return  # the limit does not bind: its queue is not what the latency shows
        if seen > self.target_s:
            self.limit = max(float(self.floor), self.limit * self.decrease)
            self._samples.clear()
            self._since = now
        elif self.limit < self.ceiling:
            self.limit = min(float(self.ceiling), self.limit + self.increase)
        else:
            return
        self._changed_at = now
        self._peak = 0


@dataclass
class Admission:
    """Admits a submission or refuses it (ResourceExhausted PIPELINE_FULL with RetryInfo).

    `limit` 0: no limit. Without `adaptive` the limit is fixed at `limit`; with it,
    `adaptive.value` is the limit (at most `limit`). Set from the settings in main.py.
    """

    limit: int = 100
    ttl_s: float = 0.1
    retry_after_s: float = 0.25
    max_retry_after_s: float = 3.0
    adaptive: AdaptiveLimit | None = None
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random
    _count: int = 0
    _read_at: float = -math.inf

    def __post_init__(self) -> None:
        self._meter = _Meter(self.clock)

    def configure(self, *, ceiling: int, adaptive: bool, target_s: float, floor: int,
                  initial: int, percentile: float = 99.0) -> None:
        """The settings: the ceiling (0: no limit) and the adaptive limit under it."""
        self.limit = ceiling
        self.adaptive = AdaptiveLimit(ceiling=ceiling, floor=floor, initial=initial,
                                      target_s=target_s, percentile=percentile,
                                      clock=self.clock) \
            if adaptive and ceiling > 0 else None
        LIMIT_GAUGE.set(self.current_limit())

    def current_limit(self) -> int:
        """The limit in force now (0: none)."""
        if self.limit <= 0:
            return 0
        return self.adaptive.value if self.adaptive else self.limit

    def observe(self, latency_s: float) -> None:
        """An application assessed `latency_s` after it was accepted (the adaptive limit's
        input; nothing when the limit is fixed)."""
        if self.adaptive is None:  # a fixed limit, or none (configure leaves it None then)
            return
        self.adaptive.observe(latency_s)
        LIMIT_GAUGE.set(self.adaptive.value)
        if self.adaptive.last_seen is not None:
            LATENCY_GAUGE.set(self.adaptive.last_seen)

    async def check(self, count: Callable[[], Awaitable[int]]) -> None:
        """Refuse when full, from the cached count (`count` reads it when older than
        `ttl_s`): the cheap early refusal before any transaction."""
        limit = self.current_limit()
        if limit <= 0:
            return
        await self._refresh(count)
        if self._count >= limit:
            self._refuse(limit)

    async def admit(self, count: Callable[[], Awaitable[int]]) -> None:
        """Refuse when full; else count this submission in."""
        await self.check(count)
        if self.current_limit() > 0:
            self._count += 1
            self._meter.note(admitted=1)
            if self.adaptive:
                self.adaptive.in_flight(self._count)

    async def _refresh(self, count: Callable[[], Awaitable[int]]) -> None:
        now = self.clock()
        if now - self._read_at > self.ttl_s:
            self._count, self._read_at = await count(), now
            AWAITING_GAUGE.set(self._count)
            if self.adaptive:
                self.adaptive.in_flight(self._count)

    def advice(self) -> float:
        """RetryInfo's delay: the base times (1 + refused per admitted submission lately),
        at most `max_retry_after_s`, with up to +50 % jitter."""
        base = min(self.max_retry_after_s, self.retry_after_s * (1 + self._meter.overload()))
        return round(base * (1 + 0.5 * self.rng()), 3)

    def _refuse(self, limit: int) -> None:
        delay = self.advice()  # from the overload before this refusal
        REFUSED.inc()
        self._meter.note(refused=1)
        self._meter.maybe_log(self._count, limit, delay,
                              self.adaptive.last_seen if self.adaptive else None)
        raise ResourceExhausted(
            f"{self._count} applications are awaiting assessment (limit {limit}); "
            "retry shortly with the same request_id", reason="PIPELINE_FULL",
            metadata={"awaiting_assessment": str(self._count), "limit": str(limit)},
            retry_after_s=delay)


class _Meter:
    """Refusals and admissions over the current and the previous second: the overload
    estimate, and one aggregated log line per second while refusing."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.refused = self.admitted = 0
        self._prev = (0, 0)
        self._bucket = clock()
        self._logged = False  # this second's first refusal was logged

    def _roll(self) -> None:
        now = self.clock()
        if now - self._bucket >= 1.0:
            self._prev = (self.refused, self.admitted) if now - self._bucket < 2.0 else (0, 0)
            self.refused = self.admitted = 0
            self._logged = False
            self._bucket = now

    def note(self, *, refused: int = 0, admitted: int = 0) -> None:
        """Count refusals and admissions into the current second."""
        self._roll()
        self.refused += refused
        self.admitted += admitted

    def overload(self) -> float:
        """Refused per admitted submission over the last one to two seconds."""
        self._roll()
        refused = self.refused + self._prev[0]
        admitted = self.admitted + self._prev[1]
        return refused / max(1, admitted)

    def maybe_log(self, count: int, limit: int, delay: float, seen: float | None) -> None:
        """The first refusal of each second is logged, with the previous second's totals."""
        self._roll()
        if self._logged:
            return
        self._logged = True
        log.info("application.admission_refusing", awaiting_assessment=count, limit=limit,
                 retry_after_s=delay, refused_last_s=self._prev[0],
                 admitted_last_s=self._prev[1],
                 latency_ms=None if seen is None else round(seen * 1000))

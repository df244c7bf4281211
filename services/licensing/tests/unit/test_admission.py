"""The adaptive admission limit (issue 14 item 3) over a fake clock: it falls when the
accepted→assessed latency is high, rises when it is low and the limit is used, stays within
floor and ceiling; refusals read no count within the cache's life, advise a longer delay as
the overload grows, and are logged once a second, not once each."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from stc_common.errors import ResourceExhausted
from stc_licensing.service import admission as adm
from stc_licensing.service.admission import AdaptiveLimit, Admission, quantile


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def limiter(clock: Clock, **kw) -> AdaptiveLimit:
    """A limiter at 20 (ceiling 40, floor 5, target 0.7 s), judged on the p99 after 5 samples."""
    args = dict(ceiling=40, floor=5, initial=20, target_s=0.7, window=20, min_samples=5,
                interval_s=0.5, clock=clock)
    args.update(kw)
    return AdaptiveLimit(**args)


def feed(lim: AdaptiveLimit, clock: Clock, latency: float, n: int, every: float = 0.05,
         in_flight: int | None = 100) -> None:
    """`n` assessments `every` s apart, the limit in use (`in_flight`) unless None."""
    for _ in range(n):
        clock.t += every
        if in_flight is not None:
            lim.in_flight(in_flight)
        lim.observe(latency)


def test_quantile_is_nearest_rank():
    assert quantile([float(i) for i in range(1, 101)], 0.95) == 95.0
    assert quantile([3.0], 0.95) == 3.0


def test_the_limit_falls_multiplicatively_when_latency_is_above_the_target():
    clock = Clock()
    lim = limiter(clock)
    feed(lim, clock, 0.2, 4)  # under min_samples: no judgement yet
    assert lim.value == 20
    feed(lim, clock, 2.0, 2)  # p99 of six samples is now 2.0 s
    assert lim.value == 15  # 20 × 0.75


def test_samples_accepted_before_a_cut_do_not_cut_again():
    clock = Clock()
    lim = limiter(clock)
    feed(lim, clock, 2.0, 5)
    assert lim.value == 15
    # the queue admitted under the old limit drains: long waits, but accepted before the cut
    feed(lim, clock, 3.0, 30, every=0.05)  # 1.5 s later, each accepted ≥ 1.5 s before the cut
    assert lim.value == 15
    # applications accepted after the cut that still wait too long: cut again
    clock.t += 3.0
    feed(lim, clock, 1.0, 5)
    assert lim.value == 11  # int(15 × 0.75 = 11.25)


def test_the_limit_never_falls_below_the_floor():
    clock = Clock()
    lim = limiter(clock)
    for _ in range(30):
        clock.t += 10.0
        feed(lim, clock, 5.0, 5, every=0.01)
    assert lim.value == 5


def test_the_limit_rises_additively_when_latency_is_low_and_the_limit_is_used():
    clock = Clock()
    lim = limiter(clock)
    feed(lim, clock, 0.2, 5, every=0.1, in_flight=20)
    assert lim.value == 21
    # one step per interval, however many samples come in it
    feed(lim, clock, 0.2, 4, every=0.1, in_flight=21)
    assert lim.value == 21
    feed(lim, clock, 0.2, 1, every=0.1, in_flight=21)
    assert lim.value == 22


def test_the_limit_does_not_move_when_it_is_not_used():
    clock = Clock()
    lim = limiter(clock)
    feed(lim, clock, 0.2, 50, every=0.2, in_flight=9)  # fewer than half the limit in flight
    assert lim.value == 20
    # slow for another reason (a busy machine) while the limit does not bind: no cut either
    feed(lim, clock, 3.0, 50, every=0.2, in_flight=9)
    assert lim.value == 20 and lim.last_seen == 3.0


def test_the_limit_never_rises_above_the_ceiling():
    clock = Clock()
    lim = limiter(clock, ceiling=24)
    for _ in range(40):
        feed(lim, clock, 0.1, 5, every=0.2, in_flight=lim.value)
    assert lim.value == 24


def test_floor_and_initial_are_bounded_by_the_ceiling():
    lim = AdaptiveLimit(ceiling=3, floor=5, initial=20)
    assert lim.value == 3 and lim.floor == 3


def test_a_negative_latency_is_ignored():
    clock = Clock()
    lim = limiter(clock, min_samples=1)
    feed(lim, clock, -1.0, 5)
    assert lim.observed() is None and lim.value == 20


class Counting:
    """The count of applications awaiting assessment, as the database would answer."""

    def __init__(self, value: int) -> None:
        self.value, self.reads = value, 0

    async def __call__(self) -> int:
        self.reads += 1
        return self.value


async def test_admission_follows_the_adaptive_limit_under_the_ceiling():
    clock = Clock()
    a = Admission(ttl_s=0.1, clock=clock, rng=lambda: 0.0)
    a.configure(ceiling=30, adaptive=True, target_s=0.7, floor=2, initial=4)
    count = Counting(3)
    await a.admit(count)  # 3 < 4: in, and counted up locally
    refused_before = REGISTRY.get_sample_value("stc_licensing_admission_refused_total")
    with pytest.raises(ResourceExhausted) as err:
        await a.admit(count)
    assert REGISTRY.get_sample_value(
        "stc_licensing_admission_refused_total") == refused_before + 1
    assert err.value.reason == "PIPELINE_FULL"
    assert err.value.metadata == {"awaiting_assessment": "4", "limit": "4"}
    a.configure(ceiling=30, adaptive=False, target_s=0.7, floor=2, initial=4)
    assert a.current_limit() == 30
    a.configure(ceiling=0, adaptive=True, target_s=0.7, floor=2, initial=4)
    assert a.current_limit() == 0 and a.adaptive is None
    await a.admit(Counting(10_000))  # no limit at all


async def test_a_refusal_reads_no_count_while_the_cached_one_is_fresh():
    clock = Clock()
    a = Admission(limit=2, ttl_s=0.1, clock=clock, rng=lambda: 0.0)
    count = Counting(2)
    for _ in range(50):
        with pytest.raises(ResourceExhausted):
            await a.check(count)
    assert count.reads == 1
    clock.t += 0.2
    count.value = 1
    await a.admit(count)  # read again after the cache's life: a place is free
    assert count.reads == 2


async def test_the_advised_delay_grows_with_the_overload_up_to_its_cap():
    clock = Clock()
    a = Admission(limit=1, retry_after_s=0.25, max_retry_after_s=2.0, clock=clock,
                  rng=lambda: 0.0)
    count = Counting(0)
    await a.admit(count)  # one admitted
    delays = []
    for _ in range(12):
        with pytest.raises(ResourceExhausted) as err:
            await a.check(count)
        delays.append(err.value.retry_after_s)
    assert delays[0] == 0.25  # nothing refused yet: the base
    assert delays == sorted(delays) and delays[3] == 1.0  # 0.25 × (1 + 3 refused / 1 admitted)
    assert delays[-1] == 2.0  # the cap


def test_the_advice_is_jittered_upwards_by_at_most_half():
    a = Admission(limit=1, retry_after_s=0.5, rng=lambda: 1.0)
    assert a.advice() == 0.75
    a.rng = lambda: 0.0
    assert a.advice() == 0.5


async def test_refusals_are_logged_once_a_second_with_the_totals(monkeypatch):
    lines = []

    class Log:
        def info(self, event, **kw):
            lines.append((event, kw))

    monkeypatch.setattr(adm, "log", Log())
    clock = Clock()
    a = Admission(limit=1, clock=clock, rng=lambda: 0.0)
    count = Counting(1)
    for _ in range(100):
        clock.t += 0.005  # 100 refusals in 0.5 s
        with pytest.raises(ResourceExhausted):
            await a.check(count)
    assert len(lines) == 1 and lines[0][0] == "application.admission_refusing"
    clock.t += 0.6
    for _ in range(10):
        with pytest.raises(ResourceExhausted):
            await a.check(count)
    assert len(lines) == 2 and lines[1][1]["refused_last_s"] == 100

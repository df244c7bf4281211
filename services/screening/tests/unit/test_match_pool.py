"""The pool of forked matcher processes for batch screening (issue 14): the same hits as the
matcher thread, never an index older than the service's, a dead worker replaced, a bounded
queue, every child stopped and reaped with the pool."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal

import pytest
from stc_screening.domain.lists import ListChange, ListEntry, ListKind, PartyType
from stc_screening.domain.matching import Party, Thresholds
from stc_screening.match_pool import MatchPool
from stc_screening.matcher import MatcherBusy
from stc_screening.service import screening
from stc_screening.service.commands import ScreenParties
from stc_screening.service.state import ScreeningState

NEW_NAME = "Quillfeather Borealis Trading Company"


def _sample(entries: list[ListEntry], n: int, seed: int = 5) -> list[Party]:
    """Listed names, listed names with one letter dropped, and made-up company names."""
    rng = random.Random(seed)
    out: list[Party] = []
    for i in range(n):
        e = rng.choice(entries)
        name = rng.choice(e.names)
        if i % 3 == 1 and len(name) > 6:
            k = rng.randrange(1, len(name) - 1)
            name = name[:k] + name[k + 1:]
        elif i % 3 == 2:
            name = f"Nordic {rng.randint(1, 10**6)} Harbour Instruments GmbH"
        out.append(Party(name, country=rng.choice(("", "CN", "RU", "IR", "DE"))))
    return out


def _flat(hits_per_party) -> list[list[tuple]]:
    return [[(h.entry_id, h.score, h.decision, h.explanation, h.features) for h in hits]
            for hits in hits_per_party]


@pytest.fixture
async def pooled(all_entries: list[ListEntry]):
    """A state over 3,000 shipped entries with a running pool of two workers."""
    state = ScreeningState(Thresholds())
    await state.replace_entries(all_entries[:3000])
    pool = MatchPool(size=2, matcher=state.matcher, generation=lambda: state.generation,
                     handler=screening.pool_handler(state), debounce_s=0.05, tick_s=0.02)
    state.pool = pool
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    for _ in range(500):
        if pool.fresh:
            break
        await asyncio.sleep(0.01)
    assert pool.fresh and len(pool.workers) == 2
    yield state, pool
    stop.set()
    await asyncio.wait_for(task, 30)
    state.matcher.close()


async def _screen(state: ScreeningState, parties: list[Party]):
    return (await screening.screen_parties(state=state, cmd=ScreenParties(
        parties=tuple(parties)))).hits


async def _until(cond, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_the_pool_gives_the_hits_of_the_matcher_thread(pooled, all_entries):
    state, pool = pooled
    parties = _sample(all_entries[:3000], 400)
    parties += parties[:50]  # repeats in one batch are screened once, answered each time
    via_pool = await _screen(state, parties)
    served = pool.chunks
    assert served >= 8  # 400 distinct parties in chunks of at most 50, all on the workers
    state.pool = None
    in_process = await _screen(state, parties)
    state.pool = pool
    assert _flat(via_pool) == _flat(in_process)
    assert sum(1 for hits in via_pool if hits) > 150  # listed names and their typos hit
    assert _flat(via_pool[400:]) == _flat(via_pool[:50])
    pids = {w.pid for w in pool.workers}
    assert os.getpid() not in pids and len(pids) == 2


async def test_a_list_change_is_never_answered_from_the_stale_workers(pooled):
    state, pool = pooled
    party = Party(NEW_NAME)
    before = await _screen(state, [party, Party("Someone Else Entirely Ltd")])
    assert before[0] == []
    old_pids = {w.pid for w in pool.workers}
    entry = ListEntry("prc-control-list:pool-test", ListKind.CONTROL_LIST, (NEW_NAME,),
                      party_type=PartyType.ENTITY)
    await state.apply_committed(ListChange(put=[entry]))
    assert not pool.fresh  # the workers' copy has no such entry
    served = pool.chunks
    # at once after the change: answered in process, with the new entry
    after = await _screen(state, [party, Party("Someone Else Entirely Ltd")])
    assert [h.entry_id for h in after[0]] == ["prc-control-list:pool-test"]
    assert pool.chunks == served
    # the batch asked for a fresh pool: forked again once the index is quiet
    await _until(lambda: pool.fresh)
    assert not old_pids & {w.pid for w in pool.workers}
    again = await _screen(state, [party, Party("Someone Else Entirely Ltd")])
    assert pool.chunks > served  # now from the new workers, which know the entry
    assert [h.entry_id for h in again[0]] == ["prc-control-list:pool-test"]
    # and a removal: the workers that know the entry get no more work
    await state.apply_committed(ListChange(removed=["prc-control-list:pool-test"]))
    assert (await _screen(state, [party, Party("Someone Else Entirely Ltd")]))[0] == []
    await _until(lambda: pool.fresh)
    assert (await _screen(state, [party, Party("Someone Else Entirely Ltd")]))[0] == []
    for pid in old_pids:  # the retired workers exited and were collected
        await _until(lambda pid=pid: not _exists(pid))


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return not done
    return False


async def test_a_dead_worker_is_replaced_and_its_chunk_still_answered(pooled, all_entries):
    state, pool = pooled
    parties = _sample(all_entries[:3000], 200, seed=9)
    expected = _flat(await _screen(state, parties))
    victim = pool.workers[0].pid
    os.kill(victim, signal.SIGKILL)
    assert _flat(await _screen(state, parties)) == expected  # nothing lost meanwhile
    await _until(lambda: pool.replaced >= 1 and len(pool.alive) == 2 and pool.fresh)
    assert victim not in {w.pid for w in pool.workers}
    served = pool.chunks
    assert _flat(await _screen(state, parties)) == expected
    assert pool.chunks > served
    assert not _exists(victim)


async def test_the_queue_is_bounded():
    state = ScreeningState(Thresholds())
    pool = MatchPool(size=1, matcher=state.matcher, generation=lambda: state.generation,
                     handler=screening.pool_handler(state), max_queue=0)
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    await _until(lambda: pool.fresh)
    with pytest.raises(MatcherBusy) as exc:
        await pool.run_chunk(([Party("A B")], None, None, 20))
    assert exc.value.reason == "SCREENING_BUSY"
    stop.set()
    await asyncio.wait_for(task, 30)
    state.matcher.close()


async def test_the_workers_stop_with_the_pool(all_entries):
    state = ScreeningState(Thresholds())
    await state.replace_entries(all_entries[:200])
    pool = MatchPool(size=2, matcher=state.matcher, generation=lambda: state.generation,
                     handler=screening.pool_handler(state))
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    await _until(lambda: pool.fresh)
    pids = [w.pid for w in pool.workers]
    stop.set()
    await asyncio.wait_for(task, 30)
    assert all(not _exists(pid) for pid in pids)
    assert not pool.fresh
    with pytest.raises(Exception, match="stale"):
        await pool.run_chunk(([Party("A B")], None, None, 20))
    state.matcher.close()


_ORPHAN_SCRIPT = """
import asyncio, sys, time
from stc_screening.domain.matching import Thresholds
from stc_screening.match_pool import MatchPool
from stc_screening.service import screening
from stc_screening.service.state import ScreeningState

async def main():
    state = ScreeningState(Thresholds())
    pool = MatchPool(size=2, matcher=state.matcher, generation=lambda: state.generation,
                     handler=screening.pool_handler(state))
    task = asyncio.create_task(pool.run(asyncio.Event()))
    while not pool.fresh:
        await asyncio.sleep(0.01)
    print("PIDS", *(w.pid for w in pool.workers), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever adopts it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_the_workers_exit_when_the_service_is_killed():
    """kill -9 of the service leaves no matcher process behind (none would hold its port)."""
    import sys

    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _ORPHAN_SCRIPT,
                                                stdout=asyncio.subprocess.PIPE,
                                                env=dict(os.environ))
    try:
        assert proc.stdout is not None
        line = ""
        while not line.startswith("PIDS"):  # (the pool's log lines go to stdout too)
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            assert line, "the service process ended"
        pids = [int(p) for p in line.split()[1:]]
        assert len(pids) == 2 and all(_running(p) for p in pids)
        proc.kill()
        await asyncio.wait_for(proc.wait(), 10)
        await _until(lambda: not any(_running(p) for p in pids), seconds=10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_the_default_size_follows_the_usable_cores(tmp_path):
    from stc_screening.match_pool import MAX_DEFAULT_SIZE, default_size, usable_cores

    assert default_size(1) == 0 and default_size(2) == 2 and default_size(64) == MAX_DEFAULT_SIZE
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")  # a container limited to 1.5 CPUs
    assert usable_cores(str(quota)) == min(2, len(os.sched_getaffinity(0)))
    quota.write_text("max 100000\n")
    assert usable_cores(str(quota)) == len(os.sched_getaffinity(0))

"""The matcher thread: jobs run off the event loop, one at a time, in order, with a bounded
queue; index changes go through the same thread; the index sync's entry-id check."""

from __future__ import annotations

import asyncio
import threading

import pytest
from stc_screening.events.index_sync import valid_entry_id
from stc_screening.matcher import Matcher, MatcherBusy


async def test_jobs_run_on_one_thread_off_the_loop_while_the_loop_keeps_running():
    matcher = Matcher()
    loop, loop_thread = asyncio.get_running_loop(), threading.get_ident()
    started, loop_ran = asyncio.Event(), threading.Event()

    def job() -> int:
        # blocks until the event loop has run code meanwhile: only possible off the loop
        loop.call_soon_threadsafe(started.set)
        assert loop_ran.wait(timeout=60), "the event loop did not run while a job ran"
        return threading.get_ident()

    first = asyncio.create_task(matcher.run(job))
    await started.wait()  # the loop keeps turning while the job is running
    loop_ran.set()
    threads = [await first, *await asyncio.gather(matcher.run(job), matcher.run(job))]
    assert len(set(threads)) == 1 and threads[0] != loop_thread
    matcher.close()


async def test_changes_and_jobs_run_in_submission_order():
    matcher = Matcher()
    seen: list[str] = []
    await asyncio.gather(matcher.run(seen.append, "screen-1"),
                         matcher.run_always(seen.append, "change"),
                         matcher.run(seen.append, "screen-2"))
    assert seen == ["screen-1", "change", "screen-2"]
    matcher.close()


async def test_a_full_queue_refuses_rpcs_but_not_committed_changes():
    matcher = Matcher(max_queue=2)
    gate = threading.Event()
    first = asyncio.create_task(matcher.run(gate.wait, 5))
    second = asyncio.create_task(matcher.run(lambda: "queued"))
    await asyncio.sleep(0.05)
    with pytest.raises(MatcherBusy) as exc:
        await matcher.run(lambda: "refused")
    assert exc.value.code == "RESOURCE_EXHAUSTED" and exc.value.reason == "SCREENING_BUSY"
    change = asyncio.create_task(matcher.run_always(lambda: "applied"))
    gate.set()
    assert await first is True and await second == "queued" and await change == "applied"
    assert matcher.queued == 0
    matcher.close()


def test_entry_ids_the_service_would_never_issue_are_refused():
    assert valid_entry_id("prc-control-list:3f2a9c1e0b7d4e21")
    assert valid_entry_id("ofac-sdn:12345")
    assert not valid_entry_id("")
    assert not valid_entry_id("prc-control-list:bad\x00id")
    assert not valid_entry_id("a\nb") and not valid_entry_id("x" * 201)

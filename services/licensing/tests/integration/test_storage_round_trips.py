"""The storage statements merged for speed (issue 14) against real PostgreSQL: a history step
(application saved, steps appended, watchers notified) in one round trip, an operator read with
its export history (Art. 14) in one, an assessment with its policy version in one; and the
watch listener kept open between watches instead of reconnecting per stream; the operator
read bringing the credit standing and the temporary controls' version, the register kept in
memory per version and never stale, and the decision's assessment read with its record."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
import pytest
from stc_common.db.pool import create_pool
from stc_licensing.api.watch import CHANNEL, HistoryNotifier
from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import model
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.storage.ports import AppRow, HistoryStep
from stc_licensing.storage.sql import (
    SqlApplications,
    SqlAssessments,
    SqlOperators,
    SqlStandings,
    SqlUnitOfWork,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(env):
    """A pool with the service's codecs (jsonb as Python objects)."""
    p = await create_pool(env.dsn, max_size=2)
    yield p
    await p.close()


class Counting:
    """The connection, counting the statements (round trips) sent through it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.calls = conn, 0

    def __getattr__(self, name):
        target = getattr(self.conn, name)
        if name in ("execute", "fetch", "fetchrow", "fetchval", "executemany"):
            async def counted(*args, **kwargs):
                self.calls += 1
                return await target(*args, **kwargs)
            return counted
        return target


async def _applicant(conn, h) -> str:
    """A registered operator's USCC (applications reference it)."""
    uscc = h.new_uscc()
    assert await SqlOperators(conn).add(model.ExportOperator(uscc, "某公司", "Some Co", "Beijing"))
    return uscc


def _row(uscc: str) -> AppRow:
    now = dt.datetime.now(dt.UTC)
    return AppRow(
        id=str(uuid.uuid4()), reference=f"MOFCOM-2026-{uuid.uuid4().int % 10**6:06d}",
        exporter_uscc=uscc, request_id=uuid.uuid4().hex, authority="MOFCOM",
        state=model.ApplicationState.SUBMITTED, content={"exporter_uscc": uscc},
        submitted_at=now, accepted_on=now.date(), pauses=(), deadline=None,
        deadline_exact=True, flags=[], licence_id=None, reconsideration_used=False,
        breach_reported=False, updated_at=now)


async def test_a_history_step_is_one_round_trip_and_notifies_watchers(env, pool, h):
    listener = await asyncpg.connect(env.dsn)
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda c, pid, ch, payload: woken.put_nowait(payload))
    conn = await pool.acquire()
    try:
        row = _row(await _applicant(conn, h))
        async with conn.transaction():
            apps = SqlApplications(conn)
            assert await apps.add(row)
            counting = Counting(conn)
            apps.conn = counting
            row.state, row.flags = model.ApplicationState.SCREENING, ["F1"]
            assert await apps.save_step(row, "STATE_CHANGED", "one", b"snap-1") == 1
            row.state = model.ApplicationState.UNDER_REVIEW
            assert await apps.save_step(row, "ASSESSED", "two", b"snap-2", None) == 2
            assert counting.calls == 2  # was six: save, append, notify per step
            row.state = model.ApplicationState.APPROVED
            assert await apps.save_steps(row, [
                HistoryStep("STATE_CHANGED", "UNDER_REVIEW", "three", b"snap-3", None),
                HistoryStep("STATE_CHANGED", "APPROVED", "four", b"snap-4", None)]) == 4
            assert counting.calls == 3  # two steps, one round trip
        stored = await SqlApplications(conn).get(row.id)
        assert stored is not None and stored.state == model.ApplicationState.APPROVED
        assert stored.flags == ["F1"]
        steps = await SqlApplications(conn).history_after(row.id, 0)
        assert [(s["sequence"], s["kind"], s["state"], s["note"], bytes(s["snapshot"]))
                for s in steps] == [(1, "STATE_CHANGED", "SCREENING", "one", b"snap-1"),
                                    (2, "ASSESSED", "UNDER_REVIEW", "two", b"snap-2"),
                                    (3, "STATE_CHANGED", "UNDER_REVIEW", "three", b"snap-3"),
                                    (4, "STATE_CHANGED", "APPROVED", "four", b"snap-4")]
        assert await asyncio.wait_for(woken.get(), 10) == row.id  # delivered at commit
    finally:
        await pool.release(conn)
        await listener.close()


async def test_an_operator_read_carries_its_export_history_in_one_round_trip(env, pool, h):
    conn = await pool.acquire()
    try:
        uscc, fresh = h.new_uscc(), h.new_uscc()
        ops = SqlOperators(conn)
        for u in (uscc, fresh):
            assert await ops.add(model.ExportOperator(u, "某公司", "Some Co", "Beijing"))
        day = dt.date.today()
        for keys, exports in ((["eu-a", "eu-b"], 2), (["eu-b"], 1), (["eu-c"], 0)):
            row = _row(uscc)
            await SqlApplications(conn).add(row)
            lic = str(uuid.uuid4())
            await conn.execute(
                """INSERT INTO licences (id, application_id, holder_uscc, authority,
                     licence_type, destination, end_user_keys, items, issued_on, valid_from,
                     valid_until, state)
                   VALUES ($1, $2, $3, 'MOFCOM', 'SINGLE', 'DE', $4, '[]'::jsonb, $5, $5, $5,
                     'ACTIVE')""", lic, row.id, uscc, keys, day)
            for n in range(exports):
                await conn.execute(
                    """INSERT INTO licence_usage (licence_id, export_id, exported_on, lines)
                       VALUES ($1, $2, $3, '[]'::jsonb)""", lic, f"x{n}", day)
        counting = Counting(conn)
        found = await SqlOperators(counting).get(uscc)
        assert counting.calls == 1  # was three
        assert found is not None
        op, registered_at = found
        # eu-c's licence was never used: not an established end user (Art. 14)
        assert op.licensed_exports == 3 and op.established_end_users == {"eu-a", "eu-b"}
        assert isinstance(registered_at, dt.datetime)
        async with conn.transaction():
            locked = await SqlOperators(conn).get(fresh, for_update=True)
        assert locked is not None and locked[0].licensed_exports == 0
        assert locked[0].established_end_users == frozenset()
        assert await SqlOperators(conn).get(h.new_uscc()) is None
    finally:
        await pool.release(conn)


async def _assess(assessments: SqlAssessments, assessment_id: str, application_id: str,
                  policy_hash: str, *, recommendation: str = "GRANT", body: bytes = b"b",
                  inputs: str | None = '{"a": 1}',
                  policy_content: str | None = '{"version": "2026.1"}') -> None:
    """Store one assessment under policy version 2026.1 (`policy_hash`)."""
    await assessments.add(
        assessment_id=assessment_id, application_id=application_id, screening_id="s",
        recommendation=recommendation, policy_version="2026.1", policy_hash=policy_hash,
        inputs_hash="i", assessed_on=dt.date.today(), assessed_at=dt.datetime.now(dt.UTC),
        body=body, inputs=inputs, policy_content=policy_content)


async def test_an_assessment_and_its_policy_version_are_one_round_trip(env, pool, h):
    conn = await pool.acquire()
    try:
        row = _row(await _applicant(conn, h))
        await SqlApplications(conn).add(row)
        policy_hash = uuid.uuid4().hex
        counting = Counting(conn)
        assessments = SqlAssessments(counting)
        for n in range(2):  # the second assessment under the same policy version
            await _assess(assessments, f"{policy_hash}-{n}", row.id, policy_hash)
        await _assess(assessments, f"{policy_hash}-old", row.id, uuid.uuid4().hex,
                      recommendation="DENY", inputs=None,
                      policy_content=None)  # no policy content given: none stored
        assert counting.calls == 3  # was five
        rec = await SqlAssessments(conn).record(f"{policy_hash}-1")
        assert rec is not None and rec["policy_content"] == '{"version": "2026.1"}'
        assert rec["inputs"] == '{"a": 1}' and rec["recommendation"] == "GRANT"
        old = await SqlAssessments(conn).record(f"{policy_hash}-old")
        assert old is not None and old["policy_content"] is None and old["inputs"] is None
        assert await conn.fetchval("SELECT count(*) FROM policy_versions WHERE hash = $1",
                                   policy_hash) == 1
    finally:
        await pool.release(conn)


async def test_the_watch_listener_stays_open_between_watches_then_closes(env):
    notifier = HistoryNotifier(env.dsn, linger_s=0.3)
    first = await notifier.subscribe("a")
    conn = notifier.conn
    assert conn is not None and not conn.is_closed()
    await notifier.unsubscribe("a", first)
    again = await notifier.subscribe("b")  # the next watch: the same connection
    assert notifier.conn is conn
    await conn.execute("SELECT pg_notify($1, 'b')", CHANNEL)
    await asyncio.wait_for(again.wait(), 10)
    await notifier.unsubscribe("b", again)
    for _ in range(100):  # the linger runs out: closed
        if conn.is_closed():
            break
        await asyncio.sleep(0.05)
    assert conn.is_closed() and notifier.conn is None


def _measure(code: str) -> tc.TemporaryControl:
    today = dt.date.today()
    return tc.TemporaryControl(f"m-{uuid.uuid4().hex[:8]}", "MOFCOM announcement",
                               (tc.ControlledItem(control_code=code),), today,
                               today + dt.timedelta(days=400))  # no expiry alert due


async def test_the_operator_read_brings_standing_and_the_registers_version(env, pool, h):
    """Submit and assessment read operator, standing and (assessment, decision) the register:
    one statement when the register is unchanged since this process last read it; a measure
    committed by anyone before the operator read is always seen (Art. 9(2))."""
    conn = await pool.acquire()
    other = await pool.acquire()
    try:
        uscc = await _applicant(conn, h)
        await SqlStandings(conn).upsert(domain_inputs.CreditStanding(
            uscc=uscc, level=domain_inputs.CreditLevel.WARNED, active_record_count=2),
            dt.date.today())
        first = _measure("3A001")
        async with other.transaction():
            assert await SqlUnitOfWork(other, "t").temporary_controls.add(
                first, request_id=None, registered_by="officer")

        async def inputs() -> tuple[int, domain_inputs.CreditStanding, list[str]]:
            counting = Counting(conn)
            async with conn.transaction():
                uow = SqlUnitOfWork(counting, "t")
                assert await uow.operators.get(uscc) is not None
                standing = await uow.standings.get(uscc)
                ids = [m.measure.measure_id for m in await uow.temporary_controls.all()]
            return counting.calls, standing, ids

        await inputs()  # this process's copy of the register, at its version
        calls, standing, ids = await inputs()
        assert calls == 1  # was three: operator, standing, register
        assert standing.level == domain_inputs.CreditLevel.WARNED
        assert standing.active_record_count == 2
        assert first.measure_id in ids
        # another replica registers a measure: the next read sees it at once
        second = _measure("3A002")
        async with other.transaction():
            assert await SqlUnitOfWork(other, "t").temporary_controls.add(
                second, request_id=None, registered_by="officer")
        calls, _, ids = await inputs()
        assert calls == 2 and second.measure_id in ids  # the register read again
        # ... and so does a change to a measure (cancelled: its status)
        async with other.transaction():
            await SqlUnitOfWork(other, "t").temporary_controls.save(
                tc.cancel(second, dt.date.today(), "lifted"))
        async with conn.transaction():
            uow = SqlUnitOfWork(conn, "t")
            await uow.operators.get(uscc)
            got = {m.measure.measure_id: m.measure.status for m in
                   await uow.temporary_controls.all()}
        assert got[second.measure_id] == tc.MeasureStatus.CANCELLED
        # an operator without a standing row: GOOD, no second read either
        bare = await _applicant(conn, h)
        counting = Counting(conn)
        uow = SqlUnitOfWork(counting, "t")
        await uow.operators.get(bare)
        assert (await uow.standings.get(bare)).level == domain_inputs.CreditLevel.GOOD
        assert counting.calls == 1
    finally:
        await pool.release(other)
        await pool.release(conn)


async def test_a_measure_written_in_a_rolled_back_transaction_is_never_served(env, pool, h):
    """Its own uncommitted write is seen by the unit of work that made it, and by no one else,
    even though it bumped the register's version before rolling back."""
    conn = await pool.acquire()
    try:
        uscc = await _applicant(conn, h)
        ghost = _measure("1C350")
        tx = conn.transaction()
        await tx.start()
        uow = SqlUnitOfWork(conn, "t")
        await uow.operators.get(uscc)
        assert await uow.temporary_controls.add(ghost, request_id=None, registered_by="o")
        assert ghost.measure_id in [m.measure.measure_id for m in
                                    await uow.temporary_controls.all()]
        await tx.rollback()
        real = _measure("1C351")
        async with conn.transaction():  # the same version number, committed this time
            assert await SqlUnitOfWork(conn, "t").temporary_controls.add(
                real, request_id=None, registered_by="o")
        for _ in range(2):
            async with conn.transaction():
                uow = SqlUnitOfWork(conn, "t")
                await uow.operators.get(uscc)
                ids = [m.measure.measure_id for m in await uow.temporary_controls.all()]
            assert real.measure_id in ids and ghost.measure_id not in ids
    finally:
        await pool.release(conn)


async def test_the_decisions_assessment_read_brings_its_record(env, pool, h):
    conn = await pool.acquire()
    try:
        row = _row(await _applicant(conn, h))
        await SqlApplications(conn).add(row)
        policy_hash = uuid.uuid4().hex
        for n, rec in enumerate(("DENY", "GRANT")):
            await _assess(SqlAssessments(conn), f"{policy_hash}-{n}", row.id, policy_hash,
                          recommendation=rec, body=f"b{n}".encode())
        counting = Counting(conn)
        assessments = SqlAssessments(counting)
        assert await assessments.latest(row.id, with_record=True) == b"b1"
        rec = await assessments.record(f"{policy_hash}-1")
        assert counting.calls == 1  # was two
        assert rec == await SqlAssessments(conn).record(f"{policy_hash}-1")
        assert rec is not None and rec["recommendation"] == "GRANT"
        assert rec["policy_content"] == '{"version": "2026.1"}'
        assert await assessments.record(f"{policy_hash}-0") is not None  # not kept: read
        assert counting.calls == 2
        assert await assessments.latest(str(uuid.uuid4()), with_record=True) is None
    finally:
        await pool.release(conn)


async def test_a_use_cases_events_go_into_the_outbox_together_at_its_commit(env, pool):
    """Licensing's unit of work defers its outbox rows (stc_common `defer_outbox`): a decision
    that issues a licence writes its two events in one statement, at the end of its
    transaction; a use case that fails writes none."""
    from google.protobuf import wrappers_pb2
    from stc_licensing.storage.sql import unit_of_work

    topic = f"t-{uuid.uuid4().hex[:8]}"
    async with unit_of_work(pool, "/test") as uow:
        ids = [await uow.publish(topic, "a", wrappers_pb2.StringValue(value="decided")),
               await uow.publish(topic, "l", wrappers_pb2.StringValue(value="issued"))]
        assert await uow.conn.fetchval("SELECT count(*) FROM outbox WHERE topic = $1",
                                       topic) == 0  # not yet: at the commit
    with pytest.raises(RuntimeError):
        async with unit_of_work(pool, "/test") as uow:
            await uow.publish(topic, "x", wrappers_pb2.StringValue(value="never"))
            raise RuntimeError("refused")
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id::text AS eid, key FROM outbox WHERE topic = $1"
                                " ORDER BY id", topic)
    assert [(r["eid"], r["key"]) for r in rows] == [(ids[0], b"a"), (ids[1], b"l")]


async def test_an_application_is_numbered_as_it_is_stored(env, pool, h):
    """The reference counter and the insert in one statement; an idempotent retry stores
    nothing (a number is used up: gaps are allowed, repeats never)."""
    conn = await pool.acquire()
    try:
        uscc = await _applicant(conn, h)
        year = 2000 + uuid.uuid4().int % 900  # a counter of this test's own
        counting = Counting(conn)
        apps = SqlApplications(counting)
        first, second = _row(uscc), _row(uscc)
        assert await apps.add_numbered(first, "MOFCOM", year)
        assert counting.calls == 1  # was two: next_reference, add
        assert first.reference == f"MOFCOM-{year}-000001"
        retry = _row(uscc)
        retry.request_id = first.request_id
        assert not await apps.add_numbered(retry, "MOFCOM", year)
        assert await apps.add_numbered(second, "MOFCOM", year)
        assert second.reference == f"MOFCOM-{year}-000003"
        stored = await SqlApplications(conn).get(first.id)
        assert stored is not None and stored.reference == first.reference
        assert stored.content == first.content and stored.accepted_on == first.accepted_on
        await conn.execute("UPDATE reference_counters SET last_value = 999999 "
                           "WHERE authority = 'MOFCOM' AND year = $1", year)
        third = _row(uscc)
        assert await apps.add_numbered(third, "MOFCOM", year)
        assert third.reference == f"MOFCOM-{year}-1000000"  # as next_reference numbers it
    finally:
        await pool.release(conn)


async def test_a_watchs_first_read_brings_the_owner_with_the_steps(env, pool, h):
    """WatchApplication's visibility check and first history read: one statement."""
    conn = await pool.acquire()
    try:
        uscc = await _applicant(conn, h)
        row = _row(uscc)
        apps = SqlApplications(conn)
        assert await apps.add(row)
        row.state = model.ApplicationState.SCREENING
        await apps.save_steps(row, [
            HistoryStep("STATE_CHANGED", "SUBMITTED", "one", b"snap-1", None),
            HistoryStep("STATE_CHANGED", "SCREENING", "two", b"snap-2", None)])
        counting = Counting(conn)
        owner, steps = await SqlApplications(counting).owner_and_history(row.id, 0)
        assert counting.calls == 1  # was two
        assert owner == (uscc, "MOFCOM")
        assert [(s["sequence"], s["note"], s["snapshot"]) for s in steps] == [
            (1, "one", b"snap-1"), (2, "two", b"snap-2")]
        # the same columns as a later history read gives (mapping.application_update)
        assert [{k: v for k, v in dict(s).items() if not k.startswith("_owner")}
                for s in steps] == [dict(s) for s in
                                    await SqlApplications(conn).history_after(row.id, 0)]
        owner, steps = await SqlApplications(conn).owner_and_history(row.id, 2)
        assert owner == (uscc, "MOFCOM") and steps == []  # nothing new: still its owner
        assert await SqlApplications(conn).owner_and_history(str(uuid.uuid4()), 0) == (None, [])
    finally:
        await pool.release(conn)


async def test_a_watch_reads_a_long_history_page_after_page_without_waiting(env, pool, h):
    """A watch that starts behind a history longer than one read (HISTORY_PAGE steps) gets
    every step at once: it reads the next page right after a full one, and waits for a
    wake-up (or `fallback_s`, an hour here) only after a read that was not full."""
    from stc.licensing.v1 import application_pb2 as apb
    from stc.licensing.v1 import licensing_service_pb2 as spb
    from stc_common.auth.jwt import Principal, Role, set_principal
    from stc_licensing.api.servicer import LicensingServicer
    from stc_licensing.storage.ports import HISTORY_PAGE

    conn = await pool.acquire()
    try:
        uscc = await _applicant(conn, h)
        row = _row(uscc)
        assert await SqlApplications(conn).add(row)
        snapshot = apb.Application(application_id=row.id).SerializeToString()
        steps = [HistoryStep("STATE_CHANGED", "SUBMITTED", f"step {i}", snapshot, None)
                 for i in range(2 * HISTORY_PAGE + 5)]
        await SqlApplications(conn).save_steps(row, steps)
    finally:
        await pool.release(conn)
    servicer = LicensingServicer(pool, env.dsn, fallback_s=3600)
    servicer.notifier.linger_s = 0  # its listener closes as soon as the stream ends
    set_principal(Principal(subject="t", role=Role.EXPORTER, uscc=uscc))
    stream = servicer.WatchApplication(
        spb.WatchApplicationRequest(application_id=row.id, after_sequence=0), None)
    got = []

    async def read() -> None:
        async for update in stream:
            got.append(update.sequence)
            if len(got) == len(steps):
                return

    try:
        await asyncio.wait_for(read(), 60)  # without the page rule: an hour per page
    finally:
        await stream.aclose()
        for _ in range(100):
            if servicer.notifier.conn is None:
                break
            await asyncio.sleep(0.05)
    assert got == list(range(1, len(steps) + 1))

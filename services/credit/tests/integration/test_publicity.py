"""Publication deadlines and the end of publicity over real gRPC, Kafka and PostgreSQL.

- A record whose publication an officer holds (the decision being redacted of trade secrets
  and personal information) raises PublicationDeadlineAtRisk once when it comes within the
  margin of its 20-working-day deadline, under a clock the test controls.
- The end of a publicity period, and its early end by credit repair, is announced once
  (PublicityEnded) and the record leaves the public feed unless `include_ended`.
- Art. 39 personal bans are served to officers and auditors only (GetPersonBans).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import asyncpg
import grpc
import pytest
from stc.credit.v1 import credit_pb2, events_pb2
from stc.credit.v1 import credit_service_pb2 as pb
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.kafka.topics import CREDIT_PUBLICATION
from stc_common.testing.service import bearer
from stc_common.workdays import working_days_between
from stc_credit.domain.records import add_years

from .test_credit_flow import OFFICER, d, from_pb, random_uscc, stub, violation

pytestmark = pytest.mark.integration
HOLD = "decision text under redaction of trade secrets and personal information"


def _events(feed, uscc: str, name: str, cls):
    return [cls.FromString(e.data) for e in feed.envelopes(key=uscc) if e.type.endswith(name)]


async def test_held_record_raises_deadline_alert_once_then_is_published_on_release(
    credit, reader
):
    uscc = random_uscc()
    feed = await reader(CREDIT_PUBLICATION.name)
    start = credit.clock.day
    margin = credit.settings.deadline_margin_working_days
    channel, api = stub(credit.target)
    async with channel:
        req = violation(uscc, start, decision_date=d(start - dt.timedelta(days=1)),
                        publication_hold_reason=HOLD)
        rec = (await api.RecordViolation(req, metadata=OFFICER)).record
        assert not rec.published and rec.publication_hold_reason == HOLD
        deadline = from_pb(rec.publication_deadline)
        assert working_days_between(start, deadline) > margin
        await asyncio.sleep(1.2)  # two ticks: held, but far from the deadline
        assert not _events(feed, uscc, "PublicationDeadlineAtRisk",
                           events_pb2.PublicationDeadlineAtRisk)
        assert not _events(feed, uscc, "CreditRecordPublished", events_pb2.CreditRecordPublished)

        # the clock reaches the margin: one alert, naming the deadline and the days left
        day = start
        while working_days_between(day, deadline) > margin:
            day += dt.timedelta(days=1)
        credit.clock.day = day
        t0 = time.monotonic()
        env, _ = await feed.wait_match(
            lambda e, k: e.type.endswith("PublicationDeadlineAtRisk") and k == uscc.encode(),
            timeout=10)
        print(f"\nPublicationDeadlineAtRisk {time.monotonic() - t0:.2f}s after the clock moved")
        alert = events_pb2.PublicationDeadlineAtRisk.FromString(env.data)
        assert alert.record_id == rec.record_id and from_pb(alert.deadline) == deadline
        assert alert.working_days_left == working_days_between(day, deadline) <= margin

        # days later, still held: no second alert for the same record
        credit.clock.day = day + dt.timedelta(days=2)
        await asyncio.sleep(1.5)
        with pytest.raises(TimeoutError):
            await feed.wait_match(lambda e, k: False, timeout=0.5)  # collect what arrived
        alerts = _events(feed, uscc, "PublicationDeadlineAtRisk",
                         events_pb2.PublicationDeadlineAtRisk)
        assert len(alerts) == 1
        conn = await asyncpg.connect(credit.dsn)
        try:
            assert await conn.fetchval(
                "SELECT count(*) FROM deadline_alerts WHERE record_id = $1", rec.record_id) == 1
        finally:
            await conn.close()

        # only an officer lifts the hold; the record is then published the same day
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.ReleasePublicationHold(
                pb.ReleasePublicationHoldRequest(record_id=rec.record_id),
                metadata=bearer("exporter", uscc=uscc))
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
        released = (await api.ReleasePublicationHold(
            pb.ReleasePublicationHoldRequest(record_id=rec.record_id), metadata=OFFICER)).record
        assert released.published and released.publication_hold_reason == ""
        assert from_pb(released.published_on) == credit.clock.day <= deadline
        env, _ = await feed.wait_match(
            lambda e, k: e.type.endswith("CreditRecordPublished") and k == uscc.encode())
        assert events_pb2.CreditRecordPublished.FromString(env.data).record_id == rec.record_id
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.ReleasePublicationHold(
                pb.ReleasePublicationHoldRequest(record_id=rec.record_id), metadata=OFFICER)
        assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(err.value) == "PUBLICATION_NOT_HELD"


async def test_publicity_period_end_is_announced_once_and_hidden_from_the_feed(credit, reader):
    uscc = random_uscc()
    feed = await reader(CREDIT_PUBLICATION.name)
    start = credit.clock.day
    channel, api = stub(credit.target)
    async with channel:
        rec = (await api.RecordViolation(violation(uscc, start, publicity_months=3),
                                         metadata=OFFICER)).record
        assert rec.published
        ends = from_pb(rec.publicity_ends_on)
        credit.clock.day = ends  # the last day shown: still on the feed, nothing announced
        await asyncio.sleep(1.2)
        assert not _events(feed, uscc, "PublicityEnded", events_pb2.PublicityEnded)
        shown = await api.ListPublications(pb.ListPublicationsRequest(uscc=uscc))
        assert [p.record_id for p in shown.publications] == [rec.record_id]

        credit.clock.day = ends + dt.timedelta(days=1)
        t0 = time.monotonic()
        env, _ = await feed.wait_match(
            lambda e, k: e.type.endswith("PublicityEnded") and k == uscc.encode(), timeout=10)
        print(f"\nPublicityEnded {time.monotonic() - t0:.2f}s after the period ran out")
        ended = events_pb2.PublicityEnded.FromString(env.data)
        assert (ended.record_id, ended.uscc) == (rec.record_id, uscc)
        assert from_pb(ended.ended_on) == ends
        assert ended.reason == events_pb2.PUBLICITY_END_REASON_PERIOD_ELAPSED

        hidden = await api.ListPublications(pb.ListPublicationsRequest(uscc=uscc))
        assert list(hidden.publications) == []
        everything = await api.ListPublications(
            pb.ListPublicationsRequest(uscc=uscc, include_ended=True))
        assert [p.record_id for p in everything.publications] == [rec.record_id]

        credit.clock.day = ends + dt.timedelta(days=5)  # later ticks announce nothing more
        await asyncio.sleep(1.5)
        with pytest.raises(TimeoutError):
            await feed.wait_match(lambda e, k: False, timeout=0.5)  # collect what arrived
        assert len(_events(feed, uscc, "PublicityEnded", events_pb2.PublicityEnded)) == 1


async def test_credit_repair_announces_the_early_end_once(credit, reader):
    uscc = random_uscc()
    feed = await reader(CREDIT_PUBLICATION.name)
    start = credit.clock.day
    channel, api = stub(credit.target)
    async with channel:
        rec = (await api.RecordViolation(violation(uscc, start, publicity_months=12),
                                         metadata=OFFICER)).record
        later = start + dt.timedelta(days=120)
        credit.clock.day = later
        await api.RepairRecord(pb.RepairRecordRequest(
            request_id="repair-1", record_id=rec.record_id,
            repair_decision_no="信用修复〔2027〕7号", decided_on=d(later)), metadata=OFFICER)
        env, _ = await feed.wait_match(
            lambda e, k: e.type.endswith("PublicityEnded") and k == uscc.encode(), timeout=10)
        ended = events_pb2.PublicityEnded.FromString(env.data)
        assert ended.record_id == rec.record_id
        assert ended.reason == events_pb2.PUBLICITY_END_REASON_CREDIT_REPAIR
        assert from_pb(ended.ended_on) == later - dt.timedelta(days=1)  # last day shown
        assert list((await api.ListPublications(
            pb.ListPublicationsRequest(uscc=uscc))).publications) == []

        # the scheduled end passes later: the end was announced already, not again
        credit.clock.day = from_pb(rec.publicity_ends_on) + dt.timedelta(days=1)
        await asyncio.sleep(1.5)
        with pytest.raises(TimeoutError):
            await feed.wait_match(lambda e, k: False, timeout=0.5)
        assert len(_events(feed, uscc, "PublicityEnded", events_pb2.PublicityEnded)) == 1


async def test_person_bans_for_officers_and_auditors_only(credit):
    uscc, other = random_uscc(), random_uscc()
    start = credit.clock.day
    person = "11010119800101003x"  # recorded with a lower-case check letter
    channel, api = stub(credit.target)
    async with channel:
        five = (await api.RecordViolation(violation(
            uscc, start, effective_date=d(start - dt.timedelta(days=1)),
            responsible_persons=[
                credit_pb2.ResponsiblePerson(name="王五", id_number=person),
                credit_pb2.ResponsiblePerson(name="赵六", id_number="110101198502020011"),
            ]), metadata=OFFICER)).record
        life = (await api.RecordViolation(violation(
            other, start, decision_date=d(start - dt.timedelta(days=2)),  # a later decision
            responsible_persons=[credit_pb2.ResponsiblePerson(
                name="王五", id_number=person.upper(), criminally_convicted=True)]),
            metadata=OFFICER)).record

        for token in (OFFICER, bearer("auditor")):
            bans = (await api.GetPersonBans(pb.GetPersonBansRequest(
                id_number=person.upper()), metadata=token)).bans
            assert [(b.record_id, b.uscc, b.for_life) for b in bans] == [
                (five.record_id, uscc, False), (life.record_id, other, True)]
            assert all(b.name == "王五" and b.in_force for b in bans)
            assert from_pb(bans[0].banned_from) == start - dt.timedelta(days=1)
            assert from_pb(bans[0].until) == add_years(start - dt.timedelta(days=1), 5)
            assert not bans[1].HasField("until") and bans[1].criminally_convicted

        none = await api.GetPersonBans(pb.GetPersonBansRequest(id_number="X0000000"),
                                       metadata=OFFICER)
        assert list(none.bans) == []
        # five years later the ordinary ban has run out; the life ban has not
        credit.clock.day = add_years(start - dt.timedelta(days=1), 5) + dt.timedelta(days=1)
        later = (await api.GetPersonBans(pb.GetPersonBansRequest(id_number=person),
                                         metadata=OFFICER)).bans
        assert [b.in_force for b in later] == [False, True]

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.GetPersonBans(pb.GetPersonBansRequest(id_number=" "), metadata=OFFICER)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert [f for f, _ in field_violations(err.value)] == ["id_number"]
        # never the enterprise itself (even for its own decision), an importer, or the public
        for token in (bearer("exporter", uscc=uscc),
                      bearer("importer", licence="LIC-1", party="p-imp")):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await api.GetPersonBans(pb.GetPersonBansRequest(id_number=person),
                                        metadata=token)
            assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.GetPersonBans(pb.GetPersonBansRequest(id_number=person))
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED

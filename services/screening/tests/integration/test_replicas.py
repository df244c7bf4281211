"""Two screening replicas, started as processes at the same moment on one empty database
(as a Deployment with two replicas starts them): neither exits, the shipped lists are
imported once, and a list change made through either replica reaches the other's in-memory
index (the lag is printed)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.screening.v1 import events_pb2 as ev
from stc.screening.v1 import screening_service_pb2 as pb
from stc.screening.v1 import screening_service_pb2_grpc
from stc_common.testing.fixtures import create_database, drop_database
from stc_common.testing.service import bearer, free_port, wait_grpc_ready

pytestmark = pytest.mark.integration
OFFICER = bearer("officer", authority="MOFCOM", subject="officer-replicas")


async def _start(dsn: str, kafka: str, port: int, group: str, log: Path):
    env = {**os.environ, "STC_DATABASE_URL": dsn, "STC_KAFKA_BOOTSTRAP_SERVERS": kafka,
           "STC_GRPC_PORT": str(port), "STC_METRICS_PORT": "0",
           "STC_CONSUMER_GROUP_PREFIX": group, "STC_RELAY_POLL_INTERVAL_S": "0.05",
           "STC_LOG_LEVEL": "INFO"}
    out = log.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stc_screening", "serve", env=env, stdout=out, stderr=out)
    out.close()
    return proc


async def _wait_for(fn, timeout: float = 20.0):
    """Poll ``fn`` (async) until it returns a truthy value; return (value, seconds)."""
    t0 = time.perf_counter()
    while True:
        got = await fn()
        if got:
            return got, time.perf_counter() - t0
        assert time.perf_counter() - t0 < timeout, "the other replica never caught up"
        await asyncio.sleep(0.02)


async def test_two_replicas_start_together_and_their_indexes_converge(
        kafka_bootstrap: str, pg_admin_dsn: str, tmp_path: Path):
    dsn = await create_database(pg_admin_dsn, "screening_replicas")
    group = f"t-{uuid.uuid4().hex[:8]}"
    ports = [free_port(), free_port()]
    logs = [tmp_path / "replica-a.log", tmp_path / "replica-b.log"]
    procs = []
    try:
        procs = [await _start(dsn, kafka_bootstrap, ports[i], group, logs[i]) for i in (0, 1)]
        t0 = time.perf_counter()
        await asyncio.gather(*(wait_grpc_ready(p, timeout=240) for p in ports))
        print(f"\ntwo replicas SERVING {time.perf_counter() - t0:.1f}s after a simultaneous "
              "start on an empty database")
        for proc, log in zip(procs, logs, strict=True):
            text = log.read_text(errors="replace")
            assert proc.returncode is None, text[-3000:]
            assert "UniqueViolation" not in text and "Traceback" not in text, text[-3000:]
        conn = await asyncpg.connect(dsn)
        try:
            runs = await conn.fetch("SELECT list_name, count(*) AS n FROM list_versions "
                                    "GROUP BY list_name")
            entries = await conn.fetchval("SELECT count(*) FROM list_entries")
        finally:
            await conn.close()
        assert runs and all(r["n"] == 1 for r in runs), runs  # imported once, not twice
        assert entries > 1000

        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports[0]}") as ca, \
                grpc.aio.insecure_channel(f"127.0.0.1:{ports[1]}") as cb:
            a = screening_service_pb2_grpc.ScreeningServiceStub(ca)
            b = screening_service_pb2_grpc.ScreeningServiceStub(cb)
            name = f"Replica Convergence {uuid.uuid4().hex[:6]} Trading Co"
            added = await a.AddListEntry(pb.AddListEntryRequest(
                entry=ev.ListEntry(list_kind=ev.LIST_KIND_CONTROL_LIST, primary_name=name,
                                   countries=["AE"]),
                reason="ECL Art. 18 (test)"), metadata=OFFICER)

            async def b_has_it():
                try:
                    return await b.GetListEntry(pb.GetListEntryRequest(entry_id=added.entry_id))
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.NOT_FOUND
                    return None

            got, lag_add = await _wait_for(b_has_it)
            assert got.primary_name == name
            hits = await b.ScreenParty(pb.ScreenPartyRequest(party=common_pb2.Party(name=name)),
                                       metadata=OFFICER)
            assert hits.hits and hits.hits[0].entry_id == added.entry_id
            await b.RemoveListEntry(pb.RemoveListEntryRequest(
                entry_id=added.entry_id, reason="Reg. 29 delisting (test)"), metadata=OFFICER)

            async def a_dropped_it():
                try:
                    await a.GetListEntry(pb.GetListEntryRequest(entry_id=added.entry_id))
                    return False
                except grpc.aio.AioRpcError as exc:
                    return exc.code() == grpc.StatusCode.NOT_FOUND

            _, lag_remove = await _wait_for(a_dropped_it)
            va = await a.SearchListEntries(pb.SearchListEntriesRequest(query=name))
            vb = await b.SearchListEntries(pb.SearchListEntriesRequest(query=name))
            assert [r.entry.entry_id for r in va.results] == [r.entry.entry_id
                                                              for r in vb.results]
            assert added.entry_id not in {r.entry.entry_id for r in va.results}
        print(f"replica lag: add through A seen by B after {lag_add * 1000:.0f} ms, "
              f"removal through B seen by A after {lag_remove * 1000:.0f} ms")
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await drop_database(pg_admin_dsn, dsn)

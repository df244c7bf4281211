"""What the real Envoy retries, and what it never sends twice (issue 14 item 4).

Two gRPC servers stand in for two replicas of the screening service: both answer the
standard health check SERVING (so the edge keeps both in the rotation), replica A answers
every call UNAVAILABLE, replica B answers every call. They are stand-ins on purpose: the
claim under test is the edge's retry policy, which needs a replica that fails on demand; the
real services behind the edge are in tests/e2e/test_replicas_edge.py. Each test gets a fresh
Envoy (outlier detection ejects A after its second failure, so its state must not carry over).

- A read (SearchListEntries) that lands on A is sent again, to B: the client sees every read
  succeed although A was asked.
- A write (AddListEntry, which creates a list entry) that lands on A is not sent again: the
  client sees UNAVAILABLE, and no write reached two replicas (its caller decides, with the
  request id, whether to retry).
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections import Counter

import grpc
import pytest
from grpc_health.v1 import health, health_pb2_grpc
from stc.screening.v1 import events_pb2 as epb
from stc.screening.v1 import screening_service_pb2 as spb
from stc.screening.v1 import screening_service_pb2_grpc as sgrpc
from stc_common.testing.service import free_port
from stc_edge.config import EdgeSettings
from stc_edge.testing import running_edge

pytestmark = pytest.mark.integration
CALLS = 30


class Replica(sgrpc.ScreeningServiceServicer):
    """Counts the calls it gets; `fails` answers each UNAVAILABLE."""

    def __init__(self, fails: bool) -> None:
        self.fails, self.calls = fails, Counter()

    async def _answer(self, rpc: str, context, reply):
        self.calls[rpc] += 1
        if self.fails:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "replica going away")
        return reply

    async def SearchListEntries(self, request, context):  # noqa: N802 - the gRPC name
        return await self._answer("search", context, spb.SearchListEntriesResponse())

    async def AddListEntry(self, request, context):  # noqa: N802 - the gRPC name
        return await self._answer("add", context, epb.ListEntry(primary_name="X"))


async def _start(replica: Replica) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    sgrpc.add_ScreeningServiceServicer_to_server(replica, server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, port


@pytest.fixture
async def edge_over_a_and_b(tmp_path):
    a, b = Replica(fails=True), Replica(fails=False)
    (sa, pa), (sb, pb) = await _start(a), await _start(b)
    s = EdgeSettings(port=free_port(), admin_port=free_port(), portal_dir=tmp_path,
                     screening_addr=f"127.0.0.1:{pa},127.0.0.1:{pb}")
    try:
        async with running_edge(s, tmp_path) as edge:
            for _ in range(300):  # both in the rotation: their first health check passed
                text = await asyncio.to_thread(_get, edge.admin_port, "/clusters")
                if len(re.findall(r"^screening::.*::health_flags::healthy$", text, re.M)) == 2:
                    break
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError("the replicas never became healthy at the edge")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as ch:
                yield sgrpc.ScreeningServiceStub(ch), a, b
    finally:
        await sa.stop(grace=None)
        await sb.stop(grace=None)


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


async def test_a_read_that_fails_unavailable_is_answered_by_the_other_replica(
        edge_over_a_and_b):
    stub, a, b = edge_over_a_and_b
    for _ in range(CALLS):
        await stub.SearchListEntries(spb.SearchListEntriesRequest(query="Ryonbong"),
                                     timeout=10)
    assert a.calls["search"] >= 1  # the edge did send reads to the failing replica …
    assert b.calls["search"] == CALLS  # … and every one of them was answered by the other


async def test_a_write_that_reached_a_replica_is_never_sent_again(edge_over_a_and_b):
    stub, a, b = edge_over_a_and_b
    failed = 0
    for i in range(CALLS):
        try:
            await stub.AddListEntry(spb.AddListEntryRequest(request_id=f"r-{i}"), timeout=10)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE
            failed += 1
    assert failed >= 1  # some writes landed on the failing replica …
    assert a.calls["add"] == failed  # … each failed where it landed …
    assert b.calls["add"] == CALLS - failed  # … and none was sent on to the other

"""The edge and the CLI over two replicas of a service (issue 14 item 4).

Two processes of the screening service (`screening`, `screening-2`, as `STC_REPLICAS=2 make
run` starts them) on one fresh database and the real Kafka, a real Envoy in front of them
configured with both addresses (STC_SCREENING_ADDR as a list, as deploy/procfile.sh passes
it). Public list searches (ECL Art. 18: the control list is public) through the edge, as native
gRPC and as JSON through the transcoder, reach both replicas: each replica's own
`stc_grpc_requests_total` counts its share. Then `screening` is killed with SIGKILL: calls
through the edge keep succeeding (the first within a bounded time, then every one), the edge
takes the dead replica out (health check or outlier detection, from its admin /clusters), the
survivor answers them all; and the `stc` CLI given both addresses keeps answering where the
CLI given only the dead one cannot.

The figures (share per replica, kill → first success, ejection time, Envoy's retry counters)
are printed (`-s`) for services/edge/README.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import grpc
import pytest
from stc.screening.v1 import screening_service_pb2 as spb
from stc.screening.v1 import screening_service_pb2_grpc as sgrpc
from stc_common.testing.platform import running_services
from stc_common.testing.service import free_port
from stc_edge.config import EdgeSettings
from stc_edge.testing import running_edge

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CALLS = 200  # before the kill, half native gRPC, half JSON
AFTER = 100  # after the first success following the kill
FIRST_SUCCESS_WITHIN = 15.0  # seconds from SIGKILL; typically well under one
QUERIES = ("Ryonbong", "洛克希德", "Lockheed", "Huawei", "Rosoboronexport")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def answered(metrics_port: int) -> int:
    """SearchListEntries calls a replica answered OK, from its own /metrics."""
    text = _get(f"http://127.0.0.1:{metrics_port}/metrics")
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("stc_grpc_requests_total{")
                   and "SearchListEntries" in line and 'code="OK"' in line))


def host_flags(admin_port: int, cluster: str) -> dict[str, str]:
    """health_flags of each host of one cluster, from Envoy's admin /clusters."""
    flags = {}
    for line in _get(f"http://127.0.0.1:{admin_port}/clusters").splitlines():
        m = re.fullmatch(rf"{cluster}::([\d.]+:\d+)::health_flags::(.*)", line)
        if m:
            flags[m.group(1)] = m.group(2)
    return flags


def stat(admin_port: int, name: str) -> int:
    text = _get(f"http://127.0.0.1:{admin_port}/stats?filter=^{re.escape(name)}$")
    m = re.search(rf"^{re.escape(name)}: (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0


async def wait_for(check, timeout: float, what: str) -> float:
    """Poll `check` (blocking, run in a thread) until true; the seconds it took."""
    t0 = time.perf_counter()
    while not await asyncio.to_thread(check):
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"{what} not within {timeout}s")
        await asyncio.sleep(0.1)
    return time.perf_counter() - t0


def stc(*args: str, screening_addr: str) -> subprocess.CompletedProcess:
    """The `stc` CLI as a person runs it, pointed at the given screening address(es)."""
    env = {**os.environ, "STC_SCREENING_ADDR": screening_addr, "STC_AS": "public"}
    return subprocess.run([sys.executable, "-m", "stc_cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
async def two(pg_admin_dsn, kafka_bootstrap, tmp_path_factory):
    """Two screening replicas and an edge over both; yields (processes, edge settings)."""
    async with running_services(ROOT, pg_admin_dsn, kafka_bootstrap, services=("screening",),
                                replicas=2) as procs:
        nowhere = {f"{s}_addr": f"127.0.0.1:{free_port()}"
                   for s in ("licensing", "enduser", "credit")}
        settings = EdgeSettings(
            port=free_port(), admin_port=free_port(),
            screening_addr=",".join(procs.replica_addresses("screening")),
            portal_dir=tmp_path_factory.mktemp("no-portal"),
            rate_limit_rps=10_000, rate_limit_burst=10_000, **nowhere)
        async with running_edge(settings, tmp_path_factory.mktemp("edge")) as edge:
            # both replicas in the rotation (their first health check passed)
            await wait_for(lambda: list(host_flags(edge.admin_port, "screening").values())
                           == ["healthy", "healthy"], 30, "both replicas healthy at the edge")
            yield procs, edge


def metrics_ports(procs) -> list[int]:
    env = procs.penv.env
    return [int(env["STC_SCREENING_METRICS_PORT"]), int(env["STC_SCREENING_METRICS_PORT_2"])]


async def search_grpc(stub, i: int, timeout: float = 10) -> spb.SearchListEntriesResponse:
    return await stub.SearchListEntries(
        spb.SearchListEntriesRequest(query=QUERIES[i % len(QUERIES)], page_size=3),
        timeout=timeout)


async def search_json(http, edge, i: int) -> int:
    async with http.get(f"http://127.0.0.1:{edge.port}/v1/listEntries:search",
                        params={"query": QUERIES[i % len(QUERIES)], "page_size": "3"}) as r:
        body = await r.json(content_type=None)
        assert r.status != 200 or "results" in body
        return r.status


async def test_calls_through_the_edge_reach_both_replicas(two):
    procs, edge = two
    ports = metrics_ports(procs)
    before = [await asyncio.to_thread(answered, p) for p in ports]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as ch, \
            aiohttp.ClientSession() as http:
        stub = sgrpc.ScreeningServiceStub(ch)
        for i in range(CALLS // 2):
            r = await search_grpc(stub, i)
            assert r.results, QUERIES[i % len(QUERIES)]
            assert await search_json(http, edge, i) == 200
    share = [await asyncio.to_thread(answered, p) - b for p, b in zip(ports, before,
                                                                       strict=True)]
    print(f"\n{CALLS} calls through the edge: screening {share[0]}, screening-2 {share[1]}")
    assert sum(share) == CALLS  # every call answered once, by one replica
    # least request over two idle replicas picks either at random: each gets a fair part
    # (below 25 % of 200 has a probability under 1e-12)
    assert min(share) >= CALLS // 4, share


async def test_replica_1_killed_calls_through_the_edge_and_the_cli_keep_succeeding(two):
    procs, edge = two
    both = ",".join(procs.replica_addresses("screening"))
    dead, alive = procs.replica_addresses("screening")
    survivor_before = await asyncio.to_thread(answered, metrics_ports(procs)[1])
    retries_before = stat(edge.admin_port, "cluster.screening.upstream_rq_retry")

    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as ch, \
            aiohttp.ClientSession() as http:
        stub = sgrpc.ScreeningServiceStub(ch)
        ejected = asyncio.create_task(wait_for(
            lambda: host_flags(edge.admin_port, "screening").get(dead) != "healthy", 30,
            "the dead replica out of the rotation"))
        killed = time.perf_counter()
        await procs.kill("screening")  # SIGKILL: no goodbye, no closing of connections
        failures, i = 0, 0
        while True:  # a plain client, no retries of its own: what the edge does alone
            try:
                await search_grpc(stub, i, timeout=5)
                break
            except grpc.aio.AioRpcError:
                failures += 1
                assert time.perf_counter() - killed < FIRST_SUCCESS_WITHIN, failures
                await asyncio.sleep(0.05)
            i += 1
        first_success = time.perf_counter() - killed
        for j in range(AFTER):  # from then on every call succeeds, native and JSON alike
            r = await search_grpc(stub, j)
            assert r.results
            assert await search_json(http, edge, j) == 200
        out_after = await ejected  # seconds from the kill until the edge marked it
        flags = host_flags(edge.admin_port, "screening")

    survivor = await asyncio.to_thread(answered, metrics_ports(procs)[1]) - survivor_before
    retries = stat(edge.admin_port, "cluster.screening.upstream_rq_retry") - retries_before
    ejections = stat(edge.admin_port,
                     "cluster.screening.outlier_detection.ejections_enforced_total")
    print(f"\nkill -9 screening: first success through the edge {first_success * 1000:.0f} ms"
          f" after the kill ({failures} calls failed before it); replica out of rotation"
          f" after {out_after:.2f} s ({flags[dead]}); edge retries {retries}, outlier"
          f" ejections {ejections}; screening-2 answered {survivor} of {1 + 2 * AFTER}")
    assert flags[alive] == "healthy" and flags[dead] != "healthy"
    assert survivor == 1 + 2 * AFTER  # the survivor answered everything after the kill

    # the CLI: with both addresses it keeps answering; with only the dead one it cannot
    for query in ("Ryonbong", "Lockheed"):
        r = await asyncio.to_thread(stc, "list", "search", query, "--json",
                                    screening_addr=both)
        assert r.returncode == 0, r.stdout + r.stderr
        assert query.upper() in r.stdout.upper()
    r = await asyncio.to_thread(stc, "list", "search", "Ryonbong", screening_addr=dead)
    assert r.returncode == 1 and "not reachable" in r.stdout + r.stderr

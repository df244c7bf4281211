"""The edge balances per call over every address a name resolves to (issue 14 item 5).

In a cluster (deploy/helm) the edge reaches each service through its headless Service: a
name that DNS answers with the address of every ready pod. Here a stub DNS server on loopback
plays that Service (`screening-headless.stc.test` → 127.0.0.2, 127.0.0.3 …) and three gRPC
servers on those loopback addresses, all on one port as pods are, stand in for the pods; the
edge is the real Envoy with the configuration the chart gives it (a name per service, resolved
again every `dns_refresh_seconds`). Stand-ins on purpose: the claim is what Envoy does with the
name (the real services behind the edge: tests/e2e/test_replicas_edge.py).

- One client connection to the edge, 60 calls: both pods answer (kube-proxy behind a ClusterIP
  Service would have pinned that connection, and all its calls, to one pod).
- The name changes (a pod terminates, a new one is ready): the edge stops sending to the one
  that left although it still answers and passes health checks, and sends to the new one.
- One pod of the name NOT_SERVING: it leaves the rotation and /healthz still answers 200.
- The name lists no pod: /healthz (readiness) fails, /livez (liveness) still answers 200.
- Without the edge: the CLI's channel on a `dns:` target (what the chart's grpc-clients
  ConfigMap gives in-cluster clients) spreads its calls over both pods too (round_robin).
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.request
from collections import Counter

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from stc.screening.v1 import screening_service_pb2 as spb
from stc.screening.v1 import screening_service_pb2_grpc as sgrpc
from stc_common.testing.service import free_port
from stc_edge.config import EdgeSettings
from stc_edge.testing import running_edge, stub_dns

pytestmark = pytest.mark.integration
NAME = "screening-headless.stc.test"
PODS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


class Pod(sgrpc.ScreeningServiceServicer):
    """Counts the searches it answers; `health` is what it tells the edge's health checks."""

    def __init__(self) -> None:
        self.calls = 0
        self.health = health.aio.HealthServicer()

    async def SearchListEntries(self, request, context):  # noqa: N802 - the gRPC name
        self.calls += 1
        return spb.SearchListEntriesResponse()


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


async def _healthy(admin_port: int) -> set[str]:
    """The screening endpoints the edge has and considers healthy."""
    _, text = await asyncio.to_thread(_get, admin_port, "/clusters")
    return set(re.findall(r"^screening::([0-9.]+):\d+::health_flags::healthy$", text, re.M))


async def _wait(cond, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := await cond()):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)
    return value


@pytest.fixture
async def edge_over_a_name(tmp_path):
    port = free_port()
    pods = {ip: Pod() for ip in PODS}
    servers = []
    for ip, pod in pods.items():
        server = grpc.aio.server()
        sgrpc.add_ScreeningServiceServicer_to_server(pod, server)
        health_pb2_grpc.add_HealthServicer_to_server(pod.health, server)
        server.add_insecure_port(f"{ip}:{port}")
        await server.start()
        servers.append(server)
    try:
        async with stub_dns() as (dns, dns_port):
            # the other services: one stand-in pod each, so /healthz hangs on screening alone
            names = {svc: f"{svc}-headless.stc.test" for svc in ("licensing", "enduser", "credit")}
            for name in names.values():
                dns.records[name] = [PODS[0]]
            dns.records[NAME] = list(PODS[:2])
            s = EdgeSettings(port=free_port(), admin_port=free_port(), portal_dir=tmp_path,
                             config_dir=tmp_path, dns_refresh_seconds=0.5,
                             dns_resolvers=f"127.0.0.1:{dns_port}",
                             screening_addr=f"{NAME}:{port}",
                             **{f"{svc}_addr": f"{n}:{port}" for svc, n in names.items()})
            async with running_edge(s, tmp_path) as edge:
                await _wait(lambda: _has(edge.admin_port, set(PODS[:2])),
                            "the two pods never became healthy at the edge")
                async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as ch:
                    yield sgrpc.ScreeningServiceStub(ch), pods, dns, edge, port
    finally:
        for server in servers:
            await server.stop(grace=None)


async def _has(admin_port: int, ips: set[str]) -> bool:
    return await _healthy(admin_port) == ips


async def _round(stub, pods: dict[str, Pod], n: int) -> Counter:
    """n sequential searches; how many each pod answered."""
    before = {ip: p.calls for ip, p in pods.items()}
    for _ in range(n):
        await stub.SearchListEntries(spb.SearchListEntriesRequest(query="x"), timeout=10)
    return Counter({ip: p.calls - before[ip] for ip, p in pods.items()})


async def test_one_connection_is_balanced_per_call_over_every_pod_of_the_name(
        edge_over_a_name):
    stub, pods, _, edge, _ = edge_over_a_name
    got = await _round(stub, pods, 60)
    a, b, c = PODS
    assert got[a] + got[b] == 60 and got[c] == 0  # C is not in the name
    assert got[a] >= 10 and got[b] >= 10, got  # both pods, from one connection
    _, stats = await asyncio.to_thread(_get, edge.admin_port, "/stats?filter=^http.edge.downstream_cx_total$")
    assert "http.edge.downstream_cx_total: 1" in stats  # one client connection it was


async def test_a_pod_that_leaves_the_name_gets_no_more_calls_and_a_new_one_does(
        edge_over_a_name):
    stub, pods, dns, edge, _ = edge_over_a_name
    a, b, c = PODS
    changed = time.monotonic()
    dns.records[NAME] = [a, c]  # B terminating (still answering and healthy), C ready

    async def followed():
        got = await _round(stub, pods, 10)
        return got[c] > 0 and got[b] == 0

    await _wait(followed, "the edge did not follow the name from {A, B} to {A, C}")
    print(f"\nname changed → calls follow it: {time.monotonic() - changed:.2f} s")
    assert await _healthy(edge.admin_port) == {a, c}
    got = await _round(stub, pods, 40)
    assert got[b] == 0, got  # B still serves, but the name no longer lists it
    assert got[a] + got[c] == 40 and got[a] >= 5 and got[c] >= 5, got


async def test_no_pod_behind_a_name_fails_readiness_but_not_liveness(edge_over_a_name):
    _, pods, dns, edge, _ = edge_over_a_name
    a, b, _ = PODS
    assert (await asyncio.to_thread(_get, edge.port, "/healthz"))[0] == 200
    # one of the two pods NOT_SERVING: out of the rotation, but the edge stays ready
    await pods[b].health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    await _wait(lambda: _has(edge.admin_port, {a}), "the edge kept the NOT_SERVING pod")
    assert (await asyncio.to_thread(_get, edge.port, "/healthz"))[0] == 200
    dns.records[NAME] = []  # no ready pod: the headless Service answers no address

    async def not_ready():
        return (await asyncio.to_thread(_get, edge.port, "/healthz"))[0] == 503

    await _wait(not_ready, "/healthz kept answering 200 with no screening pod")
    assert (await asyncio.to_thread(_get, edge.port, "/livez"))[0] == 200


async def test_a_cli_channel_on_a_dns_target_balances_per_call_too(edge_over_a_name):
    """What the chart's `<release>-grpc-clients` ConfigMap gives in-cluster clients:
    `dns:///<service>-headless:<port>`, which the CLI opens with round_robin (here with the
    stub as the DNS server, named in the target's authority)."""
    from stc_cli.context import channel_to

    _, pods, dns, _, port = edge_over_a_name
    dns_port = dns.transport.get_extra_info("sockname")[1]
    async with channel_to(f"dns://127.0.0.1:{dns_port}/{NAME}:{port}") as ch:
        got = await _round(sgrpc.ScreeningServiceStub(ch), pods, 40)
    a, b, c = PODS
    assert got[a] + got[b] == 40 and got[c] == 0
    assert got[a] >= 5 and got[b] >= 5, got  # round_robin over every address of the name

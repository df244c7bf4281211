"""The CLI's address lists (issue 14 item 4): STC_<SERVICE>_ADDR may name several replicas,
comma-separated; the channel spreads calls over all of them (gRPC round_robin) and keeps
answering when one stops. Checked against two real gRPC servers on loopback (the standard
health service, counting the calls each one answers); a malformed list is exit 2 naming the
entry and the reason."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from stc_cli import context
from stc_cli.context import AddressError, channel_to, grpc_target, replicas
from stc_cli.main import app
from stc_common.testing.service import free_port
from typer.testing import CliRunner


def test_one_address_stays_as_it_is():
    assert grpc_target("127.0.0.1:50051") == "127.0.0.1:50051"
    assert grpc_target(" licensing:50051 ") == "licensing:50051"
    assert grpc_target("dns:///licensing.stc.svc:50051") == "dns:///licensing.stc.svc:50051"


def test_a_list_becomes_one_target_over_every_replica():
    assert grpc_target("127.0.0.1:50051, 127.0.0.1:50061") == (
        "ipv4:127.0.0.1:50051,127.0.0.1:50061")
    assert grpc_target("[::1]:50051,[::1]:50061") == "ipv6:[::1]:50051,[::1]:50061"
    # a host name is resolved (IPv4 first); the same address twice is listed once
    assert grpc_target("localhost:50051,127.0.0.1:50061,127.0.0.1:50061") == (
        "ipv4:127.0.0.1:50051,127.0.0.1:50061")
    assert replicas("a:1,,b:2,") == ["a:1", "b:2"]


@pytest.mark.parametrize(("value", "reason"), [
    ("127.0.0.1:50051,127.0.0.1", "not host:port"),
    ("127.0.0.1:50051,127.0.0.1:70000", "port in 1-65535"),
    ("127.0.0.1:50051,[::1]:50061", "mixes IPv4 and IPv6"),
    ("127.0.0.1:1,no-such-host.invalid:2", "does not resolve"),
    (",", "no address given"),
])
def test_a_malformed_list_is_refused_with_the_reason(value, reason):
    with pytest.raises(AddressError, match=reason):
        grpc_target(value)


def test_the_cli_says_which_address_is_wrong(monkeypatch):
    monkeypatch.setitem(context.ADDRESSES, "screening", "127.0.0.1:50052,nonsense")
    r = CliRunner().invoke(app, ["list", "search", "Ryonbong"])
    assert r.exit_code == 2, r.output
    assert "'nonsense' is not host:port" in r.output
    assert "Traceback" not in r.output


class CountingHealth(health.aio.HealthServicer):
    """The standard health service, counting the checks it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def Check(self, request, context):  # noqa: N802 - the gRPC method name
        self.calls += 1
        return await super().Check(request, context)


async def _server() -> tuple[grpc.aio.Server, CountingHealth, int]:
    server = grpc.aio.server()
    servicer = CountingHealth()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, servicer, port


async def test_calls_spread_over_both_replicas_and_survive_one_stopping():
    (s1, h1, p1), (s2, h2, p2) = await _server(), await _server()
    try:
        async with channel_to(f"127.0.0.1:{p1},127.0.0.1:{p2}") as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            for _ in range(40):
                r = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5,
                                     wait_for_ready=True)
                assert r.status == health_pb2.HealthCheckResponse.SERVING
            # round robin: both answer (pick_first, grpc's default, would give one all 40)
            assert h1.calls + h2.calls == 40
            assert h1.calls >= 10 and h2.calls >= 10, (h1.calls, h2.calls)
            await s1.stop(grace=None)
            before = h2.calls
            for _ in range(20):  # a read: a call lost with replica 1 is retried on replica 2
                r = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert r.status == health_pb2.HealthCheckResponse.SERVING
            assert h2.calls - before >= 20
    finally:
        await s1.stop(grace=None)
        await s2.stop(grace=None)


async def test_status_shows_each_replica_and_fails_only_when_none_serves(monkeypatch):
    from stc_cli import main

    servers = [await _server() for _ in range(2)]
    dead = f"127.0.0.1:{free_port()}"
    ok = [f"127.0.0.1:{port}" for _, _, port in servers]
    monkeypatch.setattr(main, "EDGE", f"127.0.0.1:{free_port()}")  # no edge: not a failure
    try:
        for svc in ("licensing", "enduser", "credit"):
            monkeypatch.setitem(context.ADDRESSES, svc, ok[0])
        monkeypatch.setitem(context.ADDRESSES, "screening", f"{ok[1]},{dead}")
        r = await asyncio.to_thread(CliRunner().invoke, app, ["status"])
        assert r.exit_code == 0, r.output  # one replica of screening serves: it is up
        rows = [line for line in r.output.splitlines() if "screening" in line]
        assert len(rows) == 2 and "SERVING" in rows[0] and "UNAVAILABLE" in rows[1], rows
        monkeypatch.setitem(context.ADDRESSES, "screening", dead)
        r = await asyncio.to_thread(CliRunner().invoke, app, ["status"])
        assert r.exit_code == 1, r.output  # no replica of screening serves
    finally:
        for server, _, _ in servers:
            await server.stop(grace=None)

"""Benchmark: what the edge (Envoy) adds to a call, side by side with direct gRPC.

One unary RPC (LicensingService.GetOperator, a primary-key read in PostgreSQL), called
sequentially N times each way from one client on 127.0.0.1:
  direct gRPC → licensing;  native gRPC → edge → licensing;
  gRPC-Web (HTTP/1.1 keep-alive) → edge → licensing;  JSON GET → edge (transcoder) → licensing.
The licensing service runs in-process on a fresh database of the test stack; the edge is a
real Envoy process. Prints p50 / p95 / mean per way and the edge's added p50.

    make test-unit  # (or make up) for the stack;  then
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 STC_TEST_DATABASE_URL=postgresql://stc@127.0.0.1:55433/postgres \\
      .venv/bin/python bench/edge_latency.py [--calls 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("common", "licensing", "screening", "enduser", "credit", "cli", "edge"):
    sys.path.insert(0, str(ROOT / "services" / sub / "src"))

import aiohttp  # noqa: E402
import grpc  # noqa: E402
from stc.licensing.v1 import licensing_service_pb2 as lpb  # noqa: E402
from stc.licensing.v1 import licensing_service_pb2_grpc as lgrpc  # noqa: E402
from stc_common.auth.jwt import mint_token  # noqa: E402
from stc_common.testing.fixtures import create_database, drop_database  # noqa: E402
from stc_common.testing.service import free_port, running_service  # noqa: E402
from stc_common.uscc import make_uscc  # noqa: E402
from stc_edge import grpcweb  # noqa: E402
from stc_edge.config import EdgeSettings  # noqa: E402
from stc_edge.testing import running_edge  # noqa: E402

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def timed(n: int, call) -> list[float]:
    for _ in range(min(20, n)):  # warm-up: connections, caches
        await call()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def main(calls: int) -> None:
    from stc_licensing.config import LicensingSettings
    from stc_licensing.main import build_spec

    pg = os.environ.get("STC_TEST_DATABASE_URL", "postgresql://stc@127.0.0.1:55433/postgres")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    dsn = await create_database(pg, "bench_edge")
    uscc = make_uscc("91110000" + "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9]))
    token = mint_token(role="exporter", uscc=uscc, subject="bench")
    md = (("authorization", f"Bearer {token}"),)
    settings = LicensingSettings(database_url=dsn, grpc_port=free_port(),
                                 metrics_port=free_port(), kafka_bootstrap_servers=kafka,
                                 consumer_group_prefix=f"bench-{uuid.uuid4().hex}",
                                 log_level="WARNING")
    try:
        async with running_service(settings, build_spec(settings)) as port:
            edge_settings = EdgeSettings(port=free_port(), admin_port=free_port(),
                                         licensing_addr=f"127.0.0.1:{port}",
                                         portal_dir=Path(tempfile.mkdtemp()),
                                         rate_limit_rps=100_000, rate_limit_burst=100_000)
            with tempfile.TemporaryDirectory() as tmp:
                async with running_edge(edge_settings, Path(tmp)) as edge:
                    await run(calls, port, edge.port, uscc, md)
    finally:
        await drop_database(pg, dsn)


async def run(calls: int, port: int, edge_port: int, uscc: str, md) -> None:
    req = lpb.GetOperatorRequest(uscc=uscc)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as direct, \
            grpc.aio.insecure_channel(f"127.0.0.1:{edge_port}") as via_edge, \
            aiohttp.ClientSession() as http:
        await lgrpc.LicensingServiceStub(direct).RegisterOperator(lpb.RegisterOperatorRequest(
            uscc=uscc, name_zh="基准测试有限公司", name_en="Bench Co., Ltd.", address="北京"),
            metadata=md)
        d, e = lgrpc.LicensingServiceStub(direct), lgrpc.LicensingServiceStub(via_edge)
        web_body = grpcweb.frame(req.SerializeToString())
        headers = {"content-type": grpcweb.CONTENT_TYPE, "x-grpc-web": "1",
                   "authorization": md[0][1]}
        base = f"http://127.0.0.1:{edge_port}"

        async def grpc_web():
            async with http.post(base + "/stc.licensing.v1.LicensingService/GetOperator",
                                 data=web_body, headers=headers) as r:
                reply = grpcweb.parse(await r.read())
                assert reply.status == 0, reply.trailers

        async def json_get():
            async with http.get(f"{base}/v1/operators/{uscc}",
                                headers={"authorization": md[0][1]}) as r:
                assert r.status == 200, await r.text()
                await r.read()

        ways = {
            "direct gRPC": lambda: d.GetOperator(req, metadata=md),
            "gRPC via the edge": lambda: e.GetOperator(req, metadata=md),
            "gRPC-Web via the edge": grpc_web,
            "JSON via the edge": json_get,
        }
        results = {name: await timed(calls, call) for name, call in ways.items()}
    base_p50 = statistics.median(results["direct gRPC"])
    print(f"{calls} sequential GetOperator calls each, one client, 127.0.0.1")
    print(f"{'way':24} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'+p50 ms':>8}")
    for name, ms in results.items():
        p50 = statistics.median(ms)
        print(f"{name:24} {p50:8.2f} {pct(ms, 95):8.2f} {statistics.fmean(ms):8.2f} "
              f"{p50 - base_p50:+8.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=500)
    asyncio.run(main(ap.parse_args().calls))

"""The edge over real HTTP (a real Envoy in front of the real screening service): a public RPC
called with gRPC-Web framing as a browser sends it, the same RPC as JSON through the
transcoder, native gRPC through the same port, CORS only for the configured origin, bodies
over the limit refused before the service, and a refusal's field violations as JSON."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import grpc
import pytest
from stc.screening.v1 import events_pb2 as epb
from stc.screening.v1 import screening_service_pb2 as spb
from stc.screening.v1 import screening_service_pb2_grpc as sgrpc
from stc_common.auth.jwt import mint_token
from stc_edge import grpcweb

pytestmark = pytest.mark.integration
ALLOWED_ORIGIN = "https://portal.example.gov.cn"  # the conftest's edge allows it
SEARCH = "/stc.screening.v1.ScreeningService/SearchListEntries"


def base(edge) -> str:
    return f"http://127.0.0.1:{edge.port}"


async def grpc_web(edge, path: str, msg, headers: dict | None = None):
    async with aiohttp.ClientSession() as http, http.post(
            base(edge) + path, data=grpcweb.frame(msg.SerializeToString()),
            headers={"content-type": grpcweb.CONTENT_TYPE, "x-grpc-web": "1",
                     "origin": ALLOWED_ORIGIN, **(headers or {})}) as r:
        body = await r.read()
        return r, grpcweb.parse(body, {k.lower(): v for k, v in r.headers.items()})


async def test_public_search_by_chinese_name_over_grpc_web(edge):
    r, reply = await grpc_web(edge, SEARCH, spb.SearchListEntriesRequest(query="洛克希德",
                                                                         page_size=5))
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/grpc-web")
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert reply.status == 0, reply.trailers
    answer = spb.SearchListEntriesResponse.FromString(reply.messages[0])
    top = answer.results[0]
    assert top.entry.list_kind == epb.LIST_KIND_CONTROL_LIST
    assert "Lockheed Martin" in top.entry.primary_name + " ".join(top.entry.aliases)
    assert "洛克希德" in top.matched_name


async def test_grpc_web_error_carries_the_status_and_the_token_passes_through(edge):
    # ScreenParty needs a token: without one the service (not the edge) refuses it
    req = spb.ScreenPartyRequest(party={"name": "Korea Ryonbong General Corporation"})
    _, reply = await grpc_web(edge, "/stc.screening.v1.ScreeningService/ScreenParty", req)
    assert reply.status == grpc.StatusCode.UNAUTHENTICATED.value[0]
    token = mint_token(role="officer", authority="MOFCOM", subject="edge-test")
    _, reply = await grpc_web(edge, "/stc.screening.v1.ScreeningService/ScreenParty", req,
                              {"authorization": f"Bearer {token}"})
    assert reply.status == 0, reply.trailers
    hits = spb.ScreenPartyResponse.FromString(reply.messages[0]).hits
    assert any("RYONBONG" in h.entry_name.upper() for h in hits)


async def test_the_same_rpc_as_json_through_the_transcoder(edge):
    async with aiohttp.ClientSession() as http:
        async with http.get(base(edge) + "/v1/listEntries:search",
                            params={"query": "洛克希德·马丁公司", "page_size": "5"}) as r:
            assert r.status == 200
            assert r.headers["content-type"].startswith("application/json")
            body = await r.json()
        assert body["results"] and "entry" in body["results"][0]
        assert body["results"][0]["match_kind"].startswith("SEARCH_MATCH_KIND_")
        # a refusal is a JSON google.rpc.Status with the field and the reason
        async with http.get(base(edge) + "/v1/listEntries:search",
                            params={"query": "x" * 600}) as r:
            assert r.status == 400
            status = json.loads(await r.text())
        assert status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        bad = [d for d in status["details"] if d["@type"].endswith("BadRequest")]
        assert bad and bad[0]["field_violations"][0]["field"] == "query"
        assert "at most 300 characters" in bad[0]["field_violations"][0]["description"]


async def test_native_grpc_through_the_same_port(edge):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as ch:
        r = await sgrpc.ScreeningServiceStub(ch).SearchListEntries(
            spb.SearchListEntriesRequest(query="Ryonbong", page_size=3), timeout=10)
    assert r.results and "RYONBONG" in r.results[0].entry.primary_name.upper()


async def test_cors_only_for_the_configured_origins(edge):
    async with aiohttp.ClientSession() as http:
        for origin, allowed in ((ALLOWED_ORIGIN, True), ("https://evil.example", False)):
            async with http.options(base(edge) + SEARCH, headers={
                    "origin": origin, "access-control-request-method": "POST",
                    "access-control-request-headers": "content-type,x-grpc-web,authorization"}
                    ) as r:
                got = r.headers.get("access-control-allow-origin")
                if allowed:
                    assert got == origin
                    assert "authorization" in r.headers["access-control-allow-headers"]
                else:
                    assert got is None


async def test_a_body_over_the_limit_is_refused_at_the_edge(edge):
    big = spb.SearchListEntriesRequest(query="x" * (edge.max_request_bytes + 10))
    async with aiohttp.ClientSession() as http, http.post(
            base(edge) + SEARCH, data=grpcweb.frame(big.SerializeToString()),
            headers={"content-type": grpcweb.CONTENT_TYPE}) as r:
        assert r.status == 413


async def test_the_edge_health_says_which_way_it_is(edge):
    from stc_cli.main import edge_health
    from stc_common.testing.service import free_port

    # only the screening service is up behind this edge: not every service can be reached
    assert await asyncio.to_thread(edge_health, f"127.0.0.1:{edge.port}") == "NOT_SERVING"
    assert await asyncio.to_thread(edge_health, f"127.0.0.1:{free_port()}") == "UNAVAILABLE"


async def test_the_rate_limit_answers_429_before_the_service(screening_port, tmp_path):
    from stc_common.testing.service import free_port
    from stc_edge.config import EdgeSettings
    from stc_edge.testing import running_edge

    tight = EdgeSettings(port=free_port(), admin_port=free_port(), portal_dir=tmp_path,
                         screening_addr=f"127.0.0.1:{screening_port}",
                         rate_limit_rps=1, rate_limit_burst=3)
    async with running_edge(tight, tmp_path) as edge, aiohttp.ClientSession() as http:
        codes = []
        for _ in range(6):
            async with http.get(base(edge) + "/v1/listEntries:search",
                                params={"query": "Ryonbong"}) as r:
                codes.append((r.status, r.headers.get("x-rate-limited")))
    assert codes[0] == (200, None)
    assert (429, "edge") in codes  # the bucket of 3 is empty within six immediate calls

"""The edge's Envoy configuration is built from its settings: CORS lists only the configured
origins, the body limit and rate limit are the configured ones, TLS appears only when its
settings are set, every service gets an HTTP/2 cluster and a gRPC route, the built portal files
are served, and Envoy itself accepts the result (`envoy --mode validate`)."""

from __future__ import annotations

import json
import subprocess

from stc_edge.__main__ import envoy_argv
from stc_edge.config import SERVICE_NAMES, EdgeSettings
from stc_edge.envoy import build_config, write_config


def hcm(cfg: dict) -> dict:
    return cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]


def filters(cfg: dict) -> dict[str, dict]:
    return {f["name"].rsplit(".", 1)[1]: f["typed_config"] for f in hcm(cfg)["http_filters"]}


def settings(tmp_path, **kw) -> EdgeSettings:
    portal = tmp_path / "dist"
    portal.mkdir(exist_ok=True)
    (portal / "index.html").write_text("<!doctype html><title>portal</title>")
    (portal / "app.js").write_text("console.log(1)")
    return EdgeSettings(portal_dir=portal, **kw)


def test_cors_limits_and_routes_follow_the_settings(tmp_path):
    s = settings(tmp_path, cors_origins="https://a.example, https://b.example",
                 max_request_bytes=12345, rate_limit_rps=7, rate_limit_burst=9,
                 screening_addr="screening:50052")
    cfg = build_config(s)
    vhost = hcm(cfg)["route_config"]["virtual_hosts"][0]
    cors = vhost["typed_per_filter_config"]["envoy.filters.http.cors"]
    assert [o["exact"] for o in cors["allow_origin_string_match"]] == [
        "https://a.example", "https://b.example"]
    assert "grpc-status-details-bin" in cors["expose_headers"]
    f = filters(cfg)
    assert f["buffer"]["max_request_bytes"] == 12345
    assert f["local_ratelimit"]["token_bucket"]["tokens_per_fill"] == 7
    assert f["local_ratelimit"]["token_bucket"]["max_tokens"] == 9
    assert set(f["grpc_json_transcoder"]["services"]) == set(SERVICE_NAMES.values())
    order = list(f)
    assert order.index("cors") < order.index("grpc_web") < order.index("grpc_json_transcoder")
    assert order[-1] == "router"
    prefixes = {r["match"].get("prefix") for r in vhost["routes"]}
    assert {f"/{n}/" for n in SERVICE_NAMES.values()} <= prefixes
    paths = {r["match"].get("path") for r in vhost["routes"]}
    assert {"/", "/index.html", "/app.js"} <= paths
    clusters = {c["name"]: c for c in cfg["static_resources"]["clusters"]}
    assert clusters["screening"]["type"] == "STRICT_DNS"  # a compose service name
    assert clusters["licensing"]["type"] == "STATIC"
    assert all("http2_protocol_options" in json.dumps(c) for c in clusters.values())
    assert "transport_socket" not in json.dumps(cfg)  # no TLS unless asked


def test_no_origin_configured_means_no_cross_origin_caller(tmp_path):
    cfg = build_config(settings(tmp_path))
    cors = hcm(cfg)["route_config"]["virtual_hosts"][0]["typed_per_filter_config"][
        "envoy.filters.http.cors"]
    assert cors["allow_origin_string_match"] == []


def test_tls_both_ways_when_the_settings_say_so(tmp_path):
    s = settings(tmp_path, tls_cert_file="/certs/edge.pem", tls_key_file="/certs/edge.key",
                 upstream_ca_file="/certs/ca.pem")
    cfg = build_config(s)
    chain = cfg["static_resources"]["listeners"][0]["filter_chains"][0]
    assert chain["transport_socket"]["typed_config"]["@type"].endswith("DownstreamTlsContext")
    for c in cfg["static_resources"]["clusters"]:
        ctx = c["transport_socket"]["typed_config"]
        assert ctx["common_tls_context"]["validation_context"]["trusted_ca"]["filename"] == (
            "/certs/ca.pem")


def test_envoy_accepts_the_configuration(tmp_path):
    s = settings(tmp_path, cors_origins="https://a.example")
    path = write_config(s, tmp_path / "envoy.json")
    argv = envoy_argv(path)
    r = subprocess.run([*argv, "--mode", "validate"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "OK" in r.stdout + r.stderr

"""The edge's Envoy configuration is built from its settings: CORS lists only the configured
origins, the body limit and rate limit are the configured ones, TLS appears only when its
settings are set, every service gets an HTTP/2 cluster and a gRPC route, the built portal files
are served, and Envoy itself accepts the result (`envoy --mode validate`). With several replicas
of a service (issue 14 item 4) its cluster lists every one, balanced, health-checked and with
outlier detection; reads are retried on UNAVAILABLE, writes only when they never left the edge;
a malformed address list is refused naming the variable. A host name (a Kubernetes headless
Service, deploy/helm) becomes a STRICT_DNS cluster whose every resolved address is an endpoint,
re-resolved on the configured interval, with /healthz passing on one healthy pod of any number
and /livez independent of the services."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from pydantic import ValidationError
from stc_edge.__main__ import envoy_argv
from stc_edge.config import SERVICE_NAMES, EdgeSettings
from stc_edge.envoy import (
    DNS_MIN_HEALTHY_PERCENT,
    LIVENESS_PATH,
    READINESS_PATH,
    build_config,
    min_healthy_percent,
    write_config,
)


def hcm(cfg: dict) -> dict:
    return cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]


def filters(cfg: dict) -> dict[str, dict]:
    """The HTTP filters by short name (of the two health_check filters, the readiness one)."""
    return {f["name"].rsplit(".", 1)[1]: f["typed_config"] for f in hcm(cfg)["http_filters"]
            if f["typed_config"].get("headers", [{}])[0].get("string_match", {}).get("exact")
            != LIVENESS_PATH}


def health_filters(cfg: dict) -> dict[str, dict]:
    """The health_check filters by the path they answer."""
    return {f["typed_config"]["headers"][0]["string_match"]["exact"]: f["typed_config"]
            for f in hcm(cfg)["http_filters"] if f["name"].endswith(".health_check")}


def envoy_healthz_passes(percent: float, healthy: int, total: int) -> bool:
    """Envoy's health_check filter (source/extensions/filters/http/health_check): the value is
    truncated to an integer; an empty cluster fails unless it is 0; otherwise it fails when
    100 × healthy < total × value."""
    value = int(percent)
    if total == 0:
        return value == 0
    return 100 * healthy >= total * value


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


TWO = "127.0.0.1:50052,127.0.0.1:50062"


def clusters(cfg: dict) -> dict[str, dict]:
    return {c["name"]: c for c in cfg["static_resources"]["clusters"]}


def test_every_replica_is_an_endpoint_balanced_health_checked_and_ejected(tmp_path):
    cfg = build_config(settings(tmp_path, screening_addr=f" {TWO} ,"))
    c = clusters(cfg)
    eps = [e["endpoint"]["address"]["socket_address"]
           for e in c["screening"]["load_assignment"]["endpoints"][0]["lb_endpoints"]]
    assert [(e["address"], e["port_value"]) for e in eps] == [("127.0.0.1", 50052),
                                                              ("127.0.0.1", 50062)]
    assert len(c["licensing"]["load_assignment"]["endpoints"][0]["lb_endpoints"]) == 1
    for cl in c.values():
        assert cl["lb_policy"] == "LEAST_REQUEST"
        (hc,) = cl["health_checks"]
        assert "grpc_health_check" in hc and hc["unhealthy_threshold"] == 2
        assert hc["interval"] == "2s"
        od = cl["outlier_detection"]
        assert od["consecutive_gateway_failure"] == 2
        assert od["enforcing_consecutive_gateway_failure"] == 100
        assert od["enforcing_consecutive_5xx"] == 0  # an application error ejects nobody
        # panic (every replica, healthy or not) only when none is healthy
        assert cl["common_lb_config"]["healthy_panic_threshold"]["value"] == 1
    # /healthz: one healthy replica of each service is enough
    hc = filters(cfg)["health_check"]["cluster_min_healthy_percentages"]
    assert hc["screening"]["value"] == min_healthy_percent(2) == 49.99
    assert hc["licensing"]["value"] == 100.0
    # one healthy replica of N passes, none fails (Envoy: healthy % below the value fails)
    assert all(0 < min_healthy_percent(n) <= 100 / n for n in range(1, 10))


def test_a_host_name_list_is_resolved_by_dns(tmp_path):
    c = clusters(build_config(settings(tmp_path,
                                       enduser_addr="enduser-0.enduser:50053,enduser-1.enduser:50053")))
    assert c["enduser"]["type"] == "STRICT_DNS"
    assert c["credit"]["type"] == "STATIC"


def _route(cfg: dict, path: str) -> dict:
    """The route Envoy would take for a gRPC path (the first match, as Envoy picks)."""
    for r in hcm(cfg)["route_config"]["virtual_hosts"][0]["routes"]:
        m = r["match"]
        if "safe_regex" in m and re.fullmatch(m["safe_regex"]["regex"], path):
            return r
        if "prefix" in m and path.startswith(m["prefix"]):
            return r
    raise AssertionError(f"no route for {path}")


@pytest.mark.parametrize(("path", "read"), [
    ("/stc.screening.v1.ScreeningService/SearchListEntries", True),
    ("/stc.screening.v1.ScreeningService/ScreenParty", True),
    ("/stc.licensing.v1.LicensingService/GetApplication", True),
    ("/stc.licensing.v1.LicensingService/ListReviewQueue", True),
    ("/stc.licensing.v1.LicensingService/WatchApplication", True),
    ("/stc.credit.v1.CreditService/GetPublishedRecord", True),
    ("/stc.licensing.v1.LicensingService/SubmitApplication", False),
    ("/stc.licensing.v1.LicensingService/DecideApplication", False),
    ("/stc.screening.v1.ScreeningService/AddListEntry", False),
    ("/stc.credit.v1.CreditService/RecordViolation", False),
    ("/stc.enduser.v1.EndUserService/ReportChange", False),
])
def test_reads_are_retried_on_unavailable_writes_only_when_never_sent(tmp_path, path, read):
    r = _route(build_config(settings(tmp_path, screening_addr=TWO)), path)
    service = path.split("/")[1]
    assert r["route"]["cluster"] == {v: k for k, v in SERVICE_NAMES.items()}[service]
    policy = r["route"]["retry_policy"]
    on = set(policy["retry_on"].split(","))
    # a call that never reached a replica is safe to send to another, whatever it does
    assert {"connect-failure", "refused-stream"} <= on
    assert ("unavailable" in on) is read and ("reset" in on) is read
    assert policy["retry_host_predicate"][0]["name"].endswith("previous_hosts")


@pytest.mark.parametrize(("value", "reason"), [
    ("127.0.0.1", "not host:port"),
    ("127.0.0.1:0", "port in 1-65535"),
    ("127.0.0.1:50051,:50061", "not host:port"),
    ("127.0.0.1:50051,127.0.0.1:50051", "listed twice"),
    (" , ", "no address given"),
])
def test_a_malformed_address_list_is_refused_naming_the_variable(tmp_path, value, reason):
    with pytest.raises(ValidationError) as exc:
        settings(tmp_path, licensing_addr=value)
    assert "licensing_addr" in str(exc.value) and reason in str(exc.value)


def test_envoy_accepts_the_configuration(tmp_path):
    s = settings(tmp_path, cors_origins="https://a.example", screening_addr=TWO,
                 enduser_addr="localhost:50053,localhost:50063", licensing_addr=HEADLESS,
                 dns_resolvers="127.0.0.1:5353")
    path = write_config(s, tmp_path / "envoy.json")
    argv = envoy_argv(path)
    r = subprocess.run([*argv, "--mode", "validate"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "OK" in r.stdout + r.stderr


HEADLESS = "stc-licensing-headless:50051"


def test_a_headless_service_name_is_one_strict_dns_cluster_balanced_per_pod(tmp_path):
    cfg = build_config(settings(tmp_path, licensing_addr=HEADLESS, dns_refresh_seconds=3))
    c = clusters(cfg)
    lic = c["licensing"]
    assert lic["type"] == "STRICT_DNS"  # every address the name resolves to is an endpoint
    (ep,) = lic["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert ep["endpoint"]["address"]["socket_address"] == {
        "address": "stc-licensing-headless", "port_value": 50051}
    assert lic["lb_policy"] == "LEAST_REQUEST"
    assert "grpc_health_check" in lic["health_checks"][0]
    assert lic["dns_refresh_rate"] == "3s"
    assert lic["dns_failure_refresh_rate"] == {"base_interval": "1s", "max_interval": "3s"}
    # a dual-stack pod must be one endpoint, not two
    assert lic["dns_lookup_family"] == "V4_PREFERRED"
    # a pod the name stops listing (terminating) leaves at the next refresh, healthy or not
    assert lic["ignore_health_on_host_removal"] is True
    for name in ("screening", "enduser", "credit"):  # IP addresses: static, no DNS options
        assert c[name]["type"] == "STATIC"
        assert not {"dns_refresh_rate", "dns_lookup_family",
                    "ignore_health_on_host_removal"} & set(c[name])


def test_healthz_passes_on_one_healthy_pod_of_a_name_and_fails_on_none(tmp_path):
    cfg = build_config(settings(tmp_path, licensing_addr=HEADLESS, screening_addr=TWO))
    ready = health_filters(cfg)[READINESS_PATH]["cluster_min_healthy_percentages"]
    assert set(ready) == set(SERVICE_NAMES)
    assert ready["licensing"]["value"] == DNS_MIN_HEALTHY_PERCENT
    # what Envoy does with it, for any number of pods behind the name up to 100
    for total in range(1, 101):
        assert envoy_healthz_passes(ready["licensing"]["value"], 1, total), total
        assert not envoy_healthz_passes(ready["licensing"]["value"], 0, total), total
    assert not envoy_healthz_passes(ready["licensing"]["value"], 0, 0)  # no pod resolved yet
    # the listed replicas keep their 100/N % threshold, with the same meaning
    assert envoy_healthz_passes(ready["screening"]["value"], 1, 2)
    assert not envoy_healthz_passes(ready["screening"]["value"], 0, 2)
    assert not envoy_healthz_passes(ready["credit"]["value"], 0, 1)


def test_livez_answers_without_looking_at_the_services(tmp_path):
    cfg = build_config(settings(tmp_path, licensing_addr=HEADLESS))
    names = [f["name"] for f in hcm(cfg)["http_filters"]]
    hf = health_filters(cfg)
    assert set(hf) == {LIVENESS_PATH, READINESS_PATH}
    assert "cluster_min_healthy_percentages" not in hf[LIVENESS_PATH]
    assert hf[LIVENESS_PATH]["pass_through_mode"] is False  # answered by Envoy itself
    # both before the rate limit: a probe is never refused with 429 under load
    assert names.index("envoy.filters.http.local_ratelimit") == 2
    assert names[:2] == ["envoy.filters.http.health_check"] * 2


@pytest.mark.parametrize("value", [0, -1, 301])
def test_a_dns_refresh_outside_its_range_is_refused_naming_the_setting(tmp_path, value):
    with pytest.raises(ValidationError) as exc:
        settings(tmp_path, dns_refresh_seconds=value)
    assert "dns_refresh_seconds" in str(exc.value)


def test_dns_servers_of_its_own_when_given(tmp_path):
    cfg = build_config(settings(tmp_path, licensing_addr=HEADLESS,
                                dns_resolvers="10.96.0.10:53, 127.0.0.1:5353"))
    c = clusters(cfg)
    resolver = c["licensing"]["typed_dns_resolver_config"]
    assert resolver["name"] == "envoy.network.dns_resolver.cares"
    assert [r["socket_address"] for r in resolver["typed_config"]["resolvers"]] == [
        {"address": "10.96.0.10", "port_value": 53},
        {"address": "127.0.0.1", "port_value": 5353}]
    assert "typed_dns_resolver_config" not in c["credit"]  # static: nothing to resolve
    # none given: the system's resolver (/etc/resolv.conf, a pod's cluster DNS)
    plain = clusters(build_config(settings(tmp_path, licensing_addr=HEADLESS)))
    assert "typed_dns_resolver_config" not in plain["licensing"]


@pytest.mark.parametrize(("value", "reason"), [
    ("kube-dns:53", "not an IP address"),
    ("10.96.0.10", "not host:port"),
])
def test_a_dns_server_that_is_not_ip_port_is_refused_naming_the_setting(tmp_path, value,
                                                                        reason):
    with pytest.raises(ValidationError) as exc:
        settings(tmp_path, dns_resolvers=value)
    assert "dns_resolvers" in str(exc.value) and reason in str(exc.value)


def test_the_worker_count_is_passed_to_envoy_when_set(tmp_path):
    assert "--concurrency" not in envoy_argv(tmp_path / "envoy.json")  # Envoy's default
    argv = envoy_argv(tmp_path / "envoy.json", "warn", settings(tmp_path, concurrency=2).concurrency)
    assert argv[argv.index("--concurrency") + 1] == "2"
    with pytest.raises(ValidationError) as exc:
        settings(tmp_path, concurrency=-1)
    assert "concurrency" in str(exc.value)

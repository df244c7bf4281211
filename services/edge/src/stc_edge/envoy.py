"""The Envoy configuration of the edge, built from `EdgeSettings` (one function, no template).

One listener serves, on one origin and port:
- gRPC-Web for browsers (`envoy.filters.http.grpc_web`) and native gRPC, for the four services;
- JSON over HTTP for clients without protobuf (`grpc_json_transcoder`, routes from the
  `google.api.http` annotations in the protos, read from the descriptor set `make protos`
  builds; errors as JSON `google.rpc.Status` with their BadRequest details);
- the reference portal's static files (direct responses read from `portal/dist`);
- `/healthz`, the edge's readiness (503 until every service's cluster has a healthy host), and
  `/livez`, its liveness (200 while Envoy runs, whatever the services do).

Each service's cluster lists every replica (issue 14 item 4), or resolves a name to them
(STRICT_DNS: a Kubernetes headless Service gives every ready pod, so calls are balanced per
call, not per connection): least-request balancing, gRPC health checks and outlier detection
take a dead replica out within seconds, and a call that never reached a replica, or a read
that failed UNAVAILABLE, is sent to another one.

CORS only for the configured origins; request bodies above `max_request_bytes` are refused
(413) and a token bucket limits the request rate (429) before anything reaches a service. The
Authorization header passes through unchanged: authorisation stays in the services.
"""

from __future__ import annotations

import json
import math
import mimetypes
import re
from pathlib import Path
from typing import Any

from stc_common.grpc.retry import READ_PREFIXES

from stc_edge.config import SERVICE_NAMES, SERVICES, EdgeSettings, names_a_host

T = "type.googleapis.com/envoy.extensions"
# what a gRPC-Web or Connect client sends and must be allowed to read back (CORS)
ALLOW_HEADERS = ("authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout,"
                 "connect-protocol-version,connect-timeout-ms")
EXPOSE_HEADERS = "grpc-status,grpc-message,grpc-status-details-bin"
# The edge's own health: ready (every service has a healthy replica) and alive (Envoy runs).
READINESS_PATH = "/healthz"
LIVENESS_PATH = "/livez"
# A live WatchApplication stream sends nothing while nothing happens: no idle timeout on it.
STREAM_IDLE_TIMEOUT = "3600s"


def cluster(name: str, endpoints: list[tuple[str, int]], s: EdgeSettings) -> dict[str, Any]:
    """An HTTP/2 cluster for one service over every replica: least-request balancing, active
    gRPC health checks and outlier detection (a dead replica leaves the rotation within
    seconds; the others take its calls)."""
    dns = names_a_host(endpoints)
    c: dict[str, Any] = {
        "name": name,
        # a host name is resolved to every address it has (compose, a headless Service), each
        # address an endpoint of its own: calls are balanced per call across the pods
        "type": "STRICT_DNS" if dns else "STATIC",
        "connect_timeout": "2s",
        # fewest calls in flight wins (of two picked at random): a replica busy with long
        # WatchApplication streams or slow calls gets fewer new ones than plain round robin
        # would give it
        "lb_policy": "LEAST_REQUEST",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}
            for host, port in endpoints]}]},
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{T}.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}}}},
        # grpc.health.v1.Health/Check every 2 s; two failures (a refused connection fails at
        # once) take a replica out, one success puts it back
        "health_checks": [{"timeout": "2s", "interval": "2s", "interval_jitter": "0.2s",
                           "unhealthy_threshold": 2, "healthy_threshold": 1,
                           "no_traffic_interval": "5s", "grpc_health_check": {}}],
        # between checks, the calls themselves: two consecutive gateway failures (refused or
        # reset connections, UNAVAILABLE, DEADLINE_EXCEEDED) eject a replica for 10 s (longer
        # each time); application errors (INTERNAL …) never do
        "outlier_detection": {"consecutive_gateway_failure": 2,
                              "enforcing_consecutive_gateway_failure": 100,
                              "enforcing_consecutive_5xx": 0, "enforcing_success_rate": 0,
                              "interval": "1s", "base_ejection_time": "10s",
                              "max_ejection_percent": 50},
        # panic (send to every replica, healthy or not) only when none is healthy: one failed
        # check must not blackhole a service that may still answer, but while one replica is
        # healthy the dead ones get nothing
        "common_lb_config": {"healthy_panic_threshold": {"value": 1}},
    }
    if dns:
        c.update(dns_options(s))
    if s.upstream_ca_file:
        tls: dict[str, Any] = {"sni": endpoints[0][0], "common_tls_context": {
            "alpn_protocols": ["h2"],
            "validation_context": {"trusted_ca": {"filename": s.upstream_ca_file}}}}
        if s.upstream_client_cert_file:
            tls["common_tls_context"]["tls_certificates"] = [{
                "certificate_chain": {"filename": s.upstream_client_cert_file},
                "private_key": {"filename": s.upstream_client_key_file}}]
        c["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": f"{T}.transport_sockets.tls.v3.UpstreamTlsContext", **tls}}
    return c


def dns_options(s: EdgeSettings) -> dict[str, Any]:
    """How a STRICT_DNS cluster follows its name (a Kubernetes headless Service lists the ready
    pods): resolved again every `dns_refresh_seconds` (sooner, from 1 s, while resolution
    fails, e.g. before the first pod is ready); IPv4 when the name has it, so a dual-stack pod
    is one endpoint, not two; and a pod the name no longer lists (terminating, or no longer
    ready) leaves the rotation at that refresh without waiting to fail a health check."""
    refresh = f"{s.dns_refresh_seconds:g}s"
    out: dict[str, Any] = {
        "dns_refresh_rate": refresh,
        "dns_failure_refresh_rate": {"base_interval": f"{min(1.0, s.dns_refresh_seconds):g}s",
                                     "max_interval": refresh},
        "dns_lookup_family": "V4_PREFERRED",
        "ignore_health_on_host_removal": True}
    if s.resolvers():
        out["typed_dns_resolver_config"] = {
            "name": "envoy.network.dns_resolver.cares",
            "typed_config": {
                "@type": f"{T}.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
                "resolvers": [{"socket_address": {"address": h, "port_value": p}}
                              for h, p in s.resolvers()]}}
    return out


def retry_policy(read: bool) -> dict[str, Any]:
    """When the edge sends a call again, to another replica.

    Every call: when the connection could not be made or the stream was refused (HTTP/2
    REFUSED_STREAM), since the service never saw it. Reads (`Get…`, `List…`, `Search…`, the
    screening and classification calls, as `stc_common.grpc.retry.READ_PREFIXES` names them)
    also on UNAVAILABLE and on a reset connection: running one twice changes nothing. Writes
    are not retried once sent; the caller retries them with the same request id."""
    on = "connect-failure,refused-stream"
    if read:
        on += ",unavailable,reset"
    return {"retry_on": on, "num_retries": 2,
            "retry_back_off": {"base_interval": "0.025s", "max_interval": "0.25s"},
            "retry_host_predicate": [{
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {"@type": f"{T}.retry.host.previous_hosts.v3."
                                          "PreviousHostsPredicate"}}],
            "host_selection_retry_max_attempts": 3}


def grpc_routes() -> list[dict[str, Any]]:
    """Per service: its read RPCs (retried on UNAVAILABLE), then the rest. The JSON routes
    land here too: the transcoder rewrites the path to the gRPC method before routing."""
    routes: list[dict[str, Any]] = []
    reads = "|".join(READ_PREFIXES)
    for n in SERVICES:
        service = SERVICE_NAMES[n]
        action = {"cluster": n, "timeout": "0s",
                  "max_stream_duration": {"grpc_timeout_header_max": "0s"}}
        routes.append({"match": {"safe_regex": {
            "regex": f"/{re.escape(service)}/({reads})[A-Za-z0-9]*"}},
            "route": {**action, "retry_policy": retry_policy(read=True)}})
        routes.append({"match": {"prefix": f"/{service}/"},
                       "route": {**action, "retry_policy": retry_policy(read=False)}})
    return routes


def portal_routes(portal_dir: Path) -> list[dict[str, Any]]:
    """One direct-response route per built portal file ("/" is index.html)."""
    routes = []
    if not portal_dir.is_dir():
        return routes
    for f in sorted(p for p in portal_dir.rglob("*") if p.is_file()):
        rel = f.relative_to(portal_dir).as_posix()
        ctype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        paths = ["/", "/index.html"] if rel == "index.html" else [f"/{rel}"]
        for path in paths:
            routes.append({
                "match": {"path": path, "headers": [{"name": ":method", "string_match": {
                    "safe_regex": {"regex": "GET|HEAD"}}}]},
                "direct_response": {"status": 200, "body": {"filename": str(f)}},
                "response_headers_to_add": [
                    {"header": {"key": "content-type", "value": ctype},
                     "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                    {"header": {"key": "cache-control", "value": "no-cache"},
                     "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
            })
    return routes


def min_healthy_percent(replicas: int) -> float:
    """The share of healthy replicas that means one of them is: just under 100/N %."""
    return math.floor(10000 / replicas) / 100 - 0.01 if replicas > 1 else 100.0


# A name resolves to a number of replicas unknown here (a headless Service: the ready pods).
# Envoy truncates the percentage to an integer and fails when 100 × healthy < total × it, so
# 1 % means "at least one healthy" for up to 100 pods (and an empty cluster fails); 0 would
# pass with none.
DNS_MIN_HEALTHY_PERCENT = 1.0


def cluster_min_healthy(s: EdgeSettings, service: str) -> float:
    """The /healthz threshold of one service's cluster: one healthy replica is enough."""
    if s.resolved_by_dns(service):
        return DNS_MIN_HEALTHY_PERCENT
    return min_healthy_percent(len(s.endpoints(service)))


def http_filters(s: EdgeSettings) -> list[dict[str, Any]]:
    """In order: liveness, readiness, rate limit, body size, CORS, gzip (portal files),
    gRPC-Web, JSON transcoding, routing."""
    return [
        # /livez: 200 while Envoy runs and is not draining, whatever the services do (a
        # liveness probe on /healthz would restart every edge when one service is down)
        {"name": "envoy.filters.http.health_check", "typed_config": {
            "@type": f"{T}.filters.http.health_check.v3.HealthCheck",
            "pass_through_mode": False,
            "headers": [{"name": ":path", "string_match": {"exact": LIVENESS_PATH}}]}},
        {"name": "envoy.filters.http.health_check", "typed_config": {
            "@type": f"{T}.filters.http.health_check.v3.HealthCheck",
            "pass_through_mode": False,
            "headers": [{"name": ":path", "string_match": {"exact": READINESS_PATH}}],
            # healthy while each service has one healthy replica (of N: 100/N %; of a name:
            # DNS_MIN_HEALTHY_PERCENT)
            "cluster_min_healthy_percentages": {
                n: {"value": cluster_min_healthy(s, n)} for n in SERVICES}}},
        {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
            "@type": f"{T}.filters.http.local_ratelimit.v3.LocalRateLimit",
            "stat_prefix": "edge_rate_limit",
            "token_bucket": {"max_tokens": s.rate_limit_burst,
                             "tokens_per_fill": s.rate_limit_rps, "fill_interval": "1s"},
            "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"},
                               "runtime_key": "edge_rate_limit_enabled"},
            "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"},
                                "runtime_key": "edge_rate_limit_enforced"},
            "response_headers_to_add": [{"header": {"key": "x-rate-limited",
                                                    "value": "edge"}}]}},
        {"name": "envoy.filters.http.buffer", "typed_config": {
            "@type": f"{T}.filters.http.buffer.v3.Buffer",
            "max_request_bytes": s.max_request_bytes}},
        {"name": "envoy.filters.http.cors", "typed_config": {
            "@type": f"{T}.filters.http.cors.v3.Cors"}},
        # gzip for the portal's files only: JSON and gRPC-Web answers stay as they are (a live
        # watch must not wait in a compressor's buffer)
        {"name": "envoy.filters.http.compressor", "typed_config": {
            "@type": f"{T}.filters.http.compressor.v3.Compressor",
            "response_direction_config": {"common_config": {
                "min_content_length": 256,
                "content_type": ["text/html", "text/css", "application/javascript",
                                 "text/javascript"]}},
            "compressor_library": {"name": "gzip", "typed_config": {
                "@type": f"{T}.compression.gzip.compressor.v3.Gzip"}}}},
        {"name": "envoy.filters.http.grpc_web", "typed_config": {
            "@type": f"{T}.filters.http.grpc_web.v3.GrpcWeb"}},
        {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": {
            "@type": f"{T}.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            "proto_descriptor": str(s.descriptor_file),
            "services": [SERVICE_NAMES[n] for n in SERVICES],
            "print_options": {"add_whitespace": False, "always_print_primitive_fields": True,
                              "always_print_enums_as_ints": False,
                              "preserve_proto_field_names": True,
                              # a live watch arrives as one JSON object per line
                              "stream_newline_delimited": True},
            "convert_grpc_status": True,
            "request_validation_options": {"reject_unknown_query_parameters": True,
                                           "reject_binding_body_field_collisions": True},
            "case_insensitive_enum_parsing": True}},
        {"name": "envoy.filters.http.router", "typed_config": {
            "@type": f"{T}.filters.http.router.v3.Router"}},
    ]


def build_config(s: EdgeSettings) -> dict[str, Any]:
    """The whole Envoy bootstrap for these settings."""
    cors = {"envoy.filters.http.cors": {
        "@type": f"{T}.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [{"exact": o} for o in s.cors_origins],
        "allow_methods": "GET, POST, OPTIONS",
        "allow_headers": ALLOW_HEADERS,
        "expose_headers": EXPOSE_HEADERS,
        "max_age": "600"}}
    hcm: dict[str, Any] = {
        "@type": f"{T}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "edge",
        "codec_type": "AUTO",
        "stream_idle_timeout": STREAM_IDLE_TIMEOUT,
        "max_request_headers_kb": 32,
        "common_http_protocol_options": {"headers_with_underscores_action": "REJECT_REQUEST"},
        "route_config": {
            "name": "edge",
            "max_direct_response_body_size_bytes": 16 * 1024 * 1024,
            "virtual_hosts": [{
                "name": "stc", "domains": ["*"],
                "typed_per_filter_config": cors,
                "routes": [*portal_routes(s.portal_dir), *grpc_routes()],
            }],
        },
        "http_filters": http_filters(s),
    }
    chain: dict[str, Any] = {"filters": [{
        "name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
    if s.tls_cert_file and s.tls_key_file:
        chain["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": f"{T}.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [{"certificate_chain": {"filename": s.tls_cert_file},
                                      "private_key": {"filename": s.tls_key_file}}]}}}
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1",
                                                 "port_value": s.admin_port}}},
        "static_resources": {
            "listeners": [{
                "name": "edge",
                "address": {"socket_address": {"address": s.host, "port_value": s.port}},
                "per_connection_buffer_limit_bytes": max(s.max_request_bytes, 1 << 20),
                "filter_chains": [chain],
            }],
            "clusters": [cluster(n, s.endpoints(n), s) for n in SERVICES],
        },
    }


def write_config(s: EdgeSettings, path: Path | None = None) -> Path:
    """Write the configuration (JSON, which Envoy reads as YAML) and return its path."""
    path = path or s.config_dir / "envoy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_config(s), indent=1))
    return path

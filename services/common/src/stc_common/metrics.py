"""Prometheus metrics shared by the platform's building blocks, and the HTTP endpoint."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

GRPC_REQUESTS = Counter(
    "stc_grpc_requests_total", "gRPC requests handled", ["service", "method", "code"]
)
GRPC_LATENCY = Histogram(
    "stc_grpc_request_seconds",
    "gRPC request latency",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_CONSUMED = Counter(
    "stc_events_consumed_total",
    "Kafka events handled by consumers",
    ["consumer", "ce_type", "outcome"],
)
EVENTS_PUBLISHED = Counter(
    "stc_outbox_published_total", "Outbox events published", ["service", "topic"]
)
OUTBOX_BATCHES = Counter(
    "stc_outbox_batches_total",
    "Relay rounds that published rows (each one database transaction and one produce round)",
    ["service"],
)
CONSUMER_TRANSACTIONS = Counter(
    "stc_consumer_transactions_total",
    "Database transactions the consumers ran (a batch of records, or one record)",
    ["consumer"],
)
CONSUMER_OFFSET_COMMITS = Counter(
    "stc_consumer_offset_commits_total", "Offset commit requests sent to Kafka", ["consumer"]
)
CONSUMER_LAG = Gauge(
    "stc_consumer_lag",
    "Records on the consumer's partitions not handled yet (high watermark minus the next "
    "offset to handle), as of its last poll: the backlog behind an overloaded service",
    ["consumer"],
)
OUTBOX_PENDING = Gauge("stc_outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_QUARANTINED = Counter(
    "stc_outbox_quarantined_total",
    "Outbox rows the broker refuses for good, set aside so later rows go on",
    ["service", "topic"],
)
ENGINE_UP = Gauge(
    "stc_engine_up", "1 while the engine (postgres, kafka) answers this process", ["engine"]
)
TASK_FAILURES = Counter(
    "stc_task_failures_total", "Failed rounds or runs of background tasks", ["task"]
)
RELAY_LEADER = Gauge(
    "stc_outbox_relay_leader", "1 while this process is the active relay", ["service"]
)


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on `host:port` (a daemon thread); port 0 disables it."""
    if port:
        start_http_server(port, addr=host)

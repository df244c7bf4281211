"""Kafka producer and consumer set-up with this platform's safe defaults.

aiokafka's defaults are not safe here (acks=1, no idempotence, auto-commit), so every
producer and consumer is made through these two functions.

A consumer's fetch is a long poll: the broker holds it until a record arrives on any of the
consumer's partitions (`fetch_min_bytes` 1) or `fetch_max_wait_ms` passes. A record is
therefore delivered as soon as it is written, whatever the wait; the wait only decides how
often an idle consumer asks again. At aiokafka's 500 ms, the platform's five idle consumers
sent 10 of the broker's 15 requests per second with no load (issue 14); at 5 s they send
1. aiokafka sends no new fetch to a broker while records of an earlier one are still
unconsumed, and the group's heartbeats and commits go over a connection of their own, so
the long wait holds nothing else up.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

# how long the broker holds a fetch that finds nothing (see the module docstring)
IDLE_FETCH_WAIT_MS = 5000


def make_producer(bootstrap: str, *, client_id: str, **overrides) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas."""
    opts = dict(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30000,
        max_batch_size=1 << 20,
    )
    opts.update(overrides)
    return AIOKafkaProducer(**opts)


def make_consumer(
    bootstrap: str, *topics: str, group_id: str, client_id: str, **overrides
) -> AIOKafkaConsumer:
    """A consumer with manual commits, reading from the earliest offset of a new group."""
    opts = dict(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=100,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        metadata_max_age_ms=30000,
        fetch_max_wait_ms=IDLE_FETCH_WAIT_MS,
    )
    opts.update(overrides)
    return AIOKafkaConsumer(*topics, **opts)

"""Kafka producer and consumer set-up with this platform's safe defaults.

aiokafka's defaults are not safe here (acks=1, no idempotence, auto-commit), so every
producer and consumer is made through these two functions.

A consumer's fetch is a long poll: the broker holds it until a record arrives on one of its
partitions (`fetch_min_bytes` 1) or `fetch_max_wait_ms` passes. An idle consumer asks again
at every wait: at aiokafka's 500 ms, the platform's five idle consumers sent 10 of the
broker's 15 requests per second with no load (issue 14). A long wait throughout is not the
answer: aiokafka leaves a partition whose records the application has not taken within
0.1 s out of the next fetch, and fetches it again only after that fetch returns, so while
records flow a long wait holds a busy partition back for up to the whole wait (measured: a
5 s wait gave p50 4.4 s submit→assessed in one of two runs at 20/s). So `pace_fetches`
switches: the long wait (`IDLE_FETCH_WAIT_MS`) only after a poll that found nothing buffered
at all (every partition is then in the next fetch, and its first record ends the wait), the
short one (`BUSY_FETCH_WAIT_MS`) again as soon as a poll returns records.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

# how long the broker holds a fetch that finds nothing (see the module docstring)
BUSY_FETCH_WAIT_MS = 500
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
        fetch_max_wait_ms=BUSY_FETCH_WAIT_MS,
    )
    opts.update(overrides)
    return AIOKafkaConsumer(*topics, **opts)


def pace_fetches(consumer: AIOKafkaConsumer, *, idle: bool) -> None:
    """After a poll: long fetches while `idle` (the poll found nothing), short ones while
    records flow (see the module docstring). aiokafka reads the wait from its fetcher each
    time it builds a fetch; a version without that attribute keeps its fixed wait."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
        wait = IDLE_FETCH_WAIT_MS if idle else BUSY_FETCH_WAIT_MS
        fetcher._fetch_max_wait_ms = wait  # noqa: SLF001

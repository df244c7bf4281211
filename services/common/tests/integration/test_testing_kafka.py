"""The Kafka test helpers the services' integration tests share, over the real broker: a reader
sees only what arrives after it started, a group started at the end skips the history."""

import pytest
from aiokafka import AIOKafkaConsumer
from google.protobuf import wrappers_pb2
from stc_common.kafka.clients import make_producer
from stc_common.testing.kafka import (
    TopicReader,
    produce_event,
    start_group_at_end,
    topic_partitions,
)

pytestmark = pytest.mark.integration

Str = wrappers_pb2.StringValue


async def test_reader_sees_only_new_events_by_key_type_subject_and_predicate(
    kafka_bootstrap, new_topic
):
    topic = await new_topic("reader", partitions=3)
    producer = make_producer(kafka_bootstrap, client_id="reader-test")
    await producer.start()
    try:
        await produce_event(producer, topic, "k1", Str(value="history"), source="test")
        async with TopicReader(kafka_bootstrap, topic, timeout=5) as reader:
            await producer.send_and_wait(topic, value=b"not a cloudevent", key=b"k1")
            eid = await produce_event(producer, topic, "k1", Str(value="a"), source="test")
            await produce_event(producer, topic, "k2", Str(value="b"), source="test",
                                event_id="fixed-id")
            msg, at = await reader.wait_for("k1", Str, lambda m: m.value == "a")
            assert msg.value == "a" and at > 0
            found = await reader.wait_find("google.protobuf.StringValue", "k2")
            assert [e.id for e in found] == ["fixed-id"]
            env, _ = await reader.wait_match(lambda e, k: k == b"k1")
            assert env.id == eid
            assert [m.value for m in reader.events("k1", Str)] == ["a"]  # not the history
            assert [e.id for e in reader.envelopes(key="k2")] == ["fixed-id"]
            assert len(reader.envelopes()) == 2  # the non-CloudEvent record is skipped
            with pytest.raises(TimeoutError):
                await reader.wait_for("k1", Str, lambda m: m.value == "never", timeout=0.3)
    finally:
        await producer.stop()


async def test_missing_topic_is_an_error_not_an_empty_read(kafka_bootstrap):
    with pytest.raises(AssertionError, match="not found"):
        await topic_partitions(kafka_bootstrap, ["test.no-such-topic.4f1c2a"])


async def test_group_started_at_end_skips_the_history(kafka_bootstrap, new_topic):
    topic = await new_topic("group", partitions=2)
    producer = make_producer(kafka_bootstrap, client_id="group-test")
    await producer.start()
    try:
        for i in range(4):
            await produce_event(producer, topic, f"k{i}", Str(value="old"), source="test")
        group = f"t-group-{topic}"
        await start_group_at_end(kafka_bootstrap, group, [topic])
        await produce_event(producer, topic, "k9", Str(value="new"), source="test")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        got: list[bytes] = []
        for _ in range(50):
            batch = await consumer.getmany(timeout_ms=200)
            got += [r.key for recs in batch.values() for r in recs]
            if b"k9" in got:
                break
        batch = await consumer.getmany(timeout_ms=500)  # anything else from either partition
        got += [r.key for recs in batch.values() for r in recs]
        assert got == [b"k9"]
    finally:
        await consumer.stop()

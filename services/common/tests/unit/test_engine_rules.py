"""Pure rules of the failure model: which errors mean "an engine is away", which records the
relay sets aside, where a consumer trusts an event type from (issue 10 items 2, 5, 8)."""

import asyncpg
import pytest
from aiokafka import errors as kafka_errors
from google.protobuf import wrappers_pb2
from stc.credit.v1 import events_pb2 as credit
from stc.licensing.v1 import events_pb2 as licensing
from stc_common.consumer import Subscription
from stc_common.engines import Backoff, is_broker_unavailable, is_db_unavailable, is_unavailable
from stc_common.kafka.topics import APPLICATION, CREDIT_RECORD, CREDIT_STANDING, ENDUSER_CHANGE
from stc_common.outbox import refusal_reason


async def _noop(uow, env, msg) -> None:
    return None


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
    ],
)
def test_lost_database_is_unavailable(exc):
    assert is_db_unavailable(exc) and is_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        kafka_errors.KafkaConnectionError("bootstrap"),
        kafka_errors.KafkaTimeoutError(),
        kafka_errors.NodeNotReadyError(),
    ],
)
def test_lost_broker_is_unavailable(exc):
    assert is_broker_unavailable(exc) and is_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        KeyError("x"),
        asyncpg.UniqueViolationError("dup"),
        asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed"),
    ],
)
def test_faults_of_the_call_are_not_unavailable(exc):
    assert not is_unavailable(exc)


def test_a_wrapped_cause_counts():
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise RuntimeError("query failed") from inner
    except RuntimeError as outer:
        assert is_db_unavailable(outer)


def test_records_the_broker_refuses_for_good_are_quarantined_and_outages_are_not():
    assert "MessageSizeTooLarge" in refusal_reason(kafka_errors.MessageSizeTooLargeError("2 MB"))
    assert refusal_reason(kafka_errors.RecordTooLargeError()) is not None
    assert refusal_reason(kafka_errors.InvalidTopicError()) is not None
    assert refusal_reason(kafka_errors.KafkaConnectionError()) is None
    assert refusal_reason(kafka_errors.UnknownTopicOrPartitionError()) is None  # grace first
    assert refusal_reason(kafka_errors.RequestTimedOutError()) is None


def test_a_type_is_trusted_only_from_its_owners_topics_and_declared_sources():
    standing = Subscription(credit.CreditStandingChanged, _noop)
    assert set(standing.accepted_topics) == {
        CREDIT_RECORD.name,
        CREDIT_STANDING.name,
        "stc.credit.publication.v1",
    }
    assert standing.refusal(CREDIT_STANDING.name, "anyone") is None
    assert "not accepted from topic" in standing.refusal(ENDUSER_CHANGE.name, "credit")
    strict = Subscription(
        credit.CreditStandingChanged, _noop, topics=(CREDIT_STANDING.name,), sources=("credit",)
    )
    assert strict.refusal(CREDIT_STANDING.name, "credit") is None
    assert "not accepted from topic" in strict.refusal(CREDIT_RECORD.name, "credit")
    assert "not accepted from source" in strict.refusal(CREDIT_STANDING.name, "enduser")
    submitted = Subscription(licensing.ApplicationSubmitted, _noop)
    assert submitted.refusal(APPLICATION.name, "stc-licensing") is None
    assert submitted.refusal(CREDIT_STANDING.name, "stc-licensing") is not None
    anything = Subscription(wrappers_pb2.StringValue, _noop)  # no platform package: any topic
    assert anything.refusal("test.topic.x", "/test") is None


def test_backoff_grows_to_its_cap_and_resets():
    b = Backoff(initial=0.5, maximum=4.0)
    delays = [b.failed() for _ in range(6)]
    assert delays[0] < 1 and all(d <= 4.0 * 1.2 for d in delays) and delays[-1] > 3
    assert b.failures == 6
    b.succeeded()
    assert b.failures == 0 and b.failed() < 1

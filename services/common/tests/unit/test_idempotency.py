"""The one request-id rule (stc_common.idempotency): same request → replay, other → refused."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from stc_common.errors import AlreadyExists, ValidationFailed
from stc_common.idempotency import (
    MAX_REQUEST_ID,
    RequestIdReused,
    check_request_id,
    fingerprint,
    replay_or_refuse,
)
from stc_common.prc_time import PRC_TZ, prc_date


@dataclasses.dataclass(frozen=True)
class Cmd:
    request_id: str
    names: tuple[str, ...]
    when: dt.date
    extra: dict


def test_the_fingerprint_ignores_the_request_id_and_key_order():
    a = Cmd("r1", ("x", "y"), dt.date(2027, 1, 4), {"b": 1, "a": 2})
    b = Cmd("r2", ("x", "y"), dt.date(2027, 1, 4), {"a": 2, "b": 1})
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(dataclasses.replace(a, names=("y", "x")))
    assert len(fingerprint(a)) == 64


def test_a_different_request_under_a_used_id_is_already_exists_with_the_reason():
    replay_or_refuse("abc", "abc", what="report")  # same request: the caller replays
    replay_or_refuse(None, "abc", what="report")  # a row from before fingerprints: replay
    with pytest.raises(RequestIdReused) as err:
        replay_or_refuse("abc", "def", what="report", existing_id="R-1")
    assert isinstance(err.value, AlreadyExists) and err.value.code == "ALREADY_EXISTS"
    assert err.value.reason == "REQUEST_ID_REUSED"
    assert err.value.metadata == {"existing_id": "R-1"}
    assert "different report" in err.value.message


def test_request_ids_are_checked_for_presence_and_length():
    assert check_request_id("  r-1 ") == "r-1"
    assert check_request_id("", required=False) == ""
    with pytest.raises(ValidationFailed) as err:
        check_request_id("")
    assert err.value.violations[0].field == "request_id"
    with pytest.raises(ValidationFailed):
        check_request_id("x" * (MAX_REQUEST_ID + 1))


def test_prc_dates_are_beijing_dates():
    late_utc = dt.datetime(2027, 3, 1, 17, 30, tzinfo=dt.UTC)  # 01:30 next day in Beijing
    assert prc_date(late_utc) == dt.date(2027, 3, 2)
    assert prc_date(late_utc.replace(tzinfo=None)) == dt.date(2027, 3, 2)
    assert PRC_TZ.key == "Asia/Shanghai"


def test_a_resource_exhausted_with_retry_advice_carries_retry_info():
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status
    from stc_common.errors import ResourceExhausted
    from stc_common.grpc.errors import to_status

    status = to_status(ResourceExhausted("full", reason="PIPELINE_FULL", retry_after_s=0.5))
    trailers = dict(status.trailing_metadata)
    details = rpc_status.status_pb2.Status.FromString(trailers["grpc-status-details-bin"]).details
    infos = [d for d in details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(infos) == 1
    info = error_details_pb2.RetryInfo()
    infos[0].Unpack(info)
    assert info.retry_delay.ToNanoseconds() == 500_000_000
    plain = to_status(ResourceExhausted("full"))
    plain_details = rpc_status.status_pb2.Status.FromString(
        dict(plain.trailing_metadata)["grpc-status-details-bin"]).details
    assert not any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in plain_details)

"""Admission over real gRPC, Kafka and PostgreSQL (issue 14 item 3): a full pipeline refuses
SubmitApplication with RESOURCE_EXHAUSTED PIPELINE_FULL and RetryInfo and writes nothing; an
assessment frees a place; assessments consumed from Kafka feed the adaptive limit, whose value
the Prometheus gauge shows."""

from __future__ import annotations

import grpc
import pytest
from prometheus_client import REGISTRY
from stc.licensing.v1 import application_pb2 as apb
from stc_common.grpc.retry import retry_advice
from stc_licensing.service import applications
from stc_licensing.service.admission import LIMIT_GAUGE, AdaptiveLimit

pytestmark = pytest.mark.integration


@pytest.fixture
def admission():
    """The running service's admission (the service runs in this process), restored after."""
    a = applications.ADMISSION
    saved = (a.limit, a.adaptive, a.ttl_s)
    a.ttl_s = 0.0  # read the count on every submission: the test sees each change at once
    yield a
    a.limit, a.adaptive, a.ttl_s = saved
    LIMIT_GAUGE.set(a.current_limit())


async def test_a_full_pipeline_refuses_submissions_until_an_assessment_frees_a_place(
        env, h, admission):
    uscc = await env.operator()
    awaiting = (await env.sql("SELECT count(*) AS n FROM applications "
                              "WHERE state IN ('SUBMITTED', 'SCREENING')"))[0]["n"]
    admission.configure(ceiling=awaiting + 1, adaptive=False, target_s=0.7, floor=1,
                        initial=1)
    first = await env.submit(uscc)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.submit(uscc, request_id="refused-1")
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "PIPELINE_FULL" in str(err.value.trailing_metadata())
    assert 0.25 <= retry_advice(err.value) <= 0.375  # the base delay, jittered upwards
    # refused before anything else: a malformed request too (its content is never parsed;
    # the use case alone would have answered INVALID_ARGUMENT, see below)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.submit(uscc, c=apb.ApplicationContent(), request_id="malformed-1")
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    rows = await env.sql("SELECT id FROM applications WHERE exporter_uscc = $1", uscc)
    assert [r["id"] for r in rows] == [first.application_id]  # the refused one wrote nothing
    await env.screen(first)
    await env.wait_state(first.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    with pytest.raises(grpc.aio.AioRpcError) as err:  # a place free: now its own answer
        await env.submit(uscc, c=apb.ApplicationContent(), request_id="malformed-1")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    again = await env.submit(uscc, request_id="refused-1")  # the same request id, now in
    assert again.state == apb.APPLICATION_STATE_SCREENING


async def test_assessments_from_kafka_feed_the_adaptive_limit(env, h, admission):
    uscc = await env.operator()
    # a target no real pipeline meets (1 ms), judged on every sample: an assessment while
    # the limit is used (two in flight of four) cuts it
    admission.adaptive = AdaptiveLimit(ceiling=50, floor=1, initial=4, target_s=0.001,
                                       min_samples=1, interval_s=0.0)
    app = await env.submit(uscc)
    await env.submit(uscc)
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    assert admission.adaptive.value == 3  # 4 × 0.75: the observed latency was above 1 ms
    assert admission.adaptive.observed() is None  # the window starts again after a cut
    assert admission.adaptive.last_seen > 0.001
    assert REGISTRY.get_sample_value("stc_licensing_admission_limit") == 3
    assert REGISTRY.get_sample_value("stc_licensing_admission_latency_seconds") > 0.001

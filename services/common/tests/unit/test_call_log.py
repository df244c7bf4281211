"""The per-call log line of the gRPC interceptor (stc_common.grpc.server): a call that went well
is logged at debug (the metrics count it; issue 14), a failed or slow one at info."""

import time

import pytest
import structlog
from stc_common.grpc import server


@pytest.fixture
def interceptor():
    return server.PlatformInterceptor("test", verifier=None)  # _leave needs no verifier


@pytest.mark.parametrize(("code", "ago", "stream", "level"), [
    ("OK", 0.0, False, "debug"),
    ("OK", server.SLOW_CALL_S + 0.5, False, "info"),  # slow
    ("INVALID_ARGUMENT", 0.0, False, "info"),
    ("INTERNAL", 0.0, False, "info"),
    ("OK", 30.0, True, "debug"),  # a stream lasts as long as its client watches
    ("CANCELLED", 30.0, True, "debug"),  # how a watch ends
    ("CANCELLED", 0.0, False, "info"),
])
def test_call_line_level(interceptor, code, ago, stream, level):
    with structlog.testing.capture_logs() as logs:
        interceptor._leave("/stc.test.v1.T/M", code, time.perf_counter() - ago, stream=stream)
    lines = [e for e in logs if e["event"] == "grpc.call"]
    assert [(e["log_level"], e["code"]) for e in lines] == [(level, code)]

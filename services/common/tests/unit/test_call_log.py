"""The per-call log line of the gRPC interceptor (stc_common.grpc.server): a call that went well
is logged at debug (the metrics count it; issue 14), a failed or slow one at info."""

import time

import pytest
from stc_common.errors import NotFound, ResourceExhausted
from stc_common.grpc import server


class _Recorder:
    """Stands in for the module's logger: which level each line went to (a configured
    structlog filters debug before any processor could capture it)."""

    def __init__(self):
        self.lines = []

    def debug(self, event, **kw):
        self.lines.append(("debug", event, kw))

    def info(self, event, **kw):
        self.lines.append(("info", event, kw))


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
    ("RESOURCE_EXHAUSTED", 0.0, False, "debug"),  # refused for load: counted, aggregated
])
def test_call_line_level(interceptor, monkeypatch, code, ago, stream, level):
    rec = _Recorder()
    monkeypatch.setattr(server, "log", rec)
    interceptor._leave("/stc.test.v1.T/M", code, time.perf_counter() - ago, stream=stream)
    assert [(lvl, kw["code"]) for lvl, event, kw in rec.lines if event == "grpc.call"] \
        == [(level, code)]


@pytest.mark.parametrize(("error", "level"), [
    (ResourceExhausted("full", reason="PIPELINE_FULL"), "debug"),
    (NotFound("no such application"), "info"),
])
async def test_rejection_line_level(interceptor, monkeypatch, error, level):
    """A refusal for load is not one info line per call; every other refusal is."""
    rec = _Recorder()
    monkeypatch.setattr(server, "log", rec)

    class _Context:
        async def abort_with_status(self, status):
            self.status = status

    context = _Context()
    await interceptor._fail(context, "/stc.test.v1.T/M", error)
    assert [(lvl, kw["code"]) for lvl, event, kw in rec.lines if event == "grpc.rejected"] \
        == [(level, error.code)]
    assert context.status.code.name == error.code

"""File parsing and error rendering of the `stc` CLI, with no services: a malformed file is
exit 2 naming the bad key; a refusal (INVALID_ARGUMENT with field violations) is exit 1 with
every violation printed; an unreachable service is exit 1 with a hint; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc_cli import core
from stc_cli.commands.operator import load_icp
from stc_cli.files import load_message, parse_date
from stc_cli.main import app
from stc_common.errors import FieldViolation, NotFound, ValidationFailed
from stc_common.grpc.errors import to_status
from typer.testing import CliRunner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
USCC = "91310115MA1K4Q8X7G"


def rpc_error(domain_error) -> grpc.aio.AioRpcError:
    """The client-side error the platform's interceptor produces for a domain error."""
    st = to_status(domain_error)
    return grpc.aio.AioRpcError(st.code, grpc.aio.Metadata(),
                                grpc.aio.Metadata(*st.trailing_metadata), details=st.details)


class FakeLicensing:
    """Records requests; raises the prepared error."""

    def __init__(self, error=None, answer=None):
        self.error, self.answer, self.requests = error, answer, []

    def __getattr__(self, rpc):
        async def call(request, metadata=None, timeout=None):
            self.requests.append((rpc, request, dict(metadata or ())))
            if self.error is not None:
                raise self.error
            return self.answer
        return call


@pytest.fixture
def fake(monkeypatch):
    holder = {}

    def install(stub):
        monkeypatch.setattr(core.Client, "factory", staticmethod(lambda service: (None, stub)))
        holder["stub"] = stub
        return stub
    monkeypatch.setattr(core.console, "width", 200)
    monkeypatch.setattr(core.err, "width", 200)
    return install


def invoke(*args):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("name", ["dual_use_germany.yaml", "embargoed_destination.yaml",
                                  "military_item.yaml"])
def test_example_files_parse(name):
    c = load_message(EXAMPLES / name, apb.ApplicationContent())
    assert c.items and c.parties and c.destination
    assert c.end_user_certificate.issued_on.year >= 2026  # YAML dates become google.type.Date
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in p.name) for p in c.parties)


def test_malformed_file_names_the_key(tmp_path, fake):
    stub = fake(FakeLicensing())
    bad = tmp_path / "bad.yaml"
    bad.write_text("destination: DE\nitems:\n  - control_code: 1C117.d\n    quantiy: '5'\n")
    r = invoke("application", "submit", str(bad), "--as", f"exporter:{USCC}")
    assert r.exit_code == 2
    assert "quantiy" in r.output and "bad.yaml" in r.output
    assert "Traceback" not in r.output
    assert stub.requests == []  # nothing sent


def test_bad_enum_and_yaml_syntax_are_exit_2(tmp_path, fake):
    fake(FakeLicensing())
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"regime": "ITEM_REGIME_LASERS"}))
    r = invoke("application", "submit", str(f), "--as", f"exporter:{USCC}")
    assert r.exit_code == 2 and "regime" in r.output and "ITEM_REGIME_LASERS" in r.output
    y = tmp_path / "b.yaml"
    y.write_text("items: [\n")
    r = invoke("application", "submit", str(y), "--as", f"exporter:{USCC}")
    assert r.exit_code == 2 and "not valid YAML" in r.output
    r = invoke("application", "submit", str(tmp_path / "missing.yaml"), "--as", "public")
    assert r.exit_code == 2 and "no such file" in r.output


def test_invalid_argument_prints_every_field_violation(fake):
    stub = fake(FakeLicensing(error=rpc_error(ValidationFailed([
        FieldViolation("exporter_uscc", "no export operator registered with this USCC"),
        FieldViolation("items[0].quantity", "must be positive"),
    ]))))
    r = invoke("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"),
               "--as", f"exporter:{USCC}", "--request-id", "r-1")
    assert r.exit_code == 1
    assert "INVALID_ARGUMENT" in r.output
    assert "exporter_uscc" in r.output and "no export operator registered" in r.output
    assert "items[0].quantity" in r.output and "must be positive" in r.output
    assert "Traceback" not in r.output
    # What was sent: the file's content, the exporter from --as, the request id, a token.
    rpc, req, md = stub.requests[0]
    assert rpc == "SubmitApplication" and req.request_id == "r-1"
    assert req.content.exporter_uscc == USCC and req.content.destination == "DE"
    assert md["authorization"].startswith("Bearer ")


def test_not_found_is_exit_1_with_a_hint(fake):
    fake(FakeLicensing(error=rpc_error(NotFound("application x not found"))))
    r = invoke("application", "show", "x", "--as", f"exporter:{USCC}")
    assert r.exit_code == 1
    assert "NOT_FOUND" in r.output and "application x not found" in r.output


def test_unreachable_service_is_exit_1_with_advice(fake):
    fake(FakeLicensing(error=grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="down")))
    r = invoke("licence", "list", "--as", "auditor")
    assert r.exit_code == 1 and "not reachable" in r.output


def test_bad_identity_and_bad_choices_are_exit_2(fake):
    stub = fake(FakeLicensing())
    r = invoke("application", "show", "x", "--as", "emperor")
    assert r.exit_code == 2 and "unknown role" in r.output
    r = invoke("application", "list", "--as", "auditor", "--state", "pondering")
    assert r.exit_code == 2 and "under-review" in r.output  # the choices are listed
    r = invoke("officer", "decide", "x", "--as", "officer:MOFCOM", "--approve", "--deny",
               "--reason", "r")
    assert r.exit_code == 2 and "exactly one" in r.output
    r = invoke("officer", "decide", "x", "--as", "officer:MOFCOM", "--deny")
    assert r.exit_code == 2 and "--reason" in r.output
    assert stub.requests == []


def test_decide_with_conditions_sends_them(fake):
    from stc.licensing.v1 import events_pb2
    from stc.licensing.v1 import licensing_service_pb2 as spb
    stub = fake(FakeLicensing(answer=spb.DecideApplicationResponse()))
    r = invoke("officer", "decide", "a1", "--as", "officer:MOFCOM",
               "--approve-with-conditions", "no re-export", "--approve-with-conditions",
               "end-use check within 6 months", "--valid-until", "2027-06-30")
    assert r.exit_code == 0, r.output
    _, req, _ = stub.requests[0]
    assert req.decision == events_pb2.DECISION_APPROVE_WITH_CONDITIONS
    assert list(req.conditions) == ["no re-export", "end-use check within 6 months"]
    assert (req.valid_until.year, req.valid_until.month) == (2027, 6)


def test_icp_file_and_dates():
    icp = load_icp(EXAMPLES / "icp.yaml")
    assert len(icp) == 9 and icp[0].evidence_refs == ["ICP-POL-2026-01"]
    assert parse_date("2027-01-02", "--x").day == 2
    with pytest.raises(core.CliInputError, match="--x"):
        parse_date("tomorrow-ish", "--x")


def test_watch_reconnects_and_resumes_after_the_last_sequence(fake):
    from stc.licensing.v1 import licensing_service_pb2 as spb

    def update(seq, st):
        return spb.ApplicationUpdate(sequence=seq, kind=spb.UPDATE_KIND_STATE_CHANGED, state=st)

    class Stream:
        def __init__(self):
            self.calls = []

        def WatchApplication(self, request, metadata=None, timeout=None):  # noqa: N802
            self.calls.append(request.after_sequence)
            first = len(self.calls) == 1

            async def gen():
                if first:
                    yield update(1, apb.APPLICATION_STATE_SUBMITTED)
                    yield update(2, apb.APPLICATION_STATE_SCREENING)
                    raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(),
                                               grpc.aio.Metadata(), details="restarting")
                yield update(3, apb.APPLICATION_STATE_UNDER_REVIEW)
                yield update(4, apb.APPLICATION_STATE_DENIED)
                yield update(5, apb.APPLICATION_STATE_DENIED)  # never reached: stops at final
            return gen()

    stream = fake(Stream())
    r = invoke("application", "watch", "a1", "--as", f"exporter:{USCC}")
    assert r.exit_code == 0, r.output
    assert stream.calls == [0, 2]  # the reconnect resumed after #2
    lines = [x for x in r.output.splitlines() if x.startswith("#")]
    assert [x.split()[0] for x in lines] == ["#1", "#2", "#3", "#4"]
    assert "DENIED" in lines[-1]

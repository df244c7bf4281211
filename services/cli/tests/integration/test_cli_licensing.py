"""The CLI against a real licensing service (in-process, fresh database, real Kafka): register an
operator, submit the example file, show, list, assessment after screening, an officer's
decision, and tenant isolation — all through `stc` commands over gRPC."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from stc.screening.v1 import events_pb2 as scr
from stc_cli.main import app
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import SCREENING_RESULT
from stc_common.testing.kafka import produce_event
from stc_common.uscc import make_uscc
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc() -> str:
    body = "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9])
    return make_uscc("91110000" + body)


async def stc(*args: str):
    """Run one CLI command in a thread (it calls asyncio.run itself)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def cli_env(port: int) -> dict[str, str]:
    """Environment of a real `stc` process: the test's import path and the service's port."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "STC_LICENSING_ADDR": f"127.0.0.1:{port}", "COLUMNS": "200"}


async def test_register_submit_show_list(licensing):
    uscc = new_uscc()
    me = f"exporter:{uscc}"
    r = await stc("operator", "register", "--as", me, "--name-zh", "湖南金鹭硬质合金有限公司",
                  "--name-en", "Hunan Jinlu Cemented Carbide Co., Ltd.")
    assert r.exit_code == 0, r.output
    assert uscc in r.output

    r = await stc("operator", "show", "--as", me, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["name_zh"] == "湖南金鹭硬质合金有限公司"

    t0 = time.monotonic()
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as", me,
                  "--json")
    submit_s = time.monotonic() - t0
    assert r.exit_code == 0, r.output
    a = json.loads(r.output)
    assert a["authority"] == "MOFCOM"
    assert a["content"]["exporter_uscc"] == uscc  # filled in from --as
    assert a["deadline"]["year"] >= 2026
    app_id = a["application_id"]

    r = await stc("application", "show", app_id, "--as", me)
    assert r.exit_code == 0, r.output
    assert a["reference"] in r.output and "上海东方国际货运代理有限公司" in r.output

    r = await stc("application", "list", "--as", me, "--json")
    assert r.exit_code == 0, r.output
    assert [x["application_id"] for x in json.loads(r.output)] == [app_id]
    print(f"submit through the CLI: {submit_s:.2f}s")


async def test_readable_submit_prints_reference_authority_deadline(licensing):
    uscc = new_uscc()
    me = f"exporter:{uscc}"
    assert (await stc("operator", "register", "--as", me, "--name-zh", "某公司",
                      "--name-en", "Some Co.")).exit_code == 0
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as", me)
    assert r.exit_code == 0, r.output
    assert "submitted" in r.output and "MOFCOM" in r.output and "deadline" in r.output


async def test_tenant_isolation(licensing):
    owner, other = new_uscc(), new_uscc()
    for u in (owner, other):
        r = await stc("operator", "register", "--as", f"exporter:{u}", "--name-zh", "公司",
                      "--name-en", "Co.")
        assert r.exit_code == 0, r.output
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as",
                  f"exporter:{owner}", "--json")
    app_id = json.loads(r.output)["application_id"]

    r = await stc("application", "show", app_id, "--as", f"exporter:{other}")
    assert r.exit_code == 1
    assert "NOT_FOUND" in r.output and "Traceback" not in r.output
    r = await stc("application", "list", "--as", f"exporter:{other}", "--json")
    assert r.exit_code == 0 and json.loads(r.output) == []


async def test_refused_submission_prints_field_violations(licensing):
    r = await stc("application", "submit", str(EXAMPLES / "military_item.yaml"), "--as",
                  f"exporter:{new_uscc()}")  # no operator registered, no qualification
    assert r.exit_code == 1, r.output
    assert "INVALID_ARGUMENT" in r.output
    assert "exporter_uscc" in r.output and "regime" in r.output and "Art. 23" in r.output


async def test_watch_assessment_and_decision(licensing, kafka_bootstrap):
    uscc = new_uscc()
    me = f"exporter:{uscc}"
    assert (await stc("operator", "register", "--as", me, "--name-zh", "公司",
                      "--name-en", "Co.")).exit_code == 0
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as", me,
                  "--json")
    app_id = json.loads(r.output)["application_id"]
    # What the screening service would publish: a clean result.
    producer = make_producer(kafka_bootstrap, client_id="cli-test")
    await producer.start()
    try:
        msg = scr.ScreeningCompleted(screening_id=f"scr-{uuid.uuid4().hex[:8]}",
                                     subject_id=app_id, subject_kind=scr.SUBJECT_KIND_APPLICATION,
                                     exporter_uscc=uscc)
        await produce_event(producer, SCREENING_RESULT.name, app_id, msg, source="test")
    finally:
        await producer.stop()

    async def decide_when_reviewable():
        for _ in range(200):
            r = await stc("application", "show", app_id, "--as", me, "--json")
            if json.loads(r.output)["state"] == "APPLICATION_STATE_UNDER_REVIEW":
                break
            await asyncio.sleep(0.1)
        q = await stc("officer", "queue", "--as", "officer:MOFCOM", "--json")
        assert app_id in [x["application_id"] for x in json.loads(q.output)]
        return await stc("officer", "decide", app_id, "--as", "officer:MOFCOM", "--approve")

    t0 = time.monotonic()
    # The watcher is a real `stc` process (CliRunner swaps sys.stdout: one at a time only).
    watcher = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stc_cli", "application", "watch", app_id, "--as", me,
        "--timeout", "40", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=cli_env(licensing))
    decided = await decide_when_reviewable()
    assert decided.exit_code == 0, decided.output
    assert "licence" in decided.output
    stdout, _ = await asyncio.wait_for(watcher.communicate(), 45)
    took = time.monotonic() - t0
    out = stdout.decode()
    assert watcher.returncode == 0, out
    # Every step, the eight-factor table, and it stops at the decision.
    assert "SUBMITTED" in out and "ASSESSED" in out and "APPROVED" in out
    assert "Art. 13" in out and "结论" in out
    assert out.index("ASSESSED") < out.index("APPROVED")
    print(f"watch from submit to approval: {took:.2f}s")

    r = await stc("application", "assessment", app_id, "--as", me, "--json")
    assert len(json.loads(r.output)["factors"]) == 8

    r = await stc("application", "watch", app_id, "--as", me, "--after", "1", "--json")
    seqs = [json.loads(x)["sequence"] for x in _json_docs(r.output)]
    assert seqs and min(int(s) for s in seqs) == 2  # resumed after #1

    r = await stc("licence", "list", "--as", me, "--json")
    lic = json.loads(r.output)
    assert len(lic) == 1 and lic[0]["status"] == "LICENCE_STATUS_ACTIVE"
    r = await stc("licence", "suspend", lic[0]["licence_id"], "--reason", "test",
                  "--as", "officer:MOFCOM")
    assert r.exit_code == 0 and "SUSPENDED" in r.output, r.output


def _json_docs(text: str) -> list[str]:
    """Split concatenated pretty-printed JSON documents."""
    dec, i, out = json.JSONDecoder(), 0, []
    text = text.strip()
    while i < len(text):
        obj, end = dec.raw_decode(text, i)
        out.append(json.dumps(obj))
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    return out


async def test_ctrl_c_exits_130_without_traceback(licensing):
    uscc = new_uscc()
    me = f"exporter:{uscc}"
    await stc("operator", "register", "--as", me, "--name-zh", "公司", "--name-en", "Co.")
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as", me,
                  "--json")
    app_id = json.loads(r.output)["application_id"]
    watcher = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stc_cli", "application", "watch", app_id, "--as", me,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=cli_env(licensing))
    first = await asyncio.wait_for(watcher.stdout.readline(), 20)  # the SUBMITTED step
    assert b"SUBMITTED" in first
    watcher.send_signal(signal.SIGINT)
    rest, _ = await asyncio.wait_for(watcher.communicate(), 20)
    assert watcher.returncode == 130, rest
    assert b"Traceback" not in rest


async def test_submit_many_is_idempotent_and_checks_every_file_first(licensing, tmp_path):
    uscc = new_uscc()
    me = f"exporter:{uscc}"
    await stc("operator", "register", "--as", me, "--name-zh", "公司", "--name-en", "Co.")
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("dual_use_germany.yaml", "embargoed_destination.yaml"):
        (batch / name).write_text((EXAMPLES / name).read_text("utf-8"), "utf-8")
    (batch / "zz_bad.json").write_text('{"destinaton": "DE"}')
    r = await stc("application", "submit-many", str(batch), "--as", me)
    assert r.exit_code == 2 and "destinaton" in r.output
    r = await stc("application", "list", "--as", me, "--json")
    assert json.loads(r.output) == []  # nothing sent while one file was bad

    (batch / "zz_bad.json").unlink()
    first = await stc("application", "submit-many", str(batch), "--as", me, "--json")
    assert first.exit_code == 0, first.output
    again = await stc("application", "submit-many", str(batch), "--as", me, "--json")
    ids = [a["application_id"] for a in json.loads(first.output)]
    assert len(set(ids)) == 2
    assert [a["application_id"] for a in json.loads(again.output)] == ids  # no duplicates
    r = await stc("application", "list", "--as", me, "--json")
    assert sorted(a["application_id"] for a in json.loads(r.output)) == sorted(ids)


async def test_request_information_amend_and_withdraw(licensing, kafka_bootstrap):
    uscc = new_uscc()
    me = f"exporter:{uscc}"
    await stc("operator", "register", "--as", me, "--name-zh", "公司", "--name-en", "Co.")
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as", me,
                  "--json")
    app_id = json.loads(r.output)["application_id"]
    producer = make_producer(kafka_bootstrap, client_id="cli-test")
    await producer.start()
    try:
        await produce_event(producer, SCREENING_RESULT.name, app_id, scr.ScreeningCompleted(
            screening_id=f"scr-{uuid.uuid4().hex[:8]}", subject_id=app_id,
            subject_kind=scr.SUBJECT_KIND_APPLICATION, exporter_uscc=uscc), source="test")
    finally:
        await producer.stop()
    for _ in range(200):
        r = await stc("application", "show", app_id, "--as", me, "--json")
        if json.loads(r.output)["state"] == "APPLICATION_STATE_UNDER_REVIEW":
            break
        await asyncio.sleep(0.1)

    r = await stc("officer", "request-info", app_id, "--as", "officer:MOFCOM", "--question",
                  "Please provide the end user's sintering capacity / 请提供最终用户的烧结产能",
                  "--json")
    assert r.exit_code == 0, r.output
    a = json.loads(r.output)
    assert a["state"] == "APPLICATION_STATE_INFORMATION_REQUESTED" and a["clock_paused"]

    r = await stc("application", "amend", app_id, "--as", me, "--answer",
                  "Two furnaces, 40 t of carbide a year", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["state"] != "APPLICATION_STATE_INFORMATION_REQUESTED"

    r = await stc("application", "withdraw", app_id, "--as", me, "--reason", "contract lapsed")
    assert r.exit_code == 0 and "WITHDRAWN" in r.output, r.output
    r = await stc("application", "withdraw", app_id, "--as", me)
    assert r.exit_code == 1 and "FAILED_PRECONDITION" in r.output  # already withdrawn

"""The CLI against the real licensing and end-user services together (in-process, fresh
databases, real Kafka): a licence approved through `stc officer decide`, an end-use change
reported with `stc change report` putting it on hold in the licensing service, an officer's
resolution releasing it, and an end-use check scheduled — all through `stc` commands."""

from __future__ import annotations

import asyncio
import json
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
OFFICER = "officer:MOFCOM"


async def stc(*args: str):
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def until(check, timeout: float = 30.0, every: float = 0.1):
    """Poll `check()` (async, returns a value or None) until it returns something."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (got := await check()) is not None:
            return got
        await asyncio.sleep(every)
    raise AssertionError("condition not reached in time")


async def approved_licence(uscc: str, kafka_bootstrap: str) -> dict:
    me = f"exporter:{uscc}"
    r = await stc("operator", "register", "--as", me, "--name-zh", "厦门钨业贸易有限公司",
                  "--name-en", "Xiamen Tungsten Trading Co., Ltd.")
    assert r.exit_code == 0, r.output
    r = await stc("application", "submit", str(EXAMPLES / "dual_use_germany.yaml"), "--as", me,
                  "--json")
    app_id = json.loads(r.output)["application_id"]
    producer = make_producer(kafka_bootstrap, client_id="cli-test")
    await producer.start()
    try:  # what the screening service would publish: a clean result
        await produce_event(producer, SCREENING_RESULT.name, app_id, scr.ScreeningCompleted(
            screening_id=f"scr-{uuid.uuid4().hex[:8]}", subject_id=app_id,
            subject_kind=scr.SUBJECT_KIND_APPLICATION, exporter_uscc=uscc), source="test")
    finally:
        await producer.stop()

    async def reviewable():
        r = await stc("application", "show", app_id, "--as", me, "--json")
        return json.loads(r.output)["state"] == "APPLICATION_STATE_UNDER_REVIEW" or None

    await until(reviewable)
    r = await stc("officer", "decide", app_id, "--as", OFFICER, "--approve", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["licence"]


async def test_change_report_holds_the_licence_and_resolution_releases_it(
        licensing, enduser, kafka_bootstrap):
    uscc = make_uscc("91350200" + "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9]))
    me = f"exporter:{uscc}"
    lic = await approved_licence(uscc, kafka_bootstrap)
    licence_id = lic["licence_id"]
    t0 = time.monotonic()

    async def reported():  # the end-user service learns the licence from LicenceIssued
        r = await stc("change", "report", "--as", me, "--licence", licence_id,
                      "--kind", "end-use-may-change", "--request-id", f"rq-{licence_id}",
                      "--new-end-use", "Tungsten powder for a new drill-bit line",
                      "--details", "Der Kunde erwägt eine neue Produktlinie / 客户拟新增产品线",
                      "--json")
        if r.exit_code == 1 and "LICENCE_NOT_FOUND" in r.output:
            return None
        assert r.exit_code == 0, r.output
        return json.loads(r.output)

    rep = await until(reported)
    report_id = rep["report"]["report_id"]
    assert rep["report"]["licence_id"] == licence_id

    async def status(wanted):
        async def check():
            r = await stc("licence", "show", licence_id, "--as", me, "--json")
            return json.loads(r.output)["status"] == wanted or None
        return check

    await until(await status("LICENCE_STATUS_ON_HOLD"))
    held_s = time.monotonic() - t0

    r = await stc("change", "list", "--as", OFFICER, "--open", "--licence", licence_id)
    assert r.exit_code == 0 and rep["report"]["reference"] in r.output, r.output
    r = await stc("change", "list", "--as", f"exporter:{make_uscc('91110000' + '1' * 9)}",
                  "--licence", licence_id, "--json")
    assert r.exit_code == 0 and json.loads(r.output) == []  # another tenant sees nothing

    r = await stc("change", "resolve", report_id, "--as", OFFICER, "--resolution", "no-action",
                  "--reason", "the new line uses the same sintering process")
    assert r.exit_code == 0, r.output
    assert "NO_ACTION" in r.output and "RESOLVED" in r.output
    await until(await status("LICENCE_STATUS_ACTIVE"))
    print(f"report -> licence on hold through the CLI: {held_s:.2f}s")

    end_user = next(p for p in lic["parties"] if p["role"] == "PARTY_ROLE_END_USER")
    r = await stc("check", "schedule", "--as", OFFICER, "--licence", licence_id,
                  "--party", end_user["party_id"], "--deadline", "+30", "--json")
    assert r.exit_code == 0, r.output
    check = json.loads(r.output)
    assert check["status"] == "CHECK_STATUS_SCHEDULED"
    r = await stc("check", "list", "--as", OFFICER, "--licence", licence_id, "--open")
    assert check["check_id"] in r.output

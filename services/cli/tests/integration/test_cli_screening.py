"""The CLI against a real screening service with the shipped lists (in-process, fresh
database, real Kafka): the public list search with no token, party screening with the hits
table, an officer adding a party to the control list and removing it, classification help
and an Art. 12(4) consultation answered — all through `stc` commands."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from stc_cli.main import app
from stc_common.uscc import make_uscc
from typer.testing import CliRunner

pytestmark = pytest.mark.integration
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


async def stc(*args: str):
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def new_uscc() -> str:
    return make_uscc("91110000" + "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9]))


async def test_public_search_and_party_screening(screening):
    r = await stc("list", "search", "Korea Ryonbong General Corporation", "--json")
    assert r.exit_code == 0, r.output
    results = json.loads(r.output).get("results", [])
    assert any("RYONBONG" in x["entry"]["primary_name"].upper() for x in results)

    r = await stc("screen", "party", "Korea Ryonbong General Corp", "--country", "KP",
                  "--as", f"exporter:{new_uscc()}")
    assert r.exit_code == 0, r.output
    assert "hit(s)" in r.output and "Ryonbong".upper() in r.output.upper()
    assert "MATCH" in r.output  # the decision column

    r = await stc("screen", "party", "Korea Ryonbong General Corp")  # needs a token
    assert r.exit_code == 1 and "UNAUTHENTICATED" in r.output


async def test_officer_adds_and_removes_a_control_list_entry(screening):
    name = f"Hexagon Dynamics Trading FZE {uuid.uuid4().hex[:6]}"
    r = await stc("list", "add", name, "--list", "control-list", "--as", "officer:MOFCOM",
                  "--country", "AE", "--alias", "六边形动力贸易", "--announcement",
                  "商务部公告2026年第99号", "--reason", "diversion to a listed end user",
                  "--json")
    assert r.exit_code == 0, r.output
    entry_id = json.loads(r.output)["entry_id"]
    r = await stc("list", "search", name, "--list", "control-list", "--json")
    assert entry_id in [x["entry"]["entry_id"] for x in json.loads(r.output)["results"]]
    r = await stc("list", "add", "X", "--list", "control-list", "--as", f"exporter:{new_uscc()}")
    assert r.exit_code == 1 and "PERMISSION_DENIED" in r.output
    r = await stc("list", "remove", entry_id, "--as", "officer:MOFCOM", "--reason",
                  "delisted on application (Reg. 29)")
    assert r.exit_code == 0 and "removed" in r.output, r.output


async def test_classification_and_consultation(screening):
    uscc = new_uscc()
    r = await stc("classify", "ammonium paratungstate powder", "--hs", "2841801000",
                  "--as", f"exporter:{uscc}", "--json")
    assert r.exit_code == 0, r.output
    codes = [c["control_code"] for c in json.loads(r.output)["candidates"]]
    assert "1C117.d" in codes

    r = await stc("consult", "submit", "--as", f"exporter:{uscc}", "--item",
                  "Tungsten heavy alloy counterweights for aircraft, 92.5% W",
                  "--question", "Is this controlled under 1C117.c?", "--hs", "8101991001",
                  "--param", "tungsten_pct=92.5", "--json")
    assert r.exit_code == 0, r.output
    cid = json.loads(r.output)["consultation_id"]
    r = await stc("consult", "answer", cid, "--as", "officer:MOFCOM", "--not-controlled",
                  "--answer", "Below 97% tungsten: not controlled under 1C117.c.")
    assert r.exit_code == 0, r.output
    r = await stc("consult", "show", cid, "--as", f"exporter:{uscc}")
    assert r.exit_code == 0 and "not controlled" in r.output and "ANSWERED" in r.output
    r = await stc("consult", "show", cid, "--as", f"exporter:{new_uscc()}")
    assert r.exit_code == 1 and "NOT_FOUND" in r.output

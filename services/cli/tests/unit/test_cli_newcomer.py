"""What a newcomer meets first (issue 12, item 4): every command that `make run` prints under
"Try it yourself" is accepted as printed; the main tables stay within an 80-column terminal
with the ids on one line; a weak fuzzy search result is marked weak, never shown as a plain
result."""

from __future__ import annotations

import re
import shlex

import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import licensing_service_pb2 as lpb
from stc.screening.v1 import events_pb2 as epb
from stc.screening.v1 import screening_service_pb2 as spb
from stc_cli import core
from stc_cli.main import app
from stc_demo.__main__ import TRY_THIS
from typer.testing import CliRunner

ENTRY_ID = "prc-unreliable-entity-list:d7fc6fc0fab9e669"  # the longest kind of id
APP_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


class Fake:
    """Answers every RPC with the prepared message and records the requests."""

    def __init__(self, answer):
        self.answer, self.requests = answer, []

    def __getattr__(self, rpc):
        async def call(request, metadata=None, timeout=None):
            self.requests.append((rpc, request, dict(metadata or ())))
            return self.answer
        return call


@pytest.fixture
def narrow(monkeypatch):
    """An 80-column terminal and a fake stub; returns the installer."""
    monkeypatch.setattr(core.console, "width", 80)
    monkeypatch.setattr(core.err, "width", 80)

    def install(answer):
        stub = Fake(answer)
        monkeypatch.setattr(core.Client, "factory", staticmethod(lambda service: (None, stub)))
        return stub
    return install


def try_this_commands() -> list[list[str]]:
    out = []
    for line in TRY_THIS.splitlines():
        line = line.strip()
        if line.startswith("stc "):
            out.append(shlex.split(line.split("  #")[0])[1:])
    return out


def test_the_printed_commands_are_found():
    cmds = try_this_commands()
    assert ["list", "search", "华为", "--as", "public"] in cmds
    assert len(cmds) >= 5


@pytest.mark.parametrize("argv", try_this_commands(), ids=" ".join)
def test_every_try_it_yourself_command_parses_as_printed(argv):
    # --help is eager but comes after parsing: an unknown option or a missing argument still
    # fails with a usage error (exit 2), as `stc list search 华为 --as public` used to
    r = CliRunner().invoke(app, [*argv, "--help"])
    assert r.exit_code == 0, r.output
    assert "No such option" not in r.output


def search_answer() -> spb.SearchListEntriesResponse:
    def entry(i, name, kind):
        return epb.ListEntry(entry_id=f"{ENTRY_ID[:-1]}{i}", list_kind=kind, primary_name=name,
                             countries=["CN"], legal_basis="ECL Art. 18")
    return spb.SearchListEntriesResponse(total_size=2, results=[
        spb.SearchListEntry(entry=entry(1, "华为技术有限公司 Huawei Technologies Co., Ltd.",
                                        epb.LIST_KIND_CONTROL_LIST), score=1.0,
                            matched_name="华为技术有限公司",
                            match_kind=spb.SEARCH_MATCH_KIND_TOKEN),
        spb.SearchListEntry(entry=entry(2, "HUA, Wei Ming", epb.LIST_KIND_OFAC_SDN),
                            score=0.80, matched_name="HUA, Wei Ming",
                            match_kind=spb.SEARCH_MATCH_KIND_FUZZY),
    ])


def lines_of(output: str) -> list[str]:
    return output.splitlines()


def test_public_search_marks_a_weak_fuzzy_hit_and_fits_80_columns(narrow):
    stub = narrow(search_answer())
    r = CliRunner().invoke(app, ["list", "search", "华为", "--as", "public"])
    assert r.exit_code == 0, r.output
    assert stub.requests[0][1].query == "华为"
    assert stub.requests[0][2] == {}  # public: no token sent
    assert max(len(x) for x in lines_of(r.output)) <= 80, r.output
    assert f"{ENTRY_ID[:-1]}2" in r.output  # ids are never folded
    # the weak one says so, in its row and in the summary; the strong one does not
    rows = r.output.split("HUA, Wei Ming")
    assert "weak" not in rows[0] and "weak" in rows[1]
    assert "1 weak result(s)" in r.output


def test_only_weak_results_say_nothing_matches_closely(narrow):
    answer = search_answer()
    del answer.results[0]
    narrow(answer)
    r = CliRunner().invoke(app, ["list", "search", "华为"])
    assert "nothing on the lists closely matches '华为'" in r.output


def test_party_screening_folds_the_explanation_under_the_table(narrow):
    expl = ("name: token overlap 3/3 after legal-form stripping (Corporation → Corp), "
            "pinyin agrees; country KP agrees; identifier none")
    narrow(spb.ScreenPartyResponse(lists_version="abcdef0123456789", hits=[epb.PartyHit(
        party_name="Korea Ryonbong General Corp", entry_id=ENTRY_ID,
        entry_name="KOREA RYONBONG GENERAL CORPORATION",
        list_kind=epb.LIST_KIND_UN_CONSOLIDATED,
        score=0.97, decision=epb.HIT_DECISION_MATCH, explanation=expl)]))
    r = CliRunner().invoke(app, ["screen", "party", "Korea Ryonbong General Corp",
                                 "--as", "officer:MOFCOM"])
    assert r.exit_code == 0, r.output
    assert max(len(x) for x in lines_of(r.output)) <= 80, r.output
    assert ENTRY_ID in r.output and "MATCH" in r.output
    assert "#1 why:" in re.sub(r"\s+", " ", r.output)
    assert "pinyin agrees" in re.sub(r"\s+", " ", r.output)
    core.console.width = 200  # --wide is for wide terminals (the fixture restores 80)
    r = CliRunner().invoke(app, ["screen", "party", "Korea Ryonbong General Corp",
                                 "--as", "officer:MOFCOM", "--wide"])
    assert "#1 why:" not in r.output and "pinyin" in r.output  # in the table


def test_review_queue_fits_80_columns_with_whole_ids(narrow):
    apps = [apb.Application(application_id=APP_ID, reference="MOFCOM-2026-000001",
                            state=apb.APPLICATION_STATE_UNDER_REVIEW,
                            content=apb.ApplicationContent(exporter_uscc="91310115MA1K4Q8X7G",
                                                           destination="DE"))]
    narrow(lpb.ListApplicationsResponse(applications=apps))
    r = CliRunner().invoke(app, ["application", "list", "--as", "officer:MOFCOM"])
    assert r.exit_code == 0, r.output
    assert max(len(x) for x in lines_of(r.output)) <= 80, r.output
    assert APP_ID in r.output and "91310115MA1K4Q8X7G" in r.output
    assert "UNDER_REVIEW" in r.output

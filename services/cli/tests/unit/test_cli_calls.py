"""How every command talks to a service (stc_cli.core `call` and `collect`), with a fake stub:
`stc licence list --limit N` follows the pages of ListLicences until N licences or the last page,
asking each page for no more than it still needs; the public publicity feed sends no token; a
single call sends the `--as` token and the command's timeout."""

from __future__ import annotations

import json

import pytest
from stc.credit.v1 import credit_service_pb2 as cpb
from stc.licensing.v1 import licence_pb2 as lpb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_cli import core
from stc_cli.main import app
from typer.testing import CliRunner


class PagedStub:
    """Answers List RPCs from `items` in pages of the size asked; records every request."""

    def __init__(self, items: list, field: str, answer_type) -> None:
        self.items, self.field, self.answer_type = items, field, answer_type
        self.requests: list[tuple[str, object, dict, float | None]] = []

    def __getattr__(self, rpc):
        async def call(request, metadata=None, timeout=None):
            self.requests.append((rpc, request, dict(metadata or ()), timeout))
            if self.answer_type is None:
                return spb.GetLicenceRequest()  # any message will do for a single call
            start = int(request.page_token or 0)
            end = start + request.page_size
            answer = self.answer_type(next_page_token=str(end) if end < len(self.items) else "")
            getattr(answer, self.field).extend(self.items[start:end])
            return answer
        return call


@pytest.fixture
def install(monkeypatch):
    def install(stub):
        monkeypatch.setattr(core.Client, "factory", staticmethod(lambda service: (None, stub)))
        return stub
    return install


def licences(n: int) -> list[lpb.Licence]:
    return [lpb.Licence(licence_id=f"lic-{i}", reference=f"R{i}") for i in range(n)]


def test_collect_follows_pages_up_to_the_limit(install):
    stub = install(PagedStub(licences(250), "licences", spb.ListLicencesResponse))
    r = CliRunner().invoke(app, ["licence", "list", "--as", "officer:MOFCOM", "--limit", "230",
                                 "--holder", "91310115MA1K4Q8X7G", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert [x["licence_id"] for x in got] == [f"lic-{i}" for i in range(230)]
    sizes = [(req.page_token, req.page_size) for _, req, _, _ in stub.requests]
    assert sizes == [("", 100), ("100", 100), ("200", 30)]  # never more than still needed
    assert all(req.holder_uscc == "91310115MA1K4Q8X7G" for _, req, _, _ in stub.requests)
    assert all(md["authorization"].startswith("Bearer ") for _, _, md, _ in stub.requests)
    assert {t for *_, t in stub.requests} == {core.TIMEOUT}


def test_collect_stops_at_the_last_page(install):
    stub = install(PagedStub(licences(120), "licences", spb.ListLicencesResponse))
    r = CliRunner().invoke(app, ["licence", "list", "--limit", "1000", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)) == 120
    assert len(stub.requests) == 2


def test_public_feed_sends_no_token(install):
    stub = install(PagedStub([], "publications", cpb.ListPublicationsResponse))
    r = CliRunner().invoke(app, ["credit", "publications", "--json"], env={"STC_AS": ""})
    assert r.exit_code == 0, r.output
    [(rpc, _, metadata, _)] = stub.requests
    assert rpc == "ListPublications" and metadata == {}


def test_call_sends_the_identity_and_the_request(install):
    stub = install(PagedStub([], "", None))
    r = CliRunner().invoke(app, ["licence", "show", "lic-7", "--as", "exporter:91310115MA1K4Q8X7G",
                                 "--json"])
    assert r.exit_code == 0, r.output
    [(rpc, req, metadata, timeout)] = stub.requests
    assert rpc == "GetLicence" and req.licence_id == "lic-7"
    assert metadata["authorization"].startswith("Bearer ") and timeout == core.TIMEOUT

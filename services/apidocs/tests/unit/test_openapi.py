"""The OpenAPI document of the JSON routes (docs/openapi/) is current, complete and sound: the
committed file equals a fresh generation from the protos, every google.api.http annotation is
in it (and only those), the public search is documented with its query parameters, and every
$ref resolves."""

from __future__ import annotations

import importlib

import pytest
import yaml
from google.api import annotations_pb2
from stc_apidocs import openapi


@pytest.fixture(scope="module")
def generated() -> str:
    return openapi.generate()


@pytest.fixture(scope="module")
def doc(generated) -> dict:
    return yaml.safe_load(generated)


def test_the_committed_document_is_current(generated):
    assert openapi.DEFAULT_PATH.exists(), "run: python -m stc_apidocs openapi"
    committed = openapi.DEFAULT_PATH.read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/openapi/stc-platform.openapi.yaml is out of date with the protos: "
        "regenerate with `python -m stc_apidocs openapi`")


def annotated() -> set[str]:
    out = set()
    for mod_name in openapi.SERVICES.values():
        for svc in importlib.import_module(mod_name).DESCRIPTOR.services_by_name.values():
            out |= {f"{svc.name}_{m.name}" for m in svc.methods
                    if m.GetOptions().HasExtension(annotations_pb2.http)}
    return out


def test_every_annotated_rpc_and_only_those(doc):
    ops = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert ops == annotated()
    assert "ScreeningService_SearchListEntries" in ops and "LicensingService_SubmitApplication" in ops
    assert "ScreeningService_UpdateListEntry" not in ops  # not annotated: gRPC only


def test_public_search_and_watch_are_described(doc):
    search = doc["paths"]["/v1/listEntries:search"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert {"query", "list_kinds", "page_size", "page_token"} <= names
    watch = doc["paths"]["/v1/applications/{application_id}:watch"]["get"]
    assert "application/x-ndjson" in watch["responses"]["200"]["content"]
    submit = doc["paths"]["/v1/applications"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "SubmitApplicationRequest")
    resolve = doc["paths"]["/v1/changeReports/{name}:resolve"]["post"]
    assert "changeReports/" in resolve["parameters"][0]["description"]


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_every_ref_resolves(doc):
    schemas = doc["components"]["schemas"]
    refs = set(_refs(doc))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref

"""One naming rule for event sources and consumer groups (stc_common.naming)."""

from __future__ import annotations

import importlib

import pytest
from stc_common.naming import SERVICES, consumer_group, event_source, legacy_sources


def test_every_service_publishes_as_stc_dash_its_name():
    sources = {svc: importlib.import_module(mod).SOURCE for svc, mod in (
        ("licensing", "stc_licensing.config"), ("screening", "stc_screening.config"),
        ("enduser", "stc_enduser.storage.uow"), ("credit", "stc_credit.storage.uow"))}
    assert sources == {svc: f"stc-{svc}" for svc in SERVICES}
    assert legacy_sources("credit") == ("stc-credit", "credit")


def test_consumer_groups_are_prefix_service_purpose():
    assert consumer_group("stc", "licensing", "events") == "stc.licensing.events"
    with pytest.raises(ValueError):
        consumer_group("stc", "billing", "x")
    with pytest.raises(ValueError):
        event_source("billing")

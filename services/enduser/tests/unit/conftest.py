"""Shared values for the end-user domain tests: one MOFCOM licence and its parties."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_common.uscc import make_uscc
from stc_enduser.domain.model import (
    Authority,
    ChangeKind,
    ChangeReportDraft,
    Document,
    Identifier,
    LicenceView,
    Officer,
    Party,
    ReporterRole,
)

EXPORTER = make_uscc("91310000MA1FL0000")
OTHER_EXPORTER = make_uscc("91110000MA2AB1234")
NOW = dt.datetime(2026, 11, 28, 3, 45, tzinfo=dt.UTC)
SHA = "a" * 64

LICENCE = LicenceView(
    licence_id="lic-1",
    exporter_uscc=EXPORTER,
    authority=Authority.MOFCOM,
    destination_country="DE",
    importer_id="party-imp",
    party_ids=frozenset({"party-imp", "party-eu", "party-cons"}),
    end_user_ids=frozenset({"party-eu"}),
    item_codes=("3A001.a.1",),
)

NEW_END_USER = Party(
    name="Müller Präzisionstechnik GmbH",
    country="DE",
    identifiers=(Identifier("LEI", "5299000J2N45DDNE4Y28"),),
)
OFFICER = Officer("off-1", Authority.MOFCOM)
SASTIND_OFFICER = Officer("off-9", Authority.SASTIND)
END_USER = Party(name="Berliner Messtechnik AG", country="DE", party_id="party-eu")


def make_draft(kind: ChangeKind = ChangeKind.CERTIFICATE_EXPIRED, **overrides) -> ChangeReportDraft:
    """A valid draft of `kind`, with the fields that kind requires."""
    values: dict = {
        "licence_id": LICENCE.licence_id,
        "reporter_role": ReporterRole.EXPORTER,
        "reporter_id": EXPORTER,
        "kind": kind,
        "details": "The importer told us on 20 November.",
        "documents": (Document("letter.pdf", SHA),),
    }
    if kind is ChangeKind.END_USER_CHANGED:
        values["new_end_user"] = NEW_END_USER
    if kind is ChangeKind.END_USE_CHANGED:
        values["new_end_use"] = "calibration of civil radar test benches"
    values.update(overrides)
    return ChangeReportDraft(**values)


@pytest.fixture
def licence() -> LicenceView:
    return LICENCE


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def officer() -> Officer:
    return OFFICER


@pytest.fixture
def other_officer() -> Officer:
    return SASTIND_OFFICER


@pytest.fixture
def new_end_user() -> Party:
    return NEW_END_USER


@pytest.fixture
def end_user() -> Party:
    return END_USER


@pytest.fixture
def draft():
    """Factory: draft(kind, **overrides) -> a valid ChangeReportDraft unless overridden."""
    return make_draft

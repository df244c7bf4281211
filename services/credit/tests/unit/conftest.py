"""Fixtures of the credit unit tests: sample records, measures and a signing key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from stc_common.uscc import make_uscc
from stc_credit.domain.checkpoint import SignerKey, parse_signer_key
from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.records import CreditRecord, Measure, MeasureKind, Penalty

USCC_A = make_uscc("91310000MA1FL1234")
USCC_B = make_uscc("91110108MA0012345")
YUAN = 100  # fen per yuan


def _record(**overrides: Any) -> CreditRecord:
    fields: dict[str, Any] = dict(
        record_id="rec-1",
        uscc=USCC_A,
        enterprise_name="上海示例科技有限公司",
        article=Article.ART_34,
        decision_no="商务部行罚〔2026〕12号",
        decision_sha256="ab" * 32,
        penalty=Penalty.of(
            Sanction.ORDER_TO_STOP,
            Sanction.CONFISCATION,
            fine_fen=600_000 * YUAN,
            confiscated_fen=80_000 * YUAN,
        ),
        decision_date=dt.date(2026, 9, 21),
        effective_date=dt.date(2026, 10, 8),
        decided_by="officer-7",
        turnover_fen=100_000 * YUAN,
    )
    fields.update(overrides)
    return CreditRecord(**fields)


def _measure(**overrides: Any) -> Measure:
    fields: dict[str, Any] = dict(
        measure_id="m-1",
        uscc=USCC_A,
        kind=MeasureKind.SUPERVISORY_TALK,
        reference="约谈〔2026〕3号",
        issued_on=dt.date(2026, 3, 2),
        decided_by="officer-7",
    )
    fields.update(overrides)
    return Measure(**fields)


@pytest.fixture
def make_record() -> Callable[..., CreditRecord]:
    """Factory of a lawful Art. 34 record; keyword arguments override fields."""
    return _record


@pytest.fixture
def make_measure() -> Callable[..., Measure]:
    """Factory of a supervisory talk; keyword arguments override fields."""
    return _measure


@pytest.fixture(scope="session")
def signer() -> SignerKey:
    """A fixed test signing key (never used outside tests)."""
    return parse_signer_key(SignerKey("stc.test/credit-log", bytes(range(32))).encode())

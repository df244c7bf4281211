"""Unit tests of the wiring's pure parts: request mapping, standing events, keys, helpers."""

from __future__ import annotations

import datetime as dt

import pytest
from google.type import date_pb2
from stc.credit.v1 import credit_pb2, events_pb2
from stc.credit.v1 import credit_service_pb2 as pb
from stc_common.config import ConfigError
from stc_common.errors import ValidationFailed
from stc_common.uscc import make_uscc
from stc_credit.agents import RECENT, StandingAgent, _header
from stc_credit.api.mapping import violation_cmd
from stc_credit.config import CreditSettings
from stc_credit.domain.checkpoint import (
    Checkpoint,
    generate_key,
    parse_signer_key,
    sign_checkpoint,
)
from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.standing import CreditStanding, StandingLevel
from stc_credit.events.outgoing import standing_changed as standing_message
from stc_credit.main import build_spec
from stc_credit.service.standing import changed as _changed
from stc_credit.verifier_cli import _head_size

USCC = make_uscc("91310000MA1FL1234")


def _date(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _request(**overrides) -> pb.RecordViolationRequest:
    fields = dict(
        request_id="r-1", uscc=USCC.lower(), enterprise_name="示例", article="34",
        decision_no="商务部行罚〔2026〕1号", decision_sha256="AB" * 32,
        penalty=credit_pb2.Penalty(sanctions=["order_to_stop"], fine_fen=60_000_000),
        decision_date=_date(dt.date(2026, 9, 21)), effective_date=_date(dt.date(2026, 10, 8)),
    )  # fmt: skip
    fields.update(overrides)
    return pb.RecordViolationRequest(**fields)


def test_violation_request_maps_to_a_record_decided_by_the_caller():
    cmd = violation_cmd(_request(), "officer-li")
    r = cmd.record
    assert r.uscc == USCC and r.decision_sha256 == "ab" * 32  # normalised
    assert r.article is Article.ART_34 and r.decided_by == "officer-li"
    assert r.penalty.sanctions == {Sanction.ORDER_TO_STOP, Sanction.FINE}
    assert r.penalty.fine_fen == 60_000_000 and r.turnover_fen is None
    assert not r.application_ban and r.ban_until() is None  # Art. 39: no automatic ban
    assert cmd.publicity_months is None and cmd.request_id == "r-1"
    banned = violation_cmd(_request(application_ban_months=24), "officer-li").record
    assert banned.application_ban_months == 24 and banned.ban_until() == dt.date(2028, 10, 8)


def test_violation_request_reports_every_malformed_field_with_its_path():
    req = _request(
        article="99",
        request_id="",
        decision_date=date_pb2.Date(),
        penalty=credit_pb2.Penalty(sanctions=["flogging"], fine_fen=-1),
    )
    with pytest.raises(ValidationFailed) as err:
        violation_cmd(req, "officer-li", prefix="violation.")
    fields = {v.field for v in err.value.violations}
    assert fields == {
        "violation.article", "violation.request_id", "violation.decision_date",
        "violation.penalty.sanctions[0]", "violation.penalty.fine_fen",
    }  # fmt: skip


def test_impossible_date_is_a_field_violation():
    with pytest.raises(ValidationFailed) as err:
        violation_cmd(_request(effective_date=date_pb2.Date(year=2026, month=2, day=30)), "o")
    assert [v.field for v in err.value.violations] == ["effective_date"]


def _standing(level: StandingLevel, ban: dt.date | None = None, ids=("r1",)) -> CreditStanding:
    return CreditStanding(USCC, dt.date(2026, 11, 28), level, len(ids), ban, tuple(ids))


def test_standing_change_is_published_only_when_it_differs():
    banned = _standing(StandingLevel.BANNED, dt.date(2031, 10, 8))
    assert not _changed(None, _standing(StandingLevel.GOOD, ids=()))  # nothing to announce
    assert _changed(None, banned)
    assert not _changed(banned, _standing(StandingLevel.BANNED, dt.date(2031, 10, 8)))
    assert _changed(banned, _standing(StandingLevel.BANNED, dt.date(2032, 1, 1), ("r1", "r2")))
    msg = standing_message(banned)
    assert msg.level == events_pb2.STANDING_LEVEL_BANNED
    assert (msg.ban_until.year, msg.ban_until.month, msg.ban_until.day) == (2031, 10, 8)
    assert not standing_message(_standing(StandingLevel.GOOD, ids=())).HasField("ban_until")


def test_development_key_is_generated_once_and_explicit_keys_are_checked(tmp_path):
    settings = CreditSettings(environment="development", state_dir=tmp_path)
    first = settings.signer_key()
    assert (tmp_path / "credit-log.key").stat().st_mode & 0o777 == 0o600
    assert CreditSettings(state_dir=tmp_path).signer_key() == first  # stable across starts
    assert settings.verifier_key() == parse_signer_key(first).verifier().encode()
    signer, verifier = generate_key("stc.test/x")
    assert CreditSettings(log_signer_key=signer, state_dir=tmp_path).verifier_key() == verifier
    with pytest.raises(ValueError):
        CreditSettings(log_signer_key="PRIVATE+KEY+nonsense", state_dir=tmp_path).signer_key()


def test_production_refuses_a_generated_signer_key_and_takes_one_from_a_file(tmp_path):
    with pytest.raises(ConfigError, match="STC_LOG_SIGNER_KEY"):
        CreditSettings(environment="production", state_dir=tmp_path).signer_key()
    assert not (tmp_path / "credit-log.key").exists()  # nothing generated silently
    with pytest.raises(ConfigError, match="STC_LOG_SIGNER_KEY"):
        build_spec(CreditSettings(environment="production", state_dir=tmp_path))
    signer, verifier = generate_key("stc.test/prod")
    secret = tmp_path / "log_signer_key"
    secret.write_text(signer + "\n")
    settings = CreditSettings(
        environment="production", log_signer_key_file=str(secret), state_dir=tmp_path
    )
    assert settings.signer_key() == signer and settings.verifier_key() == verifier
    with pytest.raises(ConfigError, match="STC_LOG_SIGNER_KEY_FILE"):
        CreditSettings(log_signer_key_file=str(tmp_path / "missing")).signer_key()


def test_the_verifier_key_of_the_local_stack_prints_from_any_shell(tmp_path):
    with pytest.raises(ConfigError):  # production, no key, no development key file
        CreditSettings(environment="production", state_dir=tmp_path).published_verifier_key()
    dev = CreditSettings(environment="development", state_dir=tmp_path)
    key = dev.verifier_key()  # make run generated it
    prod = CreditSettings(environment="production", state_dir=tmp_path)
    assert prod.published_verifier_key() == key
    with pytest.raises(ConfigError):  # but it never signs with it
        prod.signer_key()


def test_verifier_head_is_the_largest_valid_checkpoint_within_the_log():
    signer, verifier = generate_key("stc.test/log")
    other, _ = generate_key("stc.test/log")
    notes = [
        sign_checkpoint(Checkpoint("o", 1, bytes(32)), signer),
        sign_checkpoint(Checkpoint("o", 2, bytes(32)), signer),
        sign_checkpoint(Checkpoint("o", 3, bytes(32)), other),  # another key: ignored
        sign_checkpoint(Checkpoint("elsewhere", 2, bytes(32)), signer),
        sign_checkpoint(Checkpoint("o", 9, bytes(32)), signer),  # beyond the log
    ]
    assert _head_size(notes, verifier, "o", 5) == 2
    assert _head_size([], verifier, "o", 5) == 0


def test_agent_reads_ce_type_from_faust_headers_and_keeps_bounded_state():
    assert _header({"ce_type": b"stc.credit.v1.CreditRecordCreated"}, "ce_type") == (
        "stc.credit.v1.CreditRecordCreated"
    )
    assert _header([("ce_id", b"1"), ("ce_type", b"x")], "ce_type") == "x"
    assert _header(None, "ce_type") is None
    state = StandingAgent()
    for i in range(RECENT + 10):
        state.note(f"r{i}")
    assert state.handled == RECENT + 10 and len(state.recent) == RECENT  # bounded
    assert state.recent[-1] == f"r{RECENT + 9}" and "r0" not in state.recent


async def test_faust_app_keeps_its_data_under_the_state_folder(tmp_path, monkeypatch):
    from stc_credit.app import app_id, create_app

    monkeypatch.chdir(tmp_path)  # what the working directory would collect
    settings = CreditSettings(state_dir=tmp_path / "state", consumer_group_prefix="t-wiring")
    app, agent = create_app(settings, None, lambda: dt.date(2026, 10, 12))  # type: ignore[arg-type]
    assert app.conf.id == app_id(settings) == "t-wiring-credit-standing"
    assert app.conf.datadir == tmp_path / "state" / "t-wiring-credit-standing-data"
    assert agent.handled == 0 and not list(tmp_path.glob("*-data"))
    assert not app.tables  # no Faust table: PostgreSQL holds the standing

"""Credit standing levels (Art. 13 factor 7, Art. 39 ban)."""

from __future__ import annotations

import datetime as dt

from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.records import Penalty
from stc_credit.domain.standing import StandingLevel, compute_standing


def test_no_records_is_good(make_record):
    uscc = make_record().uscc
    standing = compute_standing(uscc, [], [], dt.date(2026, 11, 1))
    assert standing.level is StandingLevel.GOOD
    assert standing.active_records == 0 and standing.ban_until is None and standing.record_ids == ()


def test_effective_penalty_bans_for_five_years(make_record):
    record = make_record(effective_date=dt.date(2026, 10, 8), application_ban_months=60)
    on = compute_standing(record.uscc, [record], [], dt.date(2026, 10, 8))
    assert on.level is StandingLevel.BANNED and on.ban_until == dt.date(2031, 10, 8)
    assert on.record_ids == ("rec-1",) and on.active_records == 1
    last_day = compute_standing(record.uscc, [record], [], dt.date(2031, 10, 8))
    assert last_day.level is StandingLevel.BANNED
    after = compute_standing(record.uscc, [record], [], dt.date(2031, 10, 9))
    assert after.level is StandingLevel.GOOD and after.ban_until is None


def test_decided_not_yet_effective_is_penalised(make_record):
    record = make_record(decision_date=dt.date(2026, 9, 21), effective_date=dt.date(2026, 10, 8))
    standing = compute_standing(record.uscc, [record], [], dt.date(2026, 9, 30))
    assert standing.level is StandingLevel.PENALISED and standing.ban_until is None
    before = compute_standing(record.uscc, [record], [], dt.date(2026, 9, 20))
    assert before.level is StandingLevel.GOOD


def test_art39_no_ban_decided_is_penalised_not_banned(make_record):
    record = make_record()  # the officer decided no application ban
    standing = compute_standing(record.uscc, [record], [], dt.date(2027, 1, 1))
    assert standing.level is StandingLevel.PENALISED and standing.ban_until is None


def test_art39_shorter_ban_ends_then_the_record_still_weighs(make_record):
    record = make_record(effective_date=dt.date(2026, 10, 8), application_ban_months=12)
    during = compute_standing(record.uscc, [record], [], dt.date(2027, 10, 8))
    assert during.level is StandingLevel.BANNED and during.ban_until == dt.date(2027, 10, 8)
    after = compute_standing(record.uscc, [record], [], dt.date(2027, 10, 9))
    assert after.level is StandingLevel.PENALISED and after.ban_until is None


def test_warning_only_and_measures_are_warned(make_record, make_measure):
    warning = make_record(
        article=Article.ART_38, penalty=Penalty.of(Sanction.WARNING)
    )
    assert (
        compute_standing(warning.uscc, [warning], [], dt.date(2027, 1, 1)).level
        is StandingLevel.WARNED
    )
    measure = make_measure(issued_on=dt.date(2026, 3, 2))
    warned = compute_standing(measure.uscc, [], [measure], dt.date(2027, 3, 2))
    assert warned.level is StandingLevel.WARNED and warned.measure_ids == ("m-1",)
    expired = compute_standing(measure.uscc, [], [measure], dt.date(2027, 3, 3))
    assert expired.level is StandingLevel.GOOD


def test_worst_level_wins_and_latest_ban_reported(make_record, make_measure):
    first = make_record(record_id="rec-1", effective_date=dt.date(2026, 10, 8),
                        application_ban_months=60)
    second = make_record(
        record_id="rec-2", decision_date=dt.date(2027, 5, 6), effective_date=dt.date(2027, 6, 1),
        application_ban_months=60,
    )
    standing = compute_standing(first.uscc, [second, first], [make_measure()], dt.date(2027, 7, 1))
    assert standing.level is StandingLevel.BANNED
    assert standing.ban_until == dt.date(2032, 6, 1)
    assert standing.record_ids == ("rec-1", "rec-2") and standing.active_records == 2


def test_other_enterprises_ignored(make_record):
    from stc_common.uscc import make_uscc

    other = make_record(uscc=make_uscc("91110108MA0012345"))
    standing = compute_standing(make_record().uscc, [other], [], dt.date(2027, 1, 1))
    assert standing.level is StandingLevel.GOOD

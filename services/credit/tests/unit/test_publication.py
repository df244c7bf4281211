"""Publication deadlines (PRC working days), publicity periods, repair, the published view."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.publication import (
    PublishedRecord,
    Repair,
    Severity,
    apply_repair,
    at_risk,
    check_repair,
    deadline_status,
    default_publicity_months,
    earliest_repair,
    publication_deadline,
    publicity,
    publicity_months,
    published_in_time,
    published_view,
    severity_of,
)
from stc_credit.domain.records import Penalty, ResponsiblePerson


def test_deadline_across_national_day_2026_and_working_saturday(make_record):
    # Decided Mon 21 Sep 2026. Off: Fri 25 Sep (Mid-Autumn), 1-7 Oct (National Day).
    # Sat 10 Oct 2026 is an adjusted working day and counts. 20th working day: Mon 26 Oct.
    record = make_record(decision_date=dt.date(2026, 9, 21))
    deadline = publication_deadline(record)
    assert deadline.date == dt.date(2026, 10, 26)
    assert deadline.exact
    # A naive Monday-Friday count would give 19 Oct; ignoring the Saturday, 27 Oct.
    assert deadline.date != dt.date(2026, 10, 19)


def test_deadline_day_after_holiday_start(make_record):
    # Decided on 30 Sep 2026: 8 Oct (1), 9 Oct (2), Sat 10 Oct (3), 12-16 Oct (8),
    # 19-23 Oct (13), 26-30 Oct (18), 2 Nov (19), 3 Nov (20).
    record = make_record(decision_date=dt.date(2026, 9, 30))
    assert publication_deadline(record).date == dt.date(2026, 11, 3)


def test_deadline_beyond_official_calendar_is_flagged_inexact(make_record):
    record = make_record(decision_date=dt.date(2027, 12, 20), effective_date=dt.date(2027, 12, 30))
    assert not publication_deadline(record).exact


def test_at_risk_margins(make_record):
    record = make_record(decision_date=dt.date(2026, 9, 21))  # deadline 26 Oct
    # 16 Oct (Fri): working days left 19, 20, 21, 22, 23, 26 = 6
    assert deadline_status(record, dt.date(2026, 10, 16)).working_days_left == 6
    assert not at_risk(record, dt.date(2026, 10, 16), 5)
    assert at_risk(record, dt.date(2026, 10, 16), 6)
    # from 9 Oct: Sat 10 Oct (1), 12-16 (6), 19-23 (11), 26 (12): the Saturday counts
    assert deadline_status(record, dt.date(2026, 10, 9)).working_days_left == 12
    # overdue
    status = deadline_status(record, dt.date(2026, 10, 27))
    assert status.overdue and at_risk(record, dt.date(2026, 10, 27), 0)
    # a published record is never at risk
    assert not at_risk(record, dt.date(2026, 10, 27), 5, published_on=dt.date(2026, 10, 20))


def test_published_in_time(make_record):
    record = make_record(decision_date=dt.date(2026, 9, 21))
    assert published_in_time(record, dt.date(2026, 10, 26))
    assert not published_in_time(record, dt.date(2026, 10, 27))


def test_severity_and_default_periods(make_record):
    ordinary = make_record()
    assert severity_of(ordinary) is Severity.ORDINARY
    assert default_publicity_months(ordinary) == 12
    warning_only = make_record(article=Article.ART_38, penalty=Penalty.of(Sanction.WARNING))
    assert default_publicity_months(warning_only) == 3
    serious = make_record(serious=True)
    assert severity_of(serious) is Severity.SERIOUS and default_publicity_months(serious) == 36
    listed_party = make_record(article=Article.ART_37)
    assert severity_of(listed_party) is Severity.SERIOUS
    revoked = make_record(
        penalty=Penalty.of(Sanction.SUSPENSION, fine_fen=50_000_000), serious=True
    )
    assert default_publicity_months(revoked) == 36


def test_requested_period_must_be_within_range(make_record):
    assert publicity_months(make_record(), 3) == 3
    with pytest.raises(ValueError, match="3-12 months"):
        publicity_months(make_record(), 13)
    with pytest.raises(ValueError, match="6-36 months"):
        publicity_months(make_record(serious=True), 4)
    assert publicity_months(make_record(serious=True), 36) == 36


def test_publicity_window_end_and_display(make_record):
    window = publicity(make_record(), dt.date(2026, 10, 20))
    assert window.scheduled_end == dt.date(2027, 10, 20)
    assert window.shown_on(dt.date(2027, 10, 20))
    assert not window.shown_on(dt.date(2027, 10, 21)) and window.ended(dt.date(2027, 10, 21))
    assert not window.shown_on(dt.date(2026, 10, 19))


def test_repair_ends_publicity_early(make_record):
    window = publicity(make_record(), dt.date(2026, 10, 20))
    assert earliest_repair(window) == dt.date(2027, 1, 21)
    repair = Repair("rec-1", "修复〔2027〕1号", dt.date(2027, 3, 1), "officer-2")
    repaired = apply_repair(window, repair)
    assert repaired.last_day_shown == dt.date(2027, 2, 28)
    assert repaired.shown_on(dt.date(2027, 2, 28)) and not repaired.shown_on(dt.date(2027, 3, 1))
    assert repaired.ended(dt.date(2027, 3, 1)) and not window.ended(dt.date(2027, 3, 1))


def test_repair_refused_before_minimum_period(make_record):
    window = publicity(make_record(serious=True), dt.date(2026, 10, 20))
    early = Repair("rec-1", "修复〔2027〕1号", dt.date(2027, 4, 20), "officer-2")
    problems = check_repair(window, early)
    assert [p.field for p in problems] == ["decided_on"] and "minimum publicity" in problems[
        0
    ].reason
    with pytest.raises(ValueError, match="minimum publicity"):
        apply_repair(window, early)
    assert check_repair(window, dataclasses.replace(early, decided_on=dt.date(2027, 4, 21))) == []


def test_repair_of_other_record_or_twice_refused(make_record):
    window = publicity(make_record(), dt.date(2026, 10, 20))
    other = Repair("rec-2", "x", dt.date(2027, 3, 1), "officer-2")
    assert [p.field for p in check_repair(window, other)] == ["record_id"]
    repaired = apply_repair(window, Repair("rec-1", "x", dt.date(2027, 3, 1), "o"))
    assert check_repair(repaired, Repair("rec-1", "y", dt.date(2027, 4, 1), "o"))
    after_end = Repair("rec-1", "x", dt.date(2027, 10, 21), "o")
    assert "already ended" in check_repair(window, after_end)[0].reason


def test_published_view_never_carries_responsible_persons(make_record):
    record = make_record(responsible_persons=(ResponsiblePerson("张三", "110101199001011234"),))
    view = published_view(record, dt.date(2026, 10, 20))
    names = {f.name for f in dataclasses.fields(PublishedRecord)}
    assert not any("person" in n or "responsible" in n for n in names)
    assert "张三" not in repr(view) and "110101199001011234" not in repr(view)
    assert view.uscc == record.uscc and view.decision_no == record.decision_no
    assert view.article is Article.ART_34 and view.fine_fen == 600_000_00
    assert view.sanctions == ("confiscation", "fine", "order_to_stop")
    assert view.publicity_ends_on == dt.date(2027, 10, 20)
    assert view.article_title.startswith("Export without a licence")

"""The statutory clock (Reg. 17): 45 PRC working days, holidays, adjusted working weekends,
pauses for information requests, and the weekends-only fallback for unannounced years.

2026 calendar facts used (State Council schedule, chinese_calendar 1.11): Spring Festival
off 15-23 Feb, working Saturdays 14 and 28 Feb; Qingming off 4-6 Apr; Labour Day off
1-5 May, working Saturday 9 May; Mid-Autumn off 25 Sep; National Day off 1-7 Oct,
working Sunday 20 Sep and Saturday 10 Oct.
"""

from __future__ import annotations

import datetime as dt

import pytest
from stc_licensing.domain.clock import (
    STATUTORY_WORKING_DAYS,
    Pause,
    PauseKind,
    clock_status,
    initial_deadline,
)

d = dt.date


def test_limit_is_45_working_days():
    assert STATUTORY_WORKING_DAYS == 45


def test_deadline_across_national_day_and_mid_autumn():
    # 1 Sep 2026 + 45 working days: Sep 25 and Oct 1-7 off, Sep 20 (Sun) and Oct 10 (Sat) on.
    assert initial_deadline(d(2026, 9, 1)) == d(2026, 11, 9)
    status = clock_status(d(2026, 9, 1), d(2026, 9, 1))
    assert status.deadline == d(2026, 11, 9) and status.exact


def test_national_day_week_counts_adjusted_saturday_and_skips_the_holiday():
    # Accepted Thu 24 Sep: Sep 25 (holiday), 28, 29, 30, Oct 8, 9, 10 (working Saturday).
    assert clock_status(d(2026, 9, 24), d(2026, 10, 7)).used == 3
    assert clock_status(d(2026, 9, 24), d(2026, 10, 9)).used == 5
    assert clock_status(d(2026, 9, 24), d(2026, 10, 10)).used == 6
    assert clock_status(d(2026, 9, 24), d(2026, 10, 11)).used == 6  # ordinary Sunday


def test_spring_festival_working_saturdays_count():
    # Accepted Fri 13 Feb: Sat 14 Feb works, 15-23 Feb off, Sat 28 Feb works.
    assert clock_status(d(2026, 2, 13), d(2026, 2, 14)).used == 1
    assert clock_status(d(2026, 2, 13), d(2026, 2, 23)).used == 1
    assert clock_status(d(2026, 2, 13), d(2026, 2, 28)).used == 6
    assert clock_status(d(2026, 2, 13), d(2026, 3, 2)).used == 7


def test_deadline_across_qingming_and_labour_day():
    assert initial_deadline(d(2026, 3, 2)) == d(2026, 5, 8)


def test_information_request_pauses_the_clock_and_moves_the_deadline():
    # Request on Tue 10 Mar, answer on Fri 20 Mar: 11-13 and 16-20 Mar (8 working days) paused.
    pause = Pause(d(2026, 3, 10), d(2026, 3, 20), PauseKind.INFORMATION_REQUEST)
    s = clock_status(d(2026, 3, 2), d(2026, 3, 23), (pause,))
    assert s.paused_working_days == 8
    assert s.used == 6 + 1  # 3-6, 9, 10 Mar counted, then Mon 23 Mar
    assert s.remaining == 45 - 7
    # 8 more working days after 8 May: Sat 9 May is a working day, then 11-15, 18, 19 May.
    assert s.deadline == d(2026, 5, 19)
    assert not s.paused and not s.breached


def test_open_information_request_stops_the_clock_and_hides_the_deadline():
    pause = Pause(d(2026, 3, 10))
    during = clock_status(d(2026, 3, 2), d(2026, 4, 20), (pause,))
    assert during.paused
    assert during.deadline is None
    assert during.used == 6  # 3-6, 9, 10 Mar; nothing after the request day counts
    later = clock_status(d(2026, 3, 2), d(2026, 5, 20), (pause,))
    assert later.used == 6 and not later.breached


def test_paused_flag_ends_on_the_answer_day():
    pause = Pause(d(2026, 3, 10), d(2026, 3, 20))
    assert clock_status(d(2026, 3, 2), d(2026, 3, 19), (pause,)).paused
    assert not clock_status(d(2026, 3, 2), d(2026, 3, 20), (pause,)).paused


def test_expert_review_and_information_pauses_add_up():
    pauses = (Pause(d(2026, 3, 10), d(2026, 3, 20)),
              Pause(d(2026, 4, 1), d(2026, 4, 3), PauseKind.EXPERT_REVIEW))
    s = clock_status(d(2026, 3, 2), d(2026, 4, 30), pauses)
    assert s.paused_working_days == 8 + 2  # 2 and 3 Apr
    # 2 more working days after 19 May: 20 and 21 May.
    assert s.deadline == d(2026, 5, 21)


def test_breach_after_the_deadline_only():
    on_deadline = clock_status(d(2026, 3, 2), d(2026, 5, 8))
    assert on_deadline.used == 45 and on_deadline.remaining == 0 and not on_deadline.breached
    day_after = clock_status(d(2026, 3, 2), d(2026, 5, 9))  # Sat 9 May is a working day
    assert day_after.used == 46 and day_after.breached


def test_fallback_to_weekends_only_for_an_unannounced_year():
    s = clock_status(d(2027, 3, 1), d(2027, 3, 1))
    # 45 weekdays from Mon 1 Mar 2027 = 9 weeks later; no holiday knowledge.
    assert s.deadline == d(2027, 5, 3)
    assert not s.exact


def test_deadline_running_into_an_unannounced_year_is_marked_inexact():
    s = clock_status(d(2026, 11, 16), d(2026, 12, 1))
    assert s.deadline is not None and s.deadline.year == 2027
    assert not s.exact
    assert clock_status(d(2026, 3, 2), d(2026, 3, 3)).exact


def test_as_of_before_acceptance_uses_nothing():
    s = clock_status(d(2026, 3, 2), d(2026, 3, 1))
    assert s.used == 0 and s.remaining == 45


def test_pause_ending_before_it_starts_is_rejected():
    with pytest.raises(ValueError):
        clock_status(d(2026, 3, 2), d(2026, 3, 3), (Pause(d(2026, 3, 10), d(2026, 3, 9)),))

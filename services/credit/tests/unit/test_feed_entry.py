"""The public feed's view of a log entry: publicity window, credit repair, repair entries."""

import datetime as dt
from types import SimpleNamespace

from stc_credit.domain.publication import feed_entry

D = dt.date
BODY = SimpleNamespace(published_on=D(2026, 3, 2), publicity_ends_on=D(2027, 3, 1))


def _entry(today, kind="penalty", body=BODY, repaired_on=None):
    return feed_entry(3, kind, "cr-1", "91350100M000100Y43", b"{}", body, repaired_on, today)


def test_penalty_is_shown_through_its_last_day_only():
    assert _entry(D(2027, 3, 1)).shown
    assert not _entry(D(2027, 3, 2)).shown
    assert _entry(D(2026, 6, 1)).published_on == D(2026, 3, 2)


def test_credit_repair_ends_publicity_the_day_before():
    e = _entry(D(2026, 9, 1), repaired_on=D(2026, 9, 1))
    assert e.last_day_shown == D(2026, 8, 31) and not e.shown
    assert _entry(D(2026, 8, 31), repaired_on=D(2026, 9, 1)).shown


def test_repair_entries_and_undecodable_entries_are_never_shown():
    repair = SimpleNamespace(decided_on=D(2026, 9, 1), last_day_shown=D(2026, 8, 31))
    assert not _entry(D(2026, 8, 1), kind="repair", body=repair).shown
    broken = _entry(D(2026, 8, 1), body=None)
    assert not broken.shown and broken.published_on is None and broken.last_day_shown is None

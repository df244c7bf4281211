"""The PRC holiday calendar as data (issue 11, item 3): a year's published schedule.

Reg. 17 counts its 45 days in working days, and working days in the PRC are what the State
Council's General Office announces each year (关于某年部分节假日安排的通知): the public
holidays under the National Holidays Regulations (全国年节及纪念日放假办法) and the weekend
days worked in exchange (调休上班). The `chinese_calendar` package knows the schedules up to
2026; a later year's schedule is entered here, by an officer (`EnterHolidaySchedule`) or from
an operator's data file (`STC_HOLIDAY_SCHEDULES_PATH`), and takes precedence over the package
(`stc_common.workdays.use_schedules`).

This module turns the entered text (the gRPC request or one entry of the data file) into a
`HolidaySchedule`, or into the field violations that say what is wrong. No I/O.

Data file (YAML), one entry per year, holidays as the announcement writes them (periods)::

    schedules:
      - year: 2031
        announcement: "国办发明电〔2030〕N号"
        published_on: 2030-11-12          # optional
        holidays:
          - {name: "New Year's Day", first_day: 2031-01-01, last_day: 2031-01-01}
          - {name: Spring Festival, first_day: 2031-01-22, last_day: 2031-01-29}
        working_days: [2031-01-19, 2031-02-08]

Only ship a year's file with the announcement it comes from; never a guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stc_common.workdays import HolidaySchedule

#: Years a schedule may be entered for (the platform's dates; a typo like 20277 is refused).
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_PERIODS = 20  # the National Holidays Regulations name seven holidays; room for more
MAX_WORKING_DAYS = 20


@dataclass(frozen=True)
class HolidayPeriod:
    """One holiday as announced: its name and its first and last day off (inclusive)."""

    name: str
    first_day: dt.date
    last_day: dt.date

    def days(self) -> list[dt.date]:
        """Every day of the period."""
        n = (self.last_day - self.first_day).days
        return [self.first_day + dt.timedelta(days=i) for i in range(n + 1)]


@dataclass(frozen=True)
class ScheduleEntry:
    """A schedule as entered: the periods and adjusted working days, and its announcement."""

    year: int
    announcement: str
    periods: tuple[HolidayPeriod, ...]
    working_days: tuple[dt.date, ...]
    published_on: dt.date | None = None

    def schedule(self) -> HolidaySchedule:
        """The lookup form `stc_common.workdays` takes."""
        return HolidaySchedule(
            year=self.year,
            holidays=frozenset(d for p in self.periods for d in p.days()),
            working_days=frozenset(self.working_days),
            announcement=self.announcement,
        )


@dataclass(frozen=True)
class Problem:
    """What is wrong with an entered schedule: the field path and the reason."""

    field: str
    reason: str


def validate(entry: ScheduleEntry) -> list[Problem]:
    """Problems of an entered schedule; empty when it can be used."""
    problems: list[Problem] = []
    if not FIRST_YEAR <= entry.year <= LAST_YEAR:
        return [Problem("year", f"must be between {FIRST_YEAR} and {LAST_YEAR}")]
    if not entry.announcement.strip():
        problems.append(Problem("announcement",
                                "the State Council announcement the schedule comes from is "
                                "required (its document number or title)"))
    if not entry.periods:
        problems.append(Problem("holidays", "a year's schedule names at least one holiday"))
    if len(entry.periods) > MAX_PERIODS:
        problems.append(Problem("holidays", f"at most {MAX_PERIODS} holiday periods"))
    if len(entry.working_days) > MAX_WORKING_DAYS:
        problems.append(Problem("working_days", f"at most {MAX_WORKING_DAYS} days"))
    off: set[dt.date] = set()
    for i, p in enumerate(entry.periods):
        where = f"holidays[{i}]"
        if not p.name.strip():
            problems.append(Problem(f"{where}.name", "the holiday's name is required"))
        if p.last_day < p.first_day:
            problems.append(Problem(f"{where}.last_day", "is before first_day"))
            continue
        if (p.last_day - p.first_day).days > 14:
            problems.append(Problem(f"{where}.last_day", "a holiday period lasts at most 15 days"))
            continue
        # each year's announcement covers its own year's days only
        if p.first_day.year != entry.year or p.last_day.year != entry.year:
            problems.append(Problem(where, f"must lie in {entry.year}"))
            continue
        overlap = off.intersection(p.days())
        if overlap:
            problems.append(Problem(where, f"overlaps another period on {min(overlap)}"))
        off.update(p.days())
    seen: set[dt.date] = set()
    for i, d in enumerate(entry.working_days):
        where = f"working_days[{i}]"
        if d.year != entry.year:
            problems.append(Problem(where, f"must lie in {entry.year}"))
        elif d.weekday() < 5:
            problems.append(Problem(where, f"{d} is a weekday: an adjusted working day is a "
                                           "Saturday or Sunday worked in exchange (调休)"))
        elif d in off:
            problems.append(Problem(where, f"{d} is also a holiday"))
        elif d in seen:
            problems.append(Problem(where, f"{d} is listed twice"))
        seen.add(d)
    if entry.published_on is not None and entry.published_on.year > entry.year:
        problems.append(Problem("published_on", "a schedule is announced before its year"))
    return problems


def _date(value: Any, field: str, problems: list[Problem]) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(Problem(field, f"not a date (YYYY-MM-DD): {value!r}"))
    return None


def entry_from_plain(doc: Mapping[str, Any], where: str = "") -> tuple[ScheduleEntry | None,
                                                                        list[Problem]]:
    """One entry of the data file (a parsed YAML/JSON mapping) as a `ScheduleEntry`, or the
    problems; field paths are prefixed with `where`."""
    problems: list[Problem] = []
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        return None, [Problem(f"{where}year", f"not a year: {year!r}")]
    periods: list[HolidayPeriod] = []
    for i, row in enumerate(doc.get("holidays") or ()):
        field = f"{where}holidays[{i}]"
        if not isinstance(row, Mapping):
            problems.append(Problem(field, "each holiday has name, first_day and last_day"))
            continue
        first = _date(row.get("first_day"), f"{field}.first_day", problems)
        last = _date(row.get("last_day", row.get("first_day")), f"{field}.last_day", problems)
        if first and last:
            periods.append(HolidayPeriod(str(row.get("name") or ""), first, last))
    working = [d for i, v in enumerate(doc.get("working_days") or ())
               if (d := _date(v, f"{where}working_days[{i}]", problems)) is not None]
    published = doc.get("published_on")
    published_on = None if published is None else _date(published, f"{where}published_on",
                                                         problems)
    entry = ScheduleEntry(year=year, announcement=str(doc.get("announcement") or ""),
                          periods=tuple(periods), working_days=tuple(working),
                          published_on=published_on)
    problems += [Problem(f"{where}{p.field}", p.reason) for p in validate(entry)]
    return (None if problems else entry), problems


def entries_from_document(doc: Mapping[str, Any]) -> list[ScheduleEntry]:
    """Every schedule of a data file; ValueError naming each problem when one is malformed
    (the service refuses to start on a broken file rather than count wrong days)."""
    rows = doc.get("schedules")
    if not isinstance(rows, list):
        raise ValueError("holiday schedules file: a top-level 'schedules' list is required")
    entries: list[ScheduleEntry] = []
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(Problem(f"schedules[{i}]", "not a mapping"))
            continue
        entry, found = entry_from_plain(row, f"schedules[{i}].")
        problems += found
        if entry is not None:
            entries.append(entry)
    years = [e.year for e in entries]
    for y in sorted({y for y in years if years.count(y) > 1}):
        problems.append(Problem("schedules", f"{y} appears more than once"))
    if problems:
        raise ValueError("holiday schedules file: " +
                         "; ".join(f"{p.field}: {p.reason}" for p in problems))
    return entries


def same_schedule(a: ScheduleEntry, b: ScheduleEntry) -> bool:
    """Whether two entries say the same thing (a re-entered file changes nothing)."""
    return (a.year, a.announcement.strip(), a.schedule().holidays, a.schedule().working_days) \
        == (b.year, b.announcement.strip(), b.schedule().holidays, b.schedule().working_days)


def to_plain(entry: ScheduleEntry) -> dict[str, Any]:
    """The entry as JSON-ready data (stored with the schedule, read back by `entry_from_plain`)."""
    return {
        "year": entry.year,
        "announcement": entry.announcement,
        "published_on": entry.published_on.isoformat() if entry.published_on else None,
        "holidays": [{"name": p.name, "first_day": p.first_day.isoformat(),
                      "last_day": p.last_day.isoformat()} for p in entry.periods],
        "working_days": [d.isoformat() for d in entry.working_days],
    }


def schedules(entries: Iterable[ScheduleEntry]) -> list[HolidaySchedule]:
    """The lookup forms of `entries`."""
    return [e.schedule() for e in entries]

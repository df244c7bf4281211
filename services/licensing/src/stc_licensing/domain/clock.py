"""The statutory clock (Reg. 17): a decision within 45 PRC working days of acceptance.

Time waiting for the applicant (an information request) and expert review do not count:
they are `Pause` intervals. Counting convention, the same as `stc_common.workdays`: the day
of an event is not counted, counting starts the next working day. A working day `d` is
paused when `pause.start < d <= pause.end` (an open pause, `end=None`, covers every day after
its start): the day an information request goes out still counts, the day the answer
arrives does not, the clock runs again from the next working day.

Working days come from `stc_common.workdays` (chinese_calendar: public holidays off,
adjusted weekend working days on). For years the State Council has not announced yet the
calendar falls back to Monday-Friday and `ClockStatus.exact` is False: show the deadline
with that caveat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from stc_common.workdays import (
    add_working_days,
    covered_between,
    is_working_day,
    working_days_between,
)

STATUTORY_WORKING_DAYS = 45  # Reg. 17
_ONE_DAY = dt.timedelta(days=1)


class PauseKind(str, Enum):
    """Why the clock stopped (Reg. 17 excludes these; a referral: Reg. 17, Art. 24)."""

    INFORMATION_REQUEST = "INFORMATION_REQUEST"
    EXPERT_REVIEW = "EXPERT_REVIEW"
    REFERRAL = "REFERRAL"


@dataclass(frozen=True)
class Pause:
    """The clock stopped after `start` until and including `end` (None: still stopped)."""

    start: dt.date
    end: dt.date | None = None
    kind: PauseKind = PauseKind.INFORMATION_REQUEST

    def covers(self, day: dt.date) -> bool:
        """True when `day` does not count because of this pause."""
        return self.start < day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class ClockStatus:
    """The clock of one application as of `as_of`.

    `deadline` is None while an open pause stops the clock (it is not known yet);
    `breached` is True when more than `limit` working days have been used by `as_of`.
    """

    accepted_on: dt.date
    as_of: dt.date
    limit: int
    used: int
    remaining: int
    deadline: dt.date | None
    paused: bool
    breached: bool
    exact: bool
    paused_working_days: int


def initial_deadline(accepted_on: dt.date, limit: int = STATUTORY_WORKING_DAYS) -> dt.date:
    """The deadline of a fresh application with no pauses (shown on submission)."""
    return add_working_days(accepted_on, limit).date


def clock_status(
    accepted_on: dt.date,
    as_of: dt.date,
    pauses: tuple[Pause, ...] = (),
    limit: int = STATUTORY_WORKING_DAYS,
) -> ClockStatus:
    """Working days used and remaining, the deadline and whether it is breached, on `as_of`."""
    for p in pauses:
        if p.end is not None and p.end < p.start:
            raise ValueError(f"pause ends ({p.end}) before it starts ({p.start})")
    open_pause = any(p.end is None for p in pauses)
    paused_now = any(p.start <= as_of and (p.end is None or as_of < p.end) for p in pauses)

    if not pauses:
        # The common case is exactly stc_common's add_working_days.
        result = add_working_days(accepted_on, limit)
        deadline: dt.date | None = result.date
        exact = result.exact
    else:
        deadline, exact = None, True
        if not open_pause:
            deadline, exact = _walk_to_limit(accepted_on, pauses, limit)

    used = paused_days = 0
    day = accepted_on
    if not pauses:
        # Table lookups, no walk: this runs on every read of every application.
        used = max(working_days_between(accepted_on, as_of), 0)
        exact = exact and covered_between(accepted_on, as_of)
        day = as_of
    while day < as_of:
        day += _ONE_DAY
        working, covered = is_working_day(day)
        exact = exact and covered
        if not working:
            continue
        if any(p.covers(day) for p in pauses):
            paused_days += 1
        else:
            used += 1
    return ClockStatus(
        accepted_on=accepted_on,
        as_of=as_of,
        limit=limit,
        used=used,
        remaining=max(limit - used, 0),
        deadline=deadline,
        paused=paused_now,
        breached=used > limit,
        exact=exact,
        paused_working_days=paused_days,
    )


def _walk_to_limit(
    accepted_on: dt.date, pauses: tuple[Pause, ...], limit: int
) -> tuple[dt.date, bool]:
    day, counted, exact = accepted_on, 0, True
    while counted < limit:
        day += _ONE_DAY
        working, covered = is_working_day(day)
        exact = exact and covered
        if working and not any(p.covers(day) for p in pauses):
            counted += 1
    return day, exact


def open_pause(pauses: tuple[Pause, ...], kind: PauseKind) -> Pause | None:
    """The pause of `kind` that is still open, if any."""
    return next((p for p in pauses if p.kind == kind and p.end is None), None)


def start_pause(pauses: tuple[Pause, ...], kind: PauseKind, day: dt.date) -> tuple[Pause, ...]:
    """`pauses` with a new open pause of `kind` from `day`; ValueError if one is open."""
    if open_pause(pauses, kind) is not None:
        raise ValueError(f"a {kind.value.lower().replace('_', ' ')} is already under way")
    return pauses + (Pause(day, None, kind),)


def end_pause(pauses: tuple[Pause, ...], kind: PauseKind, day: dt.date) -> tuple[Pause, ...]:
    """`pauses` with the open pause of `kind` closed on `day` (the clock runs again from the
    next working day); ValueError if none is open. Other kinds stay as they are."""
    if open_pause(pauses, kind) is None:
        raise ValueError(f"no {kind.value.lower().replace('_', ' ')} is under way")
    return tuple(Pause(p.start, max(day, p.start), p.kind)
                 if p.kind == kind and p.end is None else p for p in pauses)

"""Time limits of an administrative reconsideration of a refused licence (ECL Art. 41).

Art. 41 of the Export Control Law lets an applicant whose licence application was refused
apply for administrative reconsideration; the reconsideration decision is final. Its time
limits are not those of the licence application (Reg. 17's 45 working days) but those of the
Administrative Reconsideration Law (2023 revision):

- Art. 20: the application is made within 60 days of the day the applicant knew of the
  decision (calendar days; here: the day of the refusal, when the exporter is told of it).
- Art. 62: the reconsideration authority decides within 60 days of accepting the application
  (extendable by at most 30 days with approval; the extension is not modelled). Here the
  request is accepted on the day it is made.

While a reconsideration runs, the licence application's own clock does not run: it stopped
with the refusal (see `service.app_to_pb`, `service.mark_breach`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

APPLY_WITHIN_DAYS = 60  # Administrative Reconsideration Law Art. 20
DECIDE_WITHIN_DAYS = 60  # Administrative Reconsideration Law Art. 62


@dataclass(frozen=True)
class ReconsiderationDates:
    """The dates of one reconsideration: requested (= accepted) and due."""

    requested_on: dt.date
    due: dt.date


def apply_by(refused_on: dt.date) -> dt.date:
    """The last day an applicant may request reconsideration of a refusal (ARL Art. 20)."""
    return refused_on + dt.timedelta(days=APPLY_WITHIN_DAYS)


def decide_by(accepted_on: dt.date) -> dt.date:
    """The last day of the reconsideration decision (ARL Art. 62)."""
    return accepted_on + dt.timedelta(days=DECIDE_WITHIN_DAYS)


def late_reason(refused_on: dt.date, requested_on: dt.date) -> str | None:
    """Why a request on `requested_on` comes too late (None: in time)."""
    last = apply_by(refused_on)
    if requested_on > last:
        return (f"reconsideration must be requested within {APPLY_WITHIN_DAYS} days of the "
                f"refusal of {refused_on.isoformat()} (Art. 41; Administrative Reconsideration "
                f"Law Art. 20): the last day was {last.isoformat()}")
    return None


def open_reconsideration(refused_on: dt.date, requested_on: dt.date) -> ReconsiderationDates:
    """The dates of a reconsideration requested in time (ValueError when late)."""
    reason = late_reason(refused_on, requested_on)
    if reason:
        raise ValueError(reason)
    return ReconsiderationDates(requested_on, decide_by(requested_on))


def overdue(dates: ReconsiderationDates, as_of: dt.date) -> bool:
    """The reconsideration is undecided past its due day."""
    return as_of > dates.due

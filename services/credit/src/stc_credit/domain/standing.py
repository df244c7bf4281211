"""Credit standing of an exporter: Art. 13 factor 7 and the Art. 39 ban, as licensing uses it.

`compute_standing` is pure and total: the Faust agents recompute it from the authoritative
records whenever a record, a measure or the date changes, and publish it on the compacted
`stc.credit.standing.v1` topic keyed by USCC.

Rules:
- A record is *active* from its decision date to the end of the five-year Art. 39 window
  (`ban_until(effective_date)`, inclusive). Credit repair ends publicity, not activity.
- BANNED: an active, effective record with an Art. 39 application ban the officer decided
  (its length, at most five years, on the record), within that ban.
- PENALISED: an active record heavier than a warning (e.g. decided but not yet effective,
  with no ban decided, or after a shorter ban ended).
- WARNED: only warning-only records are active, or a measure (warning letter, supervisory
  talk, Art. 30) was issued within the last `MEASURE_ACTIVE_MONTHS` months.
- GOOD: none of these.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from stc_common.person_id import id_number_hash

from stc_credit.domain.records import CreditRecord, Measure, add_months, ban_until

#: How long a measure weighs on standing (a choice of this system, not of the law).
MEASURE_ACTIVE_MONTHS = 12


class StandingLevel(enum.StrEnum):
    """Credit standing levels, from best to worst."""

    GOOD = "good"
    WARNED = "warned"
    PENALISED = "penalised"
    BANNED = "banned"


@dataclass(frozen=True)
class CreditStanding:
    """The standing of one enterprise on one day.

    `active_records` counts the active records, `record_ids` lists them (oldest decision
    first), `measure_ids` the active measures; `ban_until` is the last day of the Art. 39
    ban in force (the latest one), None when not banned.
    """

    uscc: str
    as_of: dt.date
    level: StandingLevel
    active_records: int
    ban_until: dt.date | None
    record_ids: tuple[str, ...]
    measure_ids: tuple[str, ...] = ()
    # Art. 39 personal bans in force: (SHA-256 of the normalised ID number, last day or None
    # for life), sorted; not part of the stored standing (recomputed from the records).
    person_bans: tuple[tuple[str, dt.date | None], ...] = ()


def record_active(record: CreditRecord, today: dt.date) -> bool:
    """Whether the record weighs on standing on `today` (decision to end of Art. 39 window)."""
    return record.decision_date <= today <= ban_until(record.effective_date)


def record_bans(record: CreditRecord, today: dt.date) -> bool:
    """Whether the record's Art. 39 application ban is in force on `today`."""
    last = record.ban_until()
    return last is not None and record.effective_date <= today <= last


def measure_active(measure: Measure, today: dt.date) -> bool:
    """Whether a measure still weighs on standing on `today`."""
    return measure.issued_on <= today <= add_months(measure.issued_on, MEASURE_ACTIVE_MONTHS)


def compute_standing(
    uscc: str,
    records: Iterable[CreditRecord],
    measures: Iterable[Measure],
    today: dt.date,
) -> CreditStanding:
    """The credit standing of `uscc` on `today`; records of other enterprises are ignored."""
    records = list(records)
    active = sorted(
        (r for r in records if r.uscc == uscc and record_active(r, today)),
        key=lambda r: (r.decision_date, r.record_id),
    )
    live_measures = sorted(
        (m for m in measures if m.uscc == uscc and measure_active(m, today)),
        key=lambda m: (m.issued_on, m.measure_id),
    )
    bans = [b for r in active if record_bans(r, today) and (b := r.ban_until()) is not None]
    if bans:
        level = StandingLevel.BANNED
    elif any(not r.penalty.warning_only for r in active):
        level = StandingLevel.PENALISED
    elif active or live_measures:
        level = StandingLevel.WARNED
    else:
        level = StandingLevel.GOOD
    return CreditStanding(
        uscc=uscc,
        as_of=today,
        level=level,
        active_records=len(active),
        ban_until=max(bans) if bans else None,
        record_ids=tuple(r.record_id for r in active),
        measure_ids=tuple(m.measure_id for m in live_measures),
        person_bans=person_bans_in_force(uscc, records, today),
    )


def person_bans_in_force(uscc: str, records: Iterable[CreditRecord], today: dt.date
                         ) -> tuple[tuple[str, dt.date | None], ...]:
    """Art. 39 bans of `uscc`'s responsible persons in force on `today`, one per person
    (the longest; None = for life), as (SHA-256 of the normalised ID number, last day)."""
    longest: dict[str, dt.date] = {}
    for record in records:
        if record.uscc != uscc or record.effective_date > today:
            continue
        for ban in record.person_bans():
            if not ban.in_force(today):
                continue
            key = id_number_hash(ban.person.id_number)
            last = dt.date.max if ban.until is None else ban.until
            longest[key] = max(longest.get(key, last), last)
    return tuple((key, None if last == dt.date.max else last)
                 for key, last in sorted(longest.items()))

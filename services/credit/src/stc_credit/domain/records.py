"""Credit records, measures and cases awaiting an officer; the Art. 39 bans.

- `CreditRecord`: an administrative penalty decided by an officer under ECL Arts. 33-38.
  It enters the exporter's credit record (Art. 39). Records are immutable; credit repair
  and the end of publicity are separate facts (`publication.Repair`), never rewrites.
- `Measure`: a warning letter or supervisory talk (Art. 30). Not a penalty, not published.
- `Case`: an input from another service (diversion found by an end-use check, failure to
  report a change, Art. 16 / Reg. 25) waiting for an officer. Nothing becomes a record
  without an officer's decision (`decide_case`).

Dates: `ban_until` and `person_ban_until` give the *last day* of the ban. Periods follow
Civil Code Art. 201: the start day is not counted and a period in years ends on the
corresponding day; without one (29 February) on the last day of that month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from stc_common.uscc import is_valid_uscc

from stc_credit.domain.penalties import (
    SEVERE_SANCTIONS,
    Article,
    Sanction,
    Violation,
    check_penalty,
)

#: Art. 39: applications may be refused for up to five years from the decision taking effect.
BAN_YEARS = 5
#: The longest application ban an officer may decide (Art. 39: up to five years).
MAX_BAN_MONTHS = 12 * BAN_YEARS

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def add_months(start: dt.date, months: int) -> dt.date:
    """The corresponding day `months` later, or the month's last day (Civil Code Art. 201)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(start.day, last))


def add_years(start: dt.date, years: int) -> dt.date:
    """The corresponding day `years` later; 29 February falls back to 28 February."""
    return add_months(start, 12 * years)


def ban_until(effective_date: dt.date) -> dt.date:
    """Last day on which the exporter's applications may be refused (Art. 39).

    Five years from the penalty decision taking effect: 2026-03-10 -> 2031-03-10,
    2028-02-29 -> 2033-02-28.
    """
    return add_years(effective_date, BAN_YEARS)


@dataclass(frozen=True)
class ResponsiblePerson:
    """A directly responsible person (直接负责的主管人员和其他直接责任人员).

    Kept on the record for the Art. 39 personal ban; never published.
    """

    name: str
    id_number: str
    criminally_convicted: bool = False


@dataclass(frozen=True)
class PersonBan:
    """Art. 39 ban of a responsible person: `until` is the last day, None when for life."""

    person: ResponsiblePerson
    until: dt.date | None

    @property
    def for_life(self) -> bool:
        """Whether the ban is for life (after a criminal conviction)."""
        return self.until is None

    def in_force(self, today: dt.date) -> bool:
        """Whether the person is barred on `today`."""
        return self.until is None or today <= self.until


def person_ban_until(effective_date: dt.date, criminally_convicted: bool) -> dt.date | None:
    """Art. 39: five years for a responsible person, for life (None) after a conviction."""
    return None if criminally_convicted else ban_until(effective_date)


@dataclass(frozen=True)
class Penalty:
    """The sanctions of a decision. Money in integer fen (1 yuan = 100 fen).

    `sanctions` lists every sanction, FINE included when `fine_fen` is set;
    `confiscated_fen` is the amount of illegal gains confiscated, if stated.
    """

    sanctions: frozenset[Sanction]
    fine_fen: int | None = None
    confiscated_fen: int | None = None

    @classmethod
    def of(
        cls,
        *sanctions: Sanction | str,
        fine_fen: int | None = None,
        confiscated_fen: int | None = None,
    ) -> Penalty:
        """Build a penalty; a fine amount adds FINE to the sanctions."""
        chosen = {Sanction(s) for s in sanctions}
        if fine_fen:
            chosen.add(Sanction.FINE)
        return cls(frozenset(chosen), fine_fen, confiscated_fen)

    @property
    def warning_only(self) -> bool:
        """Whether the penalty is a warning and nothing heavier (order to stop aside)."""
        return self.sanctions <= {Sanction.WARNING, Sanction.ORDER_TO_STOP}


@dataclass(frozen=True)
class CreditRecord:
    """An administrative penalty under ECL Arts. 33-38, as decided by an officer.

    `decision_sha256` is the lowercase hex SHA-256 of the decision document.
    `application_ban_months`: Art. 39 says the authority *may* refuse applications for up to
    five years; the ban is the officer's decision in the case (1-60 months from the decision
    taking effect), 0 (the default) = none. `serious` marks a serious case (情节严重).
    """

    record_id: str
    uscc: str
    enterprise_name: str
    article: Article
    decision_no: str
    decision_sha256: str
    penalty: Penalty
    decision_date: dt.date
    effective_date: dt.date
    decided_by: str
    turnover_fen: int | None = None
    serious: bool = False
    application_ban_months: int = 0
    responsible_persons: tuple[ResponsiblePerson, ...] = field(default=(), repr=False)
    # Administrative Penalty Law Art. 32 ground of a reduced penalty (issue 11 item 7;
    # penalty_path.py); not part of the published canonical form
    penalty_law_ground: str | None = None

    @property
    def severe(self) -> bool:
        """Serious case, or a sanction that ends or suspends the business's qualification."""
        return self.serious or bool(self.penalty.sanctions & SEVERE_SANCTIONS)

    @property
    def application_ban(self) -> bool:
        """Whether the officer decided an Art. 39 application ban."""
        return self.application_ban_months > 0

    def ban_until(self) -> dt.date | None:
        """Last day of the Art. 39 application ban, None when the officer decided none."""
        if not self.application_ban:
            return None
        return add_months(self.effective_date, min(self.application_ban_months, MAX_BAN_MONTHS))

    def person_bans(self) -> tuple[PersonBan, ...]:
        """The Art. 39 bans of the directly responsible persons."""
        return tuple(
            PersonBan(p, person_ban_until(self.effective_date, p.criminally_convicted))
            for p in self.responsible_persons
        )


def validate_record(record: CreditRecord) -> list[Violation]:
    """Everything wrong with a record before it is stored; empty when it may be recorded."""
    problems: list[Violation] = []
    if not is_valid_uscc(record.uscc):
        problems.append(Violation("uscc", "not a valid Unified Social Credit Code"))
    if not record.enterprise_name.strip():
        problems.append(Violation("enterprise_name", "required"))
    if not record.decision_no.strip():
        problems.append(Violation("decision_no", "required"))
    if not _SHA256_HEX.fullmatch(record.decision_sha256):
        problems.append(Violation("decision_sha256", "must be 64 lowercase hex digits"))
    if record.effective_date < record.decision_date:
        problems.append(Violation("effective_date", "must not be before the decision date"))
    if not record.decided_by.strip():
        problems.append(Violation("decided_by", "an officer must decide (Art. 39 record)"))
    if not 0 <= record.application_ban_months <= MAX_BAN_MONTHS:
        problems.append(Violation(
            "application_ban_months",
            f"Art. 39: an application ban lasts at most five years ({MAX_BAN_MONTHS} months); "
            "0 = no ban"))
    problems.extend(
        check_penalty(
            record.article,
            record.turnover_fen,
            record.penalty.fine_fen,
            record.penalty.sanctions,
            serious=record.serious,
            reduced=record.penalty_law_ground is not None,
        )
    )
    if record.penalty_law_ground is not None:
        # issue 11 item 7: only an APL Art. 32 ground reduces a penalty (penalty_path.py)
        from stc_credit.domain.penalty_path import Effect, load_paths

        ground = load_paths().grounds.get(record.penalty_law_ground)
        if ground is None or ground.effect is not Effect.REDUCED:
            problems.append(Violation(
                "penalty_law_ground",
                f"{record.penalty_law_ground!r} is not a ground that reduces a penalty "
                "(Administrative Penalty Law Art. 32: 32(1) … 32(5))"))
    return problems


class MeasureKind(enum.StrEnum):
    """Measures of Art. 30 (约谈, 警示函): not penalties, not published."""

    WARNING_LETTER = "warning_letter"
    SUPERVISORY_TALK = "supervisory_talk"


@dataclass(frozen=True)
class Measure:
    """A warning letter or supervisory talk recorded by an officer (Art. 30)."""

    measure_id: str
    uscc: str
    kind: MeasureKind
    reference: str
    issued_on: dt.date
    decided_by: str


class CaseSource(enum.StrEnum):
    """Where a case awaiting an officer came from."""

    END_USE_CHECK_DIVERSION = "end_use_check_diversion"  # Art. 17 check found diversion
    CHANGE_NOT_REPORTED = "change_not_reported"  # Art. 16 / Reg. 25 report missing


class CaseStatus(enum.StrEnum):
    """Life of a case: open until an officer records a penalty, a measure, or dismisses it."""

    OPEN = "open"
    PENALTY_RECORDED = "penalty_recorded"
    MEASURE_RECORDED = "measure_recorded"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Case:
    """A possible violation waiting for an officer's decision; never a record by itself.

    `source_event_id` is the CloudEvents id of the event that opened it (idempotency key).
    """

    case_id: str
    uscc: str
    source: CaseSource
    source_event_id: str
    opened_on: dt.date
    summary: str
    licence_id: str | None = None
    status: CaseStatus = CaseStatus.OPEN
    decided_by: str | None = None
    decided_on: dt.date | None = None
    outcome_id: str | None = None  # record_id or measure_id of the outcome
    # The competent authority of the licence the case concerns: its officers decide it.
    authority: str | None = None
    # Issue 11 item 7: the Administrative Penalty Law ground of the decision (penalty_path.py)
    penalty_law_ground: str | None = None

    @property
    def awaiting_officer(self) -> bool:
        """Whether the case still waits for an officer."""
        return self.status is CaseStatus.OPEN


def case_from_end_use_check(
    *,
    case_id: str,
    uscc: str,
    event_id: str,
    completed_on: dt.date,
    licence_id: str | None,
    diversion_found: bool,
    findings: str,
) -> Case | None:
    """A case for an end-use check that found diversion (Art. 17); None when none found."""
    if not diversion_found:
        return None
    return Case(
        case_id=case_id,
        uscc=uscc,
        source=CaseSource.END_USE_CHECK_DIVERSION,
        source_event_id=event_id,
        opened_on=completed_on,
        summary=findings,
        licence_id=licence_id,
    )


def case_from_unreported_change(
    *,
    case_id: str,
    uscc: str,
    event_id: str,
    found_on: dt.date,
    licence_id: str | None,
    details: str,
) -> Case:
    """A case for an end-user or end-use change not reported at once (Art. 16, Reg. 25)."""
    return Case(
        case_id=case_id,
        uscc=uscc,
        source=CaseSource.CHANGE_NOT_REPORTED,
        source_event_id=event_id,
        opened_on=found_on,
        summary=details,
        licence_id=licence_id,
    )


class CaseAlreadyDecided(ValueError):
    """The case has already been decided; decisions are final here."""


def decide_case(
    case: Case,
    *,
    status: CaseStatus,
    officer_id: str,
    decided_on: dt.date,
    outcome_id: str | None = None,
    penalty_law_ground: str | None = None,
) -> Case:
    """The case after an officer's decision; a penalty or measure outcome names its id."""
    if case.status is not CaseStatus.OPEN:
        raise CaseAlreadyDecided(case.case_id)
    if status is CaseStatus.OPEN:
        raise ValueError("a decision must close the case")
    if not officer_id.strip():
        raise ValueError("only an officer can decide a case")
    if status in (CaseStatus.PENALTY_RECORDED, CaseStatus.MEASURE_RECORDED) and not outcome_id:
        raise ValueError("a recorded penalty or measure needs its id")
    if decided_on < case.opened_on:
        raise ValueError("decision before the case was opened")
    return replace(
        case, status=status, decided_by=officer_id, decided_on=decided_on, outcome_id=outcome_id,
        penalty_law_ground=penalty_law_ground,
    )


def records_of(uscc: str, records: Iterable[CreditRecord]) -> list[CreditRecord]:
    """The records of one enterprise, oldest decision first."""
    return sorted(
        (r for r in records if r.uscc == uscc), key=lambda r: (r.decision_date, r.record_id)
    )

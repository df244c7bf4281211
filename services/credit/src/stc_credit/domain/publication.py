"""Publication of penalties on the enterprise credit publicity feed.

Rules (Interim Regulations on Enterprise Information Publicity; ECL Art. 39):

- Deadline: an administrative penalty is published within 20 PRC working days of the
  decision date (the decision day itself not counted), counted with
  `stc_common.workdays.add_working_days`; `exact=False` when the official calendar did not
  cover every day counted.
- Publicity period, counted from the day of publication (Civil Code Art. 201: start day
  not counted, ends on the corresponding day, which is the last day shown):
  ordinary penalties 3 months to 1 year, serious ones 6 months to 3 years.
  Defaults chosen here (an officer may set another length within the range):
    * warning only (nothing heavier), ordinary: 3 months;
    * other ordinary penalties: 12 months;
    * serious: 36 months. Serious means the officer marked a serious case (情节严重), or a
      sanction that suspends or ends the business's qualification or licence, or an
      article in `SERIOUS_ARTICLES` (licence fraud or forgery, Art. 35; trading with a
      control-list party, Art. 37) -- a policy choice kept in this one place.
- Credit repair (信用修复) on application and officer decision ends publicity early, but not
  before the minimum period (3 or 6 months) has run. Repair does not lift the Art. 39
  application ban, which runs from the effective date regardless.
- The published view carries what the law publishes (enterprise name and USCC, article,
  decision document number, penalty, dates) and never the directly responsible persons.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from stc_common.workdays import WorkdayResult, add_working_days, working_days_between

from stc_credit.domain.penalties import Article, Violation, load_table
from stc_credit.domain.records import CreditRecord, add_months

#: Working days after the decision date within which a penalty is published.
PUBLICATION_WORKING_DAYS = 20

#: Articles whose penalties are treated as serious for publicity by default.
SERIOUS_ARTICLES = frozenset({Article.ART_35_1, Article.ART_35_2, Article.ART_37})


class Severity(enum.StrEnum):
    """Publicity class of a penalty."""

    ORDINARY = "ordinary"
    SERIOUS = "serious"


@dataclass(frozen=True)
class PublicityRange:
    """Allowed publicity lengths of a severity class, in months (inclusive)."""

    minimum_months: int
    maximum_months: int


PUBLICITY_RANGES = {
    Severity.ORDINARY: PublicityRange(3, 12),
    Severity.SERIOUS: PublicityRange(6, 36),
}


def severity_of(record: CreditRecord) -> Severity:
    """Publicity class of a record (see the module docstring for the rule)."""
    if record.severe or record.article in SERIOUS_ARTICLES:
        return Severity.SERIOUS
    return Severity.ORDINARY


def default_publicity_months(record: CreditRecord) -> int:
    """Default publicity length: 3 months warning only, 12 ordinary, 36 serious."""
    severity = severity_of(record)
    if severity is Severity.SERIOUS:
        return PUBLICITY_RANGES[severity].maximum_months
    if record.penalty.warning_only:
        return PUBLICITY_RANGES[severity].minimum_months
    return PUBLICITY_RANGES[severity].maximum_months


def publicity_months(record: CreditRecord, requested: int | None = None) -> int:
    """The publicity length: `requested` when within the severity's range, else ValueError."""
    if requested is None:
        return default_publicity_months(record)
    allowed = PUBLICITY_RANGES[severity_of(record)]
    if not allowed.minimum_months <= requested <= allowed.maximum_months:
        raise ValueError(
            f"publicity of a {severity_of(record)} penalty is "
            f"{allowed.minimum_months}-{allowed.maximum_months} months, not {requested}"
        )
    return requested


def publication_deadline(record: CreditRecord) -> WorkdayResult:
    """Last day to publish: 20 PRC working days after the decision date."""
    return add_working_days(record.decision_date, PUBLICATION_WORKING_DAYS)


@dataclass(frozen=True)
class DeadlineStatus:
    """Where an unpublished record stands against its publication deadline."""

    deadline: dt.date
    exact: bool
    working_days_left: int  # negative when overdue; 0 on the deadline day itself

    @property
    def overdue(self) -> bool:
        """Whether the deadline has passed."""
        return self.working_days_left < 0


def deadline_status(record: CreditRecord, today: dt.date) -> DeadlineStatus:
    """The deadline and the working days left from `today` (today not counted)."""
    deadline = publication_deadline(record)
    return DeadlineStatus(deadline.date, deadline.exact, working_days_between(today, deadline.date))


def at_risk(
    record: CreditRecord,
    today: dt.date,
    margin_working_days: int,
    *,
    published_on: dt.date | None = None,
) -> bool:
    """Whether an unpublished record has at most `margin_working_days` left (or is overdue).

    The wiring raises an alert event for each record at risk; a published record never is.
    """
    if published_on is not None:
        return False
    return deadline_status(record, today).working_days_left <= margin_working_days


def published_in_time(record: CreditRecord, published_on: dt.date) -> bool:
    """Whether publication on `published_on` met the 20-working-day deadline."""
    return record.decision_date <= published_on <= publication_deadline(record).date


@dataclass(frozen=True)
class Repair:
    """Credit repair (信用修复) of one record, decided by an officer on application."""

    record_id: str
    decision_no: str
    decided_on: dt.date
    decided_by: str


@dataclass(frozen=True)
class Publicity:
    """The publicity window of a published record.

    `scheduled_end` is the last day shown without repair; after a repair the record is
    no longer shown from `repaired_on` on.
    """

    record_id: str
    severity: Severity
    months: int
    published_on: dt.date
    scheduled_end: dt.date
    repaired_on: dt.date | None = None

    @property
    def last_day_shown(self) -> dt.date:
        """The last day the record is shown on the publicity system."""
        if self.repaired_on is not None:
            return min(self.scheduled_end, self.repaired_on - dt.timedelta(days=1))
        return self.scheduled_end

    def shown_on(self, day: dt.date) -> bool:
        """Whether the record is shown on `day`."""
        return self.published_on <= day <= self.last_day_shown

    def ended(self, today: dt.date) -> bool:
        """Whether publicity is over on `today` (by time or by repair)."""
        return today > self.last_day_shown


def publicity(record: CreditRecord, published_on: dt.date, months: int | None = None) -> Publicity:
    """The publicity window of `record` published on `published_on`."""
    length = publicity_months(record, months)
    return Publicity(
        record_id=record.record_id,
        severity=severity_of(record),
        months=length,
        published_on=published_on,
        scheduled_end=add_months(published_on, length),
    )


def earliest_repair(window: Publicity) -> dt.date:
    """First day a repair may end publicity: the minimum period must have run."""
    minimum = PUBLICITY_RANGES[window.severity].minimum_months
    return add_months(window.published_on, minimum) + dt.timedelta(days=1)


def check_repair(window: Publicity, repair: Repair) -> list[Violation]:
    """Why `repair` cannot end `window`; empty when it can."""
    problems: list[Violation] = []
    if repair.record_id != window.record_id:
        problems.append(Violation("record_id", "repair names another record"))
    if window.repaired_on is not None:
        problems.append(Violation("record_id", "the record has already been repaired"))
    if not repair.decided_by.strip():
        problems.append(Violation("decided_by", "repair needs an officer's decision"))
    if repair.decided_on > window.scheduled_end:
        problems.append(Violation("decided_on", "publicity has already ended"))
    elif repair.decided_on < earliest_repair(window):
        problems.append(
            Violation(
                "decided_on",
                f"minimum publicity of a {window.severity} penalty runs until "
                f"{earliest_repair(window) - dt.timedelta(days=1)}",
            )
        )
    return problems


def apply_repair(window: Publicity, repair: Repair) -> Publicity:
    """The window ended early by `repair`; ValueError listing the reasons when not allowed."""
    problems = check_repair(window, repair)
    if problems:
        raise ValueError("; ".join(f"{p.field}: {p.reason}" for p in problems))
    return Publicity(
        record_id=window.record_id,
        severity=window.severity,
        months=window.months,
        published_on=window.published_on,
        scheduled_end=window.scheduled_end,
        repaired_on=repair.decided_on,
    )


@dataclass(frozen=True)
class PublishedRecord:
    """What the publicity system shows of a record. Money in integer fen.

    Deliberately has no field for the directly responsible persons.
    """

    record_id: str
    uscc: str
    enterprise_name: str
    article: Article
    article_title: str
    decision_no: str
    decision_sha256: str
    sanctions: tuple[str, ...]  # sorted `Sanction` values
    fine_fen: int | None
    confiscated_fen: int | None
    decision_date: dt.date
    effective_date: dt.date
    published_on: dt.date
    publicity_ends_on: dt.date  # scheduled last day shown; a repair entry may end it earlier


def published_view(
    record: CreditRecord, published_on: dt.date, months: int | None = None
) -> PublishedRecord:
    """The published view of `record` (never the responsible persons)."""
    window = publicity(record, published_on, months)
    return PublishedRecord(
        record_id=record.record_id,
        uscc=record.uscc,
        enterprise_name=record.enterprise_name,
        article=record.article,
        article_title=load_table().rule(record.article).title,
        decision_no=record.decision_no,
        decision_sha256=record.decision_sha256,
        sanctions=tuple(sorted(str(s) for s in record.penalty.sanctions)),
        fine_fen=record.penalty.fine_fen,
        confiscated_fen=record.penalty.confiscated_fen,
        decision_date=record.decision_date,
        effective_date=record.effective_date,
        published_on=published_on,
        publicity_ends_on=window.scheduled_end,
    )


@dataclass(frozen=True)
class FeedEntry:
    """One log entry as the public feed shows it: when it was published, its last day of
    publicity (the scheduled end, or the day before a credit repair), and whether it is
    shown on `today` (penalties only; repairs are entries of the log, never shown)."""

    seq: int
    kind: str
    record_id: str
    uscc: str
    canonical: bytes
    published_on: dt.date | None
    last_day_shown: dt.date | None
    shown: bool


def feed_entry(seq: int, kind: str, record_id: str, uscc: str, canonical: bytes,
               body: object | None, repaired_on: dt.date | None, today: dt.date) -> FeedEntry:
    """The feed's view of a log entry whose decoded body is `body` (None if undecodable:
    it is listed as stored and the verifier reports it)."""
    published_on = getattr(body, "published_on", None)
    ends = getattr(body, "publicity_ends_on", None) or getattr(body, "last_day_shown", None)
    last = None
    if ends is not None:
        last = ends if repaired_on is None else min(ends, repaired_on - dt.timedelta(days=1))
    shown = last is not None and kind == "penalty" and today <= last
    return FeedEntry(seq, kind, record_id, uscc, canonical, published_on, last, shown)

"""What the credit use cases take: frozen commands, and the context they run in.

The servicer (api/) and the consumers (events/) build these; the use cases in this package
take them and return domain objects. `authority` is the competent authority of the calling
officer (ECL Arts. 33-39: a record, measure or case is its authority's); None for internal
callers and auditors, who see every authority's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from stc_credit.domain.checkpoint import SignerKey
from stc_credit.domain.records import CaseStatus, CreditRecord, Measure


@dataclass(frozen=True)
class LogContext:
    """What the use cases need besides the unit of work: the log key and the clock."""

    signer: SignerKey
    origin: str
    today: Callable[[], dt.date]
    deadline_margin_working_days: int = 5


@dataclass(frozen=True)
class RecordViolationCmd:
    """An officer's penalty decision to record; `record.record_id` is freshly assigned."""

    request_id: str
    record: CreditRecord
    publicity_months: int | None = None
    case_id: str | None = None
    publication_hold: str | None = None
    authority: str | None = None  # the imposing officer's; None only for internal callers


@dataclass(frozen=True)
class RecordMeasureCmd:
    """A warning letter or supervisory talk to record (Art. 30)."""

    request_id: str
    measure: Measure
    case_id: str | None = None
    authority: str | None = None  # the imposing officer's


@dataclass(frozen=True)
class RepairRecordCmd:
    """Credit repair (信用修复) decided by an officer."""

    request_id: str
    record_id: str
    repair_decision_no: str
    decided_on: dt.date
    decided_by: str
    authority: str | None = None  # the repairing officer's: must have imposed the penalty


@dataclass(frozen=True)
class ReleasePublicationHoldCmd:
    """An officer lifting the publication hold of a record."""

    record_id: str
    officer: str
    authority: str | None = None


@dataclass(frozen=True)
class DecideCaseCmd:
    """An officer's decision on a case."""

    case_id: str
    decision: CaseStatus
    officer: str
    violation: RecordViolationCmd | None = None
    measure: RecordMeasureCmd | None = None
    authority: str | None = None  # the deciding officer's: must be the case's


@dataclass(frozen=True)
class OpenCasesFromCheckCmd:
    """An end-use check's findings (enduser's EndUseCheckCompleted) to open cases for."""

    event_id: str
    uscc: str
    licence_id: str | None
    diverted: bool
    failure_to_report: bool
    details: str
    day: dt.date
    authority: str | None = None  # the licence's competent authority


@dataclass(frozen=True)
class ListCasesQuery:
    """A page of cases (open ones unless `open_only` is False)."""

    open_only: bool
    offset: int
    size: int
    authority: str | None = None


@dataclass(frozen=True)
class ListRecordsQuery:
    """A page of one enterprise's records."""

    uscc: str
    offset: int
    size: int
    authority: str | None = None


@dataclass(frozen=True)
class ListPublicationsQuery:
    """A page of the publicity feed after log position `after`."""

    uscc: str | None
    after: int
    size: int
    include_ended: bool


@dataclass(frozen=True)
class PublishedRecordQuery:
    """One log entry with its inclusion proof (tree_size 0: the latest signed size)."""

    leaf_index: int
    tree_size: int


@dataclass(frozen=True)
class ConsistencyQuery:
    """A consistency proof between two signed sizes."""

    old_size: int
    new_size: int

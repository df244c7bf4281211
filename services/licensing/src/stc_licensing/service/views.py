"""What the licensing use cases return: domain objects with what the API shows next to them
(the Reg. 17 clock as of a day, a licence's application reference). api/mapping.py turns
them into protobuf responses; nothing here knows protobuf."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from stc_licensing.domain import extraterritorial, model
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain.clock import ClockStatus
from stc_licensing.domain.discretion import Judgement
from stc_licensing.domain.procedures import Procedures
from stc_licensing.storage.ports import AppRow, StoredSchedule

T = TypeVar("T")


@dataclass(frozen=True)
class OperatorView:
    """An export operator and when it registered."""

    operator: model.ExportOperator
    registered_at: dt.datetime


@dataclass(frozen=True)
class ApplicationView:
    """An application with its Reg. 17 clock as of a day (today while pending, else the day
    of its last change)."""

    application: AppRow
    clock: ClockStatus
    clock_paused: bool
    under_expert_review: bool
    # issue 11: the law's procedures (exemption, referral, Art. 24 approvals, acceptance);
    # None where the use case did not read them
    procedures: Procedures | None = None


@dataclass(frozen=True)
class LicenceView:
    """A licence with its authority, its application's reference and content (parties and
    end use are shown from there) and the instant it is shown at."""

    licence: licence_rules.Licence
    authority: str
    reference: str
    content_json: dict[str, Any]
    shown_at: dt.datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next one ("" at the end)."""

    items: list[T]
    next_page_token: str = ""


@dataclass(frozen=True)
class Decision:
    """A decided application and the licence an approval issued."""

    application: ApplicationView
    licence: LicenceView | None = None
    # issue 11 item 2: the officer's judgement of every finding (domain/discretion.py)
    judgements: tuple[Judgement, ...] = ()


@dataclass(frozen=True)
class EnteredSchedule:
    """A holiday schedule as stored and how many open applications' deadlines it moved."""

    stored: StoredSchedule
    recomputed: int = 0


@dataclass(frozen=True)
class HolidaySchedules:
    """Every entered schedule, and the years the `chinese_calendar` package covers."""

    schedules: list[StoredSchedule]
    package_first_year: int
    package_last_year: int


@dataclass(frozen=True)
class ReExportEvaluation:
    """Every de minimis rule's decision on one re-export (ECL Arts. 45, 44)."""

    outcomes: list[extraterritorial.DeMinimisOutcome]

    @property
    def licence_required(self) -> bool:
        """Any rule in force requires a licence."""
        return any(o.licence_required for o in self.outcomes)

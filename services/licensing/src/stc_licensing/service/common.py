"""What the licensing use cases share: the clock they read, who may see and act on a case,
the application history step, paging.

Visibility (docs/architecture.md, security): an exporter sees only its own USCC's operator,
applications and licences; an officer sees the applications and licences of its authority;
an auditor reads everything. Anything a caller may not see answers NOT_FOUND. A caller who
sees a case but may not act on it as its competent authority (e.g. an exporter suspending a
licence, a MOFCOM officer setting a military qualification) gets PERMISSION_DENIED
(NOT_COMPETENT_AUTHORITY): only the competent authority decides (Art. 5, domain/routing.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import FieldViolation, NotFound, PermissionDenied, ValidationFailed
from stc_common.paging import offset_from_token
from stc_common.prc_time import prc_date, prc_today
from stc_common.uscc import UsccError, validate_uscc

from stc_licensing import wire
from stc_licensing.domain.canonical import from_plain
from stc_licensing.domain.clock import Pause, PauseKind, clock_status, open_pause
from stc_licensing.domain.model import ApplicationState
from stc_licensing.domain.policy import Policy
from stc_licensing.domain.routing import Authority as RoutingAuthority
from stc_licensing.domain.states import CLOCK_STATES
from stc_licensing.service.views import ApplicationView
from stc_licensing.storage.ports import AppRow, HistoryStep, LicenceRow, LicensingUnitOfWork

# routing.Authority -> the authority names of tokens and reference numbers
AUTHORITY_NAME = {RoutingAuthority.MOFCOM: "MOFCOM", RoutingAuthority.SASTIND: "SASTIND",
                  RoutingAuthority.CAEA: "CAEA", RoutingAuthority.CWC_OFFICE: "CWC"}


def now() -> dt.datetime:
    """The current instant (UTC)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today in China (the statutory clock counts PRC working days). Use cases call it as
    `common.today()`, so a unit test can move the day."""
    return prc_today()


def authority_of(caller: Principal) -> str:
    """The caller's authority name ("" when it has none)."""
    return caller.authority.value if caller.authority is not None else ""


def visible_application(caller: Principal, row: AppRow | None) -> AppRow:
    """The application when the caller may see it; else NOT_FOUND."""
    if row is None or not may_see_application(caller, row.exporter_uscc, row.authority):
        raise NotFound("no such application", reason="APPLICATION_NOT_FOUND")
    return row


def may_see_application(caller: Principal, exporter_uscc: str, authority: str) -> bool:
    """An exporter sees its own applications, an officer those of its authority."""
    return not ((caller.role is Role.EXPORTER and exporter_uscc != caller.uscc) or (
        caller.role is Role.OFFICER and authority != authority_of(caller)))


async def visible_licence(uow: LicensingUnitOfWork, caller: Principal, licence_id: str,
                          for_update: bool = False) -> LicenceRow:
    """The licence when the caller may see it; else NOT_FOUND."""
    found = await uow.licences.get(licence_id, for_update=for_update)
    if found is None or (caller.role is Role.EXPORTER
                         and found.licence.holder_uscc != caller.uscc) or (
            caller.role is Role.OFFICER and found.authority != authority_of(caller)):
        raise NotFound("no such licence", reason="LICENCE_NOT_FOUND")
    return found


def require_competent(caller: Principal, authority: str) -> None:
    """PERMISSION_DENIED unless the caller is an officer of `authority` (Art. 5)."""
    if caller.role is not Role.OFFICER or authority_of(caller) != authority:
        raise PermissionDenied(f"only an officer of {authority} may act on this case (Art. 5)",
                               reason="NOT_COMPETENT_AUTHORITY")


def checked_uscc(value: str, field: str = "uscc") -> str:
    """A well-formed USCC (upper case); INVALID_ARGUMENT naming `field` otherwise."""
    try:
        return validate_uscc(value.strip().upper())
    except UsccError as exc:
        raise ValidationFailed(FieldViolation(field, f"malformed USCC: {exc}")) from exc


def page(token: str, size: int) -> tuple[int, int]:
    """(offset, page size) of a list request: 50 by default, at most 500."""
    offset = offset_from_token(token)
    if size < 0:
        raise ValidationFailed(FieldViolation("page_size", "must not be negative"))
    return offset, min(size or 50, 500)


@functools.lru_cache(maxsize=16)
def stored_policy(content: str) -> Policy:
    """A policy version read back from its stored canonical JSON (assessments keep it by
    content hash). A version never changes and a few are in use, so each is read once: the
    decision replays the latest assessment under its own version, and reading the policy
    back on every decision was the largest cost of DecideApplication (issue 14)."""
    return from_plain(Policy, json.loads(content))


def application_view(row: AppRow, as_of: dt.date | None = None) -> ApplicationView:
    """The application with the Reg. 17 clock as of `as_of` (default: today while the clock
    can run, else the day it was decided or last changed); an open pause is projected to
    end on that day so a deadline is shown."""
    if as_of is None:
        as_of = today() if row.state in CLOCK_STATES \
            else row.decided_on or prc_date(row.updated_at)
    pauses = tuple(Pause(p.start, p.end or max(as_of, p.start), p.kind) for p in row.pauses)
    return ApplicationView(
        application=row, clock=clock_status(row.accepted_on, as_of, pauses),
        clock_paused=any(p.end is None for p in row.pauses),
        under_expert_review=open_pause(row.pauses, PauseKind.EXPERT_REVIEW) is not None)


def _step(row: AppRow, kind: str, note: str, assessment_id: str | None
          ) -> tuple[ApplicationView, HistoryStep]:
    """The row's clock fields brought up to date, its view and its history step."""
    row.updated_at = now()
    clock = application_view(row, today()).clock
    row.deadline, row.deadline_exact = clock.deadline, clock.exact
    if row.state == ApplicationState.RECONSIDERATION and row.reconsideration_due:
        # the review queue orders by this: the reconsideration's own due day (calendar days)
        row.deadline, row.deadline_exact = row.reconsideration_due, True
    view = application_view(row)
    return view, HistoryStep(kind, row.state.value, note,
                             wire.application_to_pb(view).SerializeToString(), assessment_id)


async def record_step(uow: LicensingUnitOfWork, row: AppRow, kind: str, note: str = "",
                      assessment_id: str | None = None) -> ApplicationView:
    """Save the application and append a step to its history (WatchApplication streams it,
    with the application as it was after the step)."""
    view, step = _step(row, kind, note, assessment_id)
    await uow.applications.save_steps(row, [step])
    return view


async def record_steps(uow: LicensingUnitOfWork, row: AppRow,
                       steps: list[tuple[ApplicationState, str, str, str | None]]
                       ) -> ApplicationView:
    """`record_step` of several steps in a row, (state, kind, note, assessment id) each: the
    row takes each state before its step's snapshot; saved with one round trip."""
    view, history = None, []
    for state, kind, note, assessment_id in steps:
        row.state = state
        view, step = _step(row, kind, note, assessment_id)
        history.append(step)
    if view is None:
        raise ValueError("record_steps needs at least one step")
    await uow.applications.save_steps(row, history)
    return view

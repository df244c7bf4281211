"""The application state machine and the amendment rule.

Transitions (action: from -> to):

- START_SCREENING: SUBMITTED -> SCREENING
- COMPLETE_ASSESSMENT: SCREENING -> UNDER_REVIEW
- REQUEST_INFORMATION: UNDER_REVIEW -> INFORMATION_REQUESTED (the clock pauses, Reg. 17)
- AMEND: INFORMATION_REQUESTED -> SCREENING (the amended content is screened and assessed
  again)
- ANSWER: INFORMATION_REQUESTED -> UNDER_REVIEW (an answer that leaves the content as it was:
  nothing new to screen, the officer resumes the review)
- APPROVE, APPROVE_WITH_CONDITIONS, DENY: UNDER_REVIEW or RECONSIDERATION -> APPROVED,
  APPROVED_WITH_CONDITIONS, DENIED
- WITHDRAW: SUBMITTED, SCREENING, UNDER_REVIEW, INFORMATION_REQUESTED, RECONSIDERATION
  -> WITHDRAWN
- REQUEST_RECONSIDERATION: DENIED -> RECONSIDERATION, once (Art. 41: the reconsideration
  decision is final)
- RETURN: UNDER_REVIEW -> RETURNED (Reg. 17 acceptance step: returned for missing materials
  before the application is formally accepted, procedures.py checks that; not while screening
  runs, so that no result of the old content arrives after a resubmission)
- RESUBMIT: RETURNED -> SCREENING (the materials arrived; the clock starts that day)
- WITHDRAW also from RETURNED

APPROVED, APPROVED_WITH_CONDITIONS and WITHDRAWN are terminal; DENIED is terminal once a
reconsideration has been decided.

Amendment (the Dual-use Regulations' licence provisions): an amendment may answer an
information request, but a change of a key element - the end user(s), the destination, the
items (control code, description, HS code, item count), the licence type, the regime, the
export type or the exporter - means the applicant must re-apply; `check_amendment` refuses
it with `AmendmentRefused` whose reason starts with "re-apply". Quantities, values, units,
other parties, end-use statement, certificate and contract reference may be amended.
"""

from __future__ import annotations

from enum import Enum

from .errors import AmendmentRefused, IllegalTransition
from .model import ApplicationContent, ApplicationState, party_key

S = ApplicationState


class Action(str, Enum):
    """What happens to an application."""

    START_SCREENING = "START_SCREENING"
    COMPLETE_ASSESSMENT = "COMPLETE_ASSESSMENT"
    REQUEST_INFORMATION = "REQUEST_INFORMATION"
    AMEND = "AMEND"
    ANSWER = "ANSWER"
    APPROVE = "APPROVE"
    APPROVE_WITH_CONDITIONS = "APPROVE_WITH_CONDITIONS"
    DENY = "DENY"
    WITHDRAW = "WITHDRAW"
    REQUEST_RECONSIDERATION = "REQUEST_RECONSIDERATION"
    RETURN = "RETURN"
    RESUBMIT = "RESUBMIT"


_DECIDABLE = frozenset({S.UNDER_REVIEW, S.RECONSIDERATION})

TRANSITIONS: dict[Action, tuple[frozenset[ApplicationState], ApplicationState]] = {
    Action.START_SCREENING: (frozenset({S.SUBMITTED}), S.SCREENING),
    Action.COMPLETE_ASSESSMENT: (frozenset({S.SCREENING}), S.UNDER_REVIEW),
    Action.REQUEST_INFORMATION: (frozenset({S.UNDER_REVIEW}), S.INFORMATION_REQUESTED),
    Action.AMEND: (frozenset({S.INFORMATION_REQUESTED}), S.SCREENING),
    Action.ANSWER: (frozenset({S.INFORMATION_REQUESTED}), S.UNDER_REVIEW),
    Action.APPROVE: (_DECIDABLE, S.APPROVED),
    Action.APPROVE_WITH_CONDITIONS: (_DECIDABLE, S.APPROVED_WITH_CONDITIONS),
    Action.DENY: (_DECIDABLE, S.DENIED),
    Action.WITHDRAW: (
        frozenset({S.SUBMITTED, S.SCREENING, S.UNDER_REVIEW, S.INFORMATION_REQUESTED,
                   S.RECONSIDERATION, S.RETURNED}),
        S.WITHDRAWN,
    ),
    Action.REQUEST_RECONSIDERATION: (frozenset({S.DENIED}), S.RECONSIDERATION),
    Action.RETURN: (frozenset({S.UNDER_REVIEW}), S.RETURNED),
    Action.RESUBMIT: (frozenset({S.RETURNED}), S.SCREENING),
}

TERMINAL_STATES = frozenset({S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.WITHDRAWN})
# States in which the statutory clock may run (see clock.py) and officers see the case.
PENDING_STATES = frozenset({S.SUBMITTED, S.SCREENING, S.UNDER_REVIEW, S.INFORMATION_REQUESTED,
                            S.RECONSIDERATION})
# States in which the Reg. 17 clock runs: pending, but not a reconsideration (Art. 41), whose
# time limits are the Administrative Reconsideration Law's (reconsideration.py).
CLOCK_STATES = PENDING_STATES - {S.RECONSIDERATION}


def transition(
    state: ApplicationState, action: Action, *, reconsideration_used: bool = False
) -> ApplicationState:
    """The state after `action`, or IllegalTransition with the reason.

    `reconsideration_used`: a reconsideration was already decided for this application
    (Art. 41 makes that decision final, so a second one is refused).
    """
    allowed_from, target = TRANSITIONS[action]
    if state not in allowed_from:
        raise IllegalTransition(
            state,
            action,
            f"cannot {action.value.lower().replace('_', ' ')} an application that is "
            f"{state.value}; allowed from: {', '.join(sorted(s.value for s in allowed_from))}",
        )
    if action == Action.REQUEST_RECONSIDERATION and reconsideration_used:
        raise IllegalTransition(
            state, action, "the reconsideration decision is final (Art. 41)"
        )
    return target


def allowed_actions(
    state: ApplicationState, *, reconsideration_used: bool = False
) -> tuple[Action, ...]:
    """The actions allowed in `state` (for UIs and review queues)."""
    out = []
    for action, (allowed_from, _) in TRANSITIONS.items():
        if state in allowed_from and not (
            action == Action.REQUEST_RECONSIDERATION and reconsideration_used
        ):
            out.append(action)
    return tuple(out)


def _item_keys(content: ApplicationContent) -> list[tuple[str, str, str]]:
    return [(i.control_code.strip(), " ".join(i.description.split()).casefold(), i.hs_code)
            for i in content.items]


def key_element_changes(old: ApplicationContent, new: ApplicationContent) -> list[str]:
    """Field paths of key elements (the Dual-use Regulations' licence provisions) that
    differ between `old` and `new`."""
    changed: list[str] = []
    if old.exporter_uscc.strip().upper() != new.exporter_uscc.strip().upper():
        changed.append("exporter_uscc")
    for name in ("licence_type", "regime", "export_type", "destination"):
        if getattr(old, name) != getattr(new, name):
            changed.append(name)
    if sorted(party_key(p) for p in old.end_users) != sorted(party_key(p) for p in new.end_users):
        changed.append("parties[END_USER]")
    old_items, new_items = _item_keys(old), _item_keys(new)
    if len(old_items) != len(new_items):
        changed.append("items")
    else:
        changed.extend(f"items[{i}]" for i, (a, b) in enumerate(zip(old_items, new_items, strict=False))
                       if a != b)
    return changed


def check_amendment(old: ApplicationContent, new: ApplicationContent) -> None:
    """Refuse (AmendmentRefused) an amendment that changes a key element; else return None."""
    changed = key_element_changes(old, new)
    if changed:
        raise AmendmentRefused(
            "re-apply: a change of a key element (end user, destination, item, licence type, "
            "regime, export type or exporter) needs a new application (Dual-use Regulations, "
            "licence provisions: a changed key element means re-applying); changed: "
            f"{', '.join(changed)}",
            changed,
        )

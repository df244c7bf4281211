"""The application state machine and the amendment rule (a changed key element means
re-applying: the Dual-use Regulations' licence provisions, not Reg. 17's time limit)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from stc_licensing.domain.errors import AmendmentRefused, IllegalTransition
from stc_licensing.domain.model import ApplicationState as S
from stc_licensing.domain.model import (
    EndUse,
    EndUseCategory,
    ExportType,
    LicenceType,
    Money,
    PartyRole,
)
from stc_licensing.domain.states import (
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    allowed_actions,
    check_amendment,
    key_element_changes,
    transition,
)


def walk(*actions: Action, start: S = S.SUBMITTED) -> S:
    state = start
    for a in actions:
        state = transition(state, a)
    return state


def test_happy_path_to_approval():
    assert walk(Action.START_SCREENING, Action.COMPLETE_ASSESSMENT, Action.APPROVE) == S.APPROVED


def test_information_request_and_amendment_go_back_through_screening():
    state = walk(Action.START_SCREENING, Action.COMPLETE_ASSESSMENT, Action.REQUEST_INFORMATION)
    assert state == S.INFORMATION_REQUESTED
    state = transition(state, Action.AMEND)
    assert state == S.SCREENING
    assert walk(Action.COMPLETE_ASSESSMENT, Action.APPROVE_WITH_CONDITIONS, start=state) == (
        S.APPROVED_WITH_CONDITIONS)


def test_denial_then_reconsideration_art41():
    denied = walk(Action.START_SCREENING, Action.COMPLETE_ASSESSMENT, Action.DENY)
    assert denied == S.DENIED
    recon = transition(denied, Action.REQUEST_RECONSIDERATION)
    assert recon == S.RECONSIDERATION
    assert transition(recon, Action.APPROVE) == S.APPROVED
    assert transition(recon, Action.DENY) == S.DENIED


def test_second_reconsideration_is_refused_as_final():
    with pytest.raises(IllegalTransition) as exc:
        transition(S.DENIED, Action.REQUEST_RECONSIDERATION, reconsideration_used=True)
    assert "final" in exc.value.message and "Art. 41" in exc.value.message
    assert Action.REQUEST_RECONSIDERATION not in allowed_actions(S.DENIED,
                                                                 reconsideration_used=True)


@pytest.mark.parametrize("state", [S.SUBMITTED, S.SCREENING, S.UNDER_REVIEW,
                                   S.INFORMATION_REQUESTED, S.RECONSIDERATION])
def test_withdraw_from_every_pending_state(state):
    assert transition(state, Action.WITHDRAW) == S.WITHDRAWN


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (S.SUBMITTED, Action.APPROVE),  # no decision before screening and assessment
        (S.SCREENING, Action.DENY),
        (S.UNDER_REVIEW, Action.AMEND),  # amend only answers an information request
        (S.INFORMATION_REQUESTED, Action.APPROVE),  # clock stopped, waiting for the applicant
        (S.APPROVED, Action.WITHDRAW),
        (S.WITHDRAWN, Action.START_SCREENING),
        (S.APPROVED, Action.REQUEST_RECONSIDERATION),  # only after a denial
        (S.DENIED, Action.WITHDRAW),
        (S.INFORMATION_REQUESTED, Action.REQUEST_INFORMATION),
    ],
)
def test_illegal_transitions_raise_with_a_clear_reason(state, action):
    with pytest.raises(IllegalTransition) as exc:
        transition(state, action)
    assert exc.value.state == state and exc.value.action == action
    assert state.value in exc.value.message
    assert "allowed from" in exc.value.message


def test_terminal_states_allow_nothing():
    for state in TERMINAL_STATES:
        assert allowed_actions(state) == ()


def test_every_state_except_terminal_has_a_way_out():
    for state in S:
        if state not in TERMINAL_STATES:
            assert allowed_actions(state), state


def test_transition_table_covers_every_action():
    assert set(TRANSITIONS) == set(Action)


# --------------------------------------------------------------------------- amendments


def test_non_key_amendment_is_accepted(b):
    old = b.content()
    new = replace(old, items=(b.item(quantity=Decimal("450"), value=Money(11_000_000, "CNY")),),
                  end_use=EndUse(EndUseCategory.CIVIL, "Sintering of carbide cutting tools"),
                  contract_reference="C-2026-001-A",
                  parties=old.parties + (replace(b.importer(), role=PartyRole.BANK,
                                                 name="Deutsche Beispielbank AG"),))
    assert key_element_changes(old, new) == []
    check_amendment(old, new)  # does not raise


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"destination": "FR"}, "destination"),
        ({"licence_type": LicenceType.GENERAL}, "licence_type"),
        ({"export_type": ExportType.RE_EXPORT}, "export_type"),
    ],
)
def test_key_element_change_is_refused_with_reapply(b, change, field):
    with pytest.raises(AmendmentRefused) as exc:
        check_amendment(b.content(), b.content(**change))
    assert exc.value.message.startswith("re-apply")
    assert "Reg. 17" not in exc.value.message
    assert "Dual-use Regulations, licence provisions" in exc.value.message
    assert exc.value.fields == (field,)


def test_end_user_change_is_refused(b):
    old = b.content()
    new = replace(old, parties=(b.importer(), b.end_user(name="Other GmbH", identifiers=())))
    with pytest.raises(AmendmentRefused) as exc:
        check_amendment(old, new)
    assert exc.value.fields == ("parties[END_USER]",)


def test_end_user_name_spelling_with_same_identifier_is_not_a_change(b):
    old = b.content()
    new = replace(old, parties=(b.importer(), b.end_user(name="MÜLLER PRÄZISION GMBH, Werk Ulm")))
    assert key_element_changes(old, new) == []


def test_item_change_is_refused_naming_the_item(b):
    old = b.content(items=(b.item(), b.item(control_code="1C117.c")))
    new = replace(old, items=(b.item(), b.item(control_code="1C902.a")))
    with pytest.raises(AmendmentRefused) as exc:
        check_amendment(old, new)
    assert exc.value.fields == ("items[1]",)
    added = replace(old, items=old.items + (b.item(),))
    assert key_element_changes(old, added) == ["items"]

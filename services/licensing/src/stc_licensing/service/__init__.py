"""The licensing service layer: use cases as `async def verb_noun(*, uow, caller, cmd)` that
take a command (service/commands.py), run in the caller's unit of work (one transaction,
storage/ports.py), publish their events into the outbox of that transaction
(events/outgoing.py) and return domain objects (service/views.py). Split by business area:

- operators: registration, ICP (Art. 14), military qualification (Art. 23)
- applications: submit (Art. 12), list, withdraw, answer/amend (Reg. 17), reconsider (Art. 41)
- review: the officer's queue, information requests, expert reviews, decisions (Art. 13)
- assessment: the Art. 13 assessment on screening's result, and its replay
- licences: exports against a licence, suspension, reinstatement, revocation
- reactions: the other services' events (Arts. 16-18, Art. 39)
- deadlines: the Reg. 17 clock's warnings and breaches, reconsideration due days, expiry
- holidays: the State Council's holiday schedules as data, deadlines recomputed (issue 11/3)
- temporary_controls: the Art. 9(2) register, its expiry job, its hooks (issue 11/5)
- extraterritorial: the de minimis rules of Arts. 45, 44 (EvaluateReExport, issue 11/6)
- procedures (issue 11): Reg. 26 time-limit exemption, officer discretion and the decision
  guards (Arts. 18, 23, 24, 39), referrals (Reg. 17, Art. 24), Art. 24 approvals, the
  acceptance step (Reg. 17)

Errors are stc_common ServiceErrors (the domain's own among them) and carry their status.
"""

from stc_licensing.service import common
from stc_licensing.service.applications import (
    amend_application,
    get_application,
    get_assessment,
    list_applications,
    request_reconsideration,
    submit_application,
    withdraw_application,
)
from stc_licensing.service.assessment import (
    Replay,
    assess_application,
    configure_policies,
    policies,
    replay_assessment,
)
from stc_licensing.service.deadlines import (
    DEADLINE_WARNING_WORKING_DAYS,
    expire_licence,
    mark_breach,
    warn_deadline,
)
from stc_licensing.service.extraterritorial import configure_rules, evaluate_re_export
from stc_licensing.service.holidays import enter_holiday_schedule, list_holiday_schedules
from stc_licensing.service.licences import (
    get_licence,
    list_licences,
    record_export,
    reinstate_licence,
    revoke_licence,
    suspend_licence,
)
from stc_licensing.service.operators import (
    get_operator,
    record_icp_audit,
    register_operator,
    set_military_qualification,
    update_icp_self_assessment,
)
from stc_licensing.service.procedures import (
    accept_application,
    end_referral,
    record_military_approval,
    refer_application,
    resubmit_application,
    return_application,
)
from stc_licensing.service.reactions import (
    apply_change_resolution,
    handle_rescreening_match,
    hold_licence,
    record_credit_standing,
    suspend_after_end_use_check,
)
from stc_licensing.service.review import (
    decide_application,
    end_expert_review,
    list_review_queue,
    request_information,
    start_expert_review,
)
from stc_licensing.service.temporary_controls import (
    create_temporary_control,
    decide_temporary_control,
    list_temporary_controls,
)

__all__ = [
    "accept_application", "end_referral", "record_military_approval", "refer_application",
    "resubmit_application", "return_application",
    "DEADLINE_WARNING_WORKING_DAYS", "Replay", "amend_application", "apply_change_resolution",
    "assess_application", "common", "configure_policies", "configure_rules",
    "create_temporary_control", "decide_application", "decide_temporary_control",
    "enter_holiday_schedule", "evaluate_re_export", "list_holiday_schedules",
    "list_temporary_controls",
    "end_expert_review", "expire_licence", "get_application", "get_assessment", "get_licence",
    "get_operator", "handle_rescreening_match", "hold_licence", "list_applications",
    "list_licences", "list_review_queue", "mark_breach", "policies", "record_credit_standing",
    "record_export", "record_icp_audit", "register_operator", "reinstate_licence",
    "replay_assessment", "request_information", "request_reconsideration", "revoke_licence",
    "set_military_qualification", "start_expert_review", "submit_application",
    "suspend_after_end_use_check", "suspend_licence", "update_icp_self_assessment",
    "warn_deadline", "withdraw_application",
]

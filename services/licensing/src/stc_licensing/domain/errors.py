"""Domain errors of the licensing service, as subclasses of stc_common.errors (one
ServiceError family for every service), so a rule's refusal carries its gRPC status itself
and no layer maps it again:

| error             | base (status)                        | reason              |
|-------------------|--------------------------------------|---------------------|
| IllegalTransition | FailedPrecondition                   | ILLEGAL_TRANSITION  |
| AmendmentRefused  | ValidationFailed (INVALID_ARGUMENT)  | RE_APPLY            |
| LicenceRefused    | FailedPrecondition                   | LICENCE_REFUSED     |
| NoPolicyInForce   | FailedPrecondition                   | NO_POLICY_IN_FORCE  |
| PolicyError       | FailedPrecondition                   | POLICY_ERROR        |

`.message` is the sentence for people (citing the law), `.reason` the machine code. Field
violations of a submission or an amendment are stc_common's ValidationFailed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stc_common.errors import FailedPrecondition, FieldViolation, ValidationFailed


class IllegalTransition(FailedPrecondition):
    """An application or licence state change the state machine does not allow."""

    def __init__(self, state: Any, action: Any, message: str) -> None:
        super().__init__(message, reason="ILLEGAL_TRANSITION")
        self.state = state
        self.action = action


class AmendmentRefused(ValidationFailed):
    """An amendment that changes a key element: the applicant must re-apply (the Dual-use
    Regulations' licence provisions)."""

    def __init__(self, message: str, fields: Sequence[str]) -> None:
        super().__init__([FieldViolation(f, message) for f in fields], message,
                         reason="RE_APPLY")
        self.fields = tuple(fields)


class LicenceRefused(FailedPrecondition):
    """An operation on a licence that its state, validity or remaining quantity refuses."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="LICENCE_REFUSED")


class PolicyError(FailedPrecondition):
    """A policy file that cannot be read or is inconsistent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="POLICY_ERROR")


class NoPolicyInForce(FailedPrecondition):
    """No policy version is in force on the requested date."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="NO_POLICY_IN_FORCE")

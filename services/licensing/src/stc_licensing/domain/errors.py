"""Domain errors of the licensing service.

They subclass `DomainError` (a plain Exception) so the domain stays independent of
`stc_common.errors`; the wiring step maps them:

| error                 | attribute            | gRPC / stc_common mapping           |
|-----------------------|----------------------|-------------------------------------|
| SubmissionInvalid     | .violations          | ValidationFailed (INVALID_ARGUMENT) |
| IllegalTransition     | .reason, .state      | FailedPrecondition                  |
| AmendmentRefused      | .reason, .fields     | FailedPrecondition (reason: re-apply)|
| LicenceRefused        | .reason              | FailedPrecondition                  |
| PolicyError           | .reason              | internal configuration error        |
| NoPolicyInForce       | .reason              | FailedPrecondition                  |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    """Base class of the licensing domain's errors; `.reason` is a human-readable sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SubmissionInvalid(DomainError):
    """A submission with field violations (`.violations`: list of FieldViolation)."""

    def __init__(self, violations: Sequence[Any]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.reason}" for v in violations))
        self.violations = list(violations)


class IllegalTransition(DomainError):
    """An application or licence state change the state machine does not allow."""

    def __init__(self, state: Any, action: Any, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.action = action


class AmendmentRefused(DomainError):
    """An amendment that changes a key element: the applicant must re-apply (the Dual-use
    Regulations' licence provisions)."""

    def __init__(self, reason: str, fields: Sequence[str]) -> None:
        super().__init__(reason)
        self.fields = tuple(fields)


class LicenceRefused(DomainError):
    """An operation on a licence that its state, validity or remaining quantity refuses."""


class PolicyError(DomainError):
    """A policy file that cannot be read or is inconsistent."""


class NoPolicyInForce(DomainError):
    """No policy version is in force on the requested date."""

"""Domain errors of the end-user service: the stc_common.errors family, with the end-user
rules' own names.

- `InvalidReport`     is a ValidationFailed: INVALID_ARGUMENT with every field violation
                      (field paths in the domain's names; api/errors.py renames them to the
                      request's);
- `IllegalTransition` is a FailedPrecondition (reason ILLEGAL_TRANSITION): the report or
                      check is not in a state (or the law does not allow) what was asked;
- `LicenceClosed`     is a FailedPrecondition (reason LICENCE_REVOKED / LICENCE_EXPIRED):
                      nothing is left to report on a revoked or expired licence;
- `NotPermitted`      is a PermissionDenied (reason WRONG_AUTHORITY): another authority's
                      officer. Tenant isolation (NOT_FOUND) is decided in the service layer.
"""

from __future__ import annotations

from stc_common.errors import FailedPrecondition, FieldViolation, PermissionDenied, ValidationFailed

__all__ = ["FieldViolation", "IllegalTransition", "InvalidReport", "LicenceClosed",
           "NotPermitted"]


class InvalidReport(ValidationFailed):
    """Bad input to a change report, a resolution or an end-use check; lists every violation.

    Raised with all violations found, not just the first, so a caller can fix them at once.
    """

    def __init__(self, violations: list[FieldViolation] | tuple[FieldViolation, ...]) -> None:
        super().__init__(list(violations))

    def fields(self) -> set[str]:
        """The field paths that were violated."""
        return {v.field for v in self.violations}


class IllegalTransition(FailedPrecondition):
    """The report or check is not in a state (or the law does not allow) what was asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="ILLEGAL_TRANSITION")


class LicenceClosed(FailedPrecondition):
    """A report on a revoked or expired licence: nothing is left to report on (Art. 16)."""

    def __init__(self, licence_id: str, status: str) -> None:
        super().__init__(f"licence {licence_id} is {status.lower()}: nothing left to report on",
                         reason=f"LICENCE_{status.upper()}")


class NotPermitted(PermissionDenied):
    """The caller may not do this (another authority's licence, a party not on the licence)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="WRONG_AUTHORITY")

"""Domain exceptions of the end-user service.

The wiring step maps them to gRPC status codes:

- `InvalidReport`     -> INVALID_ARGUMENT with google.rpc.BadRequest field violations
- `IllegalTransition` -> FAILED_PRECONDITION (the request is well formed but the current
                         state of the report or check, or the law, does not allow it)
- `NotPermitted`      -> PERMISSION_DENIED (or NOT_FOUND where the caller must not learn that
                         another tenant's resource exists; that choice belongs to the API layer)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a dotted path into the request (``documents[1].sha256``) and why."""

    field: str
    reason: str


class DomainError(Exception):
    """Base class of every end-user domain error."""


class InvalidReport(DomainError):
    """Bad input to a change report, a resolution or an end-use check; lists every violation.

    Raised with all violations found, not just the first, so a caller can fix them at once.
    """

    def __init__(self, violations: list[FieldViolation] | tuple[FieldViolation, ...]) -> None:
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        super().__init__("; ".join(f"{v.field}: {v.reason}" for v in self.violations))

    def fields(self) -> set[str]:
        """The field paths that were violated."""
        return {v.field for v in self.violations}


class IllegalTransition(DomainError):
    """The report or check is not in a state (or the law does not allow) what was asked."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class NotPermitted(DomainError):
    """The caller may not do this (another authority's licence, a party not on the licence)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

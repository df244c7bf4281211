"""Domain errors every service raises, and the gRPC status each maps to.

The grpc bootstrap turns these into `google.rpc.Status` with `ErrorInfo` and, for
validation, `BadRequest` field violations — never UNKNOWN or INTERNAL for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a path like `items[0].control_code` and a reason a person can act on."""

    field: str
    reason: str


class ServiceError(Exception):
    """Base class: `reason` is a machine-readable UPPER_SNAKE code, `message` is for people."""

    code = "UNKNOWN"  # name of the grpc.StatusCode

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or type(self).__name__.upper()
        self.metadata = dict(metadata or {})


class ValidationFailed(ServiceError):
    """Bad input; carries every field violation found (INVALID_ARGUMENT)."""

    code = "INVALID_ARGUMENT"

    def __init__(
        self,
        violations: list[FieldViolation] | FieldViolation,
        message: str = "",
        *,
        reason: str = "VALIDATION_FAILED",
    ) -> None:
        self.violations = (
            [violations] if isinstance(violations, FieldViolation) else list(violations)
        )
        # the message names the first MAX_MESSAGE_VIOLATIONS; the details carry at most 20
        # (stc_common.grpc.errors), so a 100k-violation request cannot outgrow the trailers
        shown = self.violations[:MAX_MESSAGE_VIOLATIONS]
        text = message or "; ".join(f"{v.field[:200]}: {v.reason[:200]}" for v in shown)
        if len(self.violations) > len(shown):
            text += f"; and {len(self.violations) - len(shown)} more"
        super().__init__(text[:4000], reason=reason)


MAX_MESSAGE_VIOLATIONS = 5


class ResourceExhausted(ServiceError):
    """A server limit is reached (concurrent calls, streams, work in flight): retry later
    (RESOURCE_EXHAUSTED); `retry_after_s`, when given, goes to the client as RetryInfo."""

    code = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, reason: str | None = None,
                 metadata: dict[str, str] | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_s = retry_after_s


class NotFound(ServiceError):
    """The resource does not exist, or the caller may not know it exists (NOT_FOUND)."""

    code = "NOT_FOUND"


class AlreadyExists(ServiceError):
    """A resource with that identity exists already (ALREADY_EXISTS)."""

    code = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    """The request is valid but the resource's state does not allow it (FAILED_PRECONDITION)."""

    code = "FAILED_PRECONDITION"


class PermissionDenied(ServiceError):
    """Authenticated, but this role or authority may not do this (PERMISSION_DENIED)."""

    code = "PERMISSION_DENIED"


class Unauthenticated(ServiceError):
    """No valid credentials (UNAUTHENTICATED)."""

    code = "UNAUTHENTICATED"


@dataclass
class ViolationCollector:
    """Gathers field violations and raises them together."""

    violations: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, reason: str) -> None:
        """Record one violation."""
        self.violations.append(FieldViolation(field_path, reason))

    def require(self, condition: bool, field_path: str, reason: str) -> bool:
        """Record a violation unless `condition`; return `condition`."""
        if not condition:
            self.add(field_path, reason)
        return condition

    def raise_if_any(self) -> None:
        """Raise ValidationFailed when anything was recorded."""
        if self.violations:
            raise ValidationFailed(self.violations)

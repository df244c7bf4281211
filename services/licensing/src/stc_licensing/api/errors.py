"""The one place where the licensing domain's exceptions become stc_common errors (and so
gRPC statuses with ErrorInfo / BadRequest details)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from stc_common import errors as ce

from stc_licensing.domain import errors as de


def to_common(exc: de.DomainError) -> ce.ServiceError:
    """The stc_common error for a domain error."""
    if isinstance(exc, de.SubmissionInvalid):
        return ce.ValidationFailed([ce.FieldViolation(v.field, v.reason) for v in exc.violations])
    if isinstance(exc, de.AmendmentRefused):
        # the Regulations' licence provisions: a key element changed -> the applicant re-applies.
        return ce.ValidationFailed([ce.FieldViolation(f, exc.reason) for f in exc.fields],
                                   exc.reason, reason="RE_APPLY")
    if isinstance(exc, de.IllegalTransition):
        return ce.FailedPrecondition(exc.reason, reason="ILLEGAL_TRANSITION")
    if isinstance(exc, de.LicenceRefused):
        return ce.FailedPrecondition(exc.reason, reason="LICENCE_REFUSED")
    if isinstance(exc, de.NoPolicyInForce):
        return ce.FailedPrecondition(exc.reason, reason="NO_POLICY_IN_FORCE")
    return ce.FailedPrecondition(exc.reason, reason="DOMAIN_ERROR")


@contextlib.contextmanager
def mapped() -> Iterator[None]:
    """Re-raise domain errors as stc_common errors."""
    try:
        yield
    except de.DomainError as exc:
        raise to_common(exc) from exc

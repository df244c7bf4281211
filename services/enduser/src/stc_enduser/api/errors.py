"""The one place where the end-user domain's exceptions become platform errors.

InvalidReport -> ValidationFailed (INVALID_ARGUMENT, field paths renamed from the domain's
names to the request's), IllegalTransition -> FailedPrecondition, NotPermitted ->
PermissionDenied (officers of another authority; tenant isolation is NOT_FOUND and is
decided in the service layer before the rules run).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from stc_common.errors import FailedPrecondition, FieldViolation, PermissionDenied, ValidationFailed

from stc_enduser.domain.errors import IllegalTransition, InvalidReport, NotPermitted

# (pattern on the domain path, replacement giving the request path), applied in order.
REPORT_FIELDS = (
    (r"^new_end_user\.identifiers\[(\d+)\]\.scheme$", r"new_end_user.identifiers[\1].type"),
    (r"^documents\[(\d+)\]\.name$", r"documents[\1].title"),
)
RESOLUTION_FIELDS = (
    (r"^resolution\.kind$", "resolution"),
    (r"^resolution\.reasons$", "reasons"),
    (r"^resolution\.amended_elements$", "amended_elements"),
)
SCHEDULE_FIELDS = ((r"^party(\..*)?$", "party_id"),)
OUTCOME_FIELDS = ((r"^outcome\.status$", "outcome"), (r"^outcome\.details$", "details"))


def _rename(path: str, renames: tuple[tuple[str, str], ...]) -> str:
    for pattern, repl in renames:
        if re.match(pattern, path):
            return re.sub(pattern, repl, path)
    return path


@contextlib.contextmanager
def domain_errors(renames: tuple[tuple[str, str], ...] = ()) -> Iterator[None]:
    """Re-raise the domain's exceptions as stc_common errors the interceptor maps."""
    try:
        yield
    except InvalidReport as exc:
        seen: set[tuple[str, str]] = set()
        violations = []
        for v in exc.violations:
            item = (_rename(v.field, renames), v.reason)
            if item not in seen:
                seen.add(item)
                violations.append(FieldViolation(*item))
        raise ValidationFailed(violations) from exc
    except IllegalTransition as exc:
        raise FailedPrecondition(exc.reason, reason="ILLEGAL_TRANSITION") from exc
    except NotPermitted as exc:
        raise PermissionDenied(exc.reason, reason="WRONG_AUTHORITY") from exc

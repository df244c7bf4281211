"""Field paths of the end-user domain's violations, renamed to the request's.

The domain errors are stc_common errors already (domain/errors.py: IllegalTransition is a
FailedPrecondition, NotPermitted a PermissionDenied) and pass through unchanged; only an
InvalidReport's field paths name the domain's fields, which `domain_errors` renames to the
request's (and de-duplicates) before the interceptor answers INVALID_ARGUMENT.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from stc_common.errors import FieldViolation, ValidationFailed

from stc_enduser.domain.errors import InvalidReport

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
    """Re-raise an InvalidReport with the request's field paths."""
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

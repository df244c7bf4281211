"""Page tokens: the one parser every List/Search RPC uses (issue 10).

The services hand out offset tokens (`"40"`). A token that is not 1–18 ASCII digits (so
negative numbers, other scripts' digits, signs, spaces, underscores and anything beyond
64 bits) is INVALID_ARGUMENT naming `page_token`, never a database error.
"""

from __future__ import annotations

import re

from stc_common.errors import FieldViolation, ValidationFailed

_TOKEN = re.compile(r"[0-9]{1,18}")


def offset_from_token(token: str, field: str = "page_token") -> int:
    """The offset a page token stands for (0 for none); INVALID_ARGUMENT when it is not ours."""
    if not token:
        return 0
    if not _TOKEN.fullmatch(token):
        raise ValidationFailed(
            FieldViolation(field, "not a page token this service issued"),
            reason="BAD_PAGE_TOKEN",
        )
    return int(token)


def is_offset_token(token: str) -> bool:
    """True when `token` is empty or parses with `offset_from_token`."""
    return not token or bool(_TOKEN.fullmatch(token))

"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015) validation.

Written by hand because python-stdnum rejects codes whose first two positions are letters
(registration authorities A, N, Y and their types), which GB 32100 allows.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]


class UsccError(ValueError):
    """A code that is not a valid USCC; the message says why."""


def check_character(first17: str) -> str:
    """Return the check character (position 18) for the first 17 characters."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the normalised (upper-case, stripped) code, or raise UsccError with the reason."""
    if not isinstance(code, str):
        raise UsccError("must be a string")
    norm = code.strip().upper()
    if len(norm) != 18:
        raise UsccError(f"must be 18 characters, got {len(norm)}")
    bad = sorted({c for c in norm if c not in _VALUE})
    if bad:
        raise UsccError(
            f"contains characters outside 0-9 and A-Y without I, O, S, V, Z: {''.join(bad)}"
        )
    if not norm[2:8].isdigit():
        raise UsccError("positions 3-8 must be the six-digit administrative division code")
    expected = check_character(norm[:17])
    if norm[17] != expected:
        raise UsccError(f"check character is {norm[17]}, expected {expected}")
    return norm


def is_valid_uscc(code: str) -> bool:
    """True when `code` is a valid USCC."""
    try:
        validate_uscc(code)
    except UsccError:
        return False
    return True


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (for tests and sample data)."""
    return first17 + check_character(first17)

"""Small helpers shared by the list parsers."""

from __future__ import annotations

import datetime as dt
import re

OFAC_EMPTY = "-0-"


def clean(value: str | None) -> str:
    """Strip whitespace and turn OFAC's ``-0-`` placeholder into an empty string."""
    if value is None:
        return ""
    text = " ".join(value.split())
    return "" if text == OFAC_EMPTY else text


def parse_date(value: str) -> dt.date | None:
    """Parse ``YYYY-MM-DD`` or ``MM/DD/YYYY``; None when empty or unreadable."""
    text = clean(value)
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d %b %Y", "%d %B %Y"):
        try:
            return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    return None


def unique(items: list[str]) -> tuple[str, ...]:
    """Drop empties and duplicates (case-insensitive), keeping the first spelling and order."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        text = clean(item)
        key = text.casefold()
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return tuple(out)


_WS = re.compile(r"\s+")

"""Repositories of the end-user service: plain SQL over one asyncpg connection."""

from __future__ import annotations

import uuid


def parse_uuid(value: str) -> uuid.UUID | None:
    """`value` as a UUID; None when it is not one (an id a client made up finds nothing)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError):
        return None

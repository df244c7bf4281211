"""Pseudonymous person identifiers for the Art. 39 personal bans on the wire.

Credit publishes the bans of an enterprise's directly responsible persons (Export Control
Law Art. 39) so licensing can refuse applications they handle, without sending ID numbers
over Kafka: both services hash the normalised ID number (trimmed, upper case) with SHA-256
and compare the hex digests.
"""

from __future__ import annotations

import hashlib


def normalise_id_number(id_number: str) -> str:
    """The ID number as compared: surrounding blanks removed, letters upper case."""
    return id_number.strip().upper()


def id_number_hash(id_number: str) -> str:
    """SHA-256 hex of the normalised ID number (what CreditStandingChanged carries)."""
    return hashlib.sha256(normalise_id_number(id_number).encode()).hexdigest()

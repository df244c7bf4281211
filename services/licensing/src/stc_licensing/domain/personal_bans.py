"""Export Control Law Art. 39: personal bans of directly responsible persons.

An exporter punished under the Law may be refused licence applications, and the persons
directly responsible for the violation are barred for five years (for life after a criminal
conviction) from export control business. An application names its exporter's legal
representative and the person handling it (`NaturalPerson`); credit publishes the bans in
force per enterprise as SHA-256 hashes of the normalised ID numbers (stc_common.person_id),
projected with the credit standing. `banned_person_fields` says which named persons have a
ban in force on a day; the submission use case refuses those applications (PERSON_BANNED).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from stc_common.person_id import id_number_hash

MAX_ID_NUMBER = 40
PERSON_FIELDS = ("legal_representative", "handling_person")


@dataclass(frozen=True)
class NaturalPerson:
    """A person named on an application: name and ID card or passport number."""

    name: str
    id_number: str


@dataclass(frozen=True)
class PersonBan:
    """A ban in force as credit publishes it: hashed ID number, last day (None: for life)."""

    id_number_sha256: str
    until: dt.date | None

    def in_force(self, day: dt.date) -> bool:
        """Whether the person is barred on `day`."""
        return self.until is None or day <= self.until


def validate_person(field: str, person: NaturalPerson | None) -> list[tuple[str, str]]:
    """(field, reason) pairs for a named person; an absent person is not a violation."""
    if person is None:
        return []
    if any(unicodedata.category(ch).startswith("C") for ch in person.id_number):
        return [(f"{field}.id_number", "must not contain control characters")]
    if not 1 <= len(person.id_number.strip()) <= MAX_ID_NUMBER:
        return [(f"{field}.id_number", f"required, 1-{MAX_ID_NUMBER} characters")]
    return []


def banned_person_fields(persons: dict[str, NaturalPerson | None],
                         bans: tuple[PersonBan, ...], day: dt.date) -> list[str]:
    """The fields (of `persons`) naming someone with an Art. 39 ban in force on `day`."""
    barred = {b.id_number_sha256 for b in bans if b.in_force(day)}
    return [name for name, person in persons.items()
            if person is not None and id_number_hash(person.id_number) in barred]

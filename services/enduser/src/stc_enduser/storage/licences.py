"""The local licence projection (built from stc.licensing.licence.v1, read by the use cases)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from stc_enduser.domain.model import Authority, LicenceStatus, LicenceView

ACTIVE, SUSPENDED, REVOKED, EXPIRED = (LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED,
                                       LicenceStatus.REVOKED, LicenceStatus.EXPIRED)

# stc.common.v1.PartyRole names as protobuf JSON writes them.
IMPORTER_ROLE = "PARTY_ROLE_IMPORTER"
END_USER_ROLE = "PARTY_ROLE_END_USER"
EXPORTER_ROLE = "PARTY_ROLE_EXPORTER"


@dataclass(frozen=True)
class LicenceRecord:
    """A projected licence: the domain's view, its status and its parties as protobuf JSON."""

    view: LicenceView
    status: LicenceStatus
    parties: dict[str, dict]

    def party(self, party_id: str) -> dict | None:
        """The stored party JSON of `party_id`, if it is on the licence."""
        return self.parties.get(party_id)


def _record(row: asyncpg.Record) -> LicenceRecord:
    return licence_record(row)


def licence_record(row: Mapping[str, Any]) -> LicenceRecord:
    """The LicenceRecord of a projected row (licence_id, exporter_uscc, authority,
    destination, parties as protobuf JSON, item_codes, status)."""
    parties = {p["party_id"]: p for p in row["parties"] if p.get("party_id")}
    others = {pid: p for pid, p in parties.items() if p.get("role") != EXPORTER_ROLE}
    importer = next((pid for pid, p in others.items() if p.get("role") == IMPORTER_ROLE), "")
    view = LicenceView(
        licence_id=row["licence_id"],
        exporter_uscc=row["exporter_uscc"],
        authority=Authority(row["authority"]),
        destination_country=row["destination"],
        importer_id=importer,
        party_ids=frozenset(others),
        end_user_ids=frozenset(pid for pid, p in others.items() if p.get("role") == END_USER_ROLE),
        item_codes=tuple(row["item_codes"]),
    )
    return LicenceRecord(view=view, status=LicenceStatus(row["status"]), parties=parties)


class LicenceRepository:
    """The local licence projection (SQL over one connection)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, licence_id: str) -> LicenceRecord | None:
        """The projected licence, or None when licensing has not issued it (as far as we know)."""
        row = await self.conn.fetchrow("SELECT * FROM licences WHERE licence_id = $1", licence_id)
        return _record(row) if row else None

    async def upsert_issued(
        self,
        *,
        licence_id: str,
        exporter_uscc: str,
        authority: str,
        destination: str,
        parties: list[dict],
        item_codes: list[str],
        event_id: str,
    ) -> bool:
        """Insert an issued licence; a re-issue of a known licence refreshes its content only.

        The status is never reset here: a LicenceIssued published again must not undo a later
        suspension or revocation. Returns True when the licence was new.
        """
        return await self.conn.fetchval(
            """INSERT INTO licences (licence_id, exporter_uscc, authority, destination, parties,
                                     item_codes, issued_event_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (licence_id) DO UPDATE
                  SET exporter_uscc = EXCLUDED.exporter_uscc, authority = EXCLUDED.authority,
                      destination = EXCLUDED.destination, parties = EXCLUDED.parties,
                      item_codes = EXCLUDED.item_codes, updated_at = now()
               RETURNING (xmax = 0)""",
            licence_id, exporter_uscc, authority, destination, parties, item_codes, event_id,
        )

    async def set_status(self, licence_id: str, status: str) -> bool:
        """Set the status; False when the licence is unknown. REVOKED and EXPIRED are final."""
        result = await self.conn.execute(
            """UPDATE licences SET status = $2, updated_at = now()
                WHERE licence_id = $1 AND status NOT IN ('REVOKED', 'EXPIRED')""",
            licence_id, status,
        )
        return result != "UPDATE 0"

    async def add_amended(self, licence_id: str, elements: list[str]) -> bool:
        """Record the elements licensing amended; False when the licence is unknown."""
        result = await self.conn.execute(
            """UPDATE licences
                  SET amended_elements = ARRAY(SELECT DISTINCT unnest(amended_elements || $2::text[])),
                      updated_at = now()
                WHERE licence_id = $1""",
            licence_id, elements,
        )
        return result != "UPDATE 0"

"""An in-memory `LicensingRepository` (the fake the use cases' unit tests run over).

It behaves like the SQL adapter where the use cases can tell: rows come back as copies (a use
case mutating a row it read changes nothing until it saves it), `(exporter, request_id)` is
unique, an older credit standing never overwrites a newer one, history sequences count per
application, and the operator's export history is derived from the licences' usage.
There are no transactions: a unit of work that raises keeps what it wrote before raising
(the use cases validate before they write, and the unit tests check exactly that).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field, replace

from stc_licensing.domain import inputs as di
from stc_licensing.domain import licence as dl
from stc_licensing.domain import model as dm
from stc_licensing.storage.repo import AppRow, LicenceRow

_PENDING = ("SUBMITTED", "SCREENING", "UNDER_REVIEW", "INFORMATION_REQUESTED")


@dataclass
class InMemoryRepository:
    """Dictionaries standing in for the tables of migrations/0001_licensing.sql."""

    operators: dict[str, tuple[dm.ExportOperator, dt.datetime]] = field(default_factory=dict)
    standings: dict[str, tuple[di.CreditStanding, dt.date | None]] = field(default_factory=dict)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)
    applications: dict[str, AppRow] = field(default_factory=dict)
    history: dict[str, list[dict]] = field(default_factory=dict)
    assessments: dict[str, dict] = field(default_factory=dict)
    licences: dict[str, tuple[dl.Licence, str, dt.datetime]] = field(default_factory=dict)
    policy_versions: dict[str, str] = field(default_factory=dict)  # content hash -> JSON

    def snapshot(self) -> tuple:
        """Everything stored, for asserting that a refused use case wrote nothing."""
        return copy.deepcopy((self.operators, self.standings, self.counters, self.applications,
                              self.history, self.assessments, self.licences))

    # operators
    async def insert_operator(self, op):
        if op.uscc in self.operators:
            return False
        self.operators[op.uscc] = (op, dt.datetime.now(dt.UTC))
        return True

    async def get_operator(self, uscc, *, for_update=False):
        found = self.operators.get(uscc)
        if found is None:
            return None
        used = [lic for lic, _, _ in self.licences.values()
                if lic.holder_uscc == uscc and lic.exports]
        exports = sum(len(lic.exports) for lic in used)
        keys = frozenset(k for lic in used for k in lic.end_user_keys)
        op, at = found
        return replace(op, licensed_exports=exports, established_end_users=keys), at

    async def save_operator(self, op):
        self.operators[op.uscc] = (op, self.operators[op.uscc][1])

    # credit standing
    async def get_standing(self, uscc):
        found = self.standings.get(uscc)
        return found[0] if found else di.CreditStanding(uscc=uscc)

    async def upsert_standing(self, s, as_of):
        old = self.standings.get(s.uscc)
        if old is None or old[1] is None or as_of is None or as_of >= old[1]:
            self.standings[s.uscc] = (s, as_of)

    # applications
    async def next_reference(self, authority, year):
        n = self.counters.get((authority, year), 0) + 1
        self.counters[(authority, year)] = n
        return f"{authority}-{year}-{n:06d}"

    async def insert_application(self, a):
        if any(r.exporter_uscc == a.exporter_uscc and r.request_id == a.request_id
               for r in self.applications.values()):
            return False
        self.applications[a.id] = copy.deepcopy(a)
        return True

    async def get_application(self, app_id, *, for_update=False):
        found = self.applications.get(app_id)
        return copy.deepcopy(found) if found else None

    async def get_by_request_id(self, uscc, request_id):
        return next((copy.deepcopy(r) for r in self.applications.values()
                     if r.exporter_uscc == uscc and r.request_id == request_id), None)

    async def save_application(self, a):
        self.applications[a.id] = copy.deepcopy(a)

    async def list_applications(self, *, uscc, authority, states, offset, limit,
                                by_deadline=False):
        rows = [r for r in self.applications.values()
                if (uscc is None or r.exporter_uscc == uscc)
                and (authority is None or r.authority == authority)
                and (states is None or r.state.value in states)]
        if by_deadline:
            rows.sort(key=lambda r: (r.deadline is None, r.deadline or dt.date.min,
                                     r.submitted_at, r.id))
        else:
            rows.sort(key=lambda r: (r.submitted_at, r.id))
        return [copy.deepcopy(r) for r in rows[offset:offset + limit]]

    async def pending_ids(self):
        return [r.id for r in self.applications.values()
                if (not r.breach_reported and r.state.value in _PENDING)
                or (r.state.value == "RECONSIDERATION" and not r.reconsideration_overdue_reported)]

    async def append_history(self, app_id, kind, state, note, snapshot, assessment_id=None):
        steps = self.history.setdefault(app_id, [])
        steps.append({"application_id": app_id, "sequence": len(steps) + 1, "kind": kind,
                      "state": state, "note": note, "assessment_id": assessment_id,
                      "snapshot": snapshot})
        return len(steps)

    async def history_after(self, app_id, after, limit=100):
        return [{**s, "assessment_body": self.assessments[s["assessment_id"]]["body"]
                 if s["assessment_id"] else None}
                for s in self.history.get(app_id, []) if s["sequence"] > after][:limit]

    # assessments
    async def insert_assessment(self, **kw):
        self.assessments[kw["assessment_id"]] = dict(kw)
        if kw.get("policy_content") is not None:
            self.policy_versions.setdefault(kw["policy_hash"], kw["policy_content"])

    async def assessment_record(self, assessment_id):
        a = self.assessments.get(assessment_id)
        if a is None:
            return None
        return {k: a.get(k) for k in ("application_id", "recommendation", "policy_version",
                                      "policy_hash", "inputs_hash", "inputs")} | {
            "policy_content": self.policy_versions.get(a["policy_hash"])}

    async def latest_assessment(self, application_id):
        found = [a for a in self.assessments.values() if a["application_id"] == application_id]
        found.sort(key=lambda a: (a["assessed_at"], a["assessment_id"]))
        return found[-1]["body"] if found else None

    # licences
    async def insert_licence(self, lic, authority):
        self.licences[lic.id] = (lic, authority, dt.datetime.now(dt.UTC))

    async def get_licence(self, licence_id, *, for_update=False):
        found = self.licences.get(licence_id)
        return LicenceRow(*found) if found else None

    async def save_licence(self, lic):
        _, authority, _ = self.licences[lic.id]
        self.licences[lic.id] = (lic, authority, dt.datetime.now(dt.UTC))

    async def list_licences(self, *, uscc, authority, states, offset, limit):
        rows = [LicenceRow(*v) for v in self.licences.values()
                if (uscc is None or v[0].holder_uscc == uscc)
                and (authority is None or v[1] == authority)
                and (states is None or v[0].state.value in states)]
        rows.sort(key=lambda r: (r.licence.issued_on, r.licence.id))
        return rows[offset:offset + limit]

    async def licences_due_to_expire(self, today):
        return [lic.id for lic, _, _ in self.licences.values()
                if lic.state in (dl.LicenceState.ACTIVE, dl.LicenceState.SUSPENDED)
                and lic.valid_until < today]

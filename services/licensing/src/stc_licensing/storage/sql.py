"""The PostgreSQL side of storage.ports: one repository class per table group (operators,
the credit-standing projection, applications and their history, assessments, licences and
usage) over the unit of work's connection, and `SqlUnitOfWork` that carries them. Plain SQL;
rows become domain objects (or the small row records of storage.ports) here and nowhere else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
from stc_common.db.uow import UnitOfWork

from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import model
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.domain.clock import Pause, PauseKind
from stc_licensing.domain.personal_bans import PersonBan
from stc_licensing.domain.states import CLOCK_STATES
from stc_licensing.storage import ports
from stc_licensing.storage.ports import AppRow, LicenceRow, StoredMeasure, StoredSchedule
from stc_licensing.storage.procedures import SqlProcedures

# The pool's codec (stc_common.db.pool) encodes and decodes json/jsonb as Python objects.


def _load(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


# --------------------------------------------------------------------------- operators


def _operator(row: asyncpg.Record, licensed_exports: int = 0,
              end_users: frozenset[str] = frozenset()) -> model.ExportOperator:
    q = _load(row["qualification"]) if row["qualification"] else None
    return model.ExportOperator(
        uscc=row["uscc"], name_zh=row["name_zh"], name_en=row["name_en"], address=row["address"],
        military_qualification=model.MilitaryQualification(
            q["certificate_no"], tuple(q["scope"]), dt.date.fromisoformat(q["valid_from"]),
            dt.date.fromisoformat(q["valid_to"])) if q else None,
        icp=tuple(model.IcpElementAssessment(model.IcpElement(e["element"]), model.IcpStatus(e["status"]),
                                          tuple(e.get("evidence_refs", ())))
                  for e in _load(row["icp"])),
        icp_audits=tuple(model.IcpAudit(dt.date.fromisoformat(a["audited_on"]),
                                     model.IcpAuditOutcome(a["outcome"]), a.get("officer_id", ""),
                                     a.get("report_ref", ""))
                         for a in _load(row["icp_audits"])),
        licensed_exports=licensed_exports, established_end_users=end_users)


def _icp_json(icp: tuple[model.IcpElementAssessment, ...]) -> list:
    return ([{"element": e.element.value, "status": e.status.value,
                        "evidence_refs": list(e.evidence_refs)} for e in icp])


class SqlOperators(ports.OperatorRepository):
    """Operators over the connection. In a unit of work (`SqlUnitOfWork`) an operator read
    also brings the operator's credit standing and the temporary controls' version, handed to
    those repositories for the reads that follow it in the same use case (issue 14: submit and
    assessment read operator and standing together, assessment and decision then read the
    register; one statement instead of three)."""

    def __init__(self, conn: asyncpg.Connection, *, standings: SqlStandings | None = None,
                 controls: SqlTemporaryControls | None = None) -> None:
        self.conn = conn
        self.standings = standings
        self.controls = controls

    async def add(self, op: model.ExportOperator) -> bool:
        """Insert a new operator; False when the USCC is registered already."""
        done = await self.conn.fetchval(
            """INSERT INTO operators (uscc, name_zh, name_en, address, icp)
               VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING RETURNING true""",
            op.uscc, op.name_zh, op.name_en, op.address, _icp_json(op.icp))
        return bool(done)

    async def get(self, uscc: str, *, for_update: bool = False
                           ) -> tuple[model.ExportOperator, dt.datetime] | None:
        """The operator with its export history (Art. 14) and registration time."""
        # one round trip: the row with its export count and established end users
        # (and, in a unit of work, the standing and the register's version: see the class)
        row = await self.conn.fetchrow(
            """SELECT o.*,
                 (SELECT count(*) FROM licence_usage u JOIN licences l ON l.id = u.licence_id
                  WHERE l.holder_uscc = o.uscc) AS _exports,
                 (SELECT coalesce(array_agg(DISTINCT k), '{}') FROM licences l
                  JOIN licence_usage u ON u.licence_id = l.id,
                  unnest(l.end_user_keys) AS k WHERE l.holder_uscc = o.uscc) AS _end_users,
                 s.uscc AS _s_uscc, s.level AS _s_level, s.active_records AS _s_active_records,
                 s.ban_until AS _s_ban_until, s.record_ids AS _s_record_ids,
                 s.person_bans AS _s_person_bans,
                 (SELECT v.token::text || ':' || v.version
                  FROM temporary_controls_version v) AS _tc_version
               FROM operators o LEFT JOIN credit_standing s ON s.uscc = o.uscc
               WHERE o.uscc = $1""" + (" FOR UPDATE OF o" if for_update else ""),
            uscc)
        if row is None:
            return None
        # not after a lock: a read that waited for it may carry the others from before the
        # wait (PostgreSQL rechecks only the locked row), and a later statement would not
        if self.standings is not None and not for_update:
            self.standings.prefetched(uscc, _standing(uscc, row, "_s_")
                                      if row["_s_uscc"] is not None else None)
        if self.controls is not None and not for_update:
            self.controls.note_version(row["_tc_version"])
        return (_operator(row, int(row["_exports"]), frozenset(row["_end_users"])),
                row["registered_at"])

    async def save(self, op: model.ExportOperator) -> None:
        """Write the mutable parts of an operator (qualification, ICP, audits)."""
        q = op.military_qualification
        await self.conn.execute(
            """UPDATE operators SET qualification = $2::jsonb, icp = $3::jsonb,
               icp_audits = $4::jsonb, updated_at = now() WHERE uscc = $1""",
            op.uscc,
            ({"certificate_no": q.certificate_no, "scope": list(q.scope),
                        "valid_from": q.valid_from.isoformat(),
                        "valid_to": q.valid_to.isoformat()}) if q else None,
            _icp_json(op.icp),
            ([{"audited_on": a.audited_on.isoformat(), "outcome": a.outcome.value,
                         "officer_id": a.officer_id, "report_ref": a.report_ref}
                        for a in op.icp_audits]))


# --------------------------------------------------------------------------- credit standing


def _standing(uscc: str, row: asyncpg.Record, prefix: str = "") -> domain_inputs.CreditStanding:
    return domain_inputs.CreditStanding(
        uscc=uscc, level=domain_inputs.CreditLevel(row[prefix + "level"]),
        active_record_count=row[prefix + "active_records"], ban_until=row[prefix + "ban_until"],
        record_refs=tuple(row[prefix + "record_ids"]),
        person_bans=tuple(PersonBan(b["id_number_sha256"],
                                    dt.date.fromisoformat(b["until"]) if b["until"] else None)
                          for b in _load(row[prefix + "person_bans"])))


class SqlStandings(ports.StandingRepository):
    """The credit-standing projection over the connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        # read with the operator in this unit of work (SqlOperators.get), for the next `get`
        self._prefetched: dict[str, domain_inputs.CreditStanding] = {}

    def prefetched(self, uscc: str, standing: domain_inputs.CreditStanding | None) -> None:
        """The standing of `uscc` as a statement of this transaction just read it (None: no
        row); the next `get` of that USCC answers with it instead of reading again."""
        self._prefetched[uscc] = standing or domain_inputs.CreditStanding(uscc=uscc)

    async def get(self, uscc: str) -> domain_inputs.CreditStanding:
        """The projected credit standing; GOOD when credit never reported one."""
        found = self._prefetched.pop(uscc, None)
        if found is not None:
            return found
        row = await self.conn.fetchrow("SELECT * FROM credit_standing WHERE uscc = $1", uscc)
        return _standing(uscc, row) if row is not None else domain_inputs.CreditStanding(uscc=uscc)

    async def upsert(self, s: domain_inputs.CreditStanding, as_of: dt.date | None) -> None:
        """Replace the projection row of one USCC (older as_of never overwrites newer)."""
        self._prefetched.pop(s.uscc, None)
        await self.conn.execute(
            """INSERT INTO credit_standing
                 (uscc, level, active_records, ban_until, record_ids, as_of, person_bans)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
               ON CONFLICT (uscc) DO UPDATE SET level = EXCLUDED.level,
                 active_records = EXCLUDED.active_records, ban_until = EXCLUDED.ban_until,
                 record_ids = EXCLUDED.record_ids, as_of = EXCLUDED.as_of,
                 person_bans = EXCLUDED.person_bans, updated_at = now()
               WHERE credit_standing.as_of IS NULL OR EXCLUDED.as_of IS NULL
                  OR EXCLUDED.as_of >= credit_standing.as_of""",
            s.uscc, s.level.value, s.active_record_count, s.ban_until, list(s.record_refs), as_of,
            [{"id_number_sha256": b.id_number_sha256,
              "until": b.until.isoformat() if b.until else None} for b in s.person_bans])


# --------------------------------------------------------------------------- applications


def _pauses_json(pauses: tuple[Pause, ...]) -> list:
    return ([{"start": p.start.isoformat(),
                        "end": p.end.isoformat() if p.end else None, "kind": p.kind.value}
                       for p in pauses])


def _app(row: asyncpg.Record) -> AppRow:
    return AppRow(
        id=row["id"], reference=row["reference"], exporter_uscc=row["exporter_uscc"],
        request_id=row["request_id"], authority=row["authority"],
        state=model.ApplicationState(row["state"]), content=_load(row["content"]),
        submitted_at=row["submitted_at"], accepted_on=row["accepted_on"],
        pauses=tuple(Pause(dt.date.fromisoformat(p["start"]),
                           dt.date.fromisoformat(p["end"]) if p["end"] else None,
                           PauseKind(p["kind"])) for p in _load(row["pauses"])),
        deadline=row["deadline"], deadline_exact=row["deadline_exact"], flags=list(row["flags"]),
        licence_id=row["licence_id"], reconsideration_used=row["reconsideration_used"],
        breach_reported=row["breach_reported"], updated_at=row["updated_at"],
        decided_on=row["decided_on"],
        reconsideration_requested_on=row["reconsideration_requested_on"],
        reconsideration_due=row["reconsideration_due"],
        reconsideration_overdue_reported=row["reconsideration_overdue_reported"],
        warning_reported=row["warning_reported"],
        request_fingerprint=row["request_fingerprint"])


class SqlApplications(ports.ApplicationRepository):
    """Applications and their history over the connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def count_awaiting_assessment(self) -> int:
        # the partial index applications_awaiting_assessment (migration 0022) holds just these
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM applications WHERE state IN ('SUBMITTED', 'SCREENING')"))

    async def next_reference(self, authority: str, year: int) -> str:
        """The next reference number, e.g. MOFCOM-2026-000123 (gaps are possible, never repeats)."""
        n = await self.conn.fetchval(
            """INSERT INTO reference_counters (authority, year, last_value) VALUES ($1, $2, 1)
               ON CONFLICT (authority, year)
               DO UPDATE SET last_value = reference_counters.last_value + 1
               RETURNING last_value""", authority, year)
        return f"{authority}-{year}-{n:06d}"

    async def add(self, a: AppRow) -> bool:
        """Insert; False when (exporter, request_id) exists (the idempotent retry)."""
        done = await self.conn.fetchval(
            """INSERT INTO applications (id, reference, exporter_uscc, request_id, authority, state,
                 content, submitted_at, accepted_on, pauses, deadline, deadline_exact, updated_at,
                 request_fingerprint)
               VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8,$9,$10::jsonb,$11,$12,$13,$14)
               ON CONFLICT (exporter_uscc, request_id) DO NOTHING RETURNING true""",
            a.id, a.reference, a.exporter_uscc, a.request_id, a.authority, a.state.value,
            a.content, a.submitted_at, a.accepted_on, _pauses_json(a.pauses),
            a.deadline, a.deadline_exact, a.updated_at, a.request_fingerprint)
        return bool(done)

    async def add_numbered(self, a: AppRow, authority: str, year: int) -> bool:
        """`next_reference` and `add` in one statement (issue 14): `a.reference` is set from
        the counter; False, with a number used up (a gap), when the request id exists."""
        reference = await self.conn.fetchval(
            """WITH n AS (
                 INSERT INTO reference_counters (authority, year, last_value)
                 VALUES ($14::text, $15::int, 1)
                 ON CONFLICT (authority, year)
                 DO UPDATE SET last_value = reference_counters.last_value + 1
                 RETURNING last_value::text AS v)
               INSERT INTO applications (id, reference, exporter_uscc, request_id, authority,
                 state, content, submitted_at, accepted_on, pauses, deadline, deadline_exact,
                 updated_at, request_fingerprint)
               SELECT $1::text, $14::text || '-' || $15::int::text || '-'
                        || lpad(n.v, greatest(6, length(n.v)), '0'),
                      $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::timestamptz,
                      $8::date, $9::jsonb, $10::date, $11::boolean, $12::timestamptz, $13::text
               FROM n
               ON CONFLICT (exporter_uscc, request_id) DO NOTHING RETURNING reference""",
            a.id, a.exporter_uscc, a.request_id, a.authority, a.state.value,
            a.content, a.submitted_at, a.accepted_on, _pauses_json(a.pauses),
            a.deadline, a.deadline_exact, a.updated_at, a.request_fingerprint, authority, year)
        if reference is None:
            return False
        a.reference = reference
        return True

    async def get(self, app_id: str, *, for_update: bool = False) -> AppRow | None:
        """One application (locked for update when asked)."""
        row = await self.conn.fetchrow("SELECT * FROM applications WHERE id = $1"
                                  + (" FOR UPDATE" if for_update else ""), app_id)
        return _app(row) if row else None

    async def get_by_request_id(self, uscc: str, request_id: str) -> AppRow | None:
        """The application an exporter submitted with `request_id`."""
        row = await self.conn.fetchrow(
            "SELECT * FROM applications WHERE exporter_uscc = $1 AND request_id = $2",
            uscc, request_id)
        return _app(row) if row else None

    async def save(self, a: AppRow) -> None:
        """Write the mutable parts of an application."""
        await self.conn.execute(
            """UPDATE applications SET state = $2, content = $3::jsonb, pauses = $4::jsonb,
                 deadline = $5, deadline_exact = $6, flags = $7, licence_id = $8,
                 reconsideration_used = $9, breach_reported = $10, updated_at = $11,
                 warning_reported = $12, decided_on = $13, reconsideration_requested_on = $14,
                 reconsideration_due = $15, reconsideration_overdue_reported = $16
               WHERE id = $1""",
            a.id, a.state.value, a.content, _pauses_json(a.pauses), a.deadline,
            a.deadline_exact, a.flags, a.licence_id, a.reconsideration_used, a.breach_reported,
            a.updated_at, a.warning_reported, a.decided_on, a.reconsideration_requested_on,
            a.reconsideration_due, a.reconsideration_overdue_reported)

    async def find(self, *, uscc: str | None, authority: str | None,
                   states: list[str] | None, offset: int, limit: int,
                   by_deadline: bool = False) -> list[AppRow]:
        """Applications matching the filters (None: any), paged by offset; by submission, or
        (the review queue) oldest deadline first."""
        order = "deadline NULLS LAST, submitted_at, id" if by_deadline else "submitted_at, id"
        rows = await self.conn.fetch(
            f"""SELECT * FROM applications
                WHERE ($1::text IS NULL OR exporter_uscc = $1)
                  AND ($2::text IS NULL OR authority = $2)
                  AND ($3::text[] IS NULL OR state = ANY($3))
                ORDER BY {order} OFFSET $4 LIMIT $5""",
            uscc, authority, states, offset, limit)
        return [_app(r) for r in rows]

    async def pending_ids(self) -> list[str]:
        """Ids of applications whose statutory clock may be running and not reported breached
        (Reg. 17), and reconsiderations not yet reported overdue (their own time limit)."""
        rows = await self.conn.fetch(
            """SELECT id FROM applications WHERE (NOT breach_reported
               AND state = ANY($1::text[])) OR (state = 'RECONSIDERATION'
               AND NOT reconsideration_overdue_reported)""",
            sorted(s.value for s in CLOCK_STATES))
        return [r["id"] for r in rows]

    async def append_history(self, app_id: str, kind: str, state: str, note: str,
                             snapshot: bytes, assessment_id: str | None = None) -> int:
        """Append one step to the application's history; the caller holds the row lock."""
        seq = await self.conn.fetchval(
            """INSERT INTO application_history
                 (application_id, sequence, kind, state, note, assessment_id, snapshot)
               SELECT $1, coalesce(max(sequence), 0) + 1, $2, $3, $4, $5, $6
               FROM application_history WHERE application_id = $1
               RETURNING sequence""", app_id, kind, state, note, assessment_id, snapshot)
        await self.conn.execute("SELECT pg_notify('licensing_application', $1)", app_id)
        return seq

    async def save_step(self, a: AppRow, kind: str, note: str, snapshot: bytes,
                        assessment_id: str | None = None) -> int:
        """`save_steps` of one step."""
        return await self.save_steps(a, [ports.HistoryStep(kind, a.state.value, note, snapshot,
                                                           assessment_id)])

    async def save_steps(self, a: AppRow, steps: list[ports.HistoryStep]) -> int:
        """`save` + `append_history` of every step + the watch notification in one statement
        (one round trip instead of three per step: the hot path of every use case that moves
        an application, issue 14); the last step's sequence."""
        return await self.conn.fetchval(
            """WITH saved AS (
                 UPDATE applications SET state = $2, content = $3::jsonb, pauses = $4::jsonb,
                   deadline = $5, deadline_exact = $6, flags = $7, licence_id = $8,
                   reconsideration_used = $9, breach_reported = $10, updated_at = $11,
                   warning_reported = $12, decided_on = $13, reconsideration_requested_on = $14,
                   reconsideration_due = $15, reconsideration_overdue_reported = $16
                 WHERE id = $1 RETURNING id),
               base AS (
                 SELECT coalesce(max(sequence), 0) AS last FROM application_history
                 WHERE application_id = $1),
               step AS (
                 INSERT INTO application_history
                   (application_id, sequence, kind, state, note, assessment_id, snapshot)
                 SELECT $1, base.last + t.n, t.kind, t.state, t.note, t.assessment_id, t.snapshot
                 FROM base, unnest($17::text[], $18::text[], $19::text[], $20::text[],
                                   $21::bytea[])
                   WITH ORDINALITY AS t(kind, state, note, assessment_id, snapshot, n)
                 RETURNING sequence)
               SELECT max(step.sequence) FROM step, saved,
                 LATERAL pg_notify('licensing_application', $1)""",
            a.id, a.state.value, a.content, _pauses_json(a.pauses), a.deadline,
            a.deadline_exact, a.flags, a.licence_id, a.reconsideration_used, a.breach_reported,
            a.updated_at, a.warning_reported, a.decided_on, a.reconsideration_requested_on,
            a.reconsideration_due, a.reconsideration_overdue_reported,
            [st.kind for st in steps], [st.state for st in steps], [st.note for st in steps],
            [st.assessment_id for st in steps], [st.snapshot for st in steps])

    async def owner_and_history(self, app_id: str, after: int, limit: int = ports.HISTORY_PAGE
                                ) -> tuple[tuple[str, str] | None, list[asyncpg.Record]]:
        """The application's exporter and authority with its history after `after`, in one
        statement (issue 14: a watch's visibility check and first read; was two)."""
        rows = await self.conn.fetch(
            """SELECT app.exporter_uscc AS _owner_uscc, app.authority AS _owner_authority,
                      h.*, a.body AS assessment_body
               FROM applications app
               LEFT JOIN application_history h
                 ON h.application_id = app.id AND h.sequence > $2
               LEFT JOIN assessments a ON a.id = h.assessment_id
               WHERE app.id = $1 ORDER BY h.sequence LIMIT $3""",
            app_id, after, limit)
        if not rows:
            return None, []
        owner = (rows[0]["_owner_uscc"], rows[0]["_owner_authority"])
        return owner, [r for r in rows if r["sequence"] is not None]

    async def history_after(self, app_id: str, after: int, limit: int = ports.HISTORY_PAGE
                            ) -> list[asyncpg.Record]:
        """History rows with a sequence above `after`, in order."""
        return await self.conn.fetch(
            """SELECT h.*, a.body AS assessment_body FROM application_history h
               LEFT JOIN assessments a ON a.id = h.assessment_id
               WHERE h.application_id = $1 AND h.sequence > $2 ORDER BY h.sequence LIMIT $3""",
            app_id, after, limit)


# --------------------------------------------------------------------------- assessments


class SqlAssessments(ports.AssessmentRepository):
    """Assessments and policy versions over the connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        # records read with `latest(with_record=True)`, for the `record` call that follows
        # (assessments are never changed once stored)
        self._records: dict[str, dict] = {}

    async def add(self, *, assessment_id: str, application_id: str, screening_id: str,
                                recommendation: str, policy_version: str, policy_hash: str,
                                inputs_hash: str, assessed_on: dt.date, assessed_at: dt.datetime,
                                body: bytes, inputs: str | None = None,
                                policy_content: str | None = None) -> None:
        """Store one assessment with its reproducibility data: the snapshot of its inputs
        (`inputs`, canonical JSON) and the policy version it used, kept by its content hash."""
        # one round trip: the policy version (when given and new) and the assessment
        await self.conn.execute(
            """WITH policy AS (
                 INSERT INTO policy_versions (hash, version, content)
                 SELECT $6, $5, $12::text::jsonb WHERE $12::text IS NOT NULL
                 ON CONFLICT (hash) DO NOTHING)
               INSERT INTO assessments (id, application_id, screening_id, recommendation,
                 policy_version, policy_hash, inputs_hash, assessed_on, assessed_at, body, inputs)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::text::jsonb)""",
            assessment_id, application_id, screening_id, recommendation, policy_version,
            policy_hash, inputs_hash, assessed_on, assessed_at, body, inputs, policy_content)

    async def record(self, assessment_id: str) -> dict | None:
        """One stored assessment's reproducibility data: recommendation, policy version and
        hash, inputs hash, its inputs snapshot and the policy content (JSON text, or None)."""
        found = self._records.pop(assessment_id, None)
        if found is not None:
            return found
        row = await self.conn.fetchrow(
            """SELECT a.application_id, a.recommendation, a.policy_version, a.policy_hash,
                      a.inputs_hash, a.inputs::text AS inputs, p.content::text AS policy_content
               FROM assessments a LEFT JOIN policy_versions p ON p.hash = a.policy_hash
               WHERE a.id = $1""", assessment_id)
        return dict(row) if row else None

    async def latest(self, application_id: str, *, with_record: bool = False) -> bytes | None:
        """The body of the newest assessment of an application; `with_record`: its `record`
        read in the same statement, for the decision that replays it (issue 14: one round
        trip instead of two)."""
        if not with_record:
            return await self.conn.fetchval(
                """SELECT body FROM assessments WHERE application_id = $1
                   ORDER BY assessed_at DESC, id DESC LIMIT 1""", application_id)
        row = await self.conn.fetchrow(
            """SELECT a.id, a.body, a.application_id, a.recommendation, a.policy_version,
                      a.policy_hash, a.inputs_hash, a.inputs::text AS inputs,
                      p.content::text AS policy_content
               FROM assessments a LEFT JOIN policy_versions p ON p.hash = a.policy_hash
               WHERE a.application_id = $1
               ORDER BY a.assessed_at DESC, a.id DESC LIMIT 1""", application_id)
        if row is None:
            return None
        rec = dict(row)
        self._records[rec.pop("id")] = rec
        body = rec.pop("body")
        return body


# --------------------------------------------------------------------------- licences


def _items_json(items: tuple[licence_rules.LicensedItem, ...]) -> list:
    return ([{"control_code": i.control_code, "description": i.description,
                        "quantity": format(i.quantity, "f"), "unit": i.unit,
                        "amount_minor": i.value.amount_minor, "currency": i.value.currency}
                       for i in items])


async def _licence(conn, row: asyncpg.Record) -> LicenceRow:
    usage = await conn.fetch(
        "SELECT * FROM licence_usage WHERE licence_id = $1 ORDER BY recorded_at, export_id",
        row["id"])
    lic = licence_rules.Licence(
        id=row["id"], application_id=row["application_id"],
        licence_type=model.LicenceType(row["licence_type"]), holder_uscc=row["holder_uscc"],
        destination=row["destination"], end_user_keys=tuple(row["end_user_keys"]),
        items=tuple(licence_rules.LicensedItem(i["control_code"], i["description"], Decimal(i["quantity"]),
                                    i["unit"], model.Money(i["amount_minor"], i["currency"]))
                    for i in _load(row["items"])),
        issued_on=row["issued_on"], valid_from=row["valid_from"],
        valid_until=row["valid_until"], conditions=tuple(row["conditions"]),
        state=licence_rules.LicenceState(row["state"]), state_reason=row["state_reason"],
        holds=frozenset(row["holds"]),
        exports=tuple(licence_rules.ExportRecord(
            u["export_id"], u["exported_on"],
            tuple(licence_rules.ExportLine(ln["item_index"], Decimal(ln["quantity"]), ln["value_minor"])
                  for ln in _load(u["lines"])), u["customs_declaration"])
            for u in usage))
    return LicenceRow(lic, row["authority"], row["updated_at"])


class SqlLicences(ports.LicenceRepository):
    """Licences and their usage over the connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, lic: licence_rules.Licence, authority: str) -> None:
        """Store a newly issued licence."""
        await self.conn.execute(
            """INSERT INTO licences (id, application_id, holder_uscc, authority, licence_type,
                 destination, end_user_keys, items, issued_on, valid_from, valid_until, conditions,
                 state, state_reason, holds)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb,$9,$10,$11,$12,$13,$14,$15)""",
            lic.id, lic.application_id, lic.holder_uscc, authority, lic.licence_type.value,
            lic.destination, list(lic.end_user_keys), _items_json(lic.items), lic.issued_on,
            lic.valid_from, lic.valid_until, list(lic.conditions), lic.state.value,
            lic.state_reason, sorted(lic.holds))

    async def get(self, licence_id: str, *, for_update: bool = False) -> LicenceRow | None:
        """One licence with its usage."""
        row = await self.conn.fetchrow("SELECT * FROM licences WHERE id = $1"
                                  + (" FOR UPDATE" if for_update else ""), licence_id)
        return await _licence(self.conn, row) if row else None

    async def save(self, lic: licence_rules.Licence) -> None:
        """Write state, reason and holds; add export records not stored yet."""
        await self.conn.execute(
            """UPDATE licences SET state = $2, state_reason = $3, holds = $4, updated_at = now()
               WHERE id = $1""", lic.id, lic.state.value, lic.state_reason, sorted(lic.holds))
        for r in lic.exports:
            await self.conn.execute(
                """INSERT INTO licence_usage (licence_id, export_id, exported_on, lines,
                     customs_declaration) VALUES ($1, $2, $3, $4::jsonb, $5)
                   ON CONFLICT DO NOTHING""",
                lic.id, r.export_id, r.exported_on,
                ([{"item_index": ln.item_index, "quantity": format(ln.quantity, "f"),
                             "value_minor": ln.value_minor} for ln in r.lines]),
                r.customs_declaration)

    async def find(self, *, uscc: str | None, authority: str | None,
                            states: list[str] | None, offset: int, limit: int) -> list[LicenceRow]:
        """Licences matching the filters, paged by offset."""
        rows = await self.conn.fetch(
            """SELECT * FROM licences WHERE ($1::text IS NULL OR holder_uscc = $1)
                 AND ($2::text IS NULL OR authority = $2)
                 AND ($3::text[] IS NULL OR state = ANY($3))
               ORDER BY issued_on, id OFFSET $4 LIMIT $5""", uscc, authority, states, offset, limit)
        return [await _licence(self.conn, r) for r in rows]

    async def due_to_expire(self, today: dt.date) -> list[str]:
        """Ids of ACTIVE or SUSPENDED licences whose validity ended before `today`."""
        rows = await self.conn.fetch(
            """SELECT id FROM licences WHERE state IN ('ACTIVE', 'SUSPENDED')
               AND valid_until < $1""", today)
        return [r["id"] for r in rows]


# ----------------------------------------------------- holiday schedules (migration 0020)


def _schedule(r: asyncpg.Record) -> StoredSchedule:
    entry, problems = hc.entry_from_plain(_load(r["body"]))
    if entry is None:  # written by this class only: a broken row is a bug, not input
        raise ValueError(f"stored holiday schedule {r['year']} is malformed: {problems}")
    return StoredSchedule(entry, r["entered_by"], r["entered_at"], r["request_id"])


class SqlHolidaySchedules(ports.HolidayScheduleRepository):
    """Holiday schedules over the connection: one row per year, replaced on correction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def all(self) -> list[StoredSchedule]:
        rows = await self.conn.fetch("SELECT * FROM holiday_schedules ORDER BY year")
        return [_schedule(r) for r in rows]

    async def get(self, year: int, *, for_update: bool = False) -> StoredSchedule | None:
        r = await self.conn.fetchrow("SELECT * FROM holiday_schedules WHERE year = $1"
                                     + (" FOR UPDATE" if for_update else ""), year)
        return None if r is None else _schedule(r)

    async def by_request(self, request_id: str) -> StoredSchedule | None:
        r = await self.conn.fetchrow("SELECT * FROM holiday_schedules WHERE request_id = $1",
                                     request_id)
        return None if r is None else _schedule(r)

    async def upsert(self, entry: hc.ScheduleEntry, *, entered_by: str,
                     entered_at: dt.datetime, request_id: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO holiday_schedules (year, announcement, body, entered_by, entered_at,
                                              request_id)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6)
               ON CONFLICT (year) DO UPDATE SET announcement = EXCLUDED.announcement,
                   body = EXCLUDED.body, entered_by = EXCLUDED.entered_by,
                   entered_at = EXCLUDED.entered_at, request_id = EXCLUDED.request_id""",
            entry.year, entry.announcement, json.dumps(hc.to_plain(entry)), entered_by,
            entered_at, request_id)

    async def version(self) -> tuple[int, dt.datetime | None]:
        r = await self.conn.fetchrow("SELECT count(*) AS n, max(entered_at) AS latest "
                                     "FROM holiday_schedules")
        return int(r["n"]), r["latest"]


# --------------------------------------------------- temporary controls (migration 0021)


def _measure(r: asyncpg.Record) -> tc.TemporaryControl:
    return tc.TemporaryControl(
        measure_id=r["measure_id"], announcement=r["announcement"],
        items=tuple(tc.ControlledItem(i.get("control_code", ""), i.get("hs_code", ""),
                                      i.get("description", "")) for i in _load(r["items"])),
        start=r["start_on"], end=r["end_on"], status=tc.MeasureStatus(r["status"]),
        ended_on=r["ended_on"], alert_sent=r["alert_sent"], note=r["note"])


def _stored_measure(r: asyncpg.Record) -> StoredMeasure:
    return StoredMeasure(_measure(r), r["registered_by"], r["updated_at"])


# The register as last read, per database (token) and version (migration 0023): a trigger bumps
# the version in the same transaction as every change to temporary_controls, on any replica.
_REGISTER: dict[str, list[StoredMeasure]] = {}
_REGISTER_MAX = 8  # databases remembered (the tests use many; a service, one)


class SqlTemporaryControls(ports.TemporaryControlRepository):
    """The temporary controls register over the connection.

    `all()` answers from the process's copy of the register when a statement of this
    transaction (SqlOperators.get) found the same version that copy was read at, so it is as
    fresh as that statement: a measure committed on any replica before it is seen, exactly as
    a full read at that moment would have seen it (Art. 9(2): temporary controls apply at
    once). Otherwise, and after this unit of work changed the register itself (not yet
    committed, never cached), it reads the register with its version in one statement.
    """

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._version: str | None = None  # as a statement of this transaction saw it
        self._wrote = False

    def note_version(self, version: str | None) -> None:
        """The register's version as a statement of this transaction read it."""
        self._version = version

    async def add(self, m: tc.TemporaryControl, *, request_id: str | None,
                  registered_by: str) -> bool:
        self._wrote = True
        items = [{"control_code": i.control_code, "hs_code": i.hs_code,
                  "description": i.description} for i in m.items]
        status = await self.conn.execute(
            """INSERT INTO temporary_controls (measure_id, request_id, announcement, items,
                   start_on, end_on, status, note, registered_by)
               VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
               ON CONFLICT (request_id) DO NOTHING""",
            m.measure_id, request_id, m.announcement, json.dumps(items, ensure_ascii=False),
            m.start, m.end, m.status.value, m.note, registered_by)
        return status.endswith(" 1")

    async def save(self, m: tc.TemporaryControl) -> None:
        self._wrote = True
        await self.conn.execute(
            """UPDATE temporary_controls SET end_on = $2, status = $3, ended_on = $4,
                   alert_sent = $5, note = $6, updated_at = now() WHERE measure_id = $1""",
            m.measure_id, m.end, m.status.value, m.ended_on, m.alert_sent, m.note)

    async def get(self, measure_id: str, *, for_update: bool = False) -> StoredMeasure | None:
        r = await self.conn.fetchrow("SELECT * FROM temporary_controls WHERE measure_id = $1"
                                     + (" FOR UPDATE" if for_update else ""), measure_id)
        return None if r is None else _stored_measure(r)

    async def by_request(self, request_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT measure_id FROM temporary_controls WHERE request_id = $1", request_id)

    async def all(self) -> list[StoredMeasure]:
        if not self._wrote and self._version is not None:
            cached = _REGISTER.get(self._version)
            if cached is not None:
                return list(cached)
        rows = await self.conn.fetch(
            """SELECT v.token::text || ':' || v.version AS _tc_version, t.*
               FROM temporary_controls_version v LEFT JOIN temporary_controls t ON true
               ORDER BY t.start_on, t.measure_id""")
        measures = [_stored_measure(r) for r in rows if r["measure_id"] is not None]
        if not self._wrote and rows:  # only what is committed (others' writes, read here)
            if len(_REGISTER) >= _REGISTER_MAX:
                _REGISTER.clear()
            _REGISTER[rows[0]["_tc_version"]] = measures
            self._version = rows[0]["_tc_version"]
        return list(measures)

    async def active(self) -> list[tc.TemporaryControl]:
        rows = await self.conn.fetch("SELECT * FROM temporary_controls WHERE status = 'ACTIVE'")
        return [_measure(r) for r in rows]

    async def link_licence(self, licence_id: str, measure_ids: list[str]) -> None:
        await self.conn.executemany(
            "INSERT INTO licence_temporary_controls (licence_id, measure_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING", [(licence_id, mid) for mid in measure_ids])


class SqlUnitOfWork(UnitOfWork):
    """stc_common's unit of work (one transaction, the outbox) with the licensing
    repositories over its connection (storage.ports.LicensingUnitOfWork)."""

    def __init__(self, conn: asyncpg.Connection, source: str, *,
                 defer_outbox: bool = False) -> None:
        super().__init__(conn, source, defer_outbox=defer_outbox)
        self.standings = SqlStandings(conn)
        self.temporary_controls = SqlTemporaryControls(conn)
        self.operators = SqlOperators(conn, standings=self.standings,
                                      controls=self.temporary_controls)
        self.applications = SqlApplications(conn)
        self.assessments = SqlAssessments(conn)
        self.licences = SqlLicences(conn)
        self.holiday_schedules = SqlHolidaySchedules(conn)
        self.procedures = SqlProcedures(conn)

    @classmethod
    def over(cls, uow: UnitOfWork) -> SqlUnitOfWork:
        """The licensing unit of work inside a transaction someone else opened (the
        consumer's inbox transaction)."""
        return uow if isinstance(uow, SqlUnitOfWork) else cls(uow.conn, uow.source)


@contextlib.asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, source: str) -> AsyncIterator[SqlUnitOfWork]:
    """Acquire a connection and open a transaction; commit on success, roll back on error.
    The events go into the outbox with one statement just before the commit (stc_common's
    `defer_outbox`; licensing's use cases open no savepoints): a decision that issues a
    licence writes its two events in one round trip."""
    async with pool.acquire() as conn, conn.transaction():
        uow = SqlUnitOfWork(conn, source, defer_outbox=True)
        yield uow
        await uow.flush_outbox()

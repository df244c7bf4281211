"""The licensing service's protobuf codec of resources and events (no request or response
types: those are api/mapping.py's): stored application content (proto JSON) to and from
protos and the domain, screening's results onto the domain, assessments, the Application,
Licence and Operator resources (history snapshots, responses and event payloads).

Inbound mapping collects field violations for what the domain cannot even represent
(unspecified enums, a quantity that is not a decimal, a party playing the exporter) and
raises them together as `ValidationFailed`; the domain's `validate_submission` then checks
the rules of the law.

Screening's events map onto the domain's `ScreeningOutcome`:
- a `PartyHit` refers to a party by `party_id` (ids are assigned at submission, "p0", "p1"
  ... when the exporter left them empty); a hit on the exporter (role EXPORTER or an unknown
  id) has `party_index=None`; hits decided CLEAR are dropped.
- a `TransactionFinding` of category "destination" becomes a `DestinationFinding` (first
  evidence item as the measure reference); "red_flag", "end_use" and "item" findings become
  `RedFlag`s (the domain has no separate item-finding input; they weigh under factor 6).
- severities INFO/LOW -> LOW, MEDIUM -> MEDIUM, HIGH/PROHIBITIVE -> HIGH.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format, timestamp_pb2
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import assessment_pb2, events_pb2, licence_pb2, operator_pb2
from stc.screening.v1 import events_pb2 as screening_events
from stc_common.errors import ViolationCollector

from stc_licensing.domain import assessment as assessment_rules
from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import model, personal_bans
from stc_licensing.domain import procedures as procedure_rules
from stc_licensing.domain import special_cases as special_case_rules

if TYPE_CHECKING:
    from stc_licensing.service.views import ApplicationView

# --------------------------------------------------------------------------- scalars


def date_to_pb(day: dt.date | None) -> date_pb2.Date | None:
    """google.type.Date of a date (None stays None)."""
    if day is None:
        return None
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def date_from_pb(d: date_pb2.Date) -> dt.date | None:
    """A date from google.type.Date; None when unset (year 0)."""
    if d is None or d.year == 0:
        return None
    return dt.date(d.year, d.month, d.day)


def ts(when: dt.datetime) -> timestamp_pb2.Timestamp:
    """Timestamp of an aware datetime."""
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when)
    return t


def content_to_json(content: apb.ApplicationContent) -> dict:
    """The jsonb form of an ApplicationContent (proto JSON, field names as in the proto)."""
    return json_format.MessageToDict(content, preserving_proto_field_name=True)


# The parsed form of recently read contents, as bytes: json_format.ParseDict costs hundreds of
# microseconds for an application's content (it was several per cent of the service's CPU
# under load, parsed several times per application); serialising the dict to a key costs a tenth of
# that and the protobuf from bytes about a microsecond. Each caller gets its own message.
_PARSED: OrderedDict[str, bytes] = OrderedDict()
_PARSED_MAX = 4096


def content_from_json(data: dict) -> apb.ApplicationContent:
    """An ApplicationContent from its jsonb form."""
    # an exact serialisation of `data`: a different key order is only a miss, never wrong
    key = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    raw = _PARSED.get(key)
    if raw is not None:
        _PARSED.move_to_end(key)
        return apb.ApplicationContent.FromString(raw)
    msg = json_format.ParseDict(data, apb.ApplicationContent(), ignore_unknown_fields=True)
    _PARSED[key] = msg.SerializeToString(deterministic=True)
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return msg


def content_for_events(data: dict) -> apb.ApplicationContent:
    """The content as the application events carry it: the named persons' ID numbers
    (Art. 39) stay in licensing's database and its API, never on Kafka."""
    msg = content_from_json(data)
    for name in personal_bans.PERSON_FIELDS:
        if msg.HasField(name):
            getattr(msg, name).ClearField("id_number")
    return msg


def content_to_domain_from_json(data: dict[str, Any]) -> model.ApplicationContent:
    """The domain content of a stored (proto JSON) content."""
    return content_to_domain(content_from_json(data))


def assign_party_ids(content: apb.ApplicationContent) -> None:
    """Give every party without an id a stable one ("p<index>") so screening can refer to it."""
    used = {p.party_id for p in content.parties if p.party_id}
    for i, p in enumerate(content.parties):
        if not p.party_id:
            pid = f"p{i}"
            while pid in used:
                pid += "x"
            p.party_id = pid
            used.add(pid)


# --------------------------------------------------------------------------- enums

_LICENCE_TYPE = {apb.LICENCE_TYPE_SINGLE: model.LicenceType.SINGLE,
                 apb.LICENCE_TYPE_GENERAL: model.LicenceType.GENERAL}
_REGIME = {apb.ITEM_REGIME_DUAL_USE: model.ItemRegime.DUAL_USE,
           apb.ITEM_REGIME_MILITARY: model.ItemRegime.MILITARY,
           apb.ITEM_REGIME_NUCLEAR: model.ItemRegime.NUCLEAR,
           apb.ITEM_REGIME_CONTROLLED_CHEMICAL: model.ItemRegime.CONTROLLED_CHEMICAL,
           apb.ITEM_REGIME_TEMPORARY_CONTROL: model.ItemRegime.TEMPORARY_CONTROL,
           apb.ITEM_REGIME_CATCH_ALL: model.ItemRegime.CATCH_ALL}
_EXPORT_TYPE = {getattr(apb, f"EXPORT_TYPE_{e.value}"): e for e in model.ExportType}
_ROLE = {common_pb2.PARTY_ROLE_IMPORTER: model.PartyRole.IMPORTER,
         common_pb2.PARTY_ROLE_CONSIGNEE: model.PartyRole.CONSIGNEE,
         common_pb2.PARTY_ROLE_END_USER: model.PartyRole.END_USER,
         common_pb2.PARTY_ROLE_INTERMEDIARY: model.PartyRole.INTERMEDIARY,
         common_pb2.PARTY_ROLE_FREIGHT_FORWARDER: model.PartyRole.FREIGHT_FORWARDER,
         common_pb2.PARTY_ROLE_BANK: model.PartyRole.BANK}
_END_USE = {getattr(apb, f"END_USE_CATEGORY_{e.value}"): e for e in model.EndUseCategory}
_ISSUER = {getattr(apb, f"CERTIFICATE_ISSUER_{e.value}"): e for e in model.CertificateIssuer}
_CONCERN = {getattr(apb, f"CATCH_ALL_CONCERN_{e.value}"): e for e in model.CatchAllConcern}
STATE_TO_PB = {e: getattr(apb, f"APPLICATION_STATE_{e.value}") for e in model.ApplicationState}
STATE_FROM_PB = {v: k for k, v in STATE_TO_PB.items()}
LICENCE_TYPE_TO_PB = {v: k for k, v in _LICENCE_TYPE.items()}
LICENCE_STATUS_TO_PB = {e: getattr(licence_pb2, f"LICENCE_STATUS_{e.value}")
                        for e in licence_rules.LicenceStatus}
LICENCE_STATUS_FROM_PB = {v: k for k, v in LICENCE_STATUS_TO_PB.items()}
ICP_ELEMENT = {getattr(operator_pb2, f"ICP_ELEMENT_{e.value}"): e for e in model.IcpElement}
ICP_STATUS = {getattr(operator_pb2, f"ICP_STATUS_{e.value}"): e for e in model.IcpStatus}
ICP_OUTCOME = {getattr(operator_pb2, f"ICP_AUDIT_OUTCOME_{e.value}"): e
               for e in model.IcpAuditOutcome}
RECOMMENDATION_TO_PB = {e: getattr(events_pb2, f"RECOMMENDATION_{e.value}")
                        for e in assessment_rules.Recommendation}
LEVEL_TO_PB = {e: getattr(events_pb2, f"FACTOR_LEVEL_{e.value}") for e in assessment_rules.Level}


def _enum(value: int, table: dict, field: str, vc: ViolationCollector):
    out = table.get(value)
    if out is None:
        vc.add(field, "must be set to one of the defined values")
    return out


# --------------------------------------------------------------------------- content


def content_to_domain(c: apb.ApplicationContent) -> model.ApplicationContent:
    """The domain content of a proto; raises ValidationFailed for what cannot be mapped."""
    vc = ViolationCollector()
    licence_type = _enum(c.licence_type, _LICENCE_TYPE, "licence_type", vc)
    regime = _enum(c.regime, _REGIME, "regime", vc)
    export_type = _enum(c.export_type, _EXPORT_TYPE, "export_type", vc)
    items = []
    for i, it in enumerate(c.items):
        try:
            qty = Decimal(it.quantity.strip())
            if not qty.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            vc.add(f"items[{i}].quantity", f"'{it.quantity}' is not a decimal number")
            qty = Decimal(0)
        items.append(model.Item(control_code=it.control_code.strip(), description=it.description,
                             hs_code=it.hs_code.strip(), quantity=qty, unit=it.unit,
                             value=model.Money(it.value.amount_minor,
                                            it.value.currency_code.strip().upper())))
    parties = []
    for i, p in enumerate(c.parties):
        role = _ROLE.get(p.role)
        if role is None:
            vc.add(f"parties[{i}].role", "must be importer, consignee, end user, intermediary, "
                   "freight forwarder or bank (the exporter is the applicant itself)")
            continue
        parties.append(model.Party(
            role=role, name=p.name, country=p.country.strip().upper(),
            identifiers=tuple(model.PartyIdentifier(x.type, x.value) for x in p.identifiers),
            address=p.address, name_latin=next(iter(p.aliases), "")))
    end_use_cat = _enum(c.end_use.category, _END_USE, "end_use.category", vc)
    cert = None
    if c.HasField("end_user_certificate"):
        pc = c.end_user_certificate
        kind = _enum(pc.issuer_kind, _ISSUER, "end_user_certificate.issuer_kind", vc)
        issued = date_from_pb(pc.issued_on)
        if issued is None:
            vc.add("end_user_certificate.issued_on", "the issue date is required")
        try:
            expires = date_from_pb(pc.expires_on) if pc.HasField("expires_on") else None
        except ValueError:
            vc.add("end_user_certificate.expires_on", "not a valid date")
            expires = None
        if kind is not None and issued is not None:
            cert = model.EndUserCertificate(kind, pc.issuer_name, pc.document_sha256.strip(),
                                         issued, expires)
    decls = []
    for i, d in enumerate(c.catch_all_declarations):
        concern = _enum(d.concern, _CONCERN, f"catch_all_declarations[{i}].concern", vc)
        if concern is not None:
            decls.append(model.CatchAllDeclaration(concern, d.knows_or_informed, d.statement))
    special_case, watch_materials = _special_case_fields(c, vc)
    persons = {}
    for name in personal_bans.PERSON_FIELDS:  # Art. 39
        if c.HasField(name):
            pb = getattr(c, name)
            for field, reason in personal_bans.validate_person(
                    name, personal_bans.NaturalPerson(pb.name, pb.id_number)):
                vc.add(field, reason)
            persons[name] = personal_bans.NaturalPerson(pb.name.strip(), pb.id_number.strip())
    vc.raise_if_any()
    return model.ApplicationContent(
        exporter_uscc=c.exporter_uscc.strip().upper(), licence_type=licence_type, regime=regime,
        export_type=export_type, items=tuple(items),
        destination=c.destination.strip().upper(), parties=tuple(parties),
        end_use=model.EndUse(end_use_cat, c.end_use.statement),
        end_user_certificate=cert, contract_reference=c.contract_reference,
        catch_all_declarations=tuple(decls), special_case=special_case,
        watch_list_materials=watch_materials,
        legal_representative=persons.get("legal_representative"),
        handling_person=persons.get("handling_person"))


def _special_case_fields(c: apb.ApplicationContent, vc: ViolationCollector
                         ) -> tuple[special_case_rules.SpecialCaseRequest | None,
                                    special_case_rules.WatchListMaterials | None]:
    """Art. 18 special case and Reg. 26 watch-list documents (domain/special_cases.py)."""
    sc = wm = None
    if c.HasField("special_case"):
        sc = special_case_rules.SpecialCaseRequest(
            tuple(e.strip() for e in c.special_case.list_entry_ids),
            c.special_case.justification.strip())
    if c.HasField("watch_list_materials"):
        w = c.watch_list_materials
        wm = special_case_rules.WatchListMaterials(w.risk_assessment_sha256.strip().lower(),
                                                   w.undertaking_sha256.strip().lower())
    for field, reason in (special_case_rules.validate_special_case(sc)
                          + special_case_rules.validate_watch_list_materials(wm)):
        vc.add(field, reason)
    return sc, wm


# --------------------------------------------------------------------------- screening

_LIST_KIND = {screening_events.LIST_KIND_CONTROL_LIST: domain_inputs.ListKind.PRC_CONTROL_LIST,
              screening_events.LIST_KIND_WATCH_LIST: domain_inputs.ListKind.PRC_WATCH_LIST,
              screening_events.LIST_KIND_UNRELIABLE_ENTITY_LIST: domain_inputs.ListKind.UNRELIABLE_ENTITY_LIST,
              screening_events.LIST_KIND_OFAC_SDN: domain_inputs.ListKind.OFAC_SDN,
              screening_events.LIST_KIND_UN_CONSOLIDATED: domain_inputs.ListKind.UN_CONSOLIDATED,
              screening_events.LIST_KIND_BIS_DPL: domain_inputs.ListKind.BIS_DPL,
              screening_events.LIST_KIND_OTHER_FOREIGN: domain_inputs.ListKind.OTHER}
_SEVERITY = {screening_events.SEVERITY_INFO: domain_inputs.Severity.LOW,
             screening_events.SEVERITY_LOW: domain_inputs.Severity.LOW,
             screening_events.SEVERITY_MEDIUM: domain_inputs.Severity.MEDIUM,
             screening_events.SEVERITY_HIGH: domain_inputs.Severity.HIGH,
             screening_events.SEVERITY_PROHIBITIVE: domain_inputs.Severity.HIGH}


def party_index(content: apb.ApplicationContent, hit: screening_events.PartyHit) -> int | None:
    """Index of the hit party in the domain's party tuple (exporter parties are skipped)."""
    if hit.party_role == common_pb2.PARTY_ROLE_EXPORTER:
        return None
    idx = 0
    for p in content.parties:
        if p.role not in _ROLE:
            continue
        if p.party_id == hit.party_id:
            return idx
        idx += 1
    return None


_MEASURE = {screening_events.CONTROL_MEASURE_PROHIBIT: special_case_rules.ControlMeasure.PROHIBIT,
            screening_events.CONTROL_MEASURE_RESTRICT: special_case_rules.ControlMeasure.RESTRICT,
            screening_events.CONTROL_MEASURE_SUSPEND: special_case_rules.ControlMeasure.SUSPEND}


def screening_to_domain(msg: screening_events.ScreeningCompleted,
                        content: apb.ApplicationContent) -> domain_inputs.ScreeningOutcome:
    """Screening's ScreeningCompleted as the domain's ScreeningOutcome (see module doc)."""
    hits = []
    for h in msg.party_hits:
        if h.decision == screening_events.HIT_DECISION_MATCH:
            decision = domain_inputs.HitDecision.MATCH
        elif h.decision == screening_events.HIT_DECISION_POTENTIAL_MATCH:
            decision = domain_inputs.HitDecision.POTENTIAL_MATCH
        else:
            continue
        hits.append(domain_inputs.PartyHit(party_index=party_index(content, h),
                                list_kind=_LIST_KIND.get(h.list_kind, domain_inputs.ListKind.OTHER),
                                entry_id=h.entry_id, score=h.score, decision=decision,
                                entry_name=h.entry_name,
                                measure=_MEASURE.get(h.control_measure)))
    dests, flags = [], []
    for f in msg.findings:
        sev = _SEVERITY.get(f.severity, domain_inputs.Severity.MEDIUM)
        if f.category == "destination":
            dests.append(domain_inputs.DestinationFinding(code=f.code, description=f.text_en, severity=sev,
                                               measure_ref=next(iter(f.evidence), "")))
        else:
            flags.append(domain_inputs.RedFlag(code=f.code, severity=sev, description=f.text_en))
    return domain_inputs.ScreeningOutcome(screening_id=msg.screening_id, party_hits=tuple(hits),
                               destination_findings=tuple(dests), red_flags=tuple(flags))


def screening_outcome(msg: screening_events.ScreeningCompleted, content: dict[str, Any]
                      ) -> domain_inputs.ScreeningOutcome:
    """screening_to_domain against a stored (proto JSON) content."""
    return screening_to_domain(msg, content_from_json(content))


# --------------------------------------------------------------------------- assessment


def _finding(code: str, en: str, zh: str, evidence=()) -> common_pb2.Finding:
    return common_pb2.Finding(code=code, text_en=en, text_zh=zh, evidence=list(evidence))


def factors_to_pb(a: assessment_rules.Assessment) -> list[events_pb2.FactorAssessment]:
    """The eight factors as protos; a finding's evidence as "KIND:ref" strings."""
    out = []
    for fa in a.factors:
        out.append(events_pb2.FactorAssessment(
            factor=fa.factor.number, title_en=fa.factor.title_en, title_zh=fa.factor.title_zh,
            level=LEVEL_TO_PB[fa.level],
            findings=[_finding(f.code, f.text_en, f.text_zh,
                               [f"{e.kind.value}:{e.ref}" for e in f.evidence])
                      for f in fa.findings]))
    return out


def assessment_to_pb(a: assessment_rules.Assessment, assessment_id: str,
                     assessed_at: dt.datetime) -> assessment_pb2.Assessment:
    """The stored/served Assessment resource."""
    return assessment_pb2.Assessment(
        name=f"applications/{a.application_id}/assessments/{assessment_id}",
        assessment_id=assessment_id, application_id=a.application_id,
        recommendation=RECOMMENDATION_TO_PB[a.recommendation], factors=factors_to_pb(a),
        conditions=[_finding(c.code, c.text_en, c.text_zh) for c in a.conditions],
        general_licence_eligible=a.general_licence.eligible,
        general_licence_reasons=[_finding(r.code, r.text_en, r.text_zh)
                                 for r in a.general_licence.reasons],
        policy_version=a.policy_version, policy_hash=a.policy_hash,
        inputs_hash=a.inputs_hash, screening_id=a.screening_id,
        assessed_on=date_to_pb(a.assessed_on), assessed_at=ts(assessed_at))


def general_licence_verdict(body: bytes) -> tuple[bool, list[str]]:
    """A stored Assessment's Art. 14 answer: general-licence eligible, and the reason codes
    when not."""
    a = assessment_pb2.Assessment.FromString(body)
    return a.general_licence_eligible, [r.code for r in a.general_licence_reasons]


@dataclass(frozen=True)
class AssessmentSummary:
    """What a decision needs of a stored Assessment (issue 11 item 2): its id, the
    recommendation (the events_pb2.Recommendation name) and each finding's code with whether
    its factor was prohibitive."""

    assessment_id: str
    recommendation: str
    findings: list[tuple[str, bool]]


def assessment_summary(body: bytes) -> AssessmentSummary:
    """The summary of a stored Assessment."""
    a = assessment_pb2.Assessment.FromString(body)
    return AssessmentSummary(
        a.assessment_id, events_pb2.Recommendation.Name(a.recommendation),
        [(f.code, fa.level == events_pb2.FACTOR_LEVEL_PROHIBITIVE)
         for fa in a.factors for f in fa.findings])


def assessed_event(a: assessment_pb2.Assessment, uscc: str) -> events_pb2.ApplicationAssessed:
    """ApplicationAssessed from a stored Assessment."""
    return events_pb2.ApplicationAssessed(
        application_id=a.application_id, exporter_uscc=uscc, recommendation=a.recommendation,
        factors=a.factors, conditions=a.conditions,
        general_licence_eligible=a.general_licence_eligible,
        general_licence_reasons=a.general_licence_reasons, policy_version=a.policy_version,
        policy_hash=a.policy_hash, inputs_hash=a.inputs_hash, screening_id=a.screening_id,
        assessed_at=a.assessed_at)


# --------------------------------------------------------------------------- operators


def icp_from_pb(items, vc: ViolationCollector, prefix: str = "icp"
                ) -> tuple[model.IcpElementAssessment, ...]:
    """ICP self-assessment elements from protos (each element at most once)."""
    out, seen = [], set()
    for i, e in enumerate(items):
        el = _enum(e.element, ICP_ELEMENT, f"{prefix}[{i}].element", vc)
        st = _enum(e.status, ICP_STATUS, f"{prefix}[{i}].status", vc)
        if el is not None and el in seen:
            vc.add(f"{prefix}[{i}].element", f"{el.value} is given twice")
        if el is not None and st is not None:
            seen.add(el)
            out.append(model.IcpElementAssessment(el, st, tuple(e.evidence_refs)))
    return tuple(out)


def operator_to_pb(op: model.ExportOperator, registered_at: dt.datetime) -> operator_pb2.Operator:
    """The Operator resource."""
    inv_el = {v: k for k, v in ICP_ELEMENT.items()}
    inv_st = {v: k for k, v in ICP_STATUS.items()}
    inv_out = {v: k for k, v in ICP_OUTCOME.items()}
    q = op.military_qualification
    return operator_pb2.Operator(
        name=f"operators/{op.uscc}", uscc=op.uscc, name_zh=op.name_zh, name_en=op.name_en,
        address=op.address,
        military_qualification=operator_pb2.MilitaryQualification(
            certificate_no=q.certificate_no, scope=list(q.scope),
            valid_from=date_to_pb(q.valid_from), valid_to=date_to_pb(q.valid_to)) if q else None,
        icp=[operator_pb2.IcpElementAssessment(element=inv_el[e.element],
                                               status=inv_st[e.status],
                                               evidence_refs=list(e.evidence_refs))
             for e in op.icp],
        icp_audits=[operator_pb2.IcpAudit(audited_on=date_to_pb(a.audited_on),
                                          outcome=inv_out[a.outcome], officer=a.officer_id,
                                          report_ref=a.report_ref) for a in op.icp_audits],
        registered_at=ts(registered_at), licensed_exports=op.licensed_exports)


# --------------------------------------------------------------------------- applications


def application_to_pb(view: ApplicationView) -> apb.Application:
    """The Application resource with its Reg. 17 clock (a history snapshot, a response)."""
    row, cs = view.application, view.clock
    pb = apb.Application(
        name=f"applications/{row.id}", application_id=row.id, reference=row.reference,
        content=content_from_json(row.content), state=STATE_TO_PB[row.state],
        authority=row.authority, submitted_at=ts(row.submitted_at),
        accepted_on=date_to_pb(row.accepted_on), deadline=date_to_pb(cs.deadline),
        deadline_exact=cs.exact, working_days_used=cs.used,
        working_days_remaining=cs.remaining, clock_paused=view.clock_paused, flags=row.flags,
        licence_id=row.licence_id or "", updated_at=ts(row.updated_at),
        reconsideration_requested_on=date_to_pb(row.reconsideration_requested_on),
        reconsideration_due=date_to_pb(row.reconsideration_due),
        under_expert_review=view.under_expert_review)
    if view.procedures is not None:
        apply_procedures(pb, view.procedures)
    return pb


_BODY_TO_PB = {procedure_rules.ReferralBody.STATE_COUNCIL: apb.REFERRAL_BODY_STATE_COUNCIL,
               procedure_rules.ReferralBody.STATE_COUNCIL_AND_CMC:
                   apb.REFERRAL_BODY_STATE_COUNCIL_AND_CMC}
_APPROVAL_TO_PB = {
    procedure_rules.MilitaryApprovalKind.EXPORT_PROGRAMME: apb.MILITARY_APPROVAL_KIND_EXPORT_PROGRAMME,
    procedure_rules.MilitaryApprovalKind.CONTRACT: apb.MILITARY_APPROVAL_KIND_CONTRACT}


def referral_to_pb(r: procedure_rules.Referral) -> apb.Referral:
    """The Referral message of a domain referral (Reg. 17, Art. 24)."""
    return apb.Referral(body=_BODY_TO_PB[r.body], reason=r.reason,
                        referred_on=date_to_pb(r.referred_on),
                        ended_on=date_to_pb(r.ended_on), outcome=r.outcome, officer=r.officer)


def approval_to_pb(a: procedure_rules.MilitaryApproval) -> apb.MilitaryApproval:
    """The MilitaryApproval message of a domain approval (Art. 24)."""
    return apb.MilitaryApproval(kind=_APPROVAL_TO_PB[a.kind], document_ref=a.document_ref,
                                approved_on=date_to_pb(a.approved_on), officer=a.officer)


def acceptance_to_pb(a: procedure_rules.Acceptance) -> apb.Acceptance:
    """The Acceptance message of the acceptance step (Reg. 17)."""
    return apb.Acceptance(accepted_by=a.accepted_by, accepted_on=date_to_pb(a.accepted_on),
                          missing_materials=list(a.missing_materials),
                          returned_by=a.returned_by, returned_on=date_to_pb(a.returned_on))


def apply_procedures(pb: apb.Application, procs: procedure_rules.Procedures) -> apb.Application:
    """Set the procedures' fields on an Application (issue 11): no deadline while the case is
    exempt from the time limit (Reg. 26) or returned before acceptance (Reg. 17)."""
    if procs.time_limit_exemption:
        pb.time_limit_exemption = procs.time_limit_exemption
        pb.ClearField("deadline")
        pb.deadline_exact = False
        pb.working_days_remaining = 0
    if procs.referral is not None:
        pb.referral.CopyFrom(referral_to_pb(procs.referral))
    pb.military_approvals.extend(approval_to_pb(a) for a in procs.military_approvals)
    if procs.acceptance != procedure_rules.Acceptance():
        pb.acceptance.CopyFrom(acceptance_to_pb(procs.acceptance))
    if pb.state == apb.APPLICATION_STATE_RETURNED:  # the clock has not started (Reg. 17)
        pb.ClearField("deadline")
        pb.working_days_used = pb.working_days_remaining = 0
    return pb


# --------------------------------------------------------------------------- licences


def licence_to_pb(lic: licence_rules.Licence, content: apb.ApplicationContent, reference: str,
                  authority: str, updated_at: dt.datetime) -> licence_pb2.Licence:
    """The Licence resource, with the application's parties and end use."""
    items = []
    for i, it in enumerate(lic.items):
        items.append(licence_pb2.LicensedItem(
            control_code=it.control_code, description=it.description,
            quantity=format(it.quantity, "f"), unit=it.unit,
            value=common_pb2.Money(currency_code=it.value.currency,
                                   amount_minor=it.value.amount_minor),
            used_quantity=format(lic.used_quantity(i), "f"), used_value_minor=lic.used_value(i)))
    return licence_pb2.Licence(
        name=f"licences/{lic.id}", licence_id=lic.id, application_id=lic.application_id,
        reference=reference, holder_uscc=lic.holder_uscc, authority=authority,
        licence_type=LICENCE_TYPE_TO_PB[lic.licence_type], destination=lic.destination,
        parties=content.parties, items=items, end_use=content.end_use,
        conditions=list(lic.conditions), issued_on=date_to_pb(lic.issued_on),
        valid_from=date_to_pb(lic.valid_from), valid_until=date_to_pb(lic.valid_until),
        status=LICENCE_STATUS_TO_PB[lic.status], status_reason=lic.state_reason,
        holds=sorted(lic.holds),
        exports=[licence_pb2.ExportRecord(
            export_id=r.export_id, exported_on=date_to_pb(r.exported_on),
            customs_declaration=r.customs_declaration,
            lines=[licence_pb2.ExportLine(item_index=ln.item_index,
                                          quantity=format(ln.quantity, "f"),
                                          value_minor=ln.value_minor) for ln in r.lines])
                 for r in lic.exports],
        updated_at=ts(updated_at))


def export_record_from_pb(r: licence_pb2.ExportRecord) -> licence_rules.ExportRecord:
    """A domain ExportRecord; raises ValidationFailed on malformed fields."""
    vc = ViolationCollector()
    vc.require(bool(r.export_id.strip()), "export.export_id", "an export id is required")
    day = date_from_pb(r.exported_on)
    vc.require(day is not None, "export.exported_on", "the export date is required")
    lines = []
    for i, ln in enumerate(r.lines):
        try:
            q = Decimal(ln.quantity)
            if not q.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            vc.add(f"export.lines[{i}].quantity", f"'{ln.quantity}' is not a decimal number")
            continue
        lines.append(licence_rules.ExportLine(ln.item_index, q, ln.value_minor))
    vc.require(bool(r.lines), "export.lines", "at least one line is required")
    vc.raise_if_any()
    assert day is not None  # reported above
    return licence_rules.ExportRecord(r.export_id.strip(), day, tuple(lines), r.customs_declaration)

"""Submission validation: the checks that reject an application at once, with field paths.

`validate_submission` returns every violation found (never stops at the first), each with a
field path such as `items[0].control_code` or `parties[2].country`, so the API can answer
INVALID_ARGUMENT with a google.rpc.BadRequest listing them all.

When an end-user certificate is required (Art. 15), decided here:
- required for every regime and export type in which a foreign end user receives the items
  or technology: PERMANENT, TRANSIT, TRANSSHIPMENT, RE_EXPORT, TECHNOLOGY_TRANSFER and
  PROVISION_TO_FOREIGN_PERSONS_IN_CHINA;
- not required for TEMPORARY_EXHIBITION and TEMPORARY_REPAIR: the items return to the
  exporter, the foreign party is a custodian rather than an end user (the licence carries a
  return condition instead);
- when required, only a certificate issued by the end user or its government counts
  (Art. 15), it must be issued on or before the submission date and not expired on it, and
  its SHA-256 must be 64 hex characters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from stc_common.errors import FieldViolation
from stc_common.uscc import UsccError, validate_uscc

from .inputs import CreditStanding
from .model import (
    ApplicationContent,
    CertificateIssuer,
    ExportOperator,
    ExportType,
    ItemRegime,
    LicenceType,
    PartyRole,
)

CONTROL_CODE_RE = re.compile(r"^[0-9][A-E][0-9]{3}(\.[a-z](\.[0-9]+)?)?$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
HS_CODE_RE = re.compile(r"^[0-9]{6,10}$")

# ISO 3166-1 user-assigned and reserved alpha-2 elements that are never a destination.
_NOT_A_COUNTRY = frozenset({"AA", "QM", "QN", "QO", "QP", "QQ", "QR", "QS", "QT", "QU", "QV",
                            "QW", "QX", "QY", "QZ", "XA", "XB", "XC", "XD", "XE", "XF", "XG",
                            "XH", "XI", "XJ", "XL", "XM", "XN", "XO", "XP", "XQ", "XR", "XS",
                            "XT", "XU", "XV", "XW", "XX", "XY", "XZ", "ZZ"})

CERTIFICATE_NOT_REQUIRED = frozenset({ExportType.TEMPORARY_EXHIBITION, ExportType.TEMPORARY_REPAIR})

# Parties that must be named, per export type (at least one of each role listed).
REQUIRED_ROLES: dict[ExportType, tuple[PartyRole, ...]] = {
    ExportType.PERMANENT: (PartyRole.IMPORTER, PartyRole.END_USER),
    ExportType.TEMPORARY_EXHIBITION: (PartyRole.IMPORTER, PartyRole.CONSIGNEE),
    ExportType.TEMPORARY_REPAIR: (PartyRole.IMPORTER, PartyRole.CONSIGNEE),
    ExportType.TRANSIT: (PartyRole.CONSIGNEE, PartyRole.END_USER),
    ExportType.TRANSSHIPMENT: (PartyRole.CONSIGNEE, PartyRole.END_USER),
    ExportType.RE_EXPORT: (PartyRole.IMPORTER, PartyRole.END_USER),
    ExportType.TECHNOLOGY_TRANSFER: (PartyRole.END_USER,),
    ExportType.PROVISION_TO_FOREIGN_PERSONS_IN_CHINA: (PartyRole.END_USER,),
}


def certificate_required(content: ApplicationContent) -> bool:
    """Art. 15: whether this application needs an end-user certificate (see module doc)."""
    return content.export_type not in CERTIFICATE_NOT_REQUIRED


def is_country_code(code: str) -> bool:
    """A well-formed ISO 3166-1 alpha-2 code (upper case, not a reserved element)."""
    return bool(COUNTRY_RE.match(code)) and code not in _NOT_A_COUNTRY


def validate_submission(
    content: ApplicationContent,
    operator: ExportOperator | None,
    standing: CreditStanding | None,
    today: dt.date,
    control_list: Collection[str] | None = None,
) -> list[FieldViolation]:
    """Every reason to reject `content` at once (empty list: acceptable).

    `operator` None means the exporter is not registered; `standing` None means no credit
    standing is known (treated as clean); `control_list` (codes on the control list) is
    checked only when given.
    """
    v: list[FieldViolation] = []
    _check_exporter(content, operator, standing, today, v)
    _check_items(content, control_list, v)
    _check_destination(content, v)
    _check_parties(content, v)
    _check_certificate(content, today, v)
    if not content.end_use.statement.strip():
        v.append(FieldViolation("end_use.statement", "the end use must be stated"))
    if content.regime == ItemRegime.CATCH_ALL and not content.catch_all_declarations:
        v.append(FieldViolation(
            "catch_all_declarations",
            "a catch-all application (Art. 12(3)) must carry at least one declaration",
        ))
    return v


def _check_exporter(
    content: ApplicationContent,
    operator: ExportOperator | None,
    standing: CreditStanding | None,
    today: dt.date,
    v: list[FieldViolation],
) -> None:
    uscc: str | None
    try:
        uscc = validate_uscc(content.exporter_uscc)
    except UsccError as exc:
        v.append(FieldViolation("exporter_uscc", f"malformed USCC: {exc}"))
        uscc = None
    if uscc is not None and operator is None:
        v.append(FieldViolation("exporter_uscc", "no export operator registered with this USCC"))
    if operator is not None and uscc is not None and operator.uscc != uscc:
        v.append(FieldViolation("exporter_uscc", "does not match the registered operator"))
    if standing is not None and standing.is_banned_on(today):
        v.append(FieldViolation(
            "exporter_uscc",
            f"the exporter may not apply until {standing.ban_until!s} "
            "(Art. 39 five-year application ban)",
        ))
    if content.regime == ItemRegime.MILITARY and (
        operator is None or not operator.has_valid_military_qualification(today)
    ):
        v.append(FieldViolation(
            "regime",
            "military items may only be exported by an operator holding a valid military "
            "export qualification (Art. 23)",
        ))


def _check_items(
    content: ApplicationContent, control_list: Collection[str] | None, v: list[FieldViolation]
) -> None:
    if not content.items:
        v.append(FieldViolation("items", "at least one item is required"))
    listed = frozenset(control_list) if control_list is not None else None
    for i, item in enumerate(content.items):
        path = f"items[{i}]"
        code = item.control_code.strip()
        if not code:
            if content.regime != ItemRegime.CATCH_ALL:
                v.append(FieldViolation(f"{path}.control_code", "a control code is required"))
        elif not CONTROL_CODE_RE.match(code):
            v.append(FieldViolation(
                f"{path}.control_code",
                f"'{code}' does not match the control code format "
                "(e.g. 1C902.a: digit, category A-E, three digits, optional .letter.number)",
            ))
        elif listed is not None:
            on_list = code in listed
            if content.regime == ItemRegime.CATCH_ALL and on_list:
                v.append(FieldViolation(
                    f"{path}.control_code",
                    f"'{code}' is a listed item: apply under its regime, not catch-all",
                ))
            elif content.regime != ItemRegime.CATCH_ALL and not on_list:
                v.append(FieldViolation(
                    f"{path}.control_code", f"'{code}' is not on the control list"
                ))
        if not item.description.strip():
            v.append(FieldViolation(f"{path}.description", "a description is required"))
        if item.hs_code and not HS_CODE_RE.match(item.hs_code):
            v.append(FieldViolation(f"{path}.hs_code", "an HS code has 6 to 10 digits"))
        if item.quantity <= 0:
            v.append(FieldViolation(f"{path}.quantity", "must be positive"))
        if not item.unit.strip():
            v.append(FieldViolation(f"{path}.unit", "a unit of quantity is required"))
        if item.value.amount_minor <= 0:
            v.append(FieldViolation(f"{path}.value.amount_minor", "must be positive"))
        if not CURRENCY_RE.match(item.value.currency):
            v.append(FieldViolation(f"{path}.value.currency", "must be an ISO 4217 code"))
    currencies = {i.value.currency for i in content.items}
    if len(currencies) > 1:
        v.append(FieldViolation("items", "all item values must be in one currency"))


def _check_destination(content: ApplicationContent, v: list[FieldViolation]) -> None:
    dest = content.destination
    if not is_country_code(dest):
        v.append(FieldViolation("destination", f"'{dest}' is not an ISO 3166-1 alpha-2 code"))
    elif dest == "CN" and content.export_type != ExportType.PROVISION_TO_FOREIGN_PERSONS_IN_CHINA:
        v.append(FieldViolation("destination", "an export destination cannot be CN"))


def _check_parties(content: ApplicationContent, v: list[FieldViolation]) -> None:
    for i, party in enumerate(content.parties):
        path = f"parties[{i}]"
        if not party.name.strip():
            v.append(FieldViolation(f"{path}.name", "a name is required"))
        if not is_country_code(party.country):
            v.append(FieldViolation(
                f"{path}.country", f"'{party.country}' is not an ISO 3166-1 alpha-2 code"
            ))
        for j, ident in enumerate(party.identifiers):
            if not ident.kind.strip() or not ident.value.strip():
                v.append(FieldViolation(f"{path}.identifiers[{j}]", "kind and value are required"))
    for role in REQUIRED_ROLES[content.export_type]:
        if not content.parties_with_role(role):
            v.append(FieldViolation(
                "parties",
                f"a party with role {role.value} is required for "
                f"{content.export_type.value} exports",
            ))
    if content.licence_type == LicenceType.SINGLE and len(content.end_users) > 1:
        v.append(FieldViolation(
            "parties", "a single licence covers one end user (Dual-use Regulations, licence "
            "provisions: a single licence is one export to one end user); apply per end user"
        ))


def _check_certificate(
    content: ApplicationContent, today: dt.date, v: list[FieldViolation]
) -> None:
    cert = content.end_user_certificate
    if not certificate_required(content):
        return
    if cert is None:
        v.append(FieldViolation(
            "end_user_certificate",
            f"an end-user certificate is required for {content.export_type.value} exports "
            "(Art. 15)",
        ))
        return
    if cert.issuer_kind == CertificateIssuer.OTHER:
        v.append(FieldViolation(
            "end_user_certificate.issuer_kind",
            "the certificate must be issued by the end user or its government (Art. 15)",
        ))
    if not SHA256_RE.match(cert.document_sha256):
        v.append(FieldViolation(
            "end_user_certificate.document_sha256", "must be 64 lower-case hex characters"
        ))
    if cert.issued_on > today:
        v.append(FieldViolation("end_user_certificate.issued_on", "lies in the future"))
    if cert.expires_on is not None and cert.expires_on < today:
        v.append(FieldViolation("end_user_certificate.expires_on", "the certificate has expired"))
    if cert.expires_on is not None and cert.expires_on < cert.issued_on:
        v.append(FieldViolation("end_user_certificate.expires_on", "is before the issue date"))

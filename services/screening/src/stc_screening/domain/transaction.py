"""Transaction screening: from the parties (with roles), destination, items, end use and the
application's flags, plus the list hits, the arms embargo table and the dated country
measures, produce findings with a code, severity, English and Chinese text and evidence.

Finding texts and the red flags of diversion are data (``stc_screening/data/findings.csv``
and ``red_flags.csv``, read by ``stc_screening.policy_files.finding_texts``), not strings in
code; callers pass the table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from stc_screening.domain.countries import country_code
from stc_screening.domain.items import ControlItem, is_valid_control_code
from stc_screening.domain.lists import ListKind
from stc_screening.domain.matching import Decision, Hit, Party, compare_names
from stc_screening.domain.normalise import normalise_name
from stc_screening.domain.policy import ArmsEmbargo, CountryMeasure


class Severity(int, Enum):
    """How much a finding weighs; BLOCKING means the licence cannot be granted as asked."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    BLOCKING = 4


class PartyRole(str, Enum):
    """The role of a party in the transaction."""

    EXPORTER = "EXPORTER"
    IMPORTER = "IMPORTER"
    CONSIGNEE = "CONSIGNEE"
    END_USER = "END_USER"
    INTERMEDIARY = "INTERMEDIARY"
    FREIGHT_FORWARDER = "FREIGHT_FORWARDER"
    BANK_PAYER = "BANK_PAYER"


# Indicators the applicant or officer records on the application; each maps to a red flag.
FLAG_TO_RED_FLAG: dict[str, str] = {
    "REFUSES_END_USE_INFO": "RF02",
    "BUSINESS_LINE_MISMATCH": "RF03",
    "TECH_LEVEL_INCOMPATIBLE": "RF04",
    "CASH_PAYMENT": "RF05",
    "LITTLE_BUSINESS_BACKGROUND": "RF06",
    "UNFAMILIAR_WITH_PRODUCT": "RF07",
    "DECLINES_INSTALLATION": "RF08",
    "VAGUE_DELIVERY": "RF09",
    "PACKAGING_INCONSISTENT": "RF12",
    "EVASIVE_REEXPORT": "RF13",
    "OWNED_BY_LISTED_PARTY": "RF14",
    "REMOVE_ORIGIN_MARKS": "RF16",
    "SPLIT_SHIPMENTS": "RF16",
}

# Common transshipment hubs (ISO alpha-2); configurable per call.
TRANSSHIPMENT_HUBS: frozenset[str] = frozenset(
    {"AE", "SG", "HK", "MY", "TR", "AM", "GE", "KG", "KZ", "UZ", "RS", "TH", "CY", "PA"})

_WMD_TERMS = (
    r"nuclear weapon", r"nuclear explosive", r"atomic bomb", r"warhead", r"missile",
    r"ballistic", r"chemical weapon", r"nerve agent", r"biological weapon", r"bioweapon",
    r"uranium enrichment", r"enrichment", r"centrifuge cascade", r"plutonium", r"terroris",
    r"weapons? of mass destruction", r"wmd", r"核武器", r"核爆炸", r"导弹", r"弹头", r"化学武器",
    r"生物武器", r"铀浓缩", r"浓缩铀", r"恐怖", r"大规模杀伤性武器",
)
_MILITARY_TERMS = (
    r"military", r"army", r"navy", r"naval", r"air force", r"armed forces", r"defen[cs]e ministry",
    r"ministry of defen[cs]e", r"department of defen[cs]e", r"weapon", r"munition", r"ammunition",
    r"armou?red", r"combat", r"warship", r"fighter jet", r"军队", r"军方", r"军事", r"军用", r"国防",
    r"武器", r"弹药", r"部队", r"军工",
)
_FORWARDER_TERMS = (r"freight", r"forwarding", r"forwarder", r"logistics", r"shipping agency",
                    r"货运代理", r"货代", r"物流")
_WMD_RE = re.compile("|".join(_WMD_TERMS), re.IGNORECASE)
_MILITARY_RE = re.compile("|".join(_MILITARY_TERMS), re.IGNORECASE)
_FORWARDER_RE = re.compile("|".join(_FORWARDER_TERMS), re.IGNORECASE)

SAME_PARTY = 0.9  # name score at which two parties of the application are taken as one


@dataclass(frozen=True, slots=True)
class FindingText:
    """A row of the findings or red-flag table."""

    code: str
    severity: Severity
    text_en: str
    text_zh: str
    article: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of transaction screening, with the evidence behind it."""

    code: str
    severity: Severity
    text_en: str
    text_zh: str
    article: str = ""
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransactionParty:
    """A party of the application in a role; ``party_id`` keys its list hits."""

    party_id: str
    role: PartyRole
    party: Party
    business_line: str = ""
    is_military: bool = False
    is_freight_forwarder: bool = False


@dataclass(frozen=True, slots=True)
class TransactionItem:
    """An item of the application: control code (empty if unlisted) and quantity."""

    code: str
    description: str = ""
    quantity: float | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Transaction:
    """What transaction screening needs from an application."""

    date: dt.date
    destination_country: str
    parties: tuple[TransactionParty, ...]
    items: tuple[TransactionItem, ...]
    end_use: str = ""
    certificate_issuer: str = ""
    certificate_issuer_is_government: bool = False
    certificate_issuer_country: str = ""
    routing_countries: tuple[str, ...] = ()
    payment_country: str = ""
    payer_name: str = ""
    end_use_quantity: float | None = None  # the quantity the end-use statement declares
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """All findings, most severe first."""

    findings: tuple[Finding, ...]

    @property
    def highest(self) -> Severity:
        """The most severe finding's severity (INFO when there is none)."""
        return max((f.severity for f in self.findings), default=Severity.INFO)

    @property
    def blocked(self) -> bool:
        """True when any finding is BLOCKING."""
        return self.highest is Severity.BLOCKING

    def codes(self) -> list[str]:
        """Codes of the findings, in order."""
        return [f.code for f in self.findings]


def screen_transaction(
    tx: Transaction,
    hits: Mapping[str, Sequence[Hit]],
    embargoes: Iterable[ArmsEmbargo],
    measures: Iterable[CountryMeasure],
    control_items: Mapping[str, ControlItem] | None = None,
    *,
    texts: Mapping[str, FindingText],
    hubs: frozenset[str] = TRANSSHIPMENT_HUBS,
) -> TransactionResult:
    """Screen a transaction; ``hits`` maps each ``party_id`` to its list hits, ``texts`` each
    finding code to its severity and texts (``policy_files.finding_texts``: data rows)."""
    out: list[Finding] = []

    def add(code: str, /, **evidence: str) -> None:
        t = texts[code]
        out.append(Finding(code, t.severity, t.text_en, t.text_zh, t.article,
                           dict(evidence)))

    dest = country_code(tx.destination_country)
    parties = {p.party_id: p for p in tx.parties}
    end_users = [p for p in tx.parties if p.role is PartyRole.END_USER]

    # Lists (ECL Art. 18, Reg. 26, UEL; foreign lists as information).
    for pid, party_hits in hits.items():
        tp = parties.get(pid)
        role = tp.role.value if tp else ""
        for h in party_hits:
            ev = {"party_id": pid, "role": role, "entry_id": h.entry_id,
                  "list": h.list_kind.value, "score": f"{h.score:.3f}",
                  "legal_basis": h.legal_basis}
            if h.decision is Decision.POTENTIAL_MATCH:
                add("LIST_POTENTIAL_MATCH", **ev)
                add("RF01", **ev)
                continue
            if h.decision is not Decision.MATCH:
                continue
            code = {ListKind.CONTROL_LIST: "LIST_MATCH_CONTROL_LIST",
                    ListKind.WATCH_LIST: "LIST_MATCH_WATCH_LIST",
                    ListKind.UNRELIABLE_ENTITY_LIST: "LIST_MATCH_UNRELIABLE_ENTITY_LIST",
                    }.get(h.list_kind, "LIST_MATCH_FOREIGN")
            add(code, **ev)
            if h.list_kind.is_prc and tp is not None and tp.role is PartyRole.END_USER:
                add("RF14", **ev)

    # Destination: UN arms embargo and dated measures in force on the date.
    for emb in embargoes:
        if country_code(emb.country) == dest and (emb.since is None or emb.since <= tx.date):
            add("ARMS_EMBARGO_FULL" if emb.is_full else "ARMS_EMBARGO_PARTIAL",
                country=dest, scope=emb.scope, resolution=emb.resolution,
                since=emb.since.isoformat() if emb.since else "")

    military_text = " ".join([tx.end_use, *(p.party.name for p in end_users),
                              *(p.business_line for p in end_users)])
    military_match = _MILITARY_RE.search(military_text)
    military = bool(military_match) or any(p.is_military for p in end_users)
    if military:
        add("MILITARY_END_USE", term=military_match.group(0) if military_match else "",
            end_users=", ".join(p.party.name for p in end_users if p.is_military))

    codes = [i.code for i in tx.items if i.code]
    for m in measures:
        if country_code(m.country) != dest or not m.in_force_on(tx.date):
            continue
        covered = [c for c in codes if m.covers_item(c)] if m.item_codes else codes or ["*"]
        if not covered:
            continue
        ev = {"measure_id": m.measure_id, "title_en": m.title_en, "title_zh": m.title_zh,
              "basis": m.basis, "effective_from": m.effective_from.isoformat(),
              "items": ", ".join(covered)}
        if m.announcement:
            ev["announcement"] = m.announcement
        if m.applies_to == "all":
            add("COUNTRY_MEASURE", **ev)
        elif military:
            add("COUNTRY_MEASURE", **ev)
            add("RF15", **ev)
        else:
            add("COUNTRY_MEASURE_MILITARY", **ev)

    # Items: code format and presence on the control list; catch-all for unlisted items.
    for item in tx.items:
        if not item.code:
            add("ITEM_UNLISTED", description=item.description)
        elif not is_valid_control_code(item.code):
            add("ITEM_CODE_INVALID", code=item.code)
        elif control_items is not None and item.code not in control_items:
            add("ITEM_NOT_ON_CONTROL_LIST", code=item.code)
    wmd = _WMD_RE.search(tx.end_use)
    if wmd:
        add("CATCH_ALL", term=wmd.group(0), end_use=tx.end_use)

    # Red flags of diversion.
    for flag in sorted(tx.flags):
        if flag in FLAG_TO_RED_FLAG:
            add(FLAG_TO_RED_FLAG[flag], flag=flag)
    if not tx.end_use.strip() and "REFUSES_END_USE_INFO" not in tx.flags:
        add("RF02", reason="no end use given")
    _freight_forwarder_as_destination(tx, add)
    _routing_and_intermediaries(tx, dest, hubs, add)
    _certificate(tx, end_users, add)
    _quantity(tx, add)
    _payment(tx, dest, add)

    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for f in out:
        key = (f.code, tuple(sorted(f.evidence.items())))
        if key not in seen:
            seen.add(key)
            unique.append(f)
    unique.sort(key=lambda f: (-f.severity, f.code))
    return TransactionResult(tuple(unique))


def _same_name(a: str, b: str) -> bool:
    na, nb = normalise_name(a), normalise_name(b)
    return bool(na.units and nb.units) and compare_names(na, nb)[0] >= SAME_PARTY


def _freight_forwarder_as_destination(tx: Transaction, add) -> None:
    forwarders = [p for p in tx.parties if p.role is PartyRole.FREIGHT_FORWARDER]
    for p in tx.parties:
        if p.role not in (PartyRole.END_USER, PartyRole.CONSIGNEE):
            continue
        reason = ""
        if p.is_freight_forwarder:
            reason = "declared as a freight forwarder"
        elif any(_same_name(p.party.name, f.party.name) for f in forwarders):
            reason = "same party as the freight forwarder"
        elif _FORWARDER_RE.search(p.party.name):
            reason = "name of a forwarding or logistics business"
        if reason:
            add("RF10", party_id=p.party_id, role=p.role.value, name=p.party.name,
                reason=reason)


def _routing_and_intermediaries(tx: Transaction, dest: str, hubs: frozenset[str], add) -> None:
    end_countries = {country_code(p.party.country) for p in tx.parties
                     if p.role in (PartyRole.END_USER, PartyRole.CONSIGNEE) and p.party.country}
    end_countries.add(dest)
    for c in tx.routing_countries:
        code = country_code(c)
        if code in hubs and code not in end_countries:
            add("RF11", routing_country=code, destination=dest)
    for p in tx.parties:
        if p.role is not PartyRole.INTERMEDIARY or not p.party.country:
            continue
        code = country_code(p.party.country)
        if code in hubs and code not in end_countries:
            add("RF19", party_id=p.party_id, name=p.party.name, country=code)


def _certificate(tx: Transaction, end_users: Sequence[TransactionParty], add) -> None:
    if not tx.certificate_issuer.strip():
        add("CERTIFICATE_MISSING")
        return
    if any(_same_name(tx.certificate_issuer, eu.party.name) for eu in end_users):
        return
    eu_countries = {country_code(eu.party.country) for eu in end_users if eu.party.country}
    if tx.certificate_issuer_is_government and (
            not tx.certificate_issuer_country
            or country_code(tx.certificate_issuer_country) in eu_countries):
        return
    add("RF17", issuer=tx.certificate_issuer,
        end_users=", ".join(eu.party.name for eu in end_users))


def _quantity(tx: Transaction, add) -> None:
    if tx.end_use_quantity is None:
        return
    total = sum(i.quantity or 0.0 for i in tx.items)
    if total > tx.end_use_quantity * 1.2 or (total and total < tx.end_use_quantity * 0.2):
        add("RF18", contracted=f"{total:g}", end_use_statement=f"{tx.end_use_quantity:g}")


def _payment(tx: Transaction, dest: str, add) -> None:
    buyers = [p for p in tx.parties if p.role in (PartyRole.IMPORTER, PartyRole.END_USER,
                                                   PartyRole.CONSIGNEE, PartyRole.BANK_PAYER)]
    if tx.payment_country:
        allowed = {dest} | {country_code(p.party.country) for p in buyers if p.party.country}
        code = country_code(tx.payment_country)
        if code not in allowed:
            add("RF20", payment_country=code, reason="third country")
    if tx.payer_name and not any(_same_name(tx.payer_name, p.party.name) for p in buyers):
        add("RF20", payer=tx.payer_name, reason="third party")

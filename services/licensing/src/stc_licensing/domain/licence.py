"""Licences (the Dual-use Regulations' licence provisions): issue, usage, suspension,
reinstatement, revocation, expiry and holds.

- SINGLE: one export to one end user, valid up to one year, void once used - the first
  recorded export uses it up, whatever quantity it shipped.
- GENERAL: many exports, valid up to three years; each export draws down the authorised
  quantity and value per item; a fully drawn licence is USED.
- An export beyond the remaining quantity or value, outside the validity period, on a
  licence that is not ACTIVE, or while on hold, is refused (`LicenceRefused`).
- Holds: while an end-user / end-use change report is open (Art. 16, Reg. 25) the licence is
  on hold: `status` shows ON_HOLD and exports are refused; several reports may be open.

Every operation returns a new `Licence` (frozen); nothing is mutated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from .errors import IllegalTransition, LicenceRefused
from .model import Application, ApplicationState, LicenceType, Money, party_key

MAX_VALIDITY_YEARS = {LicenceType.SINGLE: 1, LicenceType.GENERAL: 3}


class LicenceState(str, Enum):
    """Stored state of a licence."""

    ACTIVE = "ACTIVE"
    USED = "USED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class LicenceStatus(str, Enum):
    """What users see: the state, or ON_HOLD when an ACTIVE licence has open change reports."""

    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    USED = "USED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class LicensedItem:
    """An item line the licence authorises, with its ceilings."""

    control_code: str
    description: str
    quantity: Decimal
    unit: str
    value: Money


@dataclass(frozen=True)
class ExportLine:
    """Quantity and value shipped against one licensed item (by index)."""

    item_index: int
    quantity: Decimal
    value_minor: int


@dataclass(frozen=True)
class ExportRecord:
    """One export recorded against a licence (e.g. from a customs declaration)."""

    export_id: str
    exported_on: dt.date
    lines: tuple[ExportLine, ...]
    customs_declaration: str = ""


@dataclass(frozen=True)
class Licence:
    """An issued licence and its usage."""

    id: str
    application_id: str
    licence_type: LicenceType
    holder_uscc: str
    destination: str
    end_user_keys: tuple[str, ...]
    items: tuple[LicensedItem, ...]
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date
    conditions: tuple[str, ...] = ()
    state: LicenceState = LicenceState.ACTIVE
    state_reason: str = ""
    holds: frozenset[str] = frozenset()
    exports: tuple[ExportRecord, ...] = ()

    @property
    def status(self) -> LicenceStatus:
        """The state, or ON_HOLD for an ACTIVE licence with open change reports."""
        if self.state == LicenceState.ACTIVE and self.holds:
            return LicenceStatus.ON_HOLD
        return LicenceStatus(self.state.value)

    def used_quantity(self, item_index: int) -> Decimal:
        """Quantity shipped so far against one item."""
        return sum((ln.quantity for r in self.exports for ln in r.lines
                    if ln.item_index == item_index), Decimal(0))

    def used_value(self, item_index: int) -> int:
        """Value (minor units) shipped so far against one item."""
        return sum(ln.value_minor for r in self.exports for ln in r.lines
                   if ln.item_index == item_index)

    def remaining_quantity(self, item_index: int) -> Decimal:
        """Quantity still available on one item."""
        return self.items[item_index].quantity - self.used_quantity(item_index)

    def remaining_value(self, item_index: int) -> int:
        """Value (minor units) still available on one item."""
        return self.items[item_index].value.amount_minor - self.used_value(item_index)


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` plus whole years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def max_valid_until(licence_type: LicenceType, valid_from: dt.date) -> dt.date:
    """Last valid day: one year (single) or three years (general) from `valid_from`
    (the Dual-use Regulations' licence provisions)."""
    return add_years(valid_from, MAX_VALIDITY_YEARS[licence_type]) - dt.timedelta(days=1)


def issue_licence(
    licence_id: str,
    application: Application,
    issued_on: dt.date,
    *,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    conditions: tuple[str, ...] = (),
) -> Licence:
    """A licence for an approved application; validity defaults to the legal maximum."""
    if application.state not in (ApplicationState.APPROVED,
                                 ApplicationState.APPROVED_WITH_CONDITIONS):
        raise LicenceRefused(f"application is {application.state.value}, not approved")
    content = application.content
    start = valid_from or issued_on
    limit = max_valid_until(content.licence_type, start)
    until = valid_until or limit
    if until > limit:
        raise LicenceRefused(
            f"a {content.licence_type.value} licence is valid at most until {limit} "
            f"(Dual-use Regulations, licence provisions: single up to one year, general up to three)")
    if until < start:
        raise LicenceRefused("valid_until is before valid_from")
    return Licence(
        id=licence_id,
        application_id=application.id,
        licence_type=content.licence_type,
        holder_uscc=content.exporter_uscc,
        destination=content.destination,
        end_user_keys=tuple(party_key(p) for p in content.end_users),
        items=tuple(LicensedItem(i.control_code, i.description, i.quantity, i.unit, i.value)
                    for i in content.items),
        issued_on=issued_on,
        valid_from=start,
        valid_until=until,
        conditions=conditions,
    )


def record_export(licence: Licence, record: ExportRecord) -> Licence:
    """Draw an export down against the licence; refused (LicenceRefused) when not allowed.

    Recording the same record twice (same export_id and content) is a no-op.
    """
    for existing in licence.exports:
        if existing.export_id == record.export_id:
            if existing == record:
                return licence
            raise LicenceRefused(f"export {record.export_id} already recorded with other data")
    if licence.state != LicenceState.ACTIVE:
        raise LicenceRefused(f"licence is {licence.state.value}"
                             + (" (a single licence is void once used)"
                                if licence.state == LicenceState.USED else ""))
    if licence.holds:
        raise LicenceRefused("licence is on hold while an end-user change report is open "
                             "(Art. 16, Reg. 25)")
    if not licence.valid_from <= record.exported_on <= licence.valid_until:
        raise LicenceRefused(f"export date {record.exported_on} is outside the validity "
                             f"{licence.valid_from}..{licence.valid_until}")
    if not record.lines:
        raise LicenceRefused("an export has at least one line")
    wanted_q: dict[int, Decimal] = {}
    wanted_v: dict[int, int] = {}
    for ln in record.lines:
        if not 0 <= ln.item_index < len(licence.items):
            raise LicenceRefused(f"item {ln.item_index} is not on the licence")
        if ln.quantity <= 0 or ln.value_minor < 0:
            raise LicenceRefused("quantities must be positive and values not negative")
        wanted_q[ln.item_index] = wanted_q.get(ln.item_index, Decimal(0)) + ln.quantity
        wanted_v[ln.item_index] = wanted_v.get(ln.item_index, 0) + ln.value_minor
    for idx, qty in wanted_q.items():
        item = licence.items[idx]
        if qty > licence.remaining_quantity(idx):
            raise LicenceRefused(
                f"items[{idx}] {item.control_code}: {qty} {item.unit} exceeds the remaining "
                f"{licence.remaining_quantity(idx)} {item.unit}")
        if wanted_v[idx] > licence.remaining_value(idx):
            raise LicenceRefused(
                f"items[{idx}] {item.control_code}: value {wanted_v[idx]} exceeds the remaining "
                f"{licence.remaining_value(idx)} {item.value.currency} minor units")
    updated = replace(licence, exports=licence.exports + (record,))
    if licence.licence_type == LicenceType.SINGLE:
        return replace(updated, state=LicenceState.USED,
                       state_reason="single licence used by its export (Dual-use Regulations, "
                                    "licence provisions: a single licence is void once used)")
    if all(updated.remaining_quantity(i) <= 0 for i in range(len(updated.items))):
        return replace(updated, state=LicenceState.USED, state_reason="fully drawn")
    return updated


def _require(licence: Licence, allowed: set[LicenceState], action: str) -> None:
    if licence.state not in allowed:
        raise IllegalTransition(
            licence.state, action,
            f"cannot {action} a licence that is {licence.state.value}; allowed from: "
            f"{', '.join(sorted(s.value for s in allowed))}")


def suspend(licence: Licence, reason: str) -> Licence:
    """ACTIVE -> SUSPENDED (e.g. a rescreening match, a change report found serious)."""
    _require(licence, {LicenceState.ACTIVE}, "suspend")
    return replace(licence, state=LicenceState.SUSPENDED, state_reason=reason)


def reinstate(licence: Licence, reason: str, on_date: dt.date) -> Licence:
    """SUSPENDED -> ACTIVE, within the validity period (afterwards it can only expire)."""
    _require(licence, {LicenceState.SUSPENDED}, "reinstate")
    if on_date > licence.valid_until:
        raise LicenceRefused(f"the licence's validity ended on {licence.valid_until}")
    return replace(licence, state=LicenceState.ACTIVE, state_reason=reason)


def revoke(licence: Licence, reason: str) -> Licence:
    """ACTIVE or SUSPENDED -> REVOKED (final)."""
    _require(licence, {LicenceState.ACTIVE, LicenceState.SUSPENDED}, "revoke")
    return replace(licence, state=LicenceState.REVOKED, state_reason=reason)


def is_due_to_expire(licence: Licence, on_date: dt.date) -> bool:
    """True when the licence is ACTIVE or SUSPENDED and its validity ended before `on_date`."""
    return licence.state in (LicenceState.ACTIVE, LicenceState.SUSPENDED) and (
        on_date > licence.valid_until)


def expire(licence: Licence, on_date: dt.date) -> Licence:
    """ACTIVE or SUSPENDED -> EXPIRED once `on_date` is after valid_until."""
    _require(licence, {LicenceState.ACTIVE, LicenceState.SUSPENDED}, "expire")
    if on_date <= licence.valid_until:
        raise LicenceRefused(f"the licence is valid until {licence.valid_until}")
    return replace(licence, state=LicenceState.EXPIRED,
                   state_reason=f"validity ended {licence.valid_until}")


def place_on_hold(licence: Licence, report_id: str) -> Licence:
    """Open a hold for an end-user change report (Art. 16, Reg. 25)."""
    _require(licence, {LicenceState.ACTIVE, LicenceState.SUSPENDED}, "put on hold")
    return replace(licence, holds=licence.holds | {report_id})


def release_hold(licence: Licence, report_id: str) -> Licence:
    """Close the hold of a resolved change report (unknown ids are a no-op)."""
    return replace(licence, holds=licence.holds - {report_id})

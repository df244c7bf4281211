"""EvaluateReExport (ECL Arts. 45, 44; issue 11 item 6): the de minimis rules in force applied
to a described re-export of a foreign-made item with PRC-controlled content. Reads the rules
(`domain/extraterritorial.py`, data in `policy/extraterritorial.yaml` or the file
`STC_EXTRATERRITORIAL_RULES_PATH` names); stores nothing."""

from __future__ import annotations

from pathlib import Path

import yaml
from stc.licensing.v1 import extraterritorial_pb2 as epb
from stc_common.auth.jwt import Principal
from stc_common.db.uow import UnitOfWork
from stc_common.errors import FieldViolation, ValidationFailed, ViolationCollector

from stc_licensing.api import mapping as m
from stc_licensing.domain import extraterritorial as et

_RULES: tuple[et.DeMinimisRule, ...] | None = None
_PPM = 1_000_000


def configure_rules(path: str | Path | None) -> tuple[et.DeMinimisRule, ...]:
    """Use the rules of `path` (the bundled ones when empty); ValueError on a broken file."""
    global _RULES
    _RULES = et.parse_rules(yaml.safe_load(Path(path).read_text("utf-8"))) if path \
        else et.bundled_rules()
    return _RULES


def rules() -> tuple[et.DeMinimisRule, ...]:
    """The rules in use."""
    return _RULES if _RULES is not None else configure_rules(None)


async def evaluate_re_export_pb(*, uow: UnitOfWork, p: Principal,
                                req: epb.EvaluateReExportRequest
                                ) -> epb.EvaluateReExportResponse:
    """Every rule's decision on the re-export; INVALID_ARGUMENT names a bad field."""
    from stc_licensing.service import today

    errors = ViolationCollector()
    made_in = req.made_in.strip().upper()
    errors.require(len(made_in) == 2 and made_in.isalpha(), "made_in",
                   "an ISO 3166-1 alpha-2 country code")
    errors.require(made_in != "CN", "made_in", "an item made in the PRC is exported, not "
                                               "re-exported as a foreign-made item")
    currency = req.item_value.currency_code
    errors.require(req.item_value.amount_minor > 0, "item_value.amount_minor", "must be > 0")
    for i, c in enumerate(req.content):
        errors.require(bool(c.control_code.strip()), f"content[{i}].control_code", "required")
        errors.require(c.value.amount_minor >= 0, f"content[{i}].value.amount_minor",
                       "must not be negative")
        errors.require(c.value.currency_code == currency, f"content[{i}].value.currency_code",
                       f"must be the item value's currency {currency!r}")
    errors.raise_if_any()
    day = (m.date_from_pb(req.on_date) if req.HasField("on_date") else None) or today()
    try:
        outcomes = et.decide(et.ReExport(
            req.description, made_in, req.item_value.amount_minor,
            tuple(et.PrcContent(c.control_code.strip(), c.value.amount_minor)
                  for c in req.content), day), rules())
    except ValueError as exc:  # checked above; kept as a field error, never INTERNAL
        raise ValidationFailed(FieldViolation("item_value", str(exc))) from exc
    return epb.EvaluateReExportResponse(
        licence_required=any(o.licence_required for o in outcomes),
        outcomes=[epb.DeMinimisOutcome(
            rule_id=o.rule.rule_id, announcement=o.rule.announcement, basis=o.rule.basis,
            share_ppm=int(o.share * _PPM), de_minimis_ppm=int(o.rule.share * _PPM),
            licence_required=o.licence_required, reason=o.reason) for o in outcomes])

"""EvaluateReExport (ECL Arts. 45, 44; issue 11 item 6) as a use case: the de minimis rules in
force applied to a described re-export of a foreign-made item with PRC-controlled content.
The rules are `domain/extraterritorial.py`, their data `policy/extraterritorial.yaml` or the
file `STC_EXTRATERRITORIAL_RULES_PATH` names (loaded once at start-up by main.py). Stores and
publishes nothing."""

from __future__ import annotations

from pathlib import Path

from stc_common.auth.jwt import Principal
from stc_common.errors import FieldViolation, ValidationFailed

from stc_licensing import policy_files
from stc_licensing.domain import extraterritorial as et
from stc_licensing.service import commands, common
from stc_licensing.service.views import ReExportEvaluation
from stc_licensing.storage.ports import LicensingUnitOfWork

_RULES: tuple[et.DeMinimisRule, ...] | None = None


def configure_rules(path: str | Path | None) -> tuple[et.DeMinimisRule, ...]:
    """Use the rules of `path` (the bundled ones when empty); ValueError on a broken file."""
    global _RULES
    _RULES = policy_files.extraterritorial_rules(path)
    return _RULES


def rules() -> tuple[et.DeMinimisRule, ...]:
    """The rules in use."""
    return _RULES if _RULES is not None else configure_rules(None)


async def evaluate_re_export(*, uow: LicensingUnitOfWork, caller: Principal | None = None,
                             cmd: commands.EvaluateReExport) -> ReExportEvaluation:
    """Every rule's decision on the re-export on its day (today when none is given)."""
    day = cmd.on_date or common.today()
    try:
        outcomes = et.decide(et.ReExport(cmd.description, cmd.made_in, cmd.item_value_minor,
                                         cmd.content, day), rules())
    except ValueError as exc:  # the mapping checks the fields; kept a field error, never INTERNAL
        raise ValidationFailed(FieldViolation("item_value", str(exc))) from exc
    return ReExportEvaluation(outcomes)

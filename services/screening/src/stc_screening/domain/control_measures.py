"""The measure a PRC control-list designation imposes (ECL Art. 18; the Dual-use Regulations'
control-list articles): transactions with the party prohibited (PROHIBIT), restricted
(RESTRICT: the exporter may make a special-case application), or exports to it suspended
(SUSPEND). Kept in the entry's `programs` as "MEASURE:<name>" so that the stored entries and
their content hash carry it without a schema change; a control-list entry naming none is
PROHIBIT (the announcement's default reading), entries of other lists have none.
"""

from __future__ import annotations

from .lists import ListEntry, ListKind

MEASURES = ("PROHIBIT", "RESTRICT", "SUSPEND")
_PREFIX = "MEASURE:"


def _measure_of(programs: tuple[str, ...]) -> str:
    for program in programs:
        name = program.strip().upper()
        if name.startswith(_PREFIX) and name[len(_PREFIX):] in MEASURES:
            return name[len(_PREFIX):]
    return "PROHIBIT"


def control_measure(entry: ListEntry) -> str | None:
    """PROHIBIT, RESTRICT or SUSPEND for a control-list entry; None for other lists."""
    if entry.list_kind is not ListKind.CONTROL_LIST:
        return None
    return _measure_of(entry.programs)


def with_measure(programs: tuple[str, ...], measure: str | None) -> tuple[str, ...]:
    """`programs` with the measure program set to `measure`; unchanged when None or when the
    programs already mean it (so an entry sent back as read is a no-op, same content hash)."""
    if measure is None:
        return programs
    if measure not in MEASURES:
        raise ValueError(f"unknown control-list measure {measure!r}")
    if _measure_of(programs) == measure:
        return programs
    kept = tuple(p for p in programs if not p.strip().upper().startswith(_PREFIX))
    return kept + (_PREFIX + measure,)

"""Classification help (Art. 12(4)): ranked control-list candidates for an item, with the
reasons, as a job on the matcher thread."""

from __future__ import annotations

from stc_screening.domain.classification import Candidate, classify_item
from stc_screening.service.commands import ClassifyItem
from stc_screening.service.state import ScreeningState


async def classify(*, state: ScreeningState, cmd: ClassifyItem) -> list[Candidate]:
    """Ranked control-list candidates for an item (help for Art. 12(4)), on the matcher."""
    return await state.matcher.run(
        classify_item, list(state.control_items.values()), description=cmd.description,
        parameters=dict(cmd.parameters), hs_code=cmd.hs_code, limit=cmd.limit)

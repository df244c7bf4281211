"""The public list search (ECL Art. 18: the control list, watch list and unreliable entity
list are public, and so are the foreign lists screening holds): identifier, exact name,
words, then fuzzy, as a job on the matcher thread; without a query, every entry by id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stc_screening.domain.index import SearchResult
from stc_screening.domain.lists import ListEntry, ListKind
from stc_screening.domain.search import PUBLIC_SEARCH_THRESHOLD, matches_well
from stc_screening.service.commands import SearchListEntries
from stc_screening.service.state import ScreeningState

SEARCH_LIMIT = 1000  # search results a query may return (then paged)


@dataclass(frozen=True)
class SearchFound:
    """The public search's results (entries with score, matched name and kind), best first;
    ``matches_well`` tells the caller whether the best results deserve trust."""

    results: list[tuple[ListEntry, SearchResult | None]]
    matches_well: bool


def _sorted_entries(state: ScreeningState, kinds: Iterable[ListKind] | None
                    ) -> list[ListEntry]:
    wanted = set(kinds) if kinds is not None else None
    return sorted((e for e in state.index.entries() if wanted is None or e.list_kind in wanted),
                  key=lambda e: e.entry_id)


async def search_list_entries(*, state: ScreeningState, cmd: SearchListEntries) -> SearchFound:
    """Public list search (ECL Art. 18): identifier, exact name, words, then fuzzy; without
    a query every indexed entry (of the given lists), by id."""
    q = cmd.query.strip()
    if not q:
        entries = await state.matcher.run(_sorted_entries, state, cmd.kinds)
        return SearchFound([(e, None) for e in entries], True)
    found = await state.matcher.run(state.index.search, q, lists=cmd.kinds,
                                    fuzzy_threshold=PUBLIC_SEARCH_THRESHOLD, limit=SEARCH_LIMIT)
    results: list[tuple[ListEntry, SearchResult | None]] = []
    for r in found:
        entry = state.index.get(r.entry_id)
        if entry is not None:
            results.append((entry, r))
    return SearchFound(results, matches_well(r.strength for r in found))


def get_list_entry(*, state: ScreeningState, entry_id: str) -> ListEntry | None:
    """One indexed entry, or None."""
    return state.index.get(entry_id)

"""Public list search (SearchListEntries) over every shipped list: latency percentiles by
query kind (one word, a word prefix, a Han substring, pinyin, an identifier typed alone,
a whole name, a misspelt whole name) and how often the entry the query came from is found;
``well`` is the share of answers that say something on the lists matches well (some result
better than WEAK), which should be high for these and low for names that are not listed
(the ``unlisted`` row, generated names of every script).

Prints figures, passes nothing: ``.venv/bin/python bench/screening_search.py [--data DIR]
[--queries N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services/screening/src"), str(ROOT / "services/common/src")]

from stc_screening.domain.index import ScreeningIndex  # noqa: E402
from stc_screening.domain.search import search_form  # noqa: E402
from stc_screening.importers.bundle import load_lists  # noqa: E402
from stc_screening.testing.evaluation import build_labelled_sets  # noqa: E402


def _queries(entries, n: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in (
        "word", "prefix", "han_substring", "pinyin", "identifier", "whole_name", "typo",
        "unlisted")}
    for e in rng.sample(entries, min(len(entries), n * 4)):
        name = rng.choice(e.names)
        form = search_form(name)
        long_words = [w for w in form.words if len(w) >= 5]
        if long_words:
            w = rng.choice(long_words)
            out["word"].append((w, e.entry_id))
            out["prefix"].append((w[:4], e.entry_id))
        if form.han and len(form.han[0]) >= 3:
            run = form.han[0]
            i = rng.randrange(0, len(run) - 1)
            out["han_substring"].append((run[i:i + 2], e.entry_id))
            out["pinyin"].append((" ".join(form.pinyin[:2]), e.entry_id))
        if e.identifiers:
            out["identifier"].append((rng.choice(e.identifiers).value, e.entry_id))
        out["whole_name"].append((name, e.entry_id))
        if len(name) > 8:
            i = rng.randrange(1, len(name) - 1)
            out["typo"].append((name[:i] + name[i + 1:], e.entry_id))
    negatives = build_labelled_sets(entries).negatives
    out["unlisted"] = [(name, "") for name, _ in rng.sample(list(negatives), n)]
    return {k: v[:n] for k, v in out.items()}


def main() -> None:
    """Load, index, search, print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("STC_DATA_DIR",
                                                    str(ROOT.parent / "shared/data")))
    ap.add_argument("--queries", type=int, default=300, help="queries per kind")
    args = ap.parse_args()
    entries = load_lists(args.data)
    t0 = time.perf_counter()
    index = ScreeningIndex(entries)
    print(f"index: {len(index)} entries, {index.name_count} names, "
          f"built in {time.perf_counter() - t0:.2f}s")
    index.search("warm up")
    rng = random.Random(7)
    every: list[float] = []
    print(f"{'query kind':<14} {'n':>5} {'found':>7} {'top10':>7} {'well':>7} {'p50 ms':>8}"
          f" {'p95 ms':>8} {'max ms':>8} {'results':>8}")
    for kind, qs in _queries(entries, args.queries, rng).items():
        lat, found, top, sizes, well = [], 0, 0, [], 0
        for q, entry_id in qs:
            t = time.perf_counter()
            got = index.search(q)
            lat.append((time.perf_counter() - t) * 1000)
            ids = [r.entry_id for r in got]
            found += entry_id in ids
            top += entry_id in ids[:10]
            well += index.search_matches_well(got)
            sizes.append(len(ids))
        every += lat
        if not qs:
            continue
        lat.sort()
        print(f"{kind:<14} {len(qs):>5} {found / len(qs):>7.1%} {top / len(qs):>7.1%} "
              f"{well / len(qs):>7.1%} "
              f"{statistics.median(lat):>8.2f} {lat[int(0.95 * (len(lat) - 1))]:>8.2f} "
              f"{lat[-1]:>8.2f} {statistics.median(sizes):>8.0f}")
    every.sort()
    print(f"all {len(every)} queries: p50 {statistics.median(every):.2f} ms, "
          f"p95 {every[int(0.95 * (len(every) - 1))]:.2f} ms")


if __name__ == "__main__":
    main()

"""Screening accuracy and speed over every shipped list: recall@1, precision, F1,
false-positive rate, latency percentiles, index build time, memory, entries and names.

Prints figures, passes nothing: ``.venv/bin/python bench/screening_accuracy.py
[--data DIR] [--threshold T] [--show N] [--sample N] [--typo-per-cell N] [--typo-seed S]``.
The labelled sets come from ``stc_screening.testing.evaluation`` (the same builder as the unit
test). Also printed: recall@1 by typo class (deletion, insertion, substitution,
transposition) x length of the misspelt word (short 3-4, medium 5-8, long 9+ letters), and
the latency of screening names that are not listed (the common case, issue 14).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services/screening/src"), str(ROOT / "services/common/src")]

from stc_screening.domain.index import ScreeningIndex  # noqa: E402
from stc_screening.importers.bundle import load_lists  # noqa: E402
from stc_screening.testing.evaluation import (  # noqa: E402
    LENGTH_CLASSES,
    TYPO_CLASSES,
    Report,
    build_labelled_sets,
    build_typo_class_cases,
    evaluate,
    evaluate_baseline,
    sample,
)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def main() -> None:
    """Load, index, evaluate, print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("STC_DATA_DIR",
                                                    str(ROOT.parent / "shared/data")))
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--show", type=int, default=10, help="misses and false positives to print")
    ap.add_argument("--baseline", action="store_true",
                    help="also run a whole-name Jaro-Winkler baseline on a sample")
    ap.add_argument("--sample", type=int, default=0,
                    help="at most N positives per set (0: all), to keep a run short")
    ap.add_argument("--typo-per-cell", type=int, default=300,
                    help="queries per typo class x word length")
    ap.add_argument("--typo-seed", type=int, default=None,
                    help="seed of the typo-class set (another seed: a fresh held-out set)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    entries = load_lists(args.data)
    t_parse = time.perf_counter() - t0
    sets = build_labelled_sets(entries)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    index = ScreeningIndex(entries)
    t_build = time.perf_counter() - t0
    rss1 = _rss_mb()
    for probe in sets.probes:
        index.add(probe)
    positives = sample(sets.positives, args.sample) if args.sample else sets.positives
    report = evaluate(index, positives, sets.negatives, args.threshold)
    kw = {} if args.typo_seed is None else {"seed": args.typo_seed}
    typo_cases = build_typo_class_cases(entries, per_cell=args.typo_per_cell, **kw)
    typos = evaluate(index, typo_cases, (), args.threshold)

    print(f"entries loaded          {len(entries)} (+{len(sets.probes)} synthetic probes)")
    print(f"names indexed           {index.name_count}")
    print(f"parse time              {t_parse:.2f} s")
    print(f"index build time        {t_build:.2f} s")
    print(f"index memory (RSS)      {rss1 - rss0:.0f} MB (process {rss1:.0f} MB)")
    print(f"threshold               {report.threshold:.2f}")
    print(f"positives / negatives   {report.positives} / {report.negatives}")
    print(f"recall@1                {report.recall_at_1:.4f}")
    print(f"precision               {report.precision:.4f}")
    print(f"F1                      {report.f1:.4f}")
    print(f"false-positive rate     {report.false_positive_rate:.4f}")
    print(f"latency p50/p95/p99     {report.latency(50):.2f} / {report.latency(95):.2f} / "
          f"{report.latency(99):.2f} ms")
    print("recall@1 by set         " + ", ".join(f"{k} {v:.4f}" for k, v in
                                                report.category_recall().items()))
    print("FPR by set              " + ", ".join(f"{k} {v:.4f}" for k, v in
                                                report.category_fpr().items()))
    neg = report.negative_latencies_ms
    print(f"unlisted names: {len(neg)} screened, p50 {_pct(neg, 50):.2f} ms, "
          f"p95 {_pct(neg, 95):.2f} ms, p99 {_pct(neg, 99):.2f} ms")
    rec = typos.category_recall()
    cnt = {k: v[1] for k, v in typos.by_category.items()}
    print(f"recall@1 by typo class x word length ({len(typo_cases)} queries, one edit in one "
          "word, other words exact):")
    print(f"  {'':14}" + "".join(f"{lc:>16}" for lc in LENGTH_CLASSES))
    for op in TYPO_CLASSES:
        cells = []
        for lc in LENGTH_CLASSES:
            k = f"{op}/{lc}"
            cells.append(f"{rec[k]:.4f} (n={cnt[k]})" if k in rec else "-")
        print(f"  {op:14}" + "".join(f"{c:>16}" for c in cells))
    print(f"  all typo classes recall@1 {typos.recall_at_1:.4f}")
    if args.baseline:
        positives = sample(sets.positives, per_category=500)
        negatives = list(sets.negatives[::10])
        ours = evaluate(index, positives, negatives, args.threshold)
        base = evaluate_baseline(index.entries(), positives, negatives, threshold=0.9)
        print(f"comparison on a sample ({len(positives)} positives, {len(negatives)} negatives):")
        _row("this matcher", ours)
        _row("Jaro-Winkler 0.90", base)
    for case, top in typos.missed[: args.show]:
        print(f"  miss  {case.category:20} {case.query!r} -> expected {case.expected}, "
              f"got {top or 'nothing'}")
    for case, top in report.missed[: args.show]:
        print(f"  miss  {case.category:14} {case.query!r} -> expected {case.expected}, "
              f"got {top or 'nothing'}")
    for name, entry_id, entry_name, score in report.false_positives[: args.show]:
        print(f"  fp    {name!r} ~ {entry_name!r} ({entry_id}) {score:.3f}")


def _pct(data: list[float], pct: float) -> float:
    if not data:
        return 0.0
    data = sorted(data)
    return data[min(len(data) - 1, int(round(pct / 100 * (len(data) - 1))))]


def _row(label: str, r: Report) -> None:
    cats = ", ".join(f"{k} {v:.3f}" for k, v in r.category_recall().items())
    print(f"  {label:18} recall@1 {r.recall_at_1:.4f}  FPR {r.false_positive_rate:.4f}  "
          f"p50 {r.latency(50):.2f} ms  [{cats}]")


if __name__ == "__main__":
    main()

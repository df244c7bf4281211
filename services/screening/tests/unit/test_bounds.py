"""The candidate bound of the index (issue 14): a name pair is only skipped when it cannot
score what it would need, so the bound must never be below the exact score. Checked over
every candidate of listed names, their typos, legal-form variants and unlisted names of
every script, against the whole shipped index; and screening with the bound gives the same
hits as comparing every candidate exactly."""

from __future__ import annotations

import random

from stc_screening.domain import index as ix
from stc_screening.domain.index import CANDIDATES, ScreeningIndex, _QueryBound
from stc_screening.domain.matching import Party, compare_names
from stc_screening.domain.normalise import normalise_name
from stc_screening.testing.evaluation import LabelledSets


def _queries(labelled: LabelledSets, n: int) -> list[str]:
    rng = random.Random(14)
    pos = [c.query for c in rng.sample(labelled.positives, n)]
    neg = [name for name, _ in rng.sample(labelled.negatives, n)]
    extra = ["Nordic Precision Harbour 515917 GmbH", "Rosoboronexport OAO", "Huawei Technologies Co Ltd",
             "华为技术有限公司", "AVUAR OOO", "Golden Eagle Shipping Inm", "Zhang Xiaoming",
             "BIN LADIN Usama", "Mohammad Bagher Zolghadr", "The Tnhe Group Holdings"]
    return pos + neg + extra


def test_bound_is_never_below_the_exact_score(full_index: ScreeningIndex, labelled: LabelledSets):
    pairs = 0
    for q in _queries(labelled, 150):
        nq = normalise_name(q)
        if not nq.units:
            continue
        qb = _QueryBound(nq)
        for nid in full_index._candidates([nq], CANDIDATES):
            rec = full_index._names[nid]
            if rec is None:
                continue
            exact = compare_names(nq, rec.norm)[0]
            # with a floor of 0 the bound runs every stage (the unit masks included)
            assert qb.bound(rec, 0.0) >= exact, (q, rec.name, exact)
            # with the floor just above the exact score an early stop may answer lower,
            # but never lower than the floor unless the exact score is below it too
            floor = min(1.0, exact + 0.05)
            b = qb.bound(rec, floor)
            assert b >= exact or b >= floor, (q, rec.name, exact, b)
            pairs += 1
    assert pairs > 10_000


def test_screening_with_the_bound_equals_comparing_every_candidate(
        full_index: ScreeningIndex, labelled: LabelledSets, monkeypatch):
    queries = _queries(labelled, 60)
    with_bound = [[(h.entry_id, h.score) for h in full_index.screen(Party(q))] for q in queries]

    class NoBound(_QueryBound):
        def bound(self, rec, floor):  # noqa: ARG002 - the exact comparison for every pair
            return 2.0

    monkeypatch.setattr(ix, "_QueryBound", NoBound)
    exact = [[(h.entry_id, h.score) for h in full_index.screen(Party(q))] for q in queries]
    assert with_bound == exact
    assert sum(1 for hits in exact if hits) > 40

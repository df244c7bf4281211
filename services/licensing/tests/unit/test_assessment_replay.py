"""Art. 13(7) and policy versions: each assessment keeps a snapshot of what it read (the
exporter's record - ICP, audits, export history, qualification - its credit standing, the
screening, the application, the day) and the policy version it ran under, by content hash, so
an old inputs hash can be re-checked after the record, the standing and the policy changed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from stc_common.errors import NotFound
from stc_licensing import service
from stc_licensing.domain.assessment import AssessmentSnapshot
from stc_licensing.domain.canonical import canonical_json, from_plain
from stc_licensing.domain.inputs import CreditLevel, CreditStanding
from stc_licensing.domain.policy import Policy
from stc_licensing.policy_files import load_bundled_policies


def test_snapshot_and_policy_read_back_equal(b):
    op = b.operator()
    snap = AssessmentSnapshot(b.application(), op, b.ScreeningOutcome("s-1"),
                              b.standing(), dt.date(2026, 3, 2))
    back = from_plain(AssessmentSnapshot, json.loads(canonical_json(snap)))
    assert back == snap and canonical_json(back) == canonical_json(snap)
    pol = b.policy()
    again = from_plain(Policy, json.loads(canonical_json(pol)))
    assert again == pol and again.content_hash == pol.content_hash


async def test_art13_7_old_assessment_replays_after_the_record_standing_and_policy_changed(
        b, monkeypatch, tmp_path):
    (bundled,) = load_bundled_policies()
    monkeypatch.setattr(service.assessment, "_POLICIES", (bundled,))
    uow = b.FakeUnitOfWork()
    await b.assessed_application(uow)
    (assessment_id,) = list(uow.store.assessments)
    stored = uow.store.assessments[assessment_id]
    assert bundled.content_hash in uow.store.policy_versions
    assert json.loads(stored["inputs"])["operator"]["uscc"] == b.USCC

    # afterwards: the exporter's record and standing change, and a new policy is in force
    op, at = uow.store.operators[b.USCC]
    uow.store.operators[b.USCC] = (replace(op, licensed_exports=op.licensed_exports + 7,
                                          established_end_users=frozenset({"x"})), at)
    uow.store.standings[b.USCC] = (CreditStanding(b.USCC, CreditLevel.PENALISED, 1,
                                                 record_refs=("rec-9",)), None)
    csv = tmp_path / "embargoes.csv"
    csv.write_text("country,name,scope,resolution,since\nDE,Germany,full,TEST 1,2000-01-01\n")
    service.configure_policies(csv)
    assert service.policies()[0].content_hash != bundled.content_hash

    r = await service.replay_assessment(uow=uow, assessment_id=assessment_id)
    assert r.reproduced and r.inputs_hash == stored["inputs_hash"]
    assert r.recommendation == stored["recommendation"] and r.policy_version == "2026.1"
    # today's inputs would give another hash: the snapshot is what made the replay possible
    snap = from_plain(AssessmentSnapshot, json.loads(stored["inputs"]))
    now_snap = replace(snap, operator=uow.store.operators[b.USCC][0],
                       standing=uow.store.standings[b.USCC][0])
    assert now_snap.inputs_hash(bundled) != stored["inputs_hash"]
    assert snap.inputs_hash(service.policies()[0]) != stored["inputs_hash"]

    # a tampered snapshot no longer reproduces its hash
    tampered = json.loads(stored["inputs"])
    tampered["operator"]["licensed_exports"] += 1
    stored["inputs"] = json.dumps(tampered)
    assert not (await service.replay_assessment(uow=uow, assessment_id=assessment_id)).reproduced
    with pytest.raises(NotFound):
        await service.replay_assessment(uow=uow, assessment_id="nope")

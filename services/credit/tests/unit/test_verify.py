"""Log verifier: a clean log passes; each tamper is caught and reported where it happened."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_credit.domain.canonical import encode_entry, penalty_entry
from stc_credit.domain.checkpoint import Checkpoint, SignerKey, sign_checkpoint
from stc_credit.domain.merkle import MerkleTree, leaf_hash
from stc_credit.domain.publication import published_view
from stc_credit.verify import ProblemKind, verify_log

ORIGIN = "stc.test/credit-log"
N = 12


@pytest.fixture
def log(make_record):
    """N canonical entries, and a checkpoint signed after each append (as the feed does)."""
    entries = []
    for i in range(N):
        record = make_record(
            record_id=f"rec-{i}",
            decision_no=f"商务部行罚〔2026〕{i}号",
            decision_date=dt.date(2026, 9, 1) + dt.timedelta(days=i),
            effective_date=dt.date(2026, 10, 8) + dt.timedelta(days=i),
        )
        entries.append(
            encode_entry(penalty_entry(i, published_view(record, dt.date(2026, 10, 20))))
        )
    return entries


def checkpoints_for(entries, signer, sizes=None):
    tree = MerkleTree.from_leaves(entries)
    sizes = range(1, len(entries) + 1) if sizes is None else sizes
    return [sign_checkpoint(Checkpoint(ORIGIN, s, tree.root(s)), signer) for s in sizes]


def served_proofs(entries):
    """Inclusion proofs as the live log serves them: from its own stored node hashes."""
    tree = MerkleTree.from_leaves(entries)
    return tree.inclusion_proof


def kinds(report):
    return {p.kind for p in report.problems}


def test_clean_log_verifies(log, signer):
    cps = checkpoints_for(log, signer)
    report = verify_log(log, cps, signer.verifier(), stored_checkpoint=cps[4], origin=ORIGIN)
    assert report.ok, report.problems
    assert report.log_size == N and report.proven == N and report.unproven_from == N
    assert report.checkpoints_verified == N and report.latest.size == N
    assert report.root == MerkleTree(leaf_hash(e) for e in log).root()


def test_verifier_key_as_string(log, signer):
    report = verify_log(log, checkpoints_for(log, signer, [N]), signer.verifier().encode())
    assert report.ok


def test_changed_byte_in_a_record_is_located(log, signer):
    cps = checkpoints_for(log, signer)
    stored = cps[3]  # verifier's earlier checkpoint at size 4
    tampered = list(log)
    tampered[6] = tampered[6].replace(b'"fine_fen":60000000', b'"fine_fen":60000001')
    assert tampered[6] != log[6]
    report = verify_log(tampered, cps, signer.verifier(), stored_checkpoint=stored)
    assert not report.ok
    # still canonical JSON, so only the tree catches it: first mismatch at checkpoint size 7
    assert ProblemKind.MALFORMED_RECORD not in kinds(report)
    assert report.indices(ProblemKind.LEAF_MISMATCH) == [6]
    assert "entry 6" in report.of_kind(ProblemKind.LEAF_MISMATCH)[0].detail
    assert report.indices(ProblemKind.CHECKPOINT_ROOT_MISMATCH) == list(range(6, N))
    # The stored head (size 4) predates the change, but the consistency proof to the latest
    # signed head is built from the altered entries, so it cannot reach the signed root.
    assert report.indices(ProblemKind.CONSISTENCY_FAILED) == [4]
    # with proofs served by the live log (its stored node hashes), exactly entry 6 fails
    served = verify_log(tampered, cps, signer.verifier(), inclusion_proofs=served_proofs(log))
    assert served.indices(ProblemKind.INCLUSION_FAILED) == [6]
    assert served.proven == N - 1


def test_changed_byte_that_breaks_the_form_is_reported_as_malformed(log, signer):
    cps = checkpoints_for(log, signer)
    tampered = list(log)
    tampered[2] = tampered[2].replace(b'"seq":2', b'"seq" :2')
    report = verify_log(tampered, cps, signer.verifier())
    assert report.indices(ProblemKind.MALFORMED_RECORD) == [2]
    assert report.indices(ProblemKind.LEAF_MISMATCH) == [2]
    assert ProblemKind.RECORD_MISSING not in kinds(report)


def test_reordered_records_are_caught(log, signer):
    cps = checkpoints_for(log, signer)
    swapped = list(log)
    swapped[3], swapped[8] = swapped[8], swapped[3]
    report = verify_log(swapped, cps, signer.verifier(), inclusion_proofs=served_proofs(log))
    assert report.indices(ProblemKind.OUT_OF_ORDER) == [3, 8]
    assert report.indices(ProblemKind.LEAF_MISMATCH) == [3]
    assert report.indices(ProblemKind.INCLUSION_FAILED) == [3, 8]


def test_truncated_log_is_caught(log, signer):
    cps = checkpoints_for(log, signer)
    truncated = log[:9]
    report = verify_log(truncated, cps, signer.verifier(), stored_checkpoint=cps[-1])
    assert report.indices(ProblemKind.CHECKPOINT_BEYOND_LOG) == [9, 10, 11]
    assert report.indices(ProblemKind.LOG_TRUNCATED) == [9]
    assert "12 entries, the live log 9" in report.of_kind(ProblemKind.LOG_TRUNCATED)[0].detail
    # what is left is still proven against the checkpoint of size 9
    assert report.proven == 9 and ProblemKind.INCLUSION_FAILED not in kinds(report)


def test_truncation_without_any_later_checkpoint_is_caught_by_the_stored_one(log, signer):
    stored = checkpoints_for(log, signer, [N])[0]
    report = verify_log(log[:7], checkpoints_for(log[:7], signer, [7]), signer.verifier(), stored)
    assert report.indices(ProblemKind.LOG_TRUNCATED) == [7]


def test_record_dropped_in_the_middle_is_caught(log, signer):
    cps = checkpoints_for(log, signer)
    dropped = log[:5] + log[6:]
    report = verify_log(dropped, cps, signer.verifier(), stored_checkpoint=cps[2])
    assert report.indices(ProblemKind.RECORD_MISSING) == [5]
    assert ProblemKind.OUT_OF_ORDER not in kinds(report)
    assert report.indices(ProblemKind.LEAF_MISMATCH) == [5]
    assert report.indices(ProblemKind.CHECKPOINT_BEYOND_LOG) == [11]
    assert report.indices(ProblemKind.CONSISTENCY_FAILED) == [3]


def test_duplicated_record_is_caught(log, signer):
    cps = checkpoints_for(log, signer)
    report = verify_log(log[:4] + [log[3]] + log[4:], cps, signer.verifier())
    assert report.indices(ProblemKind.RECORD_DUPLICATED) == [4]
    assert report.indices(ProblemKind.LEAF_MISMATCH) == [4]


def test_checkpoint_forged_with_another_key_is_caught(log, signer):
    cps = checkpoints_for(log, signer)
    forger = SignerKey(signer.name, bytes(range(100, 132)))  # same name, other key
    forged_log = list(log)
    forged_log[1] = forged_log[1].replace(b'"fine_fen":60000000', b'"fine_fen":50000000')
    forged = sign_checkpoint(
        Checkpoint(ORIGIN, N, MerkleTree.from_leaves(forged_log).root()), forger
    )
    report = verify_log(forged_log, [*cps[:1], forged], signer.verifier())
    invalid = report.of_kind(ProblemKind.CHECKPOINT_INVALID)
    assert [p.index for p in invalid] == [1] and "no_signature_by_key" in invalid[0].detail
    # the forged head is not used: only the honest size-1 checkpoint counts
    assert report.latest.size == 1 and report.unproven_from == 1
    # and a forged stored checkpoint is refused too
    report = verify_log(log, cps, signer.verifier(), stored_checkpoint=forged)
    assert report.indices(ProblemKind.STORED_CHECKPOINT_INVALID) == [None]


def test_checkpoint_with_altered_body_is_caught(log, signer):
    cps = checkpoints_for(log, signer, [N])
    altered = cps[0].replace(f"\n{N}\n", f"\n{N - 1}\n")
    report = verify_log(log, [altered], signer.verifier())
    assert report.indices(ProblemKind.CHECKPOINT_INVALID) == [0]
    assert "bad_signature" in report.of_kind(ProblemKind.CHECKPOINT_INVALID)[0].detail
    assert report.indices(ProblemKind.NO_VALID_CHECKPOINT) == [None]


def test_checkpoint_of_another_origin_is_caught(log, signer):
    other = sign_checkpoint(Checkpoint("other.log", N, MerkleTree.from_leaves(log).root()), signer)
    report = verify_log(log, [other], signer.verifier(), origin=ORIGIN)
    assert report.indices(ProblemKind.CHECKPOINT_ORIGIN) == [0]


def test_sparse_checkpoints_bound_the_altered_range(log, signer):
    cps = checkpoints_for(log, signer, [4, 8, 12])
    tampered = list(log)
    tampered[5] = tampered[5].replace(b"rec-5", b"rec-X")
    report = verify_log(tampered, cps, signer.verifier())
    leaf = report.of_kind(ProblemKind.LEAF_MISMATCH)[0]
    assert leaf.index == 4 and "one of entries 4..7" in leaf.detail
    assert report.indices(ProblemKind.CHECKPOINT_ROOT_MISMATCH) == [1, 2]


def test_entries_after_the_latest_checkpoint_are_not_yet_proven(log, signer):
    report = verify_log(log, checkpoints_for(log, signer, [10]), signer.verifier())
    assert report.ok and report.proven == 10 and report.unproven_from == 10

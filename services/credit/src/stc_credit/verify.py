"""Core of the publication-log verifier (the CLI command calls `verify_log`).

Given the log's canonical entry bytes in log order, the signed checkpoints published on
the feed, the log's verifier key and optionally a checkpoint the verifier stored earlier,
`verify_log` recomputes every leaf hash and tree head and reports each problem found with
its position. It checks:

1. every entry is canonical `stc-credit-log/1` bytes and carries `seq` = its position
   (catches a changed byte that breaks the form, reordered, dropped or duplicated entries);
2. every checkpoint note: signature by the verifier key, origin, size within the log, and
   root hash equal to the head recomputed over that many entries. Between the largest
   matching and the smallest mismatching checkpoint lies the first altered entry
   (`LEAF_MISMATCH`; exact when checkpoints are published per entry);
3. the stored checkpoint: signature, not larger than the live log (truncation or
   rollback), and an RFC 6962 consistency proof from it to the latest checkpoint;
4. every entry covered by the latest checkpoint: its inclusion proof against that
   checkpoint's root. Proofs come from `inclusion_proofs(index, tree_size)` when given
   (as served by the live log's GetPublishedRecord, computed from its stored node hashes,
   so a changed entry fails alone); otherwise they are built from the recomputed tree.

Pure: no I/O. Quadratic nothing: O(n log² n) hashing for n entries.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stc_credit.domain.canonical import CanonicalError, decode_entry
from stc_credit.domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    VerifierKey,
    parse_and_verify_checkpoint,
    parse_verifier_key,
)
from stc_credit.domain.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion


class ProblemKind(enum.StrEnum):
    """What went wrong; `Problem.index` says where (meaning given per kind)."""

    MALFORMED_RECORD = "malformed_record"  # index: log position
    OUT_OF_ORDER = "out_of_order"  # index: log position holding another entry's seq
    RECORD_MISSING = "record_missing"  # index: the seq that no entry carries
    RECORD_DUPLICATED = "record_duplicated"  # index: log position of the repeat
    CHECKPOINT_INVALID = "checkpoint_invalid"  # index: checkpoint number; bad note or signature
    CHECKPOINT_ORIGIN = "checkpoint_origin"  # index: checkpoint number; another log's origin
    CHECKPOINT_BEYOND_LOG = "checkpoint_beyond_log"  # index: checkpoint number; log truncated
    CHECKPOINT_ROOT_MISMATCH = "checkpoint_root_mismatch"  # index: checkpoint number
    LEAF_MISMATCH = "leaf_mismatch"  # index: first log position that may be altered
    NO_VALID_CHECKPOINT = "no_valid_checkpoint"  # index: None
    STORED_CHECKPOINT_INVALID = "stored_checkpoint_invalid"  # index: None
    LOG_TRUNCATED = "log_truncated"  # index: live log size; stored checkpoint is larger
    CONSISTENCY_FAILED = "consistency_failed"  # index: stored checkpoint's size
    INCLUSION_FAILED = "inclusion_failed"  # index: log position
    UNSIGNED_SIZE = "unsigned_size"  # index: the size the server claimed without signing it


@dataclass(frozen=True)
class Problem:
    """One problem: its kind, where, and an explanation."""

    kind: ProblemKind
    index: int | None
    detail: str


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of `verify_log`.

    `latest` is the largest checkpoint whose signature verified; `proven` counts entries
    whose inclusion proof verified against it; `unproven_from` is the first position not
    yet covered by any valid checkpoint (equal to `log_size` when all are covered).
    """

    log_size: int
    root: bytes
    latest: Checkpoint | None
    checkpoints_verified: int
    proven: int
    unproven_from: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def of_kind(self, kind: ProblemKind) -> list[Problem]:
        """The problems of one kind."""
        return [p for p in self.problems if p.kind is kind]

    def indices(self, kind: ProblemKind) -> list[int | None]:
        """The indices reported for one kind."""
        return [p.index for p in self.problems if p.kind is kind]


def _check_sequence(records: Sequence[bytes], problems: list[Problem]) -> None:
    seqs: list[tuple[int, int]] = []  # (position, seq)
    malformed: set[int] = set()
    for position, data in enumerate(records):
        try:
            seqs.append((position, decode_entry(data).seq))
        except CanonicalError as exc:
            malformed.add(position)
            problems.append(Problem(ProblemKind.MALFORMED_RECORD, position, str(exc)))
    counts = Counter(seq for _, seq in seqs)
    seen: set[int] = set()
    unique: list[tuple[int, int]] = []
    for position, seq in seqs:
        if seq in seen:
            problems.append(
                Problem(
                    ProblemKind.RECORD_DUPLICATED,
                    position,
                    f"seq {seq} appears {counts[seq]} times",
                )
            )
            continue
        seen.add(seq)
        unique.append((position, seq))
    # Entries in log order must carry increasing seqs; a position whose seq differs from
    # the sorted order holds another entry's place (a swap flags exactly both positions).
    ordered = sorted(seq for _, seq in unique)
    for (position, seq), expected in zip(unique, ordered, strict=True):
        if seq != expected:
            problems.append(
                Problem(ProblemKind.OUT_OF_ORDER, position, f"position {position} holds seq {seq}")
            )
    top = max(len(records), max(seen, default=-1) + 1)
    for seq in range(top):
        if seq not in seen and seq not in malformed:
            problems.append(Problem(ProblemKind.RECORD_MISSING, seq, f"no entry carries seq {seq}"))


def verify_log(
    records_canonical_bytes: Sequence[bytes],
    checkpoints: Sequence[str],
    verifier_key: VerifierKey | str,
    stored_checkpoint: str | None = None,
    *,
    origin: str | None = None,
    inclusion_proofs: Callable[[int, int], Sequence[bytes]] | None = None,
) -> VerificationReport:
    """Verify the publication log; see the module docstring for every check made.

    `origin`, when given, is the log identity every checkpoint must carry.
    """
    problems: list[Problem] = []
    try:
        key = parse_verifier_key(verifier_key) if isinstance(verifier_key, str) else verifier_key
    except CheckpointError as exc:
        raise ValueError(f"verifier key: {exc}") from exc

    _check_sequence(records_canonical_bytes, problems)
    tree = MerkleTree(leaf_hash(data) for data in records_canonical_bytes)
    n = tree.size

    valid: list[Checkpoint] = []
    matching_sizes: list[int] = []
    mismatching_sizes: list[int] = []
    for number, note in enumerate(checkpoints):
        try:
            cp = parse_and_verify_checkpoint(note, key)
        except CheckpointError as exc:
            problems.append(Problem(ProblemKind.CHECKPOINT_INVALID, number, str(exc)))
            continue
        if origin is not None and cp.origin != origin:
            problems.append(
                Problem(
                    ProblemKind.CHECKPOINT_ORIGIN,
                    number,
                    f"origin {cp.origin!r}, expected {origin!r}",
                )
            )
            continue
        valid.append(cp)
        if cp.size > n:
            problems.append(
                Problem(
                    ProblemKind.CHECKPOINT_BEYOND_LOG,
                    number,
                    f"checkpoint signs {cp.size} entries, the log holds {n}: entries "
                    f"{n}..{cp.size - 1} are gone",
                )
            )
        elif tree.root(cp.size) != cp.root:
            mismatching_sizes.append(cp.size)
            problems.append(
                Problem(
                    ProblemKind.CHECKPOINT_ROOT_MISMATCH,
                    number,
                    f"root over the first {cp.size} entries differs from the signed root",
                )
            )
        else:
            matching_sizes.append(cp.size)

    if mismatching_sizes:
        bad = min(mismatching_sizes)
        good = max((s for s in matching_sizes if s < bad), default=0)
        where = f"entry {good}" if bad - good == 1 else f"one of entries {good}..{bad - 1}"
        problems.append(Problem(ProblemKind.LEAF_MISMATCH, good, f"first altered entry is {where}"))

    if not valid:
        problems.append(Problem(ProblemKind.NO_VALID_CHECKPOINT, None, "no checkpoint verified"))
    latest = max(valid, key=lambda c: c.size, default=None)
    within = [c for c in valid if c.size <= n]
    head = max(within, key=lambda c: c.size, default=None)

    if stored_checkpoint is not None:
        _check_stored(stored_checkpoint, key, origin, tree, head, problems)

    proven = 0
    if head is not None:
        for index in range(head.size):
            proof = (
                inclusion_proofs(index, head.size)
                if inclusion_proofs is not None
                else tree.inclusion_proof(index, head.size)
            )
            if verify_inclusion(tree.leaf_hash(index), index, head.size, proof, head.root):
                proven += 1
            else:
                problems.append(
                    Problem(
                        ProblemKind.INCLUSION_FAILED,
                        index,
                        f"entry {index} is not proven in the checkpoint of size {head.size}",
                    )
                )

    return VerificationReport(
        log_size=n,
        root=tree.root(),
        latest=latest,
        checkpoints_verified=len(valid),
        proven=proven,
        unproven_from=head.size if head is not None else 0,
        problems=tuple(problems),
    )


def _check_stored(
    note: str,
    key: VerifierKey,
    origin: str | None,
    tree: MerkleTree,
    head: Checkpoint | None,
    problems: list[Problem],
) -> None:
    try:
        stored = parse_and_verify_checkpoint(note, key)
    except CheckpointError as exc:
        problems.append(Problem(ProblemKind.STORED_CHECKPOINT_INVALID, None, str(exc)))
        return
    if origin is not None and stored.origin != origin:
        problems.append(
            Problem(ProblemKind.STORED_CHECKPOINT_INVALID, None, f"origin {stored.origin!r}")
        )
        return
    if stored.size > tree.size:
        problems.append(
            Problem(
                ProblemKind.LOG_TRUNCATED,
                tree.size,
                f"stored checkpoint has {stored.size} entries, the live log {tree.size}",
            )
        )
        return
    # Prove the stored head is a prefix of the latest signed head (or, with none, of the
    # recomputed log) with a proof built from the live log's entries.
    new_size, new_root = (head.size, head.root) if head is not None else (tree.size, tree.root())
    if stored.size > new_size:
        problems.append(
            Problem(
                ProblemKind.LOG_TRUNCATED,
                new_size,
                f"stored checkpoint has {stored.size} entries, the latest checkpoint {new_size}",
            )
        )
        return
    proof = tree.consistency_proof(stored.size, new_size)
    if not verify_consistency(stored.size, new_size, stored.root, new_root, proof):
        problems.append(
            Problem(
                ProblemKind.CONSISTENCY_FAILED,
                stored.size,
                f"the live log is not an extension of the stored checkpoint ({stored.size} "
                f"entries) up to size {new_size}",
            )
        )

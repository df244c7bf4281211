"""The `verify` command: fetch the live log through the public RPCs and run `verify_log`.

Steps: GetCheckpoint (the latest signed note); GetPublishedRecord for every entry up to
that tree size (canonical bytes and the server's inclusion proof); GetCheckpoint for every
smaller size (a checkpoint is signed per append, so a changed entry is pinned exactly, and a
checkpoint that disagrees with the entries is reported); with `--checkpoint`,
GetConsistencyProof from the stored checkpoint's size to the latest, checked against both
signed roots. Then `verify_log` recomputes every leaf hash and tree head from the bytes
and checks every signature, proof and the entries' form and order. Only the verifier key
given on the command line is trusted, never the one the server reports; likewise the
origin (`--origin`, or the stored checkpoint's) and the tree size (the signed checkpoint's;
the response's unsigned `tree_size` must agree with it, and nothing beyond `--max-entries`
is fetched), so a server answering "empty" or "10^12 entries" is caught, not believed.
Exit code 0 when nothing is wrong, 1 when problems were found, 2 when the log is unreachable.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import grpc
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc_common.grpc.client import aio_channel

from stc_credit.domain.checkpoint import Checkpoint, CheckpointError, parse_and_verify_checkpoint
from stc_credit.domain.merkle import verify_consistency
from stc_credit.verify import Problem, ProblemKind, VerificationReport, verify_log

#: Entries fetched at most (a sane bound on what a server can make the verifier read).
DEFAULT_MAX_ENTRIES = 1_000_000


@dataclass
class Outcome:
    """What the command found: the library's report plus the server-proof checks."""

    report: VerificationReport | None
    extra: list[Problem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    latest_note: str = ""

    @property
    def problems(self) -> list[Problem]:
        """Every problem found."""
        return [*(self.report.problems if self.report else ()), *self.extra]


async def check_live_log(
    target: str,
    verifier_key: str,
    stored_note: str | None = None,
    origin: str | None = None,
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> Outcome:
    """Fetch and verify the log served at `target` (host:port).

    The origin is `origin`, else the stored checkpoint's (signed); never the server's.
    ValueError when neither is given or the signed log is larger than `max_entries`.
    """
    stored_cp = _verified(stored_note, verifier_key) if stored_note is not None else None
    if origin is None:
        if stored_cp is None:
            raise ValueError(
                "the log's origin is needed: give --origin, or --checkpoint with a checkpoint "
                "saved earlier (the server's own answer is not trusted)"
            )
        origin = stored_cp.origin
    out = Outcome(None)
    async with aio_channel(target) as channel:  # TLS when STC_TLS_CA_FILE is set
        stub = pb_grpc.CreditServiceStub(channel)
        try:
            head = await stub.GetCheckpoint(pb.GetCheckpointRequest(), timeout=30)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            out.lines.append("the server answers that the log is empty (no checkpoint)")
            if stored_note is not None:  # something was signed before: it is gone now
                out.extra.append(
                    Problem(
                        ProblemKind.LOG_TRUNCATED, 0, "the stored checkpoint's entries are all gone"
                    )
                )
            else:  # an unsigned "empty" proves nothing: a hidden log would answer the same
                out.extra.append(Problem(
                    ProblemKind.NO_VALID_CHECKPOINT, None,
                    "no signed checkpoint: an empty log cannot be told from a hidden one "
                    "(verify again once the first record is published)",
                ))  # fmt: skip
            return out
        size = _size_to_fetch(head, verifier_key, origin, max_entries, out)
        out.latest_note = head.note
        out.lines.append(f"latest checkpoint: origin {origin!r}, tree size {size}")
        entries: list[bytes] = []
        for index in range(size):
            r = await stub.GetPublishedRecord(
                pb.GetPublishedRecordRequest(leaf_index=index, tree_size=size), timeout=30
            )
            entries.append(r.canonical)
        out.lines.append(f"fetched {len(entries)} entries")
        notes = []
        for tree_size in range(1, size):  # one checkpoint per append: pins a change exactly
            try:
                r_cp = await stub.GetCheckpoint(pb.GetCheckpointRequest(tree_size=tree_size))
            except grpc.aio.AioRpcError as exc:
                if exc.code() is not grpc.StatusCode.NOT_FOUND:
                    raise
                continue
            notes.append(r_cp.note)
        notes.append(head.note)
        out.lines.append(f"fetched {len(notes)} signed checkpoints")
        # The server's inclusion proofs against the head verify_log will check: the largest
        # checkpoint that verifies under the given key and fits the fetched log.
        head_size = _head_size(notes, verifier_key, origin, len(entries))
        proofs: dict[int, list[bytes]] = {}
        for index in range(head_size):
            r = await stub.GetPublishedRecord(
                pb.GetPublishedRecordRequest(leaf_index=index, tree_size=head_size), timeout=30
            )
            proofs[index] = list(r.inclusion_proof)
        out.lines.append(f"fetched {len(proofs)} inclusion proofs for tree size {head_size}")
        if stored_note is not None:
            await _server_consistency(stub, stored_note, head.note, verifier_key, out)
    out.report = verify_log(
        entries, notes, verifier_key, stored_note, origin=origin,
        inclusion_proofs=lambda i, n: proofs[i] if n == head_size else [],
    )  # fmt: skip
    rep = out.report
    if rep.unproven_from < rep.log_size:
        out.extra.append(
            Problem(ProblemKind.NO_VALID_CHECKPOINT, rep.unproven_from,
                    f"entries {rep.unproven_from}..{rep.log_size - 1} are covered by no valid "
                    "checkpoint (every append is signed, so these were not)")
        )  # fmt: skip
    out.lines.append(
        f"checked: {rep.log_size} entries (canonical form, seq order), "
        f"{rep.checkpoints_verified} checkpoint signature(s), tree head recomputed, "
        f"{rep.proven}/{rep.unproven_from} inclusion proofs"
        + (", the stored checkpoint's consistency with the latest" if stored_note else "")
    )
    return out


def _verified(note: str, key: str) -> Checkpoint | None:
    try:
        return parse_and_verify_checkpoint(note, key)
    except CheckpointError:
        return None  # verify_log reports the bad note


def _size_to_fetch(head, key: str, origin: str, max_entries: int, out: Outcome) -> int:  # type: ignore[no-untyped-def]
    """How many entries to fetch: the signed size of the server's latest checkpoint.

    The response's own `tree_size` is not signed: it must agree with the note. Without a
    valid note (verify_log reports it) the unsigned size is used only to locate the damage,
    and never beyond `max_entries`.
    """
    signed = _verified(head.note, key)
    if signed is not None and signed.origin == origin:
        if head.tree_size != signed.size:
            out.extra.append(Problem(
                ProblemKind.UNSIGNED_SIZE, head.tree_size,
                f"the server answers tree size {head.tree_size}, its signed checkpoint "
                f"{signed.size}",
            ))  # fmt: skip
        if signed.size > max_entries:
            raise ValueError(
                f"the signed log holds {signed.size} entries, more than --max-entries "
                f"{max_entries}"
            )
        return signed.size
    if head.tree_size > max_entries:
        out.extra.append(Problem(
            ProblemKind.UNSIGNED_SIZE, head.tree_size,
            f"the server claims {head.tree_size} entries without a valid checkpoint; only "
            f"the first {max_entries} (--max-entries) were fetched",
        ))  # fmt: skip
        return max_entries
    return max(head.tree_size, 0)


def _head_size(notes: list[str], key: str, origin: str, log_size: int) -> int:
    sizes = [0]
    for note in notes:
        try:
            cp = parse_and_verify_checkpoint(note, key)
        except CheckpointError:
            continue
        if cp.origin == origin and cp.size <= log_size:
            sizes.append(cp.size)
    return max(sizes)


async def _server_consistency(stub, stored_note, latest_note, key, out: Outcome) -> None:  # type: ignore[no-untyped-def]
    try:
        old = parse_and_verify_checkpoint(stored_note, key)
        new = parse_and_verify_checkpoint(latest_note, key)
    except CheckpointError:
        return  # verify_log reports the bad note itself
    if old.size == 0 or old.size > new.size:
        return  # verify_log reports truncation
    r = await stub.GetConsistencyProof(
        pb.GetConsistencyProofRequest(old_size=old.size, new_size=new.size), timeout=30
    )
    if verify_consistency(old.size, new.size, old.root, new.root, list(r.proof)):
        out.lines.append(f"server's consistency proof {old.size} -> {new.size} verified")
    else:
        out.extra.append(
            Problem(
                ProblemKind.CONSISTENCY_FAILED,
                old.size,
                f"the server's consistency proof {old.size} -> {new.size} does not verify",
            )
        )


def print_outcome(out: Outcome, stream: TextIO = sys.stdout) -> None:
    """Print what was checked and every problem."""
    for line in out.lines:
        print(line, file=stream)
    for p in out.problems:
        where = "" if p.index is None else f" at {p.index}"
        print(f"PROBLEM {p.kind}{where}: {p.detail}", file=stream)
    print(
        "OK: the log verifies" if not out.problems else f"FAILED: {len(out.problems)} problem(s)",
        file=stream,
    )


async def _run(
    target: str, verifier_key: str, stored: str | None, origin: str | None, max_entries: int
) -> Outcome:
    return await check_live_log(target, verifier_key, stored, origin, max_entries=max_entries)


def run(
    target: str,
    verifier_key: str,
    checkpoint_file: str | None,
    origin: str | None,
    save_to: str | None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> int:
    """The command: 0 ok, 1 problems, 2 unreachable or unusable input."""
    stored = Path(checkpoint_file).read_text("utf-8") if checkpoint_file else None
    try:
        out = asyncio.run(_run(target, verifier_key, stored, origin, max_entries))
    except grpc.aio.AioRpcError as exc:
        print(f"cannot read the log at {target}: {exc.code().name} {exc.details()}")
        return 2
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    print_outcome(out)
    if save_to and not out.problems and out.latest_note:
        Path(save_to).write_text(out.latest_note, "utf-8")
    return 1 if out.problems else 0

"""The verifier command against a hostile credit service: a fake server on a real gRPC
channel that serves a genuine signed log but lies in its unsigned answers (origin, tree
size, an "empty log"). The verifier must take the origin from the command line or the
stored checkpoint, the size from the signed checkpoint, and never fetch beyond a bound."""

from __future__ import annotations

import contextlib
import datetime as dt

import grpc
import pytest
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc_credit.domain.canonical import EntryKind, LogEntry, RepairEntry, encode_entry
from stc_credit.domain.checkpoint import Checkpoint, generate_key, sign_checkpoint
from stc_credit.domain.merkle import MerkleTree
from stc_credit.verifier_cli import check_live_log, run
from stc_credit.verify import ProblemKind

ORIGIN = "stc.gov.cn/credit-log/v1"
SIGNER, VERIFIER = generate_key("stc.gov.cn/credit-log")


def _entry(seq: int) -> bytes:
    return encode_entry(LogEntry(seq, EntryKind.REPAIR, RepairEntry(
        record_id=f"CR-{seq}", uscc="91310000MA1FL1234X", repair_decision_no=f"D-{seq}",
        decided_on=dt.date(2026, 1, 1), last_day_shown=dt.date(2026, 1, 1),
    )))  # fmt: skip


class FakeLog(pb_grpc.CreditServiceServicer):
    """A genuine log of `n` entries, signed per append, with knobs to lie."""

    def __init__(self, n: int = 3, origin: str = ORIGIN) -> None:
        self.entries = [_entry(i) for i in range(n)]
        self.tree = MerkleTree.from_leaves(self.entries)
        self.origin = origin
        self.answer_size: int | None = None  # the unsigned tree_size in the answer
        self.answer_origin: str | None = None  # the unsigned origin in the answer
        self.head_note: str | None = None  # replaces the latest note
        self.empty = False  # GetCheckpoint answers NOT_FOUND
        self.record_calls = 0

    def note(self, size: int) -> str:
        return sign_checkpoint(Checkpoint(self.origin, size, self.tree.root(size)), SIGNER)

    async def GetCheckpoint(self, request, context):  # noqa: N802
        if self.empty:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no checkpoint")
        size = request.tree_size or self.tree.size
        if not 0 < size <= self.tree.size:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no checkpoint")
        note = self.note(size)
        if not request.tree_size and self.head_note is not None:
            note = self.head_note
        return pb.GetCheckpointResponse(
            note=note,
            tree_size=self.answer_size if self.answer_size is not None else size,
            root_hash=self.tree.root(size),
            origin=self.answer_origin or self.origin,
            verifier_key=VERIFIER,
        )

    async def GetPublishedRecord(self, request, context):  # noqa: N802
        self.record_calls += 1
        i, size = request.leaf_index, request.tree_size
        if i >= self.tree.size:  # a liar keeps answering
            return pb.GetPublishedRecordResponse(leaf_index=i, canonical=b"{}", tree_size=size)
        proof = self.tree.inclusion_proof(i, min(size, self.tree.size))
        return pb.GetPublishedRecordResponse(
            leaf_index=i, canonical=self.entries[i], tree_size=size, inclusion_proof=proof
        )

    async def GetConsistencyProof(self, request, context):  # noqa: N802
        proof = self.tree.consistency_proof(request.old_size, request.new_size)
        return pb.GetConsistencyProofResponse(
            old_size=request.old_size, new_size=request.new_size, proof=proof
        )


@contextlib.asynccontextmanager
async def serving(log: FakeLog):
    server = grpc.aio.server()
    pb_grpc.add_CreditServiceServicer_to_server(log, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def _kinds(out) -> set[ProblemKind]:
    return {p.kind for p in out.problems}


async def test_an_honest_log_verifies_with_the_origin_given():
    async with serving(FakeLog()) as target:
        out = await check_live_log(target, VERIFIER, origin=ORIGIN)
    assert out.problems == [] and out.report.proven == 3


async def test_the_origin_is_required_and_never_taken_from_the_server():
    log = FakeLog()
    async with serving(log) as target:
        with pytest.raises(ValueError, match="--origin"):
            await check_live_log(target, VERIFIER)
    assert log.record_calls == 0


def test_the_command_without_an_origin_exits_2_naming_the_option(capsys):
    assert run("127.0.0.1:1", VERIFIER, None, None, None) == 2  # before any connection
    assert "give --origin" in capsys.readouterr().out


async def test_the_origin_comes_from_the_stored_checkpoint(tmp_path):
    log = FakeLog()
    stored = tmp_path / "cp.note"
    stored.write_text(log.note(2))
    log.answer_origin = "evil.example/log"  # the unsigned field is ignored
    async with serving(log) as target:
        out = await check_live_log(target, VERIFIER, stored.read_text())
    assert out.problems == []
    assert f"origin {ORIGIN!r}" in out.lines[0]


async def test_checkpoints_of_another_origin_signed_by_the_same_key_fail():
    log = FakeLog(origin="stc.gov.cn/other-log/v1")
    async with serving(log) as target:
        out = await check_live_log(target, VERIFIER, origin=ORIGIN)
    assert ProblemKind.CHECKPOINT_ORIGIN in _kinds(out)
    assert ProblemKind.NO_VALID_CHECKPOINT in _kinds(out)


async def test_an_empty_answer_does_not_pass_when_the_signed_checkpoint_says_otherwise():
    log = FakeLog()
    log.answer_size = 0  # "empty", while the note signs 3 entries
    async with serving(log) as target:
        out = await check_live_log(target, VERIFIER, origin=ORIGIN)
    assert ProblemKind.UNSIGNED_SIZE in _kinds(out)
    assert out.report.log_size == 3  # the signed size was fetched, not the claimed one


async def test_an_unsigned_empty_answer_does_not_pass_a_first_verification():
    log = FakeLog()
    log.empty = True  # NOT_FOUND: "nothing was ever published"
    async with serving(log) as target:
        out = await check_live_log(target, VERIFIER, origin=ORIGIN)
    assert ProblemKind.NO_VALID_CHECKPOINT in _kinds(out)
    assert log.record_calls == 0


async def test_a_log_that_answers_empty_after_a_stored_checkpoint_is_truncated(tmp_path):
    log = FakeLog()
    stored = log.note(3)
    log.empty = True
    async with serving(log) as target:
        out = await check_live_log(target, VERIFIER, stored)
    assert ProblemKind.LOG_TRUNCATED in _kinds(out)


async def test_a_huge_unsigned_size_is_fetched_only_up_to_the_bound():
    log = FakeLog()
    log.answer_size = 10**12
    log.head_note = "not a note"
    async with serving(log) as target:
        out = await check_live_log(target, VERIFIER, origin=ORIGIN, max_entries=40)
    assert ProblemKind.UNSIGNED_SIZE in _kinds(out)
    assert ProblemKind.CHECKPOINT_INVALID in _kinds(out)
    assert out.report.log_size == 40 and log.record_calls <= 2 * 40


async def test_a_signed_size_beyond_the_bound_is_refused_before_fetching():
    log = FakeLog()
    log.head_note = sign_checkpoint(Checkpoint(ORIGIN, 10**12, bytes(32)), SIGNER)
    async with serving(log) as target:
        with pytest.raises(ValueError, match="more than --max-entries 1000"):
            await check_live_log(target, VERIFIER, origin=ORIGIN, max_entries=1000)
    assert log.record_calls == 0

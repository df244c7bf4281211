"""The verifier command against the live service, before and after tampering in PostgreSQL.

The log passes `python -m stc_credit verify`; then, one at a time and restored in between,
an attacker with superuser access (triggers disabled) changes the stored log, and the
command must exit 1 naming the problem:
1. one byte of an entry changed (a fine amount);
2. two entries swapped;
3. the last entry and its checkpoint removed (rollback/truncation);
4. an entry rewritten with its leaf hash and the stored tree nodes, checkpoint re-signed
   with another key;
5. the same, re-signed with the log's own (stolen) key: only the stored checkpoint's
   consistency proof catches it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from google.type import date_pb2
from stc.credit.v1 import credit_pb2
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc_common.testing.service import bearer
from stc_common.uscc import make_uscc
from stc_credit.domain.checkpoint import Checkpoint, generate_key, sign_checkpoint
from stc_credit.domain.merkle import MerkleTree, leaf_hash, root_hash

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
OFFICER = bearer("officer", authority="MOFCOM", subject="officer-li")
TRIGGERS = ("publication_log_no_update", "checkpoints_no_update")
TABLES = ("publication_log", "checkpoints", "merkle_nodes")


def _violation(n: int, today: dt.date) -> pb.RecordViolationRequest:
    day = today - dt.timedelta(days=3)
    return pb.RecordViolationRequest(
        request_id=str(uuid.uuid4()), uscc=make_uscc(f"91310000MA1W{n:05d}"),
        enterprise_name=f"示例{n}有限公司", article="34", decision_no=f"商务部行罚〔2026〕{n}号",
        decision_sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        penalty=credit_pb2.Penalty(sanctions=["order_to_stop"], fine_fen=(600_000 + n) * 100),
        decision_date=date_pb2.Date(year=day.year, month=day.month, day=day.day),
        effective_date=date_pb2.Date(year=day.year, month=day.month, day=day.day),
    )  # fmt: skip


async def _verify(credit, *extra: str) -> tuple[int, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        str(REPO / "services" / s / "src") for s in ("common", "credit")
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stc_credit", "verify", "--grpc", credit.target,
        "--verifier-key", credit.verifier_key, "--origin", credit.settings.log_origin, *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


class Tamper:
    """Superuser edits of the append-only tables (triggers off), and the restore."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def snapshot(self) -> None:
        self.log = await self.conn.fetch("SELECT * FROM publication_log ORDER BY seq")
        self.cps = await self.conn.fetch("SELECT * FROM checkpoints ORDER BY tree_size")
        self.nodes = await self.conn.fetch("SELECT * FROM merkle_nodes")

    async def run(self, *statements: tuple) -> None:
        async with self.conn.transaction():
            for table in TABLES:
                await self.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for sql, *args in statements:
                await self.conn.execute(sql, *args)
            for table in TABLES:
                await self.conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    async def restore(self) -> None:
        statements: list[tuple] = [(f"DELETE FROM {table}",) for table in TABLES]
        for r in self.nodes:
            statements.append((
                "INSERT INTO merkle_nodes (level, idx, hash) VALUES ($1, $2, $3)",
                r["level"], r["idx"], r["hash"],
            ))  # fmt: skip
        for r in self.log:
            statements.append((
                "INSERT INTO publication_log (seq, kind, record_id, uscc, canonical, leaf_hash, "
                "appended_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                r["seq"], r["kind"], r["record_id"], r["uscc"], r["canonical"], r["leaf_hash"],
                r["appended_at"],
            ))  # fmt: skip
        for r in self.cps:
            statements.append((
                "INSERT INTO checkpoints (tree_size, root_hash, note, created_at) "
                "VALUES ($1, $2, $3, $4)",
                r["tree_size"], r["root_hash"], r["note"], r["created_at"],
            ))  # fmt: skip
        await self.run(*statements)

    async def rewrite_entry(self, seq: int, data: bytes, signer: str, origin: str) -> None:
        """Rewrite entry `seq`, its leaf hash and the stored tree nodes, and re-sign every
        checkpoint covering it."""
        hashes = [bytes(r["leaf_hash"]) for r in self.log]
        hashes[seq] = leaf_hash(data)
        statements: list[tuple] = [
            ("UPDATE publication_log SET canonical = $2, leaf_hash = $3 WHERE seq = $1",
             seq, data, hashes[seq]),
            ("DELETE FROM merkle_nodes",),
        ]  # fmt: skip
        levels = MerkleTree(hashes).levels
        for level in range(1, len(levels)):
            for i, h in enumerate(levels[level]):
                statements.append(
                    ("INSERT INTO merkle_nodes (level, idx, hash) VALUES ($1, $2, $3)", level, i, h)
                )
        for size in range(seq + 1, len(hashes) + 1):
            root = root_hash(hashes, size)
            note = sign_checkpoint(Checkpoint(origin, size, root), signer)
            statements += [
                ("DELETE FROM checkpoints WHERE tree_size = $1", size),
                ("INSERT INTO checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3)",
                 size, root, note),
            ]  # fmt: skip
        await self.run(*statements)


async def test_verifier_passes_on_the_live_log_and_catches_every_tamper(credit, tmp_path):
    async with grpc.aio.insecure_channel(credit.target) as channel:
        api = pb_grpc.CreditServiceStub(channel)
        for n in range(3):
            await api.RecordViolation(_violation(n, credit.clock()), metadata=OFFICER)
    stored = tmp_path / "stored.note"

    code, out = await _verify(credit, "--save-checkpoint", str(stored))
    assert code == 0, out
    assert (
        "tree size 3" in out
        and "3/3 inclusion proofs" in out
        and "3 checkpoint signature(s)" in out
    )
    assert "OK" in out
    code, out = await _verify(credit, "--checkpoint", str(stored))
    assert code == 0 and "consistency proof 3 -> 3 verified" in out, out

    conn = await asyncpg.connect(credit.dsn)  # the stack's `stc` role is a superuser
    tamper = Tamper(conn)
    await tamper.snapshot()
    original = bytes(tamper.log[1]["canonical"])
    caught: dict[str, str] = {}
    try:
        # 1. one byte of entry 1 changed: the fine 600,001 yuan -> 900,001 yuan
        changed = original.replace(b'"fine_fen":60000100', b'"fine_fen":90000100')
        assert changed != original
        await tamper.run(("UPDATE publication_log SET canonical = $1 WHERE seq = 1", changed))
        code, out = await _verify(credit, "--checkpoint", str(stored))
        assert code == 1, out
        assert "PROBLEM leaf_mismatch at 1: first altered entry is entry 1" in out
        assert "PROBLEM inclusion_failed at 1:" in out
        caught["byte changed"] = out
        await tamper.restore()

        # 2. entries 0 and 1 swapped
        first = bytes(tamper.log[0]["canonical"])
        await tamper.run(
            ("UPDATE publication_log SET canonical = $1 WHERE seq = 0", original),
            ("UPDATE publication_log SET canonical = $1 WHERE seq = 1", first),
        )
        code, out = await _verify(credit, "--checkpoint", str(stored))
        assert code == 1 and "PROBLEM out_of_order at 0" in out and "out_of_order at 1" in out, out
        caught["reordered"] = out
        await tamper.restore()

        # 3. rollback: the last entry and its checkpoint removed
        await tamper.run(
            ("DELETE FROM publication_log WHERE seq = 2",),
            ("DELETE FROM checkpoints WHERE tree_size = 3",),
        )
        code, out = await _verify(credit, "--checkpoint", str(stored))
        assert code == 1 and "PROBLEM log_truncated" in out, out
        caught["truncated"] = out
        await tamper.restore()

        # 4. entry rewritten with a consistent tree, re-signed with another key
        forger, _ = generate_key(credit.settings.log_origin.split("/")[0] + "/forged")
        await tamper.rewrite_entry(1, changed, forger, credit.settings.log_origin)
        code, out = await _verify(credit)
        assert code == 1 and "PROBLEM checkpoint_invalid at 1: no_signature_by_key" in out, out
        assert "PROBLEM checkpoint_invalid at 2: no_signature_by_key" in out
        assert "PROBLEM no_valid_checkpoint at 1: entries 1..2 are covered by no valid" in out
        caught["re-signed by another key"] = out
        await tamper.restore()

        # 5. the same with the log's own key: only the stored checkpoint catches it
        await tamper.rewrite_entry(1, changed, credit.signer_key, credit.settings.log_origin)
        code, out = await _verify(credit)
        assert code == 0, out  # without history, a stolen key makes a convincing log
        code, out = await _verify(credit, "--checkpoint", str(stored))
        assert code == 1 and "PROBLEM consistency_failed" in out, out
        caught["re-signed with the stolen key"] = out
        await tamper.restore()

        code, out = await _verify(credit, "--checkpoint", str(stored))
        assert code == 0, out  # restored: clean again
    finally:
        await conn.close()
    print("\ntamper cases caught:", ", ".join(caught))
    for name, out in caught.items():
        print(f"--- {name}\n{out}")

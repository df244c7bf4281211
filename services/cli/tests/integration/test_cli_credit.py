"""The CLI against a real credit service (in-process, fresh database, real Kafka): an officer
records a violation, the public reads the feed and the checkpoint with no token, and
`stc credit verify` checks the live log with the credit service's own verifier — and fails
with a key the log was not signed with."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid

import pytest
from stc_cli import context, core
from stc_cli.main import app
from stc_common.testing.kafka import delete_topics_with_prefix
from stc_common.testing.service import free_port, running_service
from stc_common.uscc import make_uscc
from stc_credit.config import CreditSettings
from stc_credit.domain.checkpoint import generate_key
from stc_credit.main import build_spec
from typer.testing import CliRunner

pytestmark = pytest.mark.integration
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


async def stc(*args: str):
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


@pytest.fixture
async def credit(fresh_database, kafka_bootstrap, tmp_path):
    dsn = await fresh_database("clicredit")
    signer, verifier = generate_key("stc.test/cli-credit-log")
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    settings = CreditSettings(
        database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, grpc_port=free_port(),
        metrics_port=free_port(), consumer_group_prefix=prefix, log_signer_key=signer,
        state_dir=tmp_path, publication_interval_s=0.5, log_level="WARNING")
    old = context.ADDRESSES["credit"]
    core.console.width = core.err.width = 200
    try:
        async with running_service(settings, build_spec(settings)) as port:
            context.ADDRESSES["credit"] = f"127.0.0.1:{port}"
            yield verifier
    finally:
        context.ADDRESSES["credit"] = old
        await delete_topics_with_prefix(kafka_bootstrap, prefix)  # the test's Faust topics


async def test_record_publish_and_verify_through_the_cli(credit, tmp_path):
    verifier = credit
    decision = tmp_path / "decision.pdf"
    decision.write_bytes(b"%PDF-1.7 administrative penalty decision")
    uscc = make_uscc("91310000" + "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9]))
    r = await stc("credit", "record-violation", "--as", "officer:MOFCOM", "--uscc", uscc,
                  "--name", "上海示例科技有限公司", "--article", "34",
                  "--decision-no", f"商务部行罚〔2026〕{uuid.uuid4().hex[:4]}号",
                  "--sanction", "order_to_stop", "--sanction", "confiscation",
                  "--fine", "600,000", "--confiscated", "80000", "--turnover", "100000",
                  "--ban-months", "24",
                  "--decision-file", str(decision),
                  "--decision-date", "today-6", "--effective-date", "today-1", "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)["record"]
    assert rec["uscc"] == uscc and rec["penalty"]["fine_fen"] == str(600_000 * 100)
    assert rec["application_ban"] and rec["application_ban_months"] == 24  # Art. 39, decided
    assert rec["decision_sha256"] == hashlib.sha256(decision.read_bytes()).hexdigest()

    r = await stc("credit", "record-violation", "--as", "exporter:" + uscc, "--uscc", uscc,
                  "--name", "x", "--article", "34", "--decision-no", "n")
    assert r.exit_code == 1 and "PERMISSION_DENIED" in r.output

    # Public reads, no token: the feed shows the record once published.
    for _ in range(100):
        r = await stc("credit", "publications", "--uscc", uscc, "--json")
        pubs = json.loads(r.output)
        if pubs:
            break
        await asyncio.sleep(0.1)
    assert pubs and pubs[0]["record_id"] == rec["record_id"]
    assert pubs[0]["entry"]  # the canonical entry decoded
    r = await stc("credit", "checkpoint", "--save", str(tmp_path / "cp.note"))
    assert r.exit_code == 0 and "tree size" in r.output

    r = await stc("credit", "standing", uscc, "--as", f"exporter:{uscc}", "--json")
    assert r.exit_code == 0, r.output

    t0 = time.monotonic()
    r = await stc("credit", "verify", "--verifier-key", verifier,
                  "--checkpoint", str(tmp_path / "cp.note"))
    took = time.monotonic() - t0
    assert r.exit_code == 0, r.output
    assert "OK: the log verifies" in r.output and "inclusion proofs" in r.output
    print(f"verify of the live log through the CLI: {took:.2f}s")

    _, other = generate_key("stc.test/cli-credit-log")
    r = await stc("credit", "verify", "--verifier-key", other, "--json",
                  "--origin", "stc.gov.cn/credit-log/v1")
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["ok"] is False and out["problems"]

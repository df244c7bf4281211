"""The whole platform, started as `make run` starts it (honcho with deploy/Procfile), against the
real Kafka and PostgreSQL, in fresh databases and on free ports."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from stc_common.testing.service import free_port, wait_grpc_ready

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("licensing", "screening", "enduser", "credit")


def _with_db(dsn: str, db: str) -> str:
    return f"{dsn.rpartition('/')[0]}/{db}"


@pytest.fixture(scope="session")
async def platform(pg_admin_dsn, kafka_bootstrap):
    """Start the four services; yield {service: 'host:port'}; stop them and drop their data."""
    run_id = uuid.uuid4().hex[:8]
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(sys.path), "STC_LOG_JSON": "true",
           "STC_CONSUMER_GROUP_PREFIX": f"e2e-{run_id}", "STC_IMPORT_ON_START": "true",
           "STC_RELAY_POLL_INTERVAL_S": "0.05"}
    conn = await asyncpg.connect(pg_admin_dsn)
    dbs = []
    addresses = {}
    try:
        for svc in SERVICES:
            db = f"e2e_{svc}_{run_id}"
            await conn.execute(f'CREATE DATABASE "{db}"')
            dbs.append(db)
            port = free_port()
            env[f"STC_{svc.upper()}_DATABASE_URL"] = _with_db(pg_admin_dsn, db)
            env[f"STC_{svc.upper()}_GRPC_PORT"] = str(port)
            env[f"STC_{svc.upper()}_METRICS_PORT"] = str(free_port())
            env[f"STC_{svc.upper()}_ADDR"] = f"127.0.0.1:{port}"
            addresses[svc] = f"127.0.0.1:{port}"
    finally:
        await conn.close()
    log_path = ROOT / ".state" / f"e2e-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed in teardown
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "honcho"), "-f", str(ROOT / "deploy" / "Procfile"),
        "-d", str(ROOT), "start", *SERVICES, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True)
    try:
        await asyncio.gather(*(wait_grpc_ready(int(a.rsplit(":", 1)[1]), timeout=180)
                               for a in addresses.values()))
        for key, value in env.items():  # the CLI and the demo read the addresses from here
            if key.endswith("_ADDR"):
                os.environ[key] = value
        yield {"addresses": addresses, "env": env, "log": log_path}
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        conn = await asyncpg.connect(pg_admin_dsn)
        try:
            for db in dbs:
                await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            await conn.close()

"""The whole platform started as `make run` starts it (honcho with deploy/Procfile), pointed at
fresh databases and free ports through STC_<SERVICE>_* variables; for the e2e tests and the
benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from stc_common.testing.service import free_port, wait_grpc_ready

SERVICES = ("licensing", "screening", "enduser", "credit")


@dataclass(frozen=True)
class Platform:
    """Where the started platform listens, and its process and log."""

    addresses: dict[str, str]
    env: dict[str, str]
    log: Path
    pid: int


def _with_db(dsn: str, db: str) -> str:
    return f"{dsn.rpartition('/')[0]}/{db}"


@contextlib.asynccontextmanager
async def running_platform(
    root: Path, pg_admin_dsn: str, kafka_bootstrap: str, ready_timeout: float = 180
) -> AsyncIterator[Platform]:
    """Start the four services under honcho; stop them and drop their databases afterwards.

    Sets STC_<SERVICE>_ADDR in os.environ while running, so the CLI and the demo find them.
    """
    run_id = uuid.uuid4().hex[:8]
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "STC_LOG_JSON": "true",
        "STC_CONSUMER_GROUP_PREFIX": f"run-{run_id}",
        "STC_IMPORT_ON_START": "true",
        "STC_RELAY_POLL_INTERVAL_S": "0.05",
    }
    addresses: dict[str, str] = {}
    dbs: list[str] = []
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        for svc in SERVICES:
            db = f"run_{svc}_{run_id}"
            await conn.execute(f'CREATE DATABASE "{db}"')
            dbs.append(db)
            port = free_port()
            env[f"STC_{svc.upper()}_DATABASE_URL"] = _with_db(pg_admin_dsn, db)
            env[f"STC_{svc.upper()}_GRPC_PORT"] = str(port)
            env[f"STC_{svc.upper()}_METRICS_PORT"] = str(free_port())
            addresses[svc] = f"127.0.0.1:{port}"
    finally:
        await conn.close()
    log_path = root / ".state" / f"platform-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in (f"STC_{s.upper()}_ADDR" for s in SERVICES)}
    with open(log_path, "wb") as log:  # noqa: ASYNC230 - opened once, before anything runs
        proc = await asyncio.create_subprocess_exec(
            str(bin_dir / "honcho"),
            "-f",
            str(root / "deploy" / "Procfile"),
            "-d",
            str(root),
            "start",
            *SERVICES,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            await asyncio.gather(
                *(
                    wait_grpc_ready(int(a.rsplit(":", 1)[1]), ready_timeout)
                    for a in addresses.values()
                )
            )
            for svc, addr in addresses.items():
                os.environ[f"STC_{svc.upper()}_ADDR"] = addr
            yield Platform(addresses, env, log_path, proc.pid)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    os.killpg(proc.pid, signal.SIGKILL)
            conn = await asyncpg.connect(pg_admin_dsn)
            try:
                for db in dbs:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            finally:
                await conn.close()

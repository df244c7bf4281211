"""deploy/postgres/init-roles.sh (what docker-compose's PostgreSQL runs on first start)
against a scratch PostgreSQL cluster initialised as the compose file does it (scram-sha-256
for local and host connections): the owner role `stc_owner` runs the migrations; the
services' role `stc` is no superuser, needs its password (read from
STC_DATABASE_PASSWORD_FILE), reads and writes the tables, and can neither alter them nor
touch the credit log's append-only triggers."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg
import pytest
from stc_common.config import ServiceSettings
from stc_common.db.migrate import MigrationSource, migrate
from stc_common.testing.service import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[4]
BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _as_pg(*cmd: str, **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        cmd = ("runuser", "-u", "postgres", "--", *cmd)
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kw)


@pytest.fixture(scope="module")
def cluster():
    if not BINS or not Path(BINS[-1], "initdb").exists():
        pytest.skip("PostgreSQL server binaries are not installed")
    pgbin = BINS[-1]
    folder = Path(tempfile.mkdtemp(prefix="stc-roles-"))
    folder.chmod(0o755)
    admin_pw, stc_pw = folder / "admin_password", folder / "stc_db_password"
    owner_pw = folder / "stc_db_owner_password"
    admin_pw.write_text("admin-Pa55\n")
    stc_pw.write_text("svc pa:ss@word/1\n")  # needs quoting in a URL
    owner_pw.write_text("owner-Pa55\n")
    for f in (admin_pw, stc_pw, owner_pw):
        f.chmod(0o644)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    _as_pg(f"{pgbin}/initdb", "-D", str(data), "-U", "postgres", "-E", "UTF8",
           "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", f"--pwfile={admin_pw}")
    _as_pg(f"{pgbin}/pg_ctl", "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
           "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start")
    try:
        env = {**os.environ, "POSTGRES_USER": "postgres", "STC_DB_PASSWORD_FILE": str(stc_pw),
               "STC_DB_OWNER_PASSWORD_FILE": str(owner_pw),
               "PGHOST": "127.0.0.1", "PGPORT": str(port), "PGPASSWORD": "admin-Pa55",
               "PATH": f"{pgbin}:{os.environ['PATH']}"}
        subprocess.run(["sh", str(ROOT / "deploy/postgres/init-roles.sh")], env=env,
                       check=True, capture_output=True, text=True)
        yield port, stc_pw, owner_pw
    finally:
        _as_pg(f"{pgbin}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


async def test_the_services_role_needs_its_password_and_is_no_superuser(cluster):
    port, stc_pw, _ = cluster
    url = f"postgresql://stc@127.0.0.1:{port}/stc_credit"
    with pytest.raises(asyncpg.PostgresError):  # no password: refused, not trusted
        await asyncpg.connect(url)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(url, password="wrong")
    settings = ServiceSettings(database_url=url, database_password_file=str(stc_pw))
    conn = await asyncpg.connect(settings.database_url)
    try:
        for name in ("stc", "stc_owner"):
            role = await conn.fetchrow(
                "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1",
                name,
            )
            assert tuple(role) == (False, False, False), name
        method = await conn.fetchval("SHOW password_encryption")
        assert method == "scram-sha-256"
    finally:
        await conn.close()


async def test_the_owner_migrates_and_the_services_role_cannot_alter_the_log(cluster):
    port, stc_pw, owner_pw = cluster
    owner = ServiceSettings(
        database_url=f"postgresql://stc_owner@127.0.0.1:{port}/stc_credit",
        database_password_file=str(owner_pw),
    )
    applied = await migrate(
        owner.database_url, [MigrationSource("credit", ROOT / "services/credit/migrations")]
    )
    assert "credit/0005_merkle_nodes.sql" in applied
    settings = ServiceSettings(
        database_url=f"postgresql://stc@127.0.0.1:{port}/stc_credit",
        database_password_file=str(stc_pw),
    )
    conn = await asyncpg.connect(settings.database_url)
    try:
        for ddl in (
            "ALTER TABLE publication_log DISABLE TRIGGER USER",
            "DROP TRIGGER publication_log_no_update ON publication_log",
            "CREATE TABLE sneaky (x int)",
            "DROP TABLE checkpoints",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(ddl)
        # the outbox is the services' to write
        await conn.execute("SELECT count(*) FROM outbox")
        await conn.execute(
            "INSERT INTO publication_log (seq, kind, record_id, uscc, canonical, leaf_hash)"
            " VALUES (0, 'penalty', 'CR', 'X', 'x', $1)", bytes(32),
        )  # fmt: skip
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("UPDATE publication_log SET canonical = 'y'")
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("TRUNCATE publication_log")
    finally:
        await conn.close()

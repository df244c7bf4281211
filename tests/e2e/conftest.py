"""The whole platform for the end-to-end tests, started as `make run` starts it."""

from pathlib import Path

import pytest
from stc_common.testing.platform import running_platform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def platform(pg_admin_dsn, kafka_bootstrap):
    """The four services under honcho, in fresh databases, on free ports.

    One per module, stopped when the module ends: the services of every platform consume the
    same topics, so a platform left running would also screen and assess the applications of
    the crash and outage tests, which start services of their own (their exactly-once counts
    would see its events too)."""
    async with running_platform(ROOT, pg_admin_dsn, kafka_bootstrap) as p:
        yield {"addresses": p.addresses, "env": p.env, "log": p.log}

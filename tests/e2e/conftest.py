"""The whole platform for the end-to-end tests, started as `make run` starts it."""

from pathlib import Path

import pytest
from stc_common.testing.platform import running_platform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
async def platform(pg_admin_dsn, kafka_bootstrap):
    """The four services under honcho, in fresh databases, on free ports."""
    async with running_platform(ROOT, pg_admin_dsn, kafka_bootstrap) as p:
        yield {"addresses": p.addresses, "env": p.env, "log": p.log}

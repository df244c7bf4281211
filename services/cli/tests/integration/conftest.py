"""Fixtures of the CLI integration tests: real services started in-process on free ports, each
on its own fresh database and consumer groups, with the CLI pointed at them."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from stc_cli import context, core
from stc_common.testing.fixtures import create_database, drop_database
from stc_common.testing.kafka import start_group_at_end
from stc_common.testing.service import free_port, running_service


@contextlib.asynccontextmanager
async def service(key: str, pg_admin_dsn: str, settings_cls, build_spec, *,
                  groups_at_end: dict[str, list[str]] | None = None, **overrides):
    """Start one service on a fresh database; point the CLI's address for `key` at it."""
    dsn = await create_database(pg_admin_dsn, f"cli_{key}")
    prefix = f"t-{uuid.uuid4().hex}"
    settings = settings_cls(
        database_url=dsn, grpc_port=free_port(),
        metrics_port=free_port(), consumer_group_prefix=prefix,
        log_level="WARNING", **overrides)
    # the history other tests left on the shared topics is not this test's business
    for suffix, topics in (groups_at_end or {}).items():
        await start_group_at_end(settings.kafka_bootstrap_servers, prefix + suffix, topics)
    old = context.ADDRESSES[key]
    core.console.width = core.err.width = 200  # no wrapping of long names in assertions
    try:
        async with running_service(settings, build_spec(settings)) as port:
            context.ADDRESSES[key] = f"127.0.0.1:{port}"
            yield port
    finally:
        context.ADDRESSES[key] = old
        await drop_database(pg_admin_dsn, dsn)


@pytest.fixture(scope="module")
async def licensing(pg_admin_dsn, kafka_bootstrap):
    """The licensing service (module-wide); yields its port."""
    from stc_common.kafka.topics import CREDIT_STANDING, ENDUSER_CHANGE, SCREENING_RESULT
    from stc_licensing.config import LicensingSettings
    from stc_licensing.main import build_spec

    async with service("licensing", pg_admin_dsn, LicensingSettings, build_spec,
                       kafka_bootstrap_servers=kafka_bootstrap,
                       groups_at_end={".licensing.events": [SCREENING_RESULT.name, CREDIT_STANDING.name,
                                                     ENDUSER_CHANGE.name]}) as port:
        yield port


@pytest.fixture(scope="module")
async def enduser(pg_admin_dsn, kafka_bootstrap):
    """The end-user service (module-wide); yields its port."""
    from stc_common.kafka.topics import LICENCE
    from stc_enduser.config import EndUserSettings
    from stc_enduser.main import build_spec

    async with service("enduser", pg_admin_dsn, EndUserSettings, build_spec,
                       kafka_bootstrap_servers=kafka_bootstrap, relay_poll_interval_s=0.05,
                       groups_at_end={".enduser.licences": [LICENCE.name]}) as port:
        yield port


@pytest.fixture(scope="module")
async def screening(pg_admin_dsn, kafka_bootstrap):
    """The screening service with the shipped lists imported (module-wide); yields its port."""
    from stc_common.kafka.topics import APPLICATION, ENDUSER_CHANGE, LICENCE
    from stc_screening.config import ScreeningSettings
    from stc_screening.main import build_spec

    async with service("screening", pg_admin_dsn, ScreeningSettings, build_spec,
                       kafka_bootstrap_servers=kafka_bootstrap, import_on_start=True,
                       relay_poll_interval_s=0.05,
                       groups_at_end={".screening.subjects": [
                           APPLICATION.name, LICENCE.name, ENDUSER_CHANGE.name]}) as port:
        yield port

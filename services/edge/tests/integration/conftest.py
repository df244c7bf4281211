"""Fixtures of the edge's integration tests: the screening service in-process on a fresh
database (real PostgreSQL and Kafka) and a real Envoy in front of it, on free ports."""

from __future__ import annotations

import uuid

import pytest
from stc_common.testing.fixtures import create_database, drop_database
from stc_common.testing.kafka import start_group_at_end
from stc_common.testing.service import free_port, running_service
from stc_edge.config import EdgeSettings
from stc_edge.testing import running_edge

ALLOWED_ORIGIN = "https://portal.example.gov.cn"


@pytest.fixture(scope="module")
async def screening_port(pg_admin_dsn, kafka_bootstrap):
    """The screening service with the shipped lists imported; yields its gRPC port."""
    from stc_common.kafka.topics import APPLICATION, ENDUSER_CHANGE, LICENCE
    from stc_screening.config import ScreeningSettings
    from stc_screening.main import build_spec

    dsn = await create_database(pg_admin_dsn, "edge_screening")
    prefix = f"t-{uuid.uuid4().hex}"
    settings = ScreeningSettings(
        database_url=dsn, grpc_port=free_port(), metrics_port=free_port(),
        consumer_group_prefix=prefix, log_level="WARNING",
        kafka_bootstrap_servers=kafka_bootstrap, import_on_start=True)
    await start_group_at_end(kafka_bootstrap, prefix + ".screening.subjects",
                             [APPLICATION.name, LICENCE.name, ENDUSER_CHANGE.name])
    try:
        # a start-up allowance for a loaded machine: screening imports 10,000 list entries into
        # its fresh database first
        async with running_service(settings, build_spec(settings), development=False,
                                   ready_timeout=180) as port:
            yield port
    finally:
        await drop_database(pg_admin_dsn, dsn)


@pytest.fixture(scope="module")
async def edge(screening_port, tmp_path_factory):
    """A real Envoy in front of the screening service; yields its EdgeSettings."""
    settings = EdgeSettings(
        port=free_port(), admin_port=free_port(),
        screening_addr=f"127.0.0.1:{screening_port}",
        cors_origins=ALLOWED_ORIGIN, max_request_bytes=64 * 1024,
        portal_dir=tmp_path_factory.mktemp("no-portal"))
    async with running_edge(settings, tmp_path_factory.mktemp("edge")) as s:
        yield s

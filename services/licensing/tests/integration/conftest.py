"""Fixtures of the licensing integration tests: one running service per module against a fresh
database and a unique consumer group, an event log (a TopicReader) reading the licensing topics
from their current end, a producer for the events other services would publish, and builders."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import uuid

import asyncpg
import grpc
import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import licensing_service_pb2_grpc as spb_grpc
from stc.screening.v1 import events_pb2 as scr
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import (
    APPLICATION,
    CREDIT_STANDING,
    ENDUSER_CHANGE,
    LICENCE,
    OPERATOR,
    SCREENING_RESULT,
    TOPICS,
)
from stc_common.testing.builders import CERTIFICATE_SHA256, date_pb, dual_use_application
from stc_common.testing.fixtures import create_database, drop_database
from stc_common.testing.kafka import TopicReader, produce_event, start_group_at_end
from stc_common.testing.service import bearer, free_port, running_service
from stc_common.uscc import make_uscc
from stc_licensing.config import LicensingSettings
from stc_licensing.main import build_spec

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SHA = CERTIFICATE_SHA256


def new_uscc() -> str:
    """A valid random USCC (unique per test run)."""
    body = "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9])
    return make_uscc("91110000" + body)


d = date_pb  # the test modules call h.d(day)


def content(uscc: str, **kw) -> apb.ApplicationContent:
    """A clean dual-use application to Germany the assessment grants (its certificate issued 30
    days ago, valid for 300 days more)."""
    today = dt.date.today()
    return dual_use_application(uscc, issued_on=today - dt.timedelta(days=30),
                                expires_on=today + dt.timedelta(days=300), **kw)


class Env:
    """The running service, its database, the event log and clients."""

    def __init__(self, port, dsn, log, producer):
        self.port, self.dsn, self.log, self.producer = port, dsn, log, producer
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = spb_grpc.LicensingServiceStub(self.channel)

    async def publish(self, topic: str, key: str, message, source: str | None = None) -> str:
        # as the owner of the topic publishes it (consumers trust a type only from its owner)
        owner = next((t.owner for t in TOPICS if t.name == topic), "test")
        return await produce_event(self.producer, topic, key, message, source=source or owner)

    async def sql(self, query: str, *args):
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def operator(self, uscc: str | None = None) -> str:
        uscc = uscc or new_uscc()
        await self.stub.RegisterOperator(spb.RegisterOperatorRequest(
            uscc=uscc, name_zh="北京某某科技有限公司", name_en="Beijing Example Co."),
            metadata=bearer("exporter", uscc=uscc))
        return uscc

    async def submit(self, uscc: str, c: apb.ApplicationContent | None = None,
                     request_id: str | None = None):
        return await self.stub.SubmitApplication(spb.SubmitApplicationRequest(
            request_id=request_id or uuid.uuid4().hex, content=c or content(uscc)),
            metadata=bearer("exporter", uscc=uscc))

    async def screen(self, app, hits=(), findings=()) -> None:
        await self.publish(SCREENING_RESULT.name, app.application_id, scr.ScreeningCompleted(
            screening_id=f"scr-{uuid.uuid4().hex[:8]}", subject_id=app.application_id,
            subject_kind=scr.SUBJECT_KIND_APPLICATION,
            exporter_uscc=app.content.exporter_uscc, party_hits=list(hits),
            findings=list(findings)))

    async def wait_state(self, app_id: str, uscc: str, state: int, timeout: float = 20):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            a = await self.stub.GetApplication(spb.GetApplicationRequest(application_id=app_id),
                                               metadata=bearer("exporter", uscc=uscc))
            if a.state == state:
                return a
            if loop.time() > end:
                raise AssertionError(f"application {app_id} is {a.state}, wanted {state}")
            await asyncio.sleep(0.05)

    async def licence(self, uscc: str):
        """A fresh ACTIVE licence (submit, screen, approve)."""
        app = await self.submit(uscc)
        await self.screen(app)
        await self.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
        from stc.licensing.v1 import events_pb2
        r = await self.stub.DecideApplication(spb.DecideApplicationRequest(
            application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
            metadata=bearer("officer", authority="MOFCOM"))
        return r.licence


@pytest.fixture(scope="module")
async def env(pg_admin_dsn, kafka_bootstrap):
    dsn = await create_database(pg_admin_dsn, "lic")
    settings = LicensingSettings(
        database_url=dsn, grpc_port=free_port(), metrics_port=free_port(),
        kafka_bootstrap_servers=kafka_bootstrap, consumer_group_prefix=f"t-{uuid.uuid4().hex}",
        ticker_interval_s=0.5, log_level="WARNING",
        # a fixed work-in-flight limit, as before issue 14 item 3: these tests submit 40 at
        # once without client retries; test_admission.py sets the adaptive limit itself
        admission_adaptive=False)
    # the history other tests left on the shared topics is not this module's business
    # (replaying it made the first ScreeningCompleted wait behind thousands of foreign events)
    await start_group_at_end(kafka_bootstrap, f"{settings.consumer_group_prefix}.licensing.events",
                             [SCREENING_RESULT.name, CREDIT_STANDING.name, ENDUSER_CHANGE.name])
    log = TopicReader(kafka_bootstrap, [APPLICATION.name, LICENCE.name, OPERATOR.name])
    await log.start()
    producer = make_producer(kafka_bootstrap, client_id="licensing-test")
    await producer.start()
    try:
        async with running_service(settings, build_spec(settings)) as port:
            e = Env(port, dsn, log, producer)
            yield e
            await e.channel.close()
    finally:
        await producer.stop()
        await log.stop()
        await drop_database(pg_admin_dsn, dsn)


@pytest.fixture
def h():
    """This module's helpers (test modules cannot import conftest under importlib mode)."""
    return sys.modules[__name__]

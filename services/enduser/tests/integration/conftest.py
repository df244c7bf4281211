"""The end-user service started in-process against a fresh database, the real Kafka and gRPC.

One service per test module (start-up is the slow part); every test uses its own licence ids
and filters what it reads from the shared topics by them.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import pytest
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.enduser.v1 import enduser_service_pb2_grpc
from stc.licensing.v1 import application_pb2
from stc.licensing.v1 import events_pb2 as lic
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import ENDUSER_CHANGE, LICENCE
from stc_common.testing.fixtures import create_database, drop_database
from stc_common.testing.kafka import TopicReader
from stc_common.testing.service import free_port, running_service
from stc_common.testing.stack import EXPORTER, ServiceStack
from stc_common.uscc import make_uscc
from stc_enduser.config import EndUserSettings
from stc_enduser.main import build_spec

OTHER_EXPORTER = make_uscc("91110000MA2AB1234")


class Stack(ServiceStack):
    """What a test needs: the stub, tokens, the database, the licence producer, the reader."""

    async def publish_licence_event(self, licence_id: str, message, event_id: str | None = None
                                    ) -> str:
        return await self.produce(LICENCE.name, licence_id, message, event_id=event_id)

    async def issue_licence(self, *, exporter: str = EXPORTER, authority: str = "MOFCOM",
                            destination: str = "DE") -> str:
        """Publish LicenceIssued for a new licence and wait until it is projected."""
        licence_id = f"LIC-{uuid.uuid4().hex[:12]}"
        await self.publish_licence_event(licence_id, licence_issued(
            licence_id, exporter=exporter, authority=authority, destination=destination))
        await self.wait_licence(licence_id)
        return licence_id

    async def wait_licence(self, licence_id: str, status: str = "ACTIVE",
                           timeout: float = 20.0) -> None:
        deadline = time.perf_counter() + timeout
        while True:
            got = await self.fetchval("SELECT status FROM licences WHERE licence_id = $1",
                                      licence_id)
            if got == status:
                return
            if time.perf_counter() > deadline:
                raise TimeoutError(f"licence {licence_id} not {status} (is {got})")
            await asyncio.sleep(0.1)


def licence_issued(licence_id: str, *, exporter: str, authority: str, destination: str
                   ) -> lic.LicenceIssued:
    """A LicenceIssued with an importer, an end user, a consignee and one item."""
    ids = [common_pb2.PartyIdentifier(type="REGISTRATION", value="HRB 12345", country="DE")]
    return lic.LicenceIssued(
        licence_id=licence_id, application_id=f"APP-{licence_id}", exporter_uscc=exporter,
        authority=authority, licence_type=application_pb2.LICENCE_TYPE_SINGLE,
        valid_from=date_pb2.Date(year=2026, month=11, day=1),
        valid_until=date_pb2.Date(year=2027, month=10, day=31), destination=destination,
        parties=[
            common_pb2.Party(party_id="p-exp", role=common_pb2.PARTY_ROLE_EXPORTER,
                             name="上海精密仪器有限公司", country="CN"),
            common_pb2.Party(party_id="p-imp", role=common_pb2.PARTY_ROLE_IMPORTER,
                             name="Hamburg Import GmbH", country="DE", identifiers=ids),
            common_pb2.Party(party_id="p-eu", role=common_pb2.PARTY_ROLE_END_USER,
                             name="Berliner Messtechnik AG", aliases=["BMT AG"], country="DE",
                             address="Unter den Linden 1, Berlin", identifiers=ids),
            common_pb2.Party(party_id="p-cons", role=common_pb2.PARTY_ROLE_CONSIGNEE,
                             name="Spedition Nord GmbH", country="DE"),
        ],
        items=[application_pb2.Item(control_code="3A001.a.1", description="ICs",
                                     quantity="10", unit="pcs")],
    )


@pytest.fixture(scope="module")
async def stack(kafka_bootstrap: str, pg_admin_dsn: str):
    dsn = await create_database(pg_admin_dsn, "enduser")
    settings = EndUserSettings(
        database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, grpc_port=free_port(),
        metrics_port=0, consumer_group_prefix=f"t-{uuid.uuid4().hex[:8]}", log_level="WARNING",
        relay_poll_interval_s=0.05, overdue_scan_interval_s=0.3)
    reader = TopicReader(kafka_bootstrap, ENDUSER_CHANGE.name, timeout=15.0)
    await reader.start()
    producer = make_producer(kafka_bootstrap, client_id="enduser-test")
    await producer.start()
    try:
        async with running_service(settings, build_spec(settings)) as port:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield Stack(enduser_service_pb2_grpc.EndUserServiceStub(channel), dsn, producer,
                            reader)
    finally:
        await producer.stop()
        await reader.stop()
        await drop_database(pg_admin_dsn, dsn)

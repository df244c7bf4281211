"""The end-user service started in-process against a fresh database, the real Kafka and gRPC.

One service per test module (start-up is the slow part); every test uses its own licence ids
and filters what it reads from the shared topics by them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

import asyncpg
import grpc
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.enduser.v1 import enduser_service_pb2_grpc
from stc.licensing.v1 import application_pb2
from stc.licensing.v1 import events_pb2 as lic
from stc_common import envelope
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import ENDUSER_CHANGE, LICENCE
from stc_common.testing.service import bearer, free_port, running_service
from stc_common.uscc import make_uscc
from stc_enduser.config import EndUserSettings
from stc_enduser.main import build_spec

EXPORTER = make_uscc("91310000MA1FL0000")
OTHER_EXPORTER = make_uscc("91110000MA2AB1234")


class TopicReader:
    """Reads a topic from its end at start, keeping every record with its arrival time."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.records: list[tuple[float, envelope.Envelope, bytes | None]] = []
        self._task: asyncio.Task | None = None
        self._new = asyncio.Event()

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                         enable_auto_commit=False,
                                         isolation_level="read_committed")
        await self.consumer.start()
        # an unsubscribed consumer has no metadata of the topic: fetch it (every partition)
        metadata = await self.consumer._client.fetch_all_metadata()
        parts = metadata.partitions_for_topic(self.topic)
        assert parts, f"topic {self.topic} not found"
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the end offsets now, before anything is produced
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for rec in records:
                    with contextlib.suppress(envelope.EnvelopeError):
                        env = envelope.decode(rec.headers, rec.value, rec.key)
                        self.records.append((time.perf_counter(), env, rec.key))
                        self._new.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    def events(self, key: str, message_cls) -> list:
        """Decoded events of one type with the given key, in topic order."""
        name = message_cls.DESCRIPTOR.full_name
        return [env.parse(message_cls) for _, env, k in self.records
                if env.type == name and k == key.encode()]

    async def wait_for(self, key: str, message_cls, pred: Callable = lambda m: True,
                       timeout: float = 15.0):
        """The first event of this type and key matching `pred`, with its arrival time."""
        name = message_cls.DESCRIPTOR.full_name
        deadline = time.perf_counter() + timeout
        while True:
            for at, env, k in self.records:
                if env.type == name and k == key.encode():
                    msg = env.parse(message_cls)
                    if pred(msg):
                        return msg, at
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {name} for {key} within {timeout}s")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=min(left, 0.5))


class Stack:
    """What a test needs: the stub, tokens, the database, the licence producer, the reader."""

    def __init__(self, stub, dsn: str, producer, reader: TopicReader) -> None:
        self.stub, self.dsn, self.producer, self.reader = stub, dsn, producer, reader

    @staticmethod
    def exporter(uscc: str = EXPORTER):
        return bearer("exporter", uscc=uscc)

    @staticmethod
    def officer(authority: str = "MOFCOM", subject: str = "officer-1"):
        return bearer("officer", authority=authority, subject=subject)

    async def publish_licence_event(self, licence_id: str, message, event_id: str | None = None
                                    ) -> str:
        eid, headers, value = envelope.encode(message, source="licensing", subject=licence_id,
                                              event_id=event_id)
        await self.producer.send_and_wait(LICENCE.name, value=value, key=licence_id.encode(),
                                          headers=headers)
        return eid

    async def issue_licence(self, *, exporter: str = EXPORTER, authority: str = "MOFCOM",
                            destination: str = "DE") -> str:
        """Publish LicenceIssued for a new licence and wait until it is projected."""
        licence_id = f"LIC-{uuid.uuid4().hex[:12]}"
        await self.publish_licence_event(licence_id, licence_issued(
            licence_id, exporter=exporter, authority=authority, destination=destination))
        await self.wait_licence(licence_id)
        return licence_id

    async def fetchval(self, sql: str, *args):
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

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
    name = f"test_enduser_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = pg_admin_dsn.rpartition("/")[0] + f"/{name}"
    settings = EndUserSettings(
        database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, grpc_port=free_port(),
        metrics_port=0, consumer_group_prefix=f"t-{uuid.uuid4().hex[:8]}", log_level="WARNING",
        relay_poll_interval_s=0.05, overdue_scan_interval_s=0.3)
    reader = TopicReader(kafka_bootstrap, ENDUSER_CHANGE.name)
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
        admin = await asyncpg.connect(pg_admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

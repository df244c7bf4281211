"""The screening service started in-process against a fresh database (all shipped lists
imported once per module by STC_IMPORT_ON_START), the real Kafka and gRPC.

Every test uses its own application, licence and party ids and filters what it reads from
the shared topics by them.
"""

from __future__ import annotations

import time
import uuid

import grpc
import pytest
from stc.screening.v1 import screening_service_pb2_grpc
from stc_common.kafka.clients import make_producer
from stc_common.kafka.topics import (
    APPLICATION,
    ENDUSER_CHANGE,
    LICENCE,
    SCREENING_CONSULTATION,
    SCREENING_LIST,
    SCREENING_RESULT,
)
from stc_common.testing.fixtures import create_database, drop_database
from stc_common.testing.kafka import TopicReader, start_group_at_end
from stc_common.testing.service import free_port, running_service
from stc_common.testing.stack import EXPORTER, ServiceStack
from stc_common.uscc import make_uscc
from stc_screening.config import ScreeningSettings
from stc_screening.main import build_spec, new_state

OTHER_EXPORTER = make_uscc("91110000MA2AB1234")


# Start-up imports every shipped list and builds the ~276 MB index: ~10 s on a quiet 2-core
# machine, 25-40 s when eight test suites share it, so the wait is longer than stc_common's
# default.
START_TIMEOUT_S = 180


class Stack(ServiceStack):
    """What a test needs: the stub, tokens, the database, a producer and a topic reader, and the
    service's in-process state and settings."""

    def __init__(self, stub, dsn: str, producer, reader: TopicReader, state, settings) -> None:
        super().__init__(stub, dsn, producer, reader)
        self.state, self.settings = state, settings


@pytest.fixture(scope="module")
async def stack(kafka_bootstrap: str, pg_admin_dsn: str):
    dsn = await create_database(pg_admin_dsn, "screening")
    settings = ScreeningSettings(
        database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, grpc_port=free_port(),
        metrics_port=0, consumer_group_prefix=f"t-{uuid.uuid4().hex[:8]}", log_level="WARNING",
        relay_poll_interval_s=0.05, import_on_start=True)
    reader = TopicReader(kafka_bootstrap, [SCREENING_RESULT.name, SCREENING_LIST.name,
                                           SCREENING_CONSULTATION.name])
    await reader.start()
    producer = make_producer(kafka_bootstrap, client_id="screening-test")
    await producer.start()
    # the consumer group starts at the topics' ends: the history other teams' tests left on
    # the shared topics is not this module's business
    await start_group_at_end(kafka_bootstrap, f"{settings.consumer_group_prefix}"
                             ".screening.subjects",
                             [APPLICATION.name, LICENCE.name, ENDUSER_CHANGE.name])
    state = new_state(settings)
    try:
        t0 = time.perf_counter()
        async with running_service(settings, build_spec(settings, state), development=False,
                                   ready_timeout=START_TIMEOUT_S, stop_timeout=60) as port:
            print(f"\nscreening service up with {len(state.index)} entries / "
                  f"{state.index.name_count} names in {time.perf_counter() - t0:.1f}s "
                  f"(index build {state.build_seconds:.2f}s)")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield Stack(screening_service_pb2_grpc.ScreeningServiceStub(channel), dsn,
                            producer, reader, state, settings)
    finally:
        await producer.stop()
        await reader.stop()
        await drop_database(pg_admin_dsn, dsn)


def app_submitted(application_id: str, *, parties, destination: str = "DE",
                  exporter: str = EXPORTER, items=None):
    """An ApplicationSubmitted event with the given parties."""
    from google.protobuf import timestamp_pb2
    from stc.licensing.v1 import application_pb2
    from stc.licensing.v1 import events_pb2 as lic

    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    content = application_pb2.ApplicationContent(
        exporter_uscc=exporter, licence_type=application_pb2.LICENCE_TYPE_SINGLE,
        regime=application_pb2.ITEM_REGIME_DUAL_USE,
        export_type=application_pb2.EXPORT_TYPE_PERMANENT, destination=destination,
        items=items or [application_pb2.Item(control_code="1C117.c", description="tungsten",
                                             quantity="10", unit="kg")],
        parties=parties,
        end_use=application_pb2.EndUse(category=application_pb2.END_USE_CATEGORY_CIVIL,
                                       statement="machining of turbine parts"),
        end_user_certificate=application_pb2.EndUserCertificate(
            issuer_kind=application_pb2.CERTIFICATE_ISSUER_END_USER))
    return lic.ApplicationSubmitted(application_id=application_id, reference="MOFCOM-T",
                                    exporter_uscc=exporter, authority="MOFCOM",
                                    content=content, submitted_at=now)


def party(party_id: str, role: int, name: str, country: str = "", **kw):
    """A common Party."""
    from stc.common.v1 import common_pb2

    return common_pb2.Party(party_id=party_id, role=role, name=name, country=country, **kw)

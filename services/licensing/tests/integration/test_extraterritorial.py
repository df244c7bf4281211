"""ECL Arts. 45, 44 (issue 11 item 6) through the running service: EvaluateReExport applies the
dated de minimis rules the service loaded to the worked example of docs/law.md."""

from __future__ import annotations

import grpc
import pytest
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import extraterritorial_pb2 as epb
from stc_common.grpc.errors import field_violations
from stc_common.testing.service import bearer

pytestmark = pytest.mark.integration
EXPORTER = bearer("exporter", uscc="91110108MA01ABCD1E")


def _eur(cents: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="EUR", amount_minor=cents)


def _motor(magnet_cents: int, day: tuple[int, int, int]) -> epb.EvaluateReExportRequest:
    return epb.EvaluateReExportRequest(
        description="servo motor", made_in="DE", item_value=_eur(200_000),
        content=[epb.PrcContent(control_code="1C902.a", value=_eur(magnet_cents)),
                 epb.PrcContent(control_code="9A999", value=_eur(50_000))],
        on_date=date_pb2.Date(year=day[0], month=day[1], day=day[2]))


async def test_art45_worked_example_through_the_running_service(env):
    needed = await env.stub.EvaluateReExport(_motor(300, (2026, 12, 1)), metadata=EXPORTER)
    assert needed.licence_required
    (o,) = needed.outcomes
    assert (o.share_ppm, o.de_minimis_ppm) == (1500, 1000) and "Art. 45" in o.basis
    below = await env.stub.EvaluateReExport(_motor(100, (2026, 12, 1)), metadata=EXPORTER)
    assert not below.licence_required
    suspended = await env.stub.EvaluateReExport(_motor(300, (2026, 6, 1)), metadata=EXPORTER)
    assert not suspended.licence_required and "suspended" in suspended.outcomes[0].reason


async def test_art44_bad_re_export_is_refused_with_the_field(env):
    bad = _motor(300, (2026, 12, 1))
    bad.made_in = "CN"
    bad.content[0].value.currency_code = "USD"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.EvaluateReExport(bad, metadata=EXPORTER)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(err.value)} >= {"made_in",
                                                           "content[0].value.currency_code"}

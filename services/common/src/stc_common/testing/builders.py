"""Builders of protobuf test data more than one service's tests need.

- `date_pb(day)`: a `google.type.Date` for a `datetime.date`.
- `dual_use_application(uscc, issued_on=..., expires_on=..., **fields)`: the clean dual-use
  application to Germany the Art. 13 assessment grants (one item of 1C117.d, an importer and an
  end user in Germany, a civil end use, an end-user certificate); `fields` replace whole fields
  (lists replace repeated fields, messages are copied in).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb

__all__ = ["CERTIFICATE_SHA256", "date_pb", "dual_use_application"]

CERTIFICATE_SHA256 = "ab" * 32
"""The SHA-256 (hex) the test end-user certificates claim for their scanned document."""


def date_pb(day: dt.date) -> date_pb2.Date:
    """A `google.type.Date` for `day`."""
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def dual_use_application(uscc: str, *, issued_on: dt.date, expires_on: dt.date,
                         **fields: Any) -> apb.ApplicationContent:
    """A clean dual-use application to Germany whose end-user certificate was issued on
    `issued_on` and expires on `expires_on`; `fields` override whole fields."""
    c = apb.ApplicationContent(
        exporter_uscc=uscc, licence_type=apb.LICENCE_TYPE_SINGLE,
        regime=apb.ITEM_REGIME_DUAL_USE, export_type=apb.EXPORT_TYPE_PERMANENT,
        items=[apb.Item(control_code="1C117.d", description="Ammonium paratungstate",
                        hs_code="2841801000", quantity="500", unit="kg",
                        value=common_pb2.Money(currency_code="CNY", amount_minor=12_500_000))],
        destination="DE",
        parties=[
            common_pb2.Party(role=common_pb2.PARTY_ROLE_IMPORTER, name="Müller Präzision GmbH",
                             country="DE", identifiers=[common_pb2.PartyIdentifier(
                                 type="VAT", value="DE123456789")]),
            common_pb2.Party(role=common_pb2.PARTY_ROLE_END_USER,
                             name="Müller Präzision GmbH Werk Ulm", country="DE",
                             identifiers=[common_pb2.PartyIdentifier(type="REG",
                                                                     value="HRB 1234 Ulm")]),
        ],
        end_use=apb.EndUse(category=apb.END_USE_CATEGORY_CIVIL,
                           statement="Sintering of cutting tools"),
        end_user_certificate=apb.EndUserCertificate(
            issuer_kind=apb.CERTIFICATE_ISSUER_END_USER, issuer_name="Müller Präzision GmbH",
            document_sha256=CERTIFICATE_SHA256, issued_on=date_pb(issued_on),
            expires_on=date_pb(expires_on)),
        contract_reference="C-2026-001")
    for k, v in fields.items():
        if isinstance(v, list):
            c.ClearField(k)
            getattr(c, k).extend(v)
        elif hasattr(v, "CopyFrom"):
            getattr(c, k).CopyFrom(v)
        else:
            setattr(c, k, v)
    return c

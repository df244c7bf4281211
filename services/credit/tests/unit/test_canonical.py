"""Canonical bytes of log entries: deterministic, versioned, strict on decode."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import pytest
from stc_credit.domain.canonical import (
    FORMAT,
    CanonicalError,
    EntryKind,
    decode_entry,
    encode_entry,
    penalty_entry,
    repair_entry,
)
from stc_credit.domain.publication import Repair, apply_repair, publicity, published_view
from stc_credit.domain.records import ResponsiblePerson


@pytest.fixture
def entry(make_record):
    record = make_record(responsible_persons=(ResponsiblePerson("张三", "110101199001011234"),))
    return penalty_entry(7, published_view(record, dt.date(2026, 10, 20)))


def test_exact_bytes_of_a_penalty_entry(entry):
    data = encode_entry(entry)
    assert data.startswith(b'{"body":{"article":"34","article_title":"Export without a licence')
    assert b'"format":"stc-credit-log/1","kind":"penalty","seq":7}' in data
    assert b" " not in data.replace(
        b"Export without a licence, beyond its scope, or of prohibited items", b""
    )
    assert "上海示例科技有限公司".encode() in data  # UTF-8, not \\u escapes
    assert b'"fine_fen":60000000' in data and b'"decision_date":"2026-09-21"' in data
    assert "张三".encode() not in data and b"110101199001011234" not in data
    obj = json.loads(data)
    assert list(obj) == sorted(obj) and list(obj["body"]) == sorted(obj["body"])
    assert obj["format"] == FORMAT


def test_round_trip_and_determinism(entry):
    data = encode_entry(entry)
    assert decode_entry(data) == entry
    assert encode_entry(decode_entry(data)) == data


def test_strings_are_nfc_normalised(make_record):
    decomposed = unicodedata.normalize("NFD", "Société Générale")
    composed = unicodedata.normalize("NFC", "Société Générale")
    a = encode_entry(
        penalty_entry(
            0, published_view(make_record(enterprise_name=decomposed), dt.date(2026, 10, 20))
        )
    )
    b = encode_entry(
        penalty_entry(
            0, published_view(make_record(enterprise_name=composed), dt.date(2026, 10, 20))
        )
    )
    assert a == b


def test_repair_entry(make_record):
    record = make_record()
    window = apply_repair(
        publicity(record, dt.date(2026, 10, 20)),
        Repair("rec-1", "修复1号", dt.date(2027, 3, 1), "o"),
    )
    entry = repair_entry(
        8, record.uscc, window, Repair("rec-1", "修复1号", dt.date(2027, 3, 1), "o")
    )
    data = encode_entry(entry)
    decoded = decode_entry(data)
    assert decoded.kind is EntryKind.REPAIR and decoded.body.last_day_shown == dt.date(2027, 2, 28)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.replace(b'"seq":7', b'"seq": 7'),  # whitespace
        lambda d: d.replace(b'"seq":7', b'"seq":7.0'),  # float
        lambda d: d.replace(b'"seq":7', b'"seq":-7'),
        lambda d: d.replace(b'"kind":"penalty"', b'"kind":"other"'),
        lambda d: d.replace(FORMAT.encode(), b"stc-credit-log/2"),
        lambda d: d.replace("上海".encode(), b"\\u4e0a\\u6d77"),  # escaped, not canonical
        lambda d: d.replace(b'"fine_fen":60000000', b'"fine_fen":"60000000"'),
        lambda d: d.replace(
            b'"sanctions":["confiscation","fine","order_to_stop"]',
            b'"sanctions":["fine","confiscation","order_to_stop"]',
        ),
        lambda d: d.replace(b'"seq":7}', b'"seq":7,"seq":7}'),  # duplicate key
        lambda d: d[:-1],  # truncated
        lambda d: b"\xff" + d,  # not UTF-8
        lambda d: d.replace(b'"decision_date":"2026-09-21"', b'"decision_date":"2026-9-21"'),
    ],
)
def test_non_canonical_bytes_rejected(entry, mangle):
    with pytest.raises(CanonicalError):
        decode_entry(mangle(encode_entry(entry)))


def test_body_must_match_kind(entry):
    from stc_credit.domain.canonical import LogEntry

    with pytest.raises(ValueError):
        encode_entry(LogEntry(1, EntryKind.REPAIR, entry.body))

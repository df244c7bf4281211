"""Property-based fuzzing of every RPC of every service, against the real platform (issue 10).

Hypothesis generates requests from the services' own descriptors (every method enumerated
from the service descriptors, every message built field by field): random strings with NUL
bytes, control characters, other scripts and over-long values, unknown enum numbers, random
repeated counts (some past the limits), random timestamps and dates, plausible ids and page
tokens; a part of them is then mutated at the byte level (flipped, cut, extended) or
replaced by random bytes. Each is sent as one of the roles (public, exporter, importer, an
officer of each authority, auditor, an expired, a garbage and a 74-year token) to the
platform as `make run` starts it.

The property: no INTERNAL and no UNKNOWN, ever; afterwards every service still answers
SERVING and the whole story of the law (which makes every service publish events and consume
the others') still runs. The figures (requests sent, statuses per code) are printed.
STC_FUZZ_REQUESTS raises the count for a long run (default 5,200, about a minute here).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import importlib
import os
import random
import time

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor as F
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from stc_common.auth.jwt import mint_token
from stc_common.uscc import make_uscc

pytestmark = pytest.mark.e2e

SERVICES = ("licensing", "screening", "enduser", "credit")
REQUESTS = int(os.environ.get("STC_FUZZ_REQUESTS", "5200"))
IN_FLIGHT = 12
USCC = make_uscc("91350100MA0001234")
INTERESTING = [
    "", "\x00", "a\x00b", "-1", "0", "18446744073709551616", "9" * 40, "abc", " 1", "1_0",
    "applications/", "licences/x", "changeReports/\x00", "endUseChecks/1", USCC,
    "91350100M000100Y43", "00000000-0000-0000-0000-000000000000", "MOFCOM", "SASTIND", "DE",
    "CN", "1A001", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "中华人民共和国", "\u202e\ufeff", "\ud7ff", "%s%n", "' OR 1=1 --",
    "x" * 5000,
]


def _descriptors():
    out = []
    for svc in SERVICES:
        module = importlib.import_module(f"stc.{svc}.v1.{svc}_service_pb2")
        service = next(iter(module.DESCRIPTOR.services_by_name.values()))
        for m in service.methods:
            out.append((svc, f"/{service.full_name}/{m.name}", m))
    return out


METHODS = _descriptors()


def _tokens() -> list[tuple[str, tuple]]:
    def bearer(token: str) -> tuple:
        return (("authorization", f"Bearer {token}"),)

    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    roles = [
        ("public", ()),
        ("exporter", bearer(mint_token(role="exporter", uscc=USCC))),
        ("importer", bearer(mint_token(role="importer", licence="LIC-1", party="P-1"))),
        ("auditor", bearer(mint_token(role="auditor"))),
        ("expired", bearer(mint_token(role="auditor", now=old, ttl=dt.timedelta(minutes=5)))),
        ("garbage", bearer("not.a.token")),
        ("year-2100", bearer(mint_token(role="officer", authority="MOFCOM",
                                        ttl=dt.timedelta(days=365 * 74)))),
    ]
    for authority in ("MOFCOM", "SASTIND", "CAEA", "CWC"):
        roles.append((f"officer-{authority}",
                      bearer(mint_token(role="officer", authority=authority))))
    return roles


ROLES = _tokens()

_texts = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(max_size=24),
    st.text(alphabet=st.characters(max_codepoint=0x3F), max_size=12),  # controls and digits
    st.integers(0, 2**70).map(str),
    st.integers(-(2**70), -1).map(str),
    st.builds(lambda n, c: c * n, st.integers(200, 6000), st.sampled_from("x中\x00")),
)
_INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1), F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1), F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1), F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1), F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}


def _int(lo: int, hi: int):
    edges = [v for v in (lo, hi, -1, 0, 1, 5, 100, 501, 10**6) if lo <= v <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


def _scalar(draw, f):
    t = f.type
    if t == F.TYPE_STRING:
        return draw(_texts)
    if t == F.TYPE_BYTES:
        return draw(st.binary(max_size=64))
    if t == F.TYPE_BOOL:
        return draw(st.booleans())
    if t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return draw(st.floats(allow_nan=True, allow_infinity=True, width=32))
    if t == F.TYPE_ENUM:
        known = [v.number for v in f.enum_type.values]
        return draw(st.one_of(st.sampled_from(known), _int(-(2**31), 2**31 - 1)))
    lo, hi = _INT_RANGES[t]
    return draw(_int(lo, hi))


def _fill(draw, msg, depth: int) -> None:
    name = msg.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        msg.seconds = draw(_int(-(2**63), 2**63 - 1) | _int(0, 4_102_444_800))
        msg.nanos = draw(_int(-(2**31), 2**31 - 1) | st.just(0))
        return
    if name == "google.type.Date":
        msg.year = draw(_int(-5, 10_001) | _int(2000, 2030))
        msg.month = draw(_int(-1, 13))
        msg.day = draw(_int(-1, 32))
        return
    for f in msg.DESCRIPTOR.fields:
        if draw(st.integers(0, 2)) and depth:  # nested: about a third of the fields set
            continue
        if not depth and not draw(st.integers(0, 3)):  # top level: three quarters set
            continue
        is_map = f.is_repeated and f.message_type is not None and \
            f.message_type.GetOptions().map_entry
        if is_map:
            kf, vf = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
            for _ in range(draw(st.integers(0, 3) | st.just(30))):
                key = _scalar(draw, kf)
                if vf.type == F.TYPE_MESSAGE:
                    _fill(draw, getattr(msg, f.name)[key], depth + 1)
                else:
                    getattr(msg, f.name)[key] = _scalar(draw, vf)
        elif f.is_repeated:
            count = draw(st.integers(0, 3) | st.sampled_from([11, 21, 60]))
            if f.type == F.TYPE_MESSAGE:
                if depth > 2:
                    continue
                for _ in range(min(count, 2)):
                    _fill(draw, getattr(msg, f.name).add(), depth + 1)
            else:
                getattr(msg, f.name).extend(_scalar(draw, f) for _ in range(count))
        elif f.type == F.TYPE_MESSAGE:
            if depth <= 3:
                _fill(draw, getattr(msg, f.name), depth + 1)
        else:
            setattr(msg, f.name, _scalar(draw, f))


def _mutate(rnd: random.Random, raw: bytes) -> bytes:
    """A byte-level mutation of an encoded request: flipped, cut, extended or random."""
    kind = rnd.choice(["flip", "cut", "extend", "random"])
    if kind == "random":
        return rnd.randbytes(rnd.randint(1, 200))
    data = bytearray(raw or b"\x0a\x00")
    if kind == "flip":
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif kind == "cut":
        data = data[: rnd.randrange(len(data))]
    else:
        data += rnd.randbytes(rnd.randint(1, 40))
    return bytes(data)


# Each generated message is sent six times: as drawn, as drawn by two other roles, and three
# times mutated at the byte level (each time as a role the drawn random generator picks).
SENDS_PER_MESSAGE = 6


@st.composite
def requests(draw, method):
    """[(service, method path, is_stream, role, metadata, raw bytes, how it was made)]."""
    svc, path, m = method
    role, metadata = draw(st.sampled_from(ROLES))
    rnd = draw(st.randoms(use_true_random=False))
    msg = _message_class(m.input_type)()
    _fill(draw, msg, 0)
    raw = msg.SerializeToString()
    out = [(svc, path, m.server_streaming, role, metadata, raw, "generated")]
    for _ in range(2):
        out.append((svc, path, m.server_streaming, *rnd.choice(ROLES), raw, "generated"))
    for _ in range(SENDS_PER_MESSAGE - 3):
        out.append((svc, path, m.server_streaming, *rnd.choice(ROLES), _mutate(rnd, raw),
                    "mutated"))
    return out


_CLASSES: dict[str, type] = {}


def _message_class(d):
    if d.full_name not in _CLASSES:
        from google.protobuf import message_factory

        _CLASSES[d.full_name] = message_factory.GetMessageClass(d)
    return _CLASSES[d.full_name]


def generate(n: int) -> list[tuple]:
    """At least n requests drawn by Hypothesis, the same share for every RPC (generation
    only: the property is checked on the platform's answers)."""
    out: list[tuple] = []
    per_method = -(-n // (SENDS_PER_MESSAGE * len(METHODS)))
    for method in METHODS:

        @settings(
            max_examples=per_method, database=None, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck), deadline=None,
        )
        @given(requests(method))
        def collect(reqs):
            out.extend(reqs)

        collect()
    random.Random(0).shuffle(out)  # interleave the services and methods
    return out


async def _send(channels, req, counts, bad, timeout=10):
    svc, path, stream, role, metadata, raw, how = req
    ch = channels[svc]
    try:
        if stream:
            call = ch.unary_stream(path, request_serializer=None, response_deserializer=None)(
                raw, metadata=metadata, timeout=timeout
            )
            try:  # a stream that opens is fine: read one update and hang up
                await asyncio.wait_for(call.read(), 2)
                code = "OK"
            except TimeoutError:
                code = "OK (open)"
            finally:
                call.cancel()
        else:
            await ch.unary_unary(path, request_serializer=None, response_deserializer=None)(
                raw, metadata=metadata, timeout=timeout
            )
            code = "OK"
    except grpc.aio.AioRpcError as exc:
        code = exc.code().name
        if exc.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            bad.append((path, role, how, raw[:300], exc.details()))
    counts[code] += 1


async def _health(addresses) -> dict[str, str]:
    out = {}
    for svc, addr in addresses.items():
        async with grpc.aio.insecure_channel(addr) as ch:
            r = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(),
                                                            timeout=5)
            out[svc] = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
    return out


async def test_fuzz_every_rpc_as_every_role_gives_no_internal_error(platform):
    addresses = platform["addresses"]
    started = time.perf_counter()
    reqs = generate(REQUESTS)
    generated_s = time.perf_counter() - started
    counts: collections.Counter[str] = collections.Counter()
    bad: list[tuple] = []
    channels = {s: grpc.aio.insecure_channel(a) for s, a in addresses.items()}
    sem = asyncio.Semaphore(IN_FLIGHT)

    async def one(req):
        async with sem:
            await _send(channels, req, counts, bad)

    try:
        await asyncio.gather(*(one(r) for r in reqs))
    finally:
        for ch in channels.values():
            await ch.close()
    elapsed = time.perf_counter() - started
    covered = {(r[1]) for r in reqs}
    roles = {r[3] for r in reqs}
    print(
        f"\nfuzz: {len(reqs)} requests ({sum(r[6] == 'mutated' for r in reqs)} mutated) over "
        f"{len(covered)}/{len(METHODS)} RPCs and {len(roles)} roles in {elapsed:.1f} s "
        f"(generation {generated_s:.1f} s); statuses: "
        + ", ".join(f"{k} {v}" for k, v in counts.most_common())
    )
    assert sum(counts.values()) == len(reqs) >= min(REQUESTS, 5000)
    assert len(covered) == len(METHODS), sorted({p for _, p, _ in METHODS} - covered)
    assert not bad, f"{len(bad)} INTERNAL/UNKNOWN, first: {bad[:5]}"

    # afterwards: every service SERVING, and the story (every service publishing and
    # consuming events) still runs
    assert set((await _health(addresses)).values()) == {"SERVING"}
    from stc_demo.scenario import run_story

    story = await run_story()
    failed = [f"{s.title}: {s.detail}" for s in story.steps if not s.ok]
    assert not failed, failed

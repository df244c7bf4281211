"""Run the edge (a real Envoy process) for tests and benchmarks, on free ports; a stub DNS
server that plays a Kubernetes headless Service (a name answering the addresses of the ready
pods, changed at will) for the edge to resolve."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

from stc_edge.__main__ import envoy_argv
from stc_edge.config import EdgeSettings
from stc_edge.envoy import write_config


def _ready(admin_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.asynccontextmanager
async def running_edge(settings: EdgeSettings, workdir: Path,
                       timeout: float = 30) -> AsyncIterator[EdgeSettings]:
    """Write the configuration into `workdir`, start Envoy, wait until it is ready (its admin
    /ready answers 200, i.e. the listener is up); stop it afterwards."""
    config = write_config(settings, workdir / "envoy.json")
    log = workdir / "envoy.log"
    with open(log, "wb") as out:  # noqa: ASYNC230 - opened once, before Envoy runs
        proc = await asyncio.create_subprocess_exec(
            *envoy_argv(config, "warn"), stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await asyncio.to_thread(_ready, settings.admin_port):
            if proc.returncode is not None:
                raise RuntimeError(f"envoy exited: {log.read_text()[-2000:]}")
            if loop.time() > deadline:
                raise TimeoutError(f"envoy not ready after {timeout}s: {log}")
            await asyncio.sleep(0.1)
        yield settings
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


class StubDns(asyncio.DatagramProtocol):
    """A DNS server on 127.0.0.1 (UDP) that answers A queries from `records` (name → IPv4
    addresses, as a headless Service lists its ready pods): no answer for other types of a known
    name, NXDOMAIN for an unknown one. Only what Envoy's resolver (c-ares) needs."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # noqa: D102 - asyncio protocol
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: D102 - asyncio protocol
        reply = self.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def answer(self, query: bytes) -> bytes | None:
        """The response to one query message (None for what is not a one-question query)."""
        if len(query) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", query[:6])
        if qdcount != 1:
            return None
        i, labels = 12, []
        while i < len(query) and query[i]:
            n = query[i]
            labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace").lower())
            i += 1 + n
        if i + 5 > len(query):
            return None
        qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
        question = query[12:i + 5]
        ips = self.records.get(".".join(labels))
        answers = (ips or []) if qtype == 1 else []
        rcode = 3 if ips is None else 0
        # QR, AA, the client's RD; one question, the answers, nothing else
        header = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1,
                             len(answers), 0, 0)
        # each answer names the question by a pointer to offset 12; TTL 1 s
        body = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(ip)
                        for ip in answers)
        return header + question + body


@contextlib.asynccontextmanager
async def stub_dns() -> AsyncIterator[tuple[StubDns, int]]:
    """A StubDns on a free UDP port of 127.0.0.1; yields it and the port."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(StubDns, local_addr=("127.0.0.1", 0))
    try:
        yield proto, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()

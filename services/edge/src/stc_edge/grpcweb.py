"""gRPC-Web framing (the protocol of grpc/grpc-web and Connect's gRPC-Web mode), for tests,
the benchmark and any Python client that has only HTTP/1.1.

A body is a sequence of frames: one flag byte (0x00 data, 0x80 trailers), a 4-byte big-endian
length, the payload. The trailers frame holds `grpc-status` / `grpc-message` as HTTP header
lines.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

CONTENT_TYPE = "application/grpc-web+proto"


def frame(message: bytes) -> bytes:
    """One data frame."""
    return b"\x00" + struct.pack(">I", len(message)) + message


@dataclass
class Reply:
    """The messages and the trailers of a gRPC-Web response."""

    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        """The gRPC status code (-1 when the response carried none)."""
        return int(self.trailers.get("grpc-status", "-1"))


def parse(body: bytes, headers: dict[str, str] | None = None) -> Reply:
    """Split a response body into messages and trailers (a trailers-only response carries the
    status in the HTTP headers instead)."""
    out = Reply()
    i = 0
    while i + 5 <= len(body):
        flag, n = body[i], struct.unpack(">I", body[i + 1:i + 5])[0]
        payload = body[i + 5:i + 5 + n]
        i += 5 + n
        if flag & 0x80:
            for line in payload.decode("utf-8", "replace").split("\r\n"):
                k, sep, v = line.partition(":")
                if sep:
                    out.trailers[k.strip().lower()] = v.strip()
        else:
            out.messages.append(payload)
    if "grpc-status" not in out.trailers and headers:
        for k in ("grpc-status", "grpc-message"):
            if k in headers:
                out.trailers[k] = headers[k]
    return out

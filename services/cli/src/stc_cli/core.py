"""What every command shares: consoles, the `--as` / `--json` options, the `run` decorator that
turns failures into readable messages and exit codes, the stubs of the four services, and the two
ways a command talks to them: `call` (one request, one answer) and `collect` (follow the pages of
a List RPC).

Exit codes: 0 ok, 1 refused by the platform (or unreachable), 2 bad CLI input, 130 Ctrl-C.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Callable
from typing import Annotated, Any

import grpc
import typer
from google.protobuf.json_format import MessageToDict
from rich.console import Console
from stc_common.grpc.errors import error_reason, field_violations

from stc_cli.context import AddressError, Identity, IdentityError, TlsSettingsError, channel

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

AsOption = Annotated[
    str,
    typer.Option(
        "--as",
        envvar="STC_AS",
        help="who acts: exporter:<USCC> | officer:<MOFCOM|SASTIND|CAEA|CWC> | auditor | public",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for machines")]


class CliInputError(ValueError):
    """Bad input on the command line or in a file given to it (exit code 2)."""


def run(coro_fn):
    """Run an async command; turn failures into readable messages and exit codes."""

    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        try:
            return asyncio.run(coro_fn(*args, **kwargs))
        except typer.Exit:
            raise
        except (IdentityError, CliInputError, TlsSettingsError, AddressError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        except grpc.aio.AioRpcError as exc:
            report_rpc_error(exc)
            raise typer.Exit(1) from None
        except (KeyboardInterrupt, asyncio.CancelledError):
            err.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(130) from None
        except Exception as exc:  # never a traceback for a person; STC_DEBUG=1 shows it
            if os.environ.get("STC_DEBUG"):
                raise
            err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
            raise typer.Exit(1) from None

    return wrapper


def report_rpc_error(exc: grpc.aio.AioRpcError) -> None:
    """Print a gRPC error the way a person can act on it."""
    code = exc.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        err.print(
            "[red]error:[/red] the service is not reachable — is the platform up? (make run)"
            + (f"\n  ({exc.details()})" if exc.details() else "")
        )
        return
    hint = {
        grpc.StatusCode.UNAUTHENTICATED: "this needs a token: pass --as (or set STC_AS/STC_TOKEN)",
        grpc.StatusCode.PERMISSION_DENIED: "the identity given with --as may not do this",
        grpc.StatusCode.NOT_FOUND: "no such resource visible to this identity",
        grpc.StatusCode.DEADLINE_EXCEEDED: "the service did not answer in time",
    }.get(code)
    err.print(f"[red]error ({code.name}):[/red] {exc.details()}")
    if reason := error_reason(exc):
        err.print(f"  reason: {reason}")
    for field, why in field_violations(exc):
        err.print(f"  • [bold]{field}[/bold]: {why}")
    if hint:
        err.print(f"  [dim]{hint}[/dim]")


def identity(spec: str) -> tuple[tuple[str, str], ...]:
    """gRPC metadata for an --as value (raises IdentityError, exit 2)."""
    return Identity(spec).metadata()


def exporter_uscc(spec: str) -> str | None:
    """The USCC of an `exporter:<USCC>` identity, else None."""
    role, _, arg = spec.partition(":")
    return arg.strip().upper() if role == "exporter" and arg else None


def to_dict(msg) -> dict[str, Any]:
    """A message as a JSON-ready dict (proto field names, enums as names)."""
    return MessageToDict(msg, preserving_proto_field_name=True)


def print_json(obj: Any) -> None:
    """JSON on stdout (messages, dicts or lists of either)."""
    if hasattr(obj, "DESCRIPTOR"):
        obj = to_dict(obj)
    elif isinstance(obj, list):
        obj = [to_dict(o) if hasattr(o, "DESCRIPTOR") else o for o in obj]
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str), flush=True)


def emit(msg: Any, json_: bool, show: Callable[[Any], None]) -> None:
    """Print an answer as JSON (--json) or in its readable form."""
    if json_:
        print_json(msg)
    else:
        show(msg)


def stub(service: str):
    """(channel, stub) for one of the four services; close the channel when done."""
    ch = channel(service)
    if service == "licensing":
        from stc.licensing.v1 import licensing_service_pb2_grpc as g

        return ch, g.LicensingServiceStub(ch)
    if service == "enduser":
        from stc.enduser.v1 import enduser_service_pb2_grpc as g

        return ch, g.EndUserServiceStub(ch)
    if service == "credit":
        from stc.credit.v1 import credit_service_pb2_grpc as g

        return ch, g.CreditServiceStub(ch)
    if service == "screening":
        from stc.screening.v1 import screening_service_pb2_grpc as g

        return ch, g.ScreeningServiceStub(ch)
    raise KeyError(service)


class Client:
    """`async with Client("licensing") as c: await c.stub.GetApplication(...)`.

    Tests replace `Client.factory` to hand commands a fake stub.
    """

    factory = staticmethod(stub)

    def __init__(self, service: str) -> None:
        self.service = service

    async def __aenter__(self):
        self.channel, self.stub = Client.factory(self.service)
        return self.stub

    async def __aexit__(self, *exc) -> None:
        if self.channel is not None:
            await self.channel.close()


TIMEOUT = 30
"""Seconds a command waits for one answer."""
PAGE_SIZE = 100
"""The most items a command asks for in one page (the services' own upper bound)."""


def _metadata(as_: str | None) -> tuple[tuple[str, str], ...] | None:
    return None if as_ is None else identity(as_)


async def call(service: str, method: str, request: Any, as_: str | None,
               timeout: float | None = TIMEOUT) -> Any:
    """The answer of one RPC `method` of `service`, asked as the `--as` identity `as_` (None: no
    token at all, for the public endpoints)."""
    metadata = _metadata(as_)
    async with Client(service) as s:
        return await getattr(s, method)(request, metadata=metadata, timeout=timeout)


async def collect(service: str, method: str, request_type: Callable[..., Any], items: str, *,
                  as_: str | None, limit: int, **fields: Any) -> list[Any]:
    """Up to `limit` items of a List RPC, following `next_page_token` page after page.

    The request is `request_type(**fields, page_size=…, page_token=…)`; `items` names the
    repeated field of the answer that holds them.
    """
    metadata = _metadata(as_)
    out: list[Any] = []
    token = ""
    async with Client(service) as s:
        rpc = getattr(s, method)
        while len(out) < limit:
            r = await rpc(request_type(**fields, page_size=min(PAGE_SIZE, limit - len(out)),
                                       page_token=token), metadata=metadata, timeout=TIMEOUT)
            out += getattr(r, items)
            token = r.next_page_token
            if not token:
                break
    return out

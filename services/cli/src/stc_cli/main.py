"""`stc`: the platform from the command line, through its public gRPC APIs and Kafka only.

Every command prints something a person can act on; failures exit non-zero with the reason
(field violations for bad input), never a traceback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from typing import Annotated

import grpc
import typer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.table import Table
from stc_common.auth.jwt import mint_token

from stc_cli.commands import application, credit, enduser, licence, officer, operator, screening
from stc_cli.context import ADDRESSES, EDGE, KAFKA, channel_to, replicas
from stc_cli.core import AsOption, console, err, report_rpc_error, run

__all__ = ["app", "AsOption", "report_rpc_error", "run"]

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)

for _name, _sub in (("operator", operator.app), ("application", application.app),
                    ("officer", officer.app), ("licence", licence.app),
                    ("change", enduser.change_app), ("check", enduser.check_app),
                    ("screen", screening.screen_app), ("list", screening.list_app),
                    ("consult", screening.consult_app), ("credit", credit.app)):
    app.add_typer(_sub, name=_name)


@app.command()
def token(role: str, uscc: str = "", authority: str = "", hours: float = 8) -> None:
    """Print a development token (local stack only), e.g. `stc token officer --authority MOFCOM`."""
    try:
        print(
            mint_token(
                role=role,
                uscc=uscc or None,
                authority=authority or None,
                ttl=dt.timedelta(hours=hours),
            )
        )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
@run
async def status() -> None:
    """Health of the four services."""
    table = Table("service", "address", "health")
    bad = 0
    for name, addrs in ADDRESSES.items():
        # each replica on its own row: a balanced channel would hide a dead one
        serving = 0
        for addr in replicas(addrs):
            async with channel_to(addr) as ch:
                try:
                    r = await health_pb2_grpc.HealthStub(ch).Check(
                        health_pb2.HealthCheckRequest(), timeout=3
                    )
                    state = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
                    serving += r.status == health_pb2.HealthCheckResponse.SERVING
                except grpc.aio.AioRpcError as exc:
                    state = f"[red]{exc.code().name}[/red]"
            table.add_row(name, addr, state)
        bad += not serving  # a service is down when none of its replicas serves
    edge = await asyncio.to_thread(edge_health, EDGE)
    table.add_row("edge (Envoy)", EDGE, {
        "SERVING": "SERVING", "NOT_SERVING": "[red]NOT_SERVING[/red] (a service is down)",
    }.get(edge, "[yellow]not running[/yellow] (make run starts it)"))
    bad += edge == "NOT_SERVING"
    console.print(table)
    if bad:
        raise typer.Exit(1)


def edge_health(addr: str) -> str:
    """SERVING when the edge answers /healthz with 200 (every service's cluster has a healthy
    host), NOT_SERVING on 503, UNAVAILABLE when nothing listens."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{addr}/healthz", timeout=3) as r:
            return "SERVING" if r.status == 200 else "NOT_SERVING"
    except urllib.error.HTTPError as exc:
        return "NOT_SERVING" if exc.code == 503 else f"HTTP_{exc.code}"
    except OSError:
        return "UNAVAILABLE"


@app.command()
@run
async def tail(
    topics: Annotated[
        list[str] | None, typer.Argument(help="topics (default: all platform topics)")
    ] = None,
    from_beginning: bool = False,
    json_lines: Annotated[bool, typer.Option("--json")] = False,
    count: Annotated[int, typer.Option(help="stop after N events (0: run until Ctrl-C)")] = 0,
) -> None:
    """Follow topics as readable events."""
    from aiokafka import AIOKafkaConsumer
    from rich.markup import escape
    from stc_common.kafka.topics import TOPICS

    from stc_cli.events import readable, to_json

    names = topics or [t.name for t in TOPICS]
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=KAFKA,
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    seen = 0
    try:
        async for rec in consumer:
            ev = readable(rec.headers, rec.value, rec.key)
            if json_lines:
                print(to_json({"topic": rec.topic, **ev}), flush=True)
            else:
                # one line per event; the payload is escaped (JSON lists look like rich markup)
                kind = ev.get("type", "?").rsplit(".", 1)[-1]
                payload = to_json(ev.get("data", ev.get("error")))
                console.print(
                    f"[bold cyan]{escape(kind)}[/bold cyan] [dim]{rec.topic}[/dim] "
                    f"key={escape(str(ev.get('key')))} {escape(payload[:240])}",
                    soft_wrap=True,
                )
            seen += 1
            if count and seen >= count:
                break
    finally:
        await consumer.stop()


app.command("classify")(screening.classify)


def main() -> None:
    """Entry point for the console script."""
    app(prog_name="stc")


if __name__ == "__main__":
    sys.exit(main())

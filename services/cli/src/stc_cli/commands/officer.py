"""`stc officer`: the review queue, requests for information and decisions (Reg. 17)."""

from __future__ import annotations

from typing import Annotated

import typer
from stc.licensing.v1 import events_pb2 as epb
from stc.licensing.v1 import licensing_service_pb2 as spb

from stc_cli.commands.application import application_rows, state
from stc_cli.commands.licence import show_licence
from stc_cli.core import (
    AsOption,
    CliInputError,
    JsonOption,
    call,
    collect,
    console,
    print_json,
    run,
)
from stc_cli.files import parse_date
from stc_cli.render import date, styled

app = typer.Typer(help="Officers: review queue, request information, decide.",
                  no_args_is_help=True)


@app.command()
@run
async def queue(as_: AsOption = "public", limit: int = 100, json_: JsonOption = False) -> None:
    """The authority's review queue (oldest deadline first)."""
    apps = await collect("licensing", "ListReviewQueue", spb.ListReviewQueueRequest,
                         "applications", as_=as_, limit=limit)
    if json_:
        return print_json(list(apps))
    console.print(application_rows(apps))
    console.print(f"[dim]{len(apps)} in the queue[/dim]")


@app.command("request-info")
@run
async def request_info(
    application_id: str,
    question: Annotated[list[str], typer.Option(help="a question (repeatable)")],
    as_: AsOption = "public",
    json_: JsonOption = False,
) -> None:
    """Ask the applicant for information (the Reg. 17 clock stops until it amends)."""
    a = await call("licensing", "RequestInformation", spb.RequestInformationRequest(
        application_id=application_id, questions=question), as_)
    if json_:
        return print_json(a)
    console.print(f"{a.reference}: {styled(state(a.state)).markup} (clock paused: "
                  f"{a.clock_paused}, {a.working_days_remaining} working days left)")


@app.command()
@run
async def decide(
    application_id: str,
    as_: AsOption = "public",
    approve: Annotated[bool, typer.Option("--approve", help="grant the licence")] = False,
    conditions: Annotated[list[str] | None, typer.Option(
        "--approve-with-conditions", help="grant with this condition (repeatable)")] = None,
    deny: Annotated[bool, typer.Option("--deny", help="refuse (needs --reason)")] = False,
    reason: Annotated[list[str] | None, typer.Option(
        help="reason for a denial (repeatable)")] = None,
    valid_until: Annotated[str | None, typer.Option(
        help="licence validity end, YYYY-MM-DD")] = None,
    json_: JsonOption = False,
) -> None:
    """Decide: --approve | --approve-with-conditions TEXT … | --deny --reason TEXT …"""
    chosen = [n for n, on in (("--approve", approve), ("--approve-with-conditions",
                                                        bool(conditions)), ("--deny", deny)) if on]
    if len(chosen) != 1:
        raise CliInputError("choose exactly one of --approve, --approve-with-conditions, --deny"
                            + (f" (got {', '.join(chosen)})" if chosen else ""))
    if deny and not reason:
        raise CliInputError("--deny needs at least one --reason")
    decision = (epb.DECISION_APPROVE if approve else
                epb.DECISION_APPROVE_WITH_CONDITIONS if conditions else epb.DECISION_DENY)
    req = spb.DecideApplicationRequest(application_id=application_id, decision=decision,
                                       conditions=conditions or [], reasons=reason or [])
    if valid_until:
        req.valid_until.CopyFrom(parse_date(valid_until, "--valid-until"))
    r = await call("licensing", "DecideApplication", req, as_)
    if json_:
        return print_json(r)
    a = r.application
    console.print(f"{a.reference}: {styled(state(a.state)).markup}")
    if r.HasField("licence") and r.licence.licence_id:
        console.print(f"licence [bold]{r.licence.reference}[/bold] issued "
                      f"(id {r.licence.licence_id}), valid until {date(r.licence.valid_until)}")
        show_licence(r.licence)

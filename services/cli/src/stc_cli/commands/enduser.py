"""`stc change` and `stc check`: end-user / end-use change reports (ECL Art. 16, Reg. 25) and
end-use checks (ECL Art. 17; Reg. 26 for parties that do not cooperate)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import typer
from google.protobuf import timestamp_pb2
from stc.common.v1 import common_pb2
from stc.enduser.v1 import change_report_pb2 as cpb
from stc.enduser.v1 import end_use_check_pb2 as kpb
from stc.enduser.v1 import enduser_service_pb2 as spb
from stc.enduser.v1 import events_pb2 as epb

from stc_cli.core import (
    AsOption,
    CliInputError,
    JsonOption,
    call,
    collect,
    console,
    emit,
    print_json,
    run,
)
from stc_cli.render import enum_value, grid, kv_table, short, styled, ts

change_app = typer.Typer(help="End-user / end-use change reports (Art. 16, Reg. 25).",
                         no_args_is_help=True)
check_app = typer.Typer(help="End-use checks (Art. 17; Reg. 26 watch list).",
                        no_args_is_help=True)


def kind(value: int) -> str:
    return short(epb.ChangeKind, value, "CHANGE_KIND_")


def resolution(value: int) -> str:
    return short(epb.ResolutionKind, value, "RESOLUTION_KIND_")


def show_report(r: cpb.ChangeReport) -> None:
    console.print(kv_table(f"Change report {r.reference}", [
        ("id", r.report_id), ("licence", r.licence_id), ("exporter", r.exporter_uscc),
        ("authority", r.authority), ("kind", kind(r.kind)),
        ("status", styled(short(cpb.ReportStatus, r.status, "REPORT_STATUS_"))),
        ("details", r.details),
        ("new end user", f"{r.new_end_user.name} ({r.new_end_user.country})"
         if r.new_end_user.name else "-"),
        ("new end use", r.new_end_use or "-"),
        ("reported", ts(r.reported_at)),
        ("resolution", f"{resolution(r.resolution)} by {r.resolved_by} at {ts(r.resolved_at)}: "
                       f"{'; '.join(r.resolution_reasons)}" if r.resolution else "-"),
    ]))


def show_check(c: kpb.EndUseCheck) -> None:
    console.print(kv_table(f"End-use check {c.check_id}", [
        ("licence", c.licence_id), ("exporter", c.exporter_uscc), ("authority", c.authority),
        ("party", f"{c.party.name} ({c.party.country}) [{c.party.party_id}]"),
        ("deadline", ts(c.deadline) + (" [red]OVERDUE[/red]" if c.overdue else "")),
        ("status", styled(short(kpb.CheckStatus, c.status, "CHECK_STATUS_"))),
        ("outcome", c.outcome_details or "-"),
        ("scheduled", f"{ts(c.scheduled_at)} by {c.scheduled_by}"),
    ]))


def parse_deadline(text: str) -> timestamp_pb2.Timestamp:
    """'+30' (days), YYYY-MM-DD (end of that day, China time) or an ISO date-time."""
    text = text.strip()
    try:
        if text.startswith("+"):
            when = dt.datetime.now(dt.UTC) + dt.timedelta(days=float(text[1:].rstrip("d")))
        elif len(text) == 10:
            when = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(23, 59, 59),
                                       dt.timezone(dt.timedelta(hours=8)))
        else:
            when = dt.datetime.fromisoformat(text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    except ValueError:
        raise CliInputError(f"--deadline {text!r}: use +DAYS, YYYY-MM-DD or an ISO date-time") \
            from None
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when.astimezone(dt.UTC))
    return t


@change_app.command("report")
@run
async def report(
    licence: Annotated[str, typer.Option(help="licence id")],
    kind_: Annotated[str, typer.Option("--kind", help="end-user-changed | end-user-may-change | "
                                       "end-use-changed | end-use-may-change | "
                                       "transfer-to-third-party | certificate-forged | "
                                       "certificate-altered | certificate-expired | "
                                       "certificate-by-fraud")],
    details: Annotated[str, typer.Option(help="what happened")],
    as_: AsOption = "public",
    new_end_user_name: str = "",
    new_end_user_country: str = "",
    new_end_user_alias: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    new_end_use: str = "",
    subject_party: Annotated[str, typer.Option(help="the licence party concerned")] = "",
    request_id: str | None = None,
    json_: JsonOption = False,
) -> None:
    """Report an end-user or end-use change at once (the licence goes on hold)."""
    req = spb.ReportChangeRequest(
        request_id=request_id or uuid.uuid4().hex, licence_id=licence,
        kind=enum_value(epb.ChangeKind, "CHANGE_KIND_", kind_, "--kind"), details=details,
        new_end_use=new_end_use, subject_party_id=subject_party)
    if new_end_user_name:
        req.new_end_user.CopyFrom(common_pb2.Party(
            role=common_pb2.PARTY_ROLE_END_USER, name=new_end_user_name,
            country=new_end_user_country.upper(), aliases=new_end_user_alias or []))
    r = await call("enduser", "ReportChange", req, as_)
    if json_:
        return print_json(r)
    console.print(f"[green]reported[/green] {r.report.reference} (id {r.report.report_id}); "
                  f"licence on hold: {r.hold_licence}; new end user screened: "
                  f"{r.screen_new_end_user}; recommended: {resolution(r.recommended)} "
                  f"({', '.join(r.basis)})")


@change_app.command("list")
@run
async def list_changes(
    as_: AsOption = "public", licence: str = "",
    open_: Annotated[bool, typer.Option("--open", help="only open reports")] = False,
    limit: int = 100, json_: JsonOption = False,
) -> None:
    """Change reports (exporters: their own; officers: their authority's, oldest first)."""
    out = await collect("enduser", "ListChangeReports", spb.ListChangeReportsRequest, "reports",
                        as_=as_, limit=limit, open_only=open_, licence_id=licence)
    if json_:
        return print_json(list(out))
    t = grid("reference", "id", "licence", "kind", "status", "reported", "resolution",
             ids=("id", "licence"))
    for r in out:
        t.add_row(r.reference, r.report_id, r.licence_id, kind(r.kind),
                  styled(short(cpb.ReportStatus, r.status, "REPORT_STATUS_")), ts(r.reported_at),
                  resolution(r.resolution))
    console.print(t)


@change_app.command("show")
@run
async def show_change(report_id: str, as_: AsOption = "public", json_: JsonOption = False) -> None:
    """One change report."""
    r = await call("enduser", "GetChangeReport", spb.GetChangeReportRequest(name=report_id), as_)
    emit(r, json_, show_report)


@change_app.command("resolve")
@run
async def resolve(
    report_id: str,
    resolution_: Annotated[str, typer.Option("--resolution", help="accept-amendment | "
                                             "require-reapplication | suspend-licence | "
                                             "revoke-licence | no-action")],
    as_: AsOption = "public",
    reason: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    element: Annotated[list[str] | None, typer.Option(
        help="amended element for accept-amendment: END_USE, END_USER_CERTIFICATE, CONSIGNEE, "
             "QUANTITY, DELIVERY_SCHEDULE (repeatable)")] = None,
    json_: JsonOption = False,
) -> None:
    """Officer: resolve an open change report."""
    req = spb.ResolveChangeRequest(
        name=report_id, resolution=enum_value(epb.ResolutionKind, "RESOLUTION_KIND_",
                                              resolution_, "--resolution"),
        reasons=reason or [], amended_elements=[e.upper() for e in element or []])
    r = await call("enduser", "ResolveChange", req, as_)
    emit(r, json_, show_report)


@check_app.command("schedule")
@run
async def schedule(
    licence: Annotated[str, typer.Option(help="licence id")],
    party: Annotated[str, typer.Option(help="party id on the licence")],
    as_: AsOption = "public",
    deadline: Annotated[str, typer.Option(help="+DAYS, YYYY-MM-DD or ISO date-time")] = "+30",
    json_: JsonOption = False,
) -> None:
    """Officer: schedule an end-use check of a party on a licence (Art. 17)."""
    c = await call("enduser", "ScheduleEndUseCheck", spb.ScheduleEndUseCheckRequest(
        licence_id=licence, party_id=party, deadline=parse_deadline(deadline)), as_)
    emit(c, json_, show_check)


@check_app.command("outcome")
@run
async def outcome(
    check_id: str,
    outcome_: Annotated[str, typer.Option(
        "--outcome", help="verified | not-cooperating | diverted")],
    as_: AsOption = "public", details: str = "", json_: JsonOption = False,
) -> None:
    """Officer: record the outcome of a check."""
    c = await call("enduser", "RecordEndUseCheckOutcome", spb.RecordEndUseCheckOutcomeRequest(
        name=check_id, details=details,
        outcome=enum_value(epb.CheckOutcome, "CHECK_OUTCOME_", outcome_, "--outcome")), as_)
    emit(c, json_, show_check)


@check_app.command("confirm-overdue")
@run
async def confirm_overdue(check_id: str, as_: AsOption = "public", details: str = "",
                          json_: JsonOption = False) -> None:
    """Officer: an overdue check counts as not cooperating (Reg. 26 watch list)."""
    c = await call("enduser", "ConfirmOverdueCheck",
                   spb.ConfirmOverdueCheckRequest(name=check_id, details=details), as_)
    emit(c, json_, show_check)


@check_app.command("show")
@run
async def show_one_check(check_id: str, as_: AsOption = "public",
                         json_: JsonOption = False) -> None:
    """One end-use check."""
    c = await call("enduser", "GetEndUseCheck", spb.GetEndUseCheckRequest(name=check_id), as_)
    emit(c, json_, show_check)


@check_app.command("list")
@run
async def list_checks(
    as_: AsOption = "public", licence: str = "",
    open_: Annotated[bool, typer.Option("--open", help="only scheduled checks")] = False,
    overdue: Annotated[bool, typer.Option(help="only checks past their deadline")] = False,
    limit: int = 100, json_: JsonOption = False,
) -> None:
    """End-use checks."""
    out = await collect("enduser", "ListEndUseChecks", spb.ListEndUseChecksRequest, "checks",
                        as_=as_, limit=limit, licence_id=licence, open_only=open_,
                        overdue_only=overdue)
    if json_:
        return print_json(list(out))
    t = grid("id", "licence", "party", "deadline", "status", "overdue", ids=("id", "licence"))
    for c in out:
        t.add_row(c.check_id, c.licence_id, c.party.name, ts(c.deadline),
                  styled(short(kpb.CheckStatus, c.status, "CHECK_STATUS_")),
                  "[red]yes[/red]" if c.overdue else "")
    console.print(t)

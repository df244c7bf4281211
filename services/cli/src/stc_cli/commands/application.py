"""`stc application`: submit, follow and manage licence applications (ECL Arts. 12-15, Reg. 17)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated

import grpc
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2 as epb
from stc.licensing.v1 import licensing_service_pb2 as spb

from stc_cli.core import (
    TIMEOUT,
    AsOption,
    Client,
    CliInputError,
    JsonOption,
    call,
    collect,
    console,
    emit,
    err,
    exporter_uscc,
    identity,
    print_json,
    report_rpc_error,
    run,
    to_dict,
)
from stc_cli.files import load_message
from stc_cli.render import date, enum_value, kv_table, money, short, styled, ts

app = typer.Typer(help="Licence applications: submit, show, list, watch, amend, withdraw.",
                  no_args_is_help=True)

FINAL = {apb.APPLICATION_STATE_APPROVED, apb.APPLICATION_STATE_APPROVED_WITH_CONDITIONS,
         apb.APPLICATION_STATE_DENIED, apb.APPLICATION_STATE_WITHDRAWN}
# How far along the way an application is, for the progress bar of `watch`.
STAGE = {apb.APPLICATION_STATE_SUBMITTED: 1, apb.APPLICATION_STATE_SCREENING: 1,
         apb.APPLICATION_STATE_UNDER_REVIEW: 2, apb.APPLICATION_STATE_INFORMATION_REQUESTED: 2,
         apb.APPLICATION_STATE_RECONSIDERATION: 2}


def state(value: int) -> str:
    return short(apb.ApplicationState, value, "APPLICATION_STATE_")


def load_content(path: Path, as_: str) -> apb.ApplicationContent:
    """ApplicationContent from a YAML/JSON file; exporter_uscc defaults to the --as exporter."""
    content = load_message(path, apb.ApplicationContent(), wrapper_key="content")
    if not content.exporter_uscc and (uscc := exporter_uscc(as_)):
        content.exporter_uscc = uscc
    return content


def show_application(a: apb.Application) -> None:
    """The application, its parties and items."""
    c = a.content
    console.print(kv_table(f"Application {a.reference or a.application_id}", [
        ("id", a.application_id),
        ("state", styled(state(a.state))),
        ("authority", a.authority),
        ("exporter", c.exporter_uscc),
        ("licence type", short(apb.LicenceType, c.licence_type, "LICENCE_TYPE_")),
        ("regime", short(apb.ItemRegime, c.regime, "ITEM_REGIME_")),
        ("export type", short(apb.ExportType, c.export_type, "EXPORT_TYPE_")),
        ("destination", c.destination),
        ("end use", f"{short(apb.EndUseCategory, c.end_use.category, 'END_USE_CATEGORY_')}: "
                    f"{c.end_use.statement}"),
        ("submitted", ts(a.submitted_at)),
        ("deadline (Reg. 17)",
         f"{date(a.deadline)}{'' if a.deadline_exact or not a.deadline.year else ' (approx.)'}"
         f" — {a.working_days_used} working days used, {a.working_days_remaining} left"
         + (" [clock paused]" if a.clock_paused else "")),
        ("flags", "; ".join(a.flags) or "-"),
        ("licence", a.licence_id or "-"),
    ]))
    if c.parties:
        t = Table("role", "name", "aliases", "country", "identifiers", title="Parties",
                  title_justify="left")
        for p in c.parties:
            t.add_row(short(common_pb2.PartyRole, p.role, "PARTY_ROLE_"), p.name,
                      ", ".join(p.aliases), p.country,
                      ", ".join(f"{i.type}={i.value}" for i in p.identifiers))
        console.print(t)
    if c.items:
        t = Table("code", "description", "HS", "quantity", "value", title="Items",
                  title_justify="left")
        for i in c.items:
            t.add_row(i.control_code or "(catch-all)", i.description, i.hs_code,
                      f"{i.quantity} {i.unit}", money(i.value))
        console.print(t)


def application_rows(apps, with_exporter: bool = True) -> Table:
    """One row per application: the reference (it names the authority) and the exporter on
    the first line, the id to copy into the next command on the second (fits 80 columns)."""
    t = Table()
    t.add_column("application / id", no_wrap=True, min_width=36)  # ids never wrap
    t.add_column("state", overflow="fold")
    for name in ("dest.", "deadline"):
        t.add_column(name, no_wrap=True)
    for a in apps:
        st = styled(state(a.state))
        if a.flags:  # re-screening hits while pending
            st.append(f" ⚑{len(a.flags)}", style="bold red")
        head = a.reference or "-"
        if with_exporter:
            head += f"  {a.content.exporter_uscc}"
        t.add_row(f"{head}\n[dim]{a.application_id}[/dim]", st, a.content.destination,
                  date(a.deadline))
    return t


def assessment_table(asmt) -> Table:
    """The eight Art. 13 factors with their findings in English and Chinese."""
    rec = short(epb.Recommendation, asmt.recommendation, "RECOMMENDATION_")
    general = " · general licence eligible (Art. 14)" if asmt.general_licence_eligible else ""
    t = Table(title=f"Assessment: recommendation {rec}{general}", title_justify="left",
              show_lines=True)
    t.add_column("#")
    t.add_column("factor (Art. 13)", ratio=2)
    t.add_column("level", no_wrap=True)
    t.add_column("findings (EN)", ratio=4, overflow="fold")
    t.add_column("结论 (ZH)", ratio=3, overflow="fold")  # Chinese has no spaces to wrap at
    for f in asmt.factors:
        level = short(epb.FactorLevel, f.level, "FACTOR_LEVEL_")
        t.add_row(str(f.factor), f"{f.title_en}\n{f.title_zh}", styled(level),
                  "\n".join(f"[{x.code}] {x.text_en}" for x in f.findings) or "-",
                  "\n".join(x.text_zh for x in f.findings) or "-")
    return t


def show_assessment(asmt) -> None:
    console.print(assessment_table(asmt))
    if asmt.conditions:
        console.print("[bold]Proposed conditions[/bold]")
        for c in asmt.conditions:
            console.print(f"  • [{c.code}] {c.text_en} / {c.text_zh}")
    if asmt.general_licence_reasons:
        console.print("[bold]General licence (Art. 14)[/bold]")
        for c in asmt.general_licence_reasons:
            console.print(f"  • [{c.code}] {c.text_en} / {c.text_zh}")
    console.print(f"[dim]policy {asmt.policy_version} ({asmt.policy_hash[:12]}), screening "
                  f"{asmt.screening_id}, assessed {date(asmt.assessed_on)}[/dim]")


def _print_submitted(a: apb.Application, source: str = "") -> None:
    console.print(
        f"[green]submitted[/green]{f' {source}' if source else ''}: reference [bold]{a.reference}"
        f"[/bold] (id {a.application_id}) → {a.authority}, state {state(a.state)}, "
        f"statutory deadline {date(a.deadline)}"
        f"{'' if a.deadline_exact else ' (approx.: holiday calendar not yet published)'}")


@app.command()
@run
async def submit(
    file: Annotated[Path, typer.Argument(help="ApplicationContent as YAML or JSON")],
    as_: AsOption = "public",
    request_id: Annotated[str | None, typer.Option(
        help="idempotency key: a retry with the same id returns the same application")] = None,
    json_: JsonOption = False,
) -> None:
    """Submit an application from a file; prints reference, authority and deadline."""
    content = load_content(file, as_)
    req = spb.SubmitApplicationRequest(request_id=request_id or uuid.uuid4().hex, content=content)
    a = await call("licensing", "SubmitApplication", req, as_)
    if json_:
        return print_json(a)
    _print_submitted(a)


@app.command("submit-many")
@run
async def submit_many(
    directory: Annotated[Path, typer.Argument(help="a folder of .yaml/.yml/.json files")],
    as_: AsOption = "public",
    json_: JsonOption = False,
) -> None:
    """Submit every application file in a folder (a progress bar; request ids from file names,
    so running it again does not submit twice)."""
    if not directory.is_dir():
        raise CliInputError(f"{directory}: not a directory")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".json"))
    if not files:
        raise CliInputError(f"{directory}: no .yaml/.yml/.json files")
    contents = [(f, load_content(f, as_)) for f in files]  # all parsed before any is sent
    md = identity(as_)
    done, failed = [], 0
    async with Client("licensing") as s:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      disable=json_) as bar:
            task = bar.add_task("submitting", total=len(contents))
            for f, content in contents:
                rid = uuid.uuid5(uuid.NAMESPACE_URL, f"stc-cli:{content.exporter_uscc}:"
                                 f"{f.resolve()}:{content.SerializeToString(deterministic=True).hex()}").hex
                bar.update(task, description=f.name)
                try:
                    a = await s.SubmitApplication(
                        spb.SubmitApplicationRequest(request_id=rid, content=content),
                        metadata=md, timeout=TIMEOUT)
                    done.append((f, a))
                    if not json_:
                        console.print(f"[green]✓[/green] {f.name}: {a.reference} → "
                                          f"{a.authority}, deadline {date(a.deadline)}")
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.UNAVAILABLE:
                        raise
                    failed += 1
                    err.print(f"[red]✗[/red] {f.name}:")
                    report_rpc_error(exc)
                bar.advance(task)
    if json_:
        print_json([{"file": str(f), **to_dict(a)} for f, a in done])
    else:
        console.print(f"{len(done)} submitted, {failed} refused")
    if failed:
        raise typer.Exit(1)


@app.command()
@run
async def show(application_id: str, as_: AsOption = "public", json_: JsonOption = False) -> None:
    """Show one application."""
    a = await call("licensing", "GetApplication",
                   spb.GetApplicationRequest(application_id=application_id), as_)
    emit(a, json_, show_application)


@app.command("list")
@run
async def list_(
    as_: AsOption = "public",
    state_: Annotated[str | None, typer.Option("--state", help="e.g. under-review")] = None,
    authority: str = "",
    exporter: Annotated[str, typer.Option(help="officers/auditors: one exporter's USCC")] = "",
    limit: Annotated[int, typer.Option(help="at most this many (follows pages)")] = 100,
    json_: JsonOption = False,
) -> None:
    """List applications visible to the identity (an exporter sees only its own)."""
    st = enum_value(apb.ApplicationState, "APPLICATION_STATE_", state_, "--state") if state_ else 0
    apps = await collect("licensing", "ListApplications", spb.ListApplicationsRequest,
                         "applications", as_=as_, limit=limit, state=st,
                         authority=authority.upper(), exporter_uscc=exporter)
    if json_:
        return print_json(list(apps))
    console.print(application_rows(apps, with_exporter=not exporter_uscc(as_)))
    console.print(f"[dim]{len(apps)} application(s)[/dim]")


@app.command()
@run
async def watch(
    application_id: str,
    as_: AsOption = "public",
    after: Annotated[int, typer.Option(help="resume after this sequence number")] = 0,
    follow: Annotated[bool, typer.Option(help="keep watching after a final decision")] = False,
    timeout: Annotated[float, typer.Option(help="give up after N seconds (0: never)")] = 0,
    json_: JsonOption = False,
) -> None:
    """Stream every step of an application live (state changes, the eight-factor assessment);
    reconnects after an interruption and resumes from the last sequence seen."""
    md = identity(as_)
    last = after
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout if timeout else None
    backoff = 0.5
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=err, disable=json_, transient=True) as bar:
        task = bar.add_task(f"watching {application_id}", total=3)
        while True:
            try:
                async with Client("licensing") as s:
                    call = s.WatchApplication(spb.WatchApplicationRequest(
                        application_id=application_id, after_sequence=last), metadata=md,
                        timeout=(end - loop.time()) if end else None)
                    async for u in call:
                        backoff = 0.5
                        last = u.sequence
                        _show_update(u, json_, console)
                        bar.update(task, completed=3 if u.state in FINAL else STAGE.get(u.state, 0),
                                   description=f"{u.application.reference or application_id}: "
                                               f"{state(u.state)}")
                        if u.state in FINAL and not follow:
                            return
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED and end:
                    err.print(f"[yellow]stopped watching after {timeout:g}s[/yellow] "
                              f"(resume with --after {last})")
                    raise typer.Exit(0) from None
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                if end and loop.time() > end:
                    raise
                bar.update(task, description=f"connection lost; resuming after #{last} …")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)


def _show_update(u, json_: bool, out) -> None:
    if json_:
        print_json(u)
        return
    kind = short(spb.UpdateKind, u.kind, "UPDATE_KIND_")
    out.print(f"[dim]#{u.sequence}[/dim] {kind:<17} {styled(state(u.state)).markup}"
              f"{' — ' + u.note if u.note else ''}")
    if u.HasField("assessment") and u.assessment.factors:
        out.print(assessment_table(u.assessment))


@app.command()
@run
async def withdraw(
    application_id: str, as_: AsOption = "public",
    reason: Annotated[str, typer.Option(help="why the exporter withdraws")] = "",
    json_: JsonOption = False,
) -> None:
    """Exporter: withdraw a pending application."""
    a = await call("licensing", "WithdrawApplication",
                   spb.WithdrawApplicationRequest(application_id=application_id, reason=reason),
                   as_)
    if json_:
        return print_json(a)
    console.print(f"{a.reference}: {styled(state(a.state)).markup}")


@app.command()
@run
async def amend(
    application_id: str,
    as_: AsOption = "public",
    file: Annotated[Path | None, typer.Option(help="the amended ApplicationContent")] = None,
    answer: Annotated[str, typer.Option(help="answer to the officer's questions")] = "",
    json_: JsonOption = False,
) -> None:
    """Exporter: amend an application (answers a request for information; restarts the clock)."""
    if file is None and not answer:
        raise CliInputError("give --file with the amended content and/or --answer")
    req = spb.AmendApplicationRequest(application_id=application_id, answer=answer)
    if file is not None:
        req.content.CopyFrom(load_content(file, as_))
    async with Client("licensing") as s:
        if file is None:  # an answer only: the content as it stands goes with it
            current = await s.GetApplication(spb.GetApplicationRequest(
                application_id=application_id), metadata=identity(as_), timeout=TIMEOUT)
            req.content.CopyFrom(current.content)
        a = await s.AmendApplication(req, metadata=identity(as_), timeout=TIMEOUT)
    if json_:
        return print_json(a)
    console.print(f"[green]amended[/green] {a.reference}: state {styled(state(a.state)).markup}, "
                  f"deadline {date(a.deadline)}")


@app.command()
@run
async def assessment(application_id: str, as_: AsOption = "public",
                     json_: JsonOption = False) -> None:
    """The Art. 13 assessment, factor by factor, with findings in English and Chinese."""
    asmt = await call("licensing", "GetAssessment",
                      spb.GetAssessmentRequest(application_id=application_id), as_)
    emit(asmt, json_, show_assessment)


@app.command()
@run
async def reconsider(
    application_id: str, grounds: Annotated[str, typer.Option(help="grounds (Art. 41)")],
    as_: AsOption = "public", json_: JsonOption = False,
) -> None:
    """Exporter: ask for reconsideration of a refusal (Art. 41)."""
    a = await call("licensing", "RequestReconsideration", spb.RequestReconsiderationRequest(
        application_id=application_id, grounds=grounds), as_)
    if json_:
        return print_json(a)
    console.print(f"{a.reference}: {styled(state(a.state)).markup}")

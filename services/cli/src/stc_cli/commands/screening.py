"""`stc screen`, `stc list`, `stc classify`, `stc consult`: restricted-party screening, the public
control-list search (ECL Art. 18), classification help and Art. 12(4) consultations."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.screening.v1 import consultation_pb2 as cpb
from stc.screening.v1 import events_pb2 as epb
from stc.screening.v1 import screening_service_pb2 as spb

from stc_cli.core import (
    AsOption,
    CliInputError,
    JsonOption,
    call,
    console,
    emit,
    print_json,
    run,
)
from stc_cli.files import load_message, parse_date
from stc_cli.render import date, enum_value, grid, kv_table, short, styled, ts

screen_app = typer.Typer(help="Screen a party or a whole transaction against every list.",
                         no_args_is_help=True)
list_app = typer.Typer(help="Restricted-party lists: public search; officers add and remove.",
                       no_args_is_help=True)
consult_app = typer.Typer(help="Art. 12(4) consultations: is my item controlled?",
                          no_args_is_help=True)

DECISION_STYLE = {"MATCH": "bold red", "POTENTIAL_MATCH": "yellow", "CLEAR": "green"}


def list_kind(value: int) -> str:
    return short(epb.ListKind, value, "LIST_KIND_")


def _kinds(values: list[str] | None) -> list[int]:
    return [enum_value(epb.ListKind, "LIST_KIND_", v, "--list") for v in values or []]


def _identifiers(values: list[str] | None) -> list[common_pb2.PartyIdentifier]:
    out = []
    for v in values or []:
        kind, sep, value = v.partition("=")
        if not sep or not kind.strip() or not value.strip():
            raise CliInputError(f"--id {v!r}: use TYPE=VALUE, e.g. USCC=91110000… or IMO=9123456")
        out.append(common_pb2.PartyIdentifier(type=kind.strip().upper(), value=value.strip()))
    return out


def hits_table(hits, title: str = "Hits", wide: bool = False) -> Table:
    """List, entry, score and decision of every hit; the explanation in a column with
    ``wide``, else printed under the table by ``explanations`` (80 columns stay readable:
    the list and the entry id share one cell, and the id never folds)."""
    t = Table(title=title, title_justify="left", show_lines=True)
    t.add_column("#", no_wrap=True)
    if wide:
        t.add_column("party", overflow="fold", ratio=1)
        t.add_column("list", no_wrap=True)
    longest_id = max((len(h.entry_id) for h in hits), default=10)
    t.add_column("list / entry" if not wide else "entry", overflow="fold", ratio=2,
                 min_width=min(longest_id, 44))
    t.add_column("score", no_wrap=True)
    t.add_column("decision", no_wrap=True)
    if wide:
        t.add_column("explanation", overflow="fold", ratio=4)
    parties = {x.party_name for x in hits}
    for n, h in enumerate(hits, 1):
        decision = short(epb.HitDecision, h.decision, "HIT_DECISION_")
        entry = "" if wide else f"[bold]{list_kind(h.list_kind)}[/bold]\n"
        entry += f"{escape(h.entry_name)}\n[dim]{h.entry_id}[/dim]"
        if h.matched_entry_name and h.matched_entry_name != h.entry_name:
            entry += f"\n≈ {escape(h.matched_entry_name)}"
        if not wide and h.party_name and len(parties) > 1:
            entry += f"\n[dim]party: {escape(h.party_name)}[/dim]"
        shown = decision.replace("POTENTIAL_MATCH", "POTENTIAL\nMATCH")
        cell = f"[{DECISION_STYLE.get(decision, '')}]{shown}[/]"
        row = [str(n), *([h.party_name, list_kind(h.list_kind)] if wide else []), entry,
               f"{h.score:.3f}", cell, *([h.explanation] if wide else [])]
        t.add_row(*row)
    return t


def explanations(hits) -> None:
    """Each hit's explanation as a detail line under the table (the narrow layout)."""
    for n, h in enumerate(hits, 1):
        if h.explanation:
            console.print(f"[bold]#{n}[/bold] [dim]why:[/dim] {escape(h.explanation)}")


# A fuzzy search result under the screening service's potential-match threshold is only a
# similarity of spelling, not a candidate: front ends must say so (issue 12, item 4).
WEAK_FUZZY_BELOW = 0.84


def is_weak(result) -> bool:
    """A search result the service rates WEAK (reordered syllables, distant sound), or one
    matched only by whole-name similarity under the potential threshold."""
    if result.strength == spb.SEARCH_MATCH_STRENGTH_WEAK:
        return True
    return (result.match_kind == spb.SEARCH_MATCH_KIND_FUZZY
            and result.score < WEAK_FUZZY_BELOW)


@screen_app.command("party")
@run
async def screen_party(
    name: str,
    as_: AsOption = "public",
    alias: Annotated[list[str] | None, typer.Option(help="other names (repeatable)")] = None,
    country: str = "",
    id_: Annotated[list[str] | None, typer.Option("--id", help="TYPE=VALUE (repeatable)")] = None,
    list_: Annotated[list[str] | None, typer.Option("--list", help="only these lists")] = None,
    threshold: Annotated[float, typer.Option(help="0: the service's threshold")] = 0.0,
    limit: int = 20,
    wide: Annotated[bool, typer.Option(help="the explanation as a column (wide terminals)")]
    = False,
    json_: JsonOption = False,
) -> None:
    """Screen one party (a name in any script) against every list."""
    req = spb.ScreenPartyRequest(
        party=common_pb2.Party(name=name, aliases=alias or [], country=country.upper(),
                               identifiers=_identifiers(id_)),
        list_kinds=_kinds(list_), threshold=threshold, limit=limit)
    r = await call("screening", "ScreenParty", req, as_)
    if json_:
        return print_json(r)
    if not r.hits:
        console.print(f"[green]no hits[/green] for {name!r} (lists {r.lists_version[:12]})")
        return
    console.print(hits_table(r.hits, title=f"{len(r.hits)} hit(s) for {name!r}", wide=wide))
    if not wide:
        explanations(r.hits)
    console.print(f"[dim]lists version {r.lists_version[:12]}[/dim]")


@screen_app.command("transaction")
@run
async def screen_transaction(
    file: Annotated[Path, typer.Argument(help="an application file (ApplicationContent)")],
    as_: AsOption = "public",
    wide: Annotated[bool, typer.Option(help="explanations as a column")] = False,
    json_: JsonOption = False,
) -> None:
    """Screen a whole transaction (parties, destination, items, red flags) before applying."""
    c = load_message(file, apb.ApplicationContent(), wrapper_key="content")
    req = spb.ScreenTransactionRequest(parties=c.parties, destination=c.destination,
                                       items=c.items, end_use=c.end_use,
                                       end_user_certificate=c.end_user_certificate,
                                       transaction=c.transaction)
    r = await call("screening", "ScreenTransaction", req, as_, timeout=60)
    if json_:
        return print_json(r)
    highest = short(epb.Severity, r.highest, "SEVERITY_")
    console.print(f"highest severity: [bold]{highest}[/bold]"
                  f"{'  [bold red]BLOCKED[/bold red]' if r.blocked else ''}")
    if r.party_hits:
        console.print(hits_table(r.party_hits, wide=wide))
        if not wide:
            explanations(r.party_hits)
    if r.findings:
        t = grid("category", "code", "severity", "finding (EN)", "结论 (ZH)", show_lines=True)
        for f in r.findings:
            t.add_row(f.category, f.code, short(epb.Severity, f.severity, "SEVERITY_"),
                      f.text_en, f.text_zh)
        console.print(t)


MATCH_KIND = {spb.SEARCH_MATCH_KIND_IDENTIFIER: "identifier",
              spb.SEARCH_MATCH_KIND_EXACT_NAME: "exact name",
              spb.SEARCH_MATCH_KIND_TOKEN: "words", spb.SEARCH_MATCH_KIND_FUZZY: "similar"}


@list_app.command("search")
@run
async def search(
    query: str,
    list_: Annotated[list[str] | None, typer.Option("--list", help="only these lists")] = None,
    as_: AsOption = "public",
    limit: int = 20,
    wide: Annotated[bool, typer.Option(help="also the legal basis / announcement column")]
    = False,
    json_: JsonOption = False,
) -> None:
    """Public: search the lists by name (any script) or identifier — no token needed."""
    r = await call("screening", "SearchListEntries", spb.SearchListEntriesRequest(
        query=query, list_kinds=_kinds(list_), page_size=limit), as_)
    if json_:
        return print_json(r)
    if not r.results:
        console.print(f"nothing on the lists matches {query!r}")
        return
    t = grid("list / name / entry", "match", "countries",
             *(["basis / announcement"] if wide else []), show_lines=True)
    weak = 0
    for x in r.results:
        e = x.entry
        name = (f"[bold]{list_kind(e.list_kind)}[/bold]\n{escape(e.primary_name)}\n"
                f"[dim]{e.entry_id}[/dim]")
        if x.matched_name and x.matched_name != e.primary_name:
            name += f"\n[dim]≈ {escape(x.matched_name)}[/dim]"
        match = f"{MATCH_KIND.get(x.match_kind, '-')}\n{x.score:.2f}"
        if is_weak(x):
            weak += 1
            match += "\n[yellow]weak[/yellow]"
        t.add_row(name, match, ", ".join(e.countries),
                  *([escape(e.announcement or e.legal_basis)] if wide else []))
    console.print(t)
    strong = len(r.results) - weak
    console.print(f"[dim]{len(r.results)} of {r.total_size} result(s)[/dim]")
    if weak:
        console.print(
            f"[yellow]{weak} weak result(s)[/yellow]: the name is only similar in spelling "
            f"(score under {WEAK_FUZZY_BELOW:.2f}), probably not the party you mean"
            + ("" if strong else f" — nothing on the lists closely matches {query!r}"))


@list_app.command("show")
@run
async def show_entry(entry_id: str, as_: AsOption = "public", json_: JsonOption = False) -> None:
    """Public: one list entry."""
    e = await call("screening", "GetListEntry", spb.GetListEntryRequest(entry_id=entry_id), as_)
    if json_:
        return print_json(e)
    console.print(kv_table(f"{list_kind(e.list_kind)} {e.entry_id}", [
        ("name", e.primary_name), ("aliases", "; ".join(e.aliases) or "-"),
        ("type", e.party_type), ("countries", ", ".join(e.countries)),
        ("addresses", "; ".join(e.addresses) or "-"),
        ("identifiers", ", ".join(f"{i.type}={i.value}" for i in e.identifiers) or "-"),
        ("legal basis", e.legal_basis), ("announcement", e.announcement or "-"),
        ("listed on", date(e.listed_on)), ("remarks", e.remarks or "-"),
    ]))


@list_app.command("add")
@run
async def add_entry(
    name: str,
    list_: Annotated[str, typer.Option("--list", help="control-list | watch-list | "
                                       "unreliable-entity-list")],
    as_: AsOption = "public",
    alias: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    country: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    address: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    id_: Annotated[list[str] | None, typer.Option("--id", help="TYPE=VALUE (repeatable)")] = None,
    party_type: str = "entity",
    announcement: str = "",
    listed_on: str = "today",
    remarks: str = "",
    reason: str = "",
    request_id: str | None = None,
    json_: JsonOption = False,
) -> None:
    """Officer: add a party to a PRC list (licences and pending applications are re-screened)."""
    entry = epb.ListEntry(
        list_kind=enum_value(epb.ListKind, "LIST_KIND_", list_, "--list"), primary_name=name,
        aliases=alias or [], countries=[c.upper() for c in country or []],
        addresses=address or [], identifiers=_identifiers(id_), party_type=party_type,
        announcement=announcement, listed_on=parse_date(listed_on, "--listed-on"),
        remarks=remarks)
    e = await call("screening", "AddListEntry", spb.AddListEntryRequest(
        entry=entry, reason=reason, request_id=request_id or uuid.uuid4().hex), as_)
    if json_:
        return print_json(e)
    console.print(f"[green]added[/green] {e.entry_id} ({list_kind(e.list_kind)}): {e.primary_name}")


@list_app.command("remove")
@run
async def remove_entry(
    entry_id: str, as_: AsOption = "public",
    reason: Annotated[str, typer.Option(help="e.g. delisting on application (Reg. 29)")] = "",
    json_: JsonOption = False,
) -> None:
    """Officer: remove a party from a PRC list."""
    r = await call("screening", "RemoveListEntry",
                   spb.RemoveListEntryRequest(entry_id=entry_id, reason=reason), as_)
    if json_:
        return print_json(r)
    console.print(f"{r.entry_id}: {'removed' if r.removed else 'was not listed'}")


def _params(values: list[str] | None) -> dict[str, str]:
    out = {}
    for v in values or []:
        k, sep, val = v.partition("=")
        if not sep or not k.strip():
            raise CliInputError(f"--param {v!r}: use NAME=VALUE, e.g. density=18.2")
        out[k.strip()] = val.strip()
    return out


@run
async def classify(
    description: Annotated[str, typer.Argument(help="what the item is, in plain words")],
    as_: AsOption = "public",
    hs: Annotated[str, typer.Option(help="HS code")] = "",
    param: Annotated[list[str] | None, typer.Option(help="NAME=VALUE (repeatable)")] = None,
    limit: int = 5,
    json_: JsonOption = False,
) -> None:
    """Candidate control-list codes for an item, with the reasons (classification help)."""
    r = await call("screening", "ClassifyItem", spb.ClassifyItemRequest(
        description=description, hs_code=hs, parameters=_params(param), limit=limit), as_)
    if json_:
        return print_json(r)
    if not r.candidates:
        console.print("no candidate on the control list — if unsure, ask: stc consult submit")
        return
    t = Table("code", "score", "description", "why", show_lines=True)
    for c in r.candidates:
        t.add_row(c.control_code, f"{c.score:.3f}", c.description_en,
                  "\n".join(f"{x.kind}: {x.detail}" for x in c.reasons))
    console.print(t)


def show_consultation(c: cpb.Consultation) -> None:
    state = short(cpb.ConsultationState, c.state, "CONSULTATION_STATE_")
    console.print(kv_table(f"Consultation {c.consultation_id}", [
        ("exporter", c.exporter_uscc), ("authority", c.authority), ("state", styled(state)),
        ("question", c.question), ("item", f"{c.item_description} (HS {c.hs_code or '-'})"),
        ("submitted", ts(c.submitted_at)),
        ("answer", (f"{'CONTROLLED ' + c.control_code if c.controlled else 'not controlled'}: "
                    f"{c.answer} — {c.officer}, {ts(c.answered_at)}")
         if c.state == cpb.CONSULTATION_STATE_ANSWERED else "-"),
    ]))


@consult_app.command("submit")
@run
async def consult_submit(
    item: Annotated[str, typer.Option(help="item description")],
    question: Annotated[str, typer.Option(help="what you cannot tell")],
    authority: Annotated[str, typer.Option(help="MOFCOM | SASTIND | CAEA | CWC")] = "MOFCOM",
    as_: AsOption = "public",
    hs: str = "",
    param: Annotated[list[str] | None, typer.Option(help="NAME=VALUE (repeatable)")] = None,
    request_id: str | None = None,
    json_: JsonOption = False,
) -> None:
    """Exporter: ask the authority whether an item is controlled (Art. 12(4))."""
    c = await call("screening", "SubmitConsultation", spb.SubmitConsultationRequest(
        authority=authority.upper(), question=question, item_description=item, hs_code=hs,
        parameters=_params(param), request_id=request_id or uuid.uuid4().hex), as_)
    emit(c, json_, show_consultation)


@consult_app.command("answer")
@run
async def consult_answer(
    consultation_id: str,
    answer: Annotated[str, typer.Option(help="the authority's answer")],
    as_: AsOption = "public",
    controlled: Annotated[bool, typer.Option("--controlled/--not-controlled")] = False,
    control_code: str = "",
    json_: JsonOption = False,
) -> None:
    """Officer: answer a consultation."""
    c = await call("screening", "AnswerConsultation", spb.AnswerConsultationRequest(
        consultation_id=consultation_id, controlled=controlled, control_code=control_code,
        answer=answer), as_)
    emit(c, json_, show_consultation)


@consult_app.command("show")
@run
async def consult_show(consultation_id: str, as_: AsOption = "public",
                       json_: JsonOption = False) -> None:
    """One consultation."""
    c = await call("screening", "GetConsultation",
                   spb.GetConsultationRequest(consultation_id=consultation_id), as_)
    emit(c, json_, show_consultation)


@consult_app.command("list")
@run
async def consult_list(
    as_: AsOption = "public",
    state: Annotated[str | None, typer.Option(help="submitted | answered")] = None,
    limit: int = 100, json_: JsonOption = False,
) -> None:
    """Officer: consultations routed to the authority."""
    st = enum_value(cpb.ConsultationState, "CONSULTATION_STATE_", state, "--state") if state else 0
    r = await call("screening", "ListConsultations",
                   spb.ListConsultationsRequest(state=st, page_size=limit), as_)
    if json_:
        return print_json(list(r.consultations))
    t = grid("id", "exporter", "state", "item", "submitted", ids=("id",))
    for c in r.consultations:
        t.add_row(c.consultation_id, c.exporter_uscc,
                  short(cpb.ConsultationState, c.state, "CONSULTATION_STATE_"),
                  c.item_description, ts(c.submitted_at))
    console.print(t)

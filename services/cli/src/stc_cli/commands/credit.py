"""`stc credit`: credit records (ECL Arts. 33-39), standings, the public publicity feed, signed
checkpoints and verification of the publication log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from stc.credit.v1 import credit_pb2 as cpb
from stc.credit.v1 import credit_service_pb2 as spb
from stc.credit.v1 import events_pb2 as epb

from stc_cli.context import ADDRESSES, grpc_target
from stc_cli.core import (
    AsOption,
    CliInputError,
    JsonOption,
    call,
    collect,
    console,
    err,
    print_json,
    run,
    to_dict,
)
from stc_cli.files import parse_date
from stc_cli.render import date, fen, grid, kv_table, short, styled

app = typer.Typer(help="Credit records, standing, publicity feed, checkpoints, verification.",
                  no_args_is_help=True)

SANCTIONS = ("warning", "order_to_stop", "confiscation", "fine", "licence_revocation",
             "suspension", "revocation_of_qualification")


def yuan_to_fen(text: str, option: str) -> int:
    """'1,500,000' or '1500000.50' yuan as integer fen."""
    try:
        value = round(float(text.replace(",", "").replace("¥", "")) * 100)
    except ValueError:
        raise CliInputError(f"{option}: {text!r} is not an amount in yuan") from None
    if value < 0:
        raise CliInputError(f"{option}: must not be negative")
    return value


def show_record(r: cpb.CreditRecord) -> None:
    console.print(kv_table(f"Credit record {r.record_id}", [
        ("enterprise", f"{r.enterprise_name} ({r.uscc})"),
        ("article", f"ECL Art. {r.article}"),
        ("decision", f"{r.decision_no} of {date(r.decision_date)}, effective "
                     f"{date(r.effective_date)}"),
        ("sanctions", ", ".join(r.penalty.sanctions) or "-"),
        ("fine / confiscated", f"{fen(r.penalty.fine_fen)} / {fen(r.penalty.confiscated_fen)}"),
        ("turnover", fen(r.turnover_fen)), ("serious", r.serious),
        ("application ban (Art. 39)", f"until {date(r.ban_until)}" if r.application_ban else "no"),
        ("publication", f"published {date(r.published_on)} (leaf {r.leaf_index}), publicity "
                        f"ends {date(r.publicity_ends_on)}" if r.published else
                        f"due by {date(r.publication_deadline)} (20 working days)"),
        ("repaired", date(r.repaired_on)),
    ]))


@app.command("record-violation")
@run
async def record_violation(
    uscc: Annotated[str, typer.Option(help="the enterprise's USCC")],
    name: Annotated[str, typer.Option(help="enterprise name as on the decision")],
    article: Annotated[str, typer.Option(help="33 | 34 | 35(1) | 35(2) | 36 | 37 | 38")],
    decision_no: Annotated[str, typer.Option(help="penalty decision number")],
    as_: AsOption = "public",
    decision_sha256: Annotated[str, typer.Option(help="hex SHA-256 of the decision")] = "",
    decision_file: Annotated[Path | None, typer.Option(
        help="the decision document: its SHA-256 is computed for you")] = None,
    sanction: Annotated[list[str] | None, typer.Option(
        help=f"repeatable: {', '.join(SANCTIONS)}")] = None,
    fine: Annotated[str, typer.Option(help="fine in yuan")] = "0",
    confiscated: Annotated[str, typer.Option(help="confiscated gains in yuan")] = "0",
    turnover: Annotated[str, typer.Option(help="illegal business turnover in yuan")] = "0",
    serious: bool = False,
    ban_months: Annotated[int, typer.Option(
        help="Art. 39: refuse the exporter's applications for this many months (1-60); "
             "0 = no ban (the default: the ban is a decision, not automatic)")] = 0,
    decision_date: str = "today",
    effective_date: str = "today",
    publicity_months: int = 0,
    request_id: str | None = None,
    json_: JsonOption = False,
) -> None:
    """Officer: record an administrative penalty; it is published within 20 working days."""
    if decision_file is not None:
        if not decision_file.is_file():
            raise CliInputError(f"--decision-file {decision_file}: no such file")
        decision_sha256 = hashlib.sha256(decision_file.read_bytes()).hexdigest()
    req = spb.RecordViolationRequest(
        request_id=request_id or uuid.uuid4().hex, uscc=uscc, enterprise_name=name,
        article=article, decision_no=decision_no, decision_sha256=decision_sha256,
        penalty=cpb.Penalty(sanctions=sanction or [], fine_fen=yuan_to_fen(fine, "--fine"),
                            confiscated_fen=yuan_to_fen(confiscated, "--confiscated")),
        turnover_fen=yuan_to_fen(turnover, "--turnover"), serious=serious,
        application_ban_months=ban_months,
        decision_date=parse_date(decision_date, "--decision-date"),
        effective_date=parse_date(effective_date, "--effective-date"),
        publicity_months=publicity_months)
    r = await call("credit", "RecordViolation", req, as_)
    if json_:
        return print_json(r)
    show_record(r.record)


@app.command()
@run
async def standing(uscc: str, as_: AsOption = "public", json_: JsonOption = False) -> None:
    """The enterprise's credit standing (officer, auditor or the enterprise itself)."""
    r = await call("credit", "GetCreditStanding", spb.GetCreditStandingRequest(uscc=uscc), as_)
    if json_:
        return print_json(r)
    st = r.standing
    console.print(kv_table(f"Credit standing {st.uscc}", [
        ("level", styled(short(epb.StandingLevel, st.level, "STANDING_LEVEL_"))),
        ("active records", st.active_records),
        ("application ban until (Art. 39)", date(st.ban_until)),
        ("records", ", ".join(st.record_ids) or "-"),
        ("measures", ", ".join(st.measure_ids) or "-"), ("as of", date(st.as_of)),
    ]))


@app.command()
@run
async def records(uscc: str, as_: AsOption = "public", limit: int = 100,
                  json_: JsonOption = False) -> None:
    """The enterprise's credit records."""
    out = await collect("credit", "ListCreditRecords", spb.ListCreditRecordsRequest, "records",
                        as_=as_, limit=limit, uscc=uscc)
    if json_:
        return print_json(list(out))
    t = grid("record", "article", "decision", "sanctions", "fine", "ban until", "published",
             ids=("record",))
    for r in out:
        t.add_row(r.record_id, r.article, f"{r.decision_no} ({date(r.decision_date)})",
                  ", ".join(r.penalty.sanctions), fen(r.penalty.fine_fen),
                  date(r.ban_until) if r.application_ban else "-",
                  date(r.published_on) if r.published else "pending")
    console.print(t)


@app.command()
@run
async def publications(
    uscc: Annotated[str, typer.Option(help="one enterprise only")] = "",
    include_ended: bool = False, limit: int = 100, json_: JsonOption = False,
) -> None:
    """Public: the credit publicity feed (no token needed)."""
    out = await collect("credit", "ListPublications", spb.ListPublicationsRequest,
                        "publications", as_=None, limit=limit, uscc=uscc,
                        include_ended=include_ended)
    if json_:
        rows = []
        for p in out:
            d = to_dict(p)
            d["entry"] = _entry(p.canonical)
            rows.append(d)
        return print_json(rows)
    t = Table("leaf", "kind", "USCC", "enterprise", "article", "published", "publicity ends",
              "shown")
    for p in out:
        e = _entry(p.canonical)
        t.add_row(str(p.leaf_index), p.kind, p.uscc, str(e.get("enterprise_name", "")),
                  str(e.get("article", "")), date(p.published_on), date(p.publicity_ends_on),
                  "yes" if p.shown else "[dim]ended[/dim]")
    console.print(t)


def _entry(canonical: bytes) -> dict:
    try:
        value = json.loads(canonical.decode("utf-8"))
        return value if isinstance(value, dict) else {}
    except (UnicodeDecodeError, ValueError):
        return {}


@app.command()
@run
async def checkpoint(json_: JsonOption = False,
                     save: Annotated[Path | None, typer.Option(help="write the note here")] = None,
                     ) -> None:
    """Public: the latest signed checkpoint of the publication log."""
    r = await call("credit", "GetCheckpoint", spb.GetCheckpointRequest(), None)
    if save:
        save.write_text(r.note, "utf-8")
    if json_:
        return print_json(r)
    console.print(kv_table("Publication log checkpoint", [
        ("origin", r.origin), ("tree size", r.tree_size), ("root hash", r.root_hash.hex()),
        ("verifier key (as the server reports it)", r.verifier_key),
    ]))
    console.print(r.note, markup=False)


@app.command()
@run
async def verify(
    verifier_key: Annotated[str, typer.Option(
        envvar="STC_CREDIT_VERIFIER_KEY",
        help="the log's verifier key, obtained out of band (never trusted from the server)")],
    checkpoint_file: Annotated[Path | None, typer.Option(
        "--checkpoint", help="a checkpoint note stored earlier: prove the log only grew")] = None,
    origin: str | None = None,
    save_checkpoint: Annotated[Path | None, typer.Option(
        help="write the latest verified checkpoint here")] = None,
    json_: JsonOption = False,
) -> None:
    """Public: verify the whole publication log (every entry, signature and proof) with the
    credit service's own verifier (stc_credit.verifier_cli)."""
    try:
        from stc_credit.verifier_cli import check_live_log
    except ImportError:  # pragma: no cover - the credit package is part of the platform venv
        raise CliInputError("the credit verifier (package stc_credit) is not installed") from None
    stored = None
    if checkpoint_file is not None:
        if not checkpoint_file.exists():
            raise CliInputError(f"--checkpoint {checkpoint_file}: no such file")
        stored = checkpoint_file.read_text("utf-8")
    started = dt.datetime.now()
    with console.status("fetching the log and its proofs …", spinner="dots"):
        try:
            out = await check_live_log(grpc_target(ADDRESSES["credit"]), verifier_key, stored,
                                       origin)
        except ValueError as exc:
            raise CliInputError(str(exc)) from None
    took = (dt.datetime.now() - started).total_seconds()
    problems = out.problems
    if json_:
        print_json({"ok": not problems, "lines": out.lines, "seconds": round(took, 3),
                    "problems": [{"kind": str(p.kind), "index": p.index, "detail": p.detail}
                                 for p in problems]})
    else:
        for line in out.lines:
            console.print(f"  {line}", markup=False)
        if problems:
            t = Table("problem", "at", "detail", title="Problems", title_justify="left")
            for p in problems:
                t.add_row(f"[red]{p.kind}[/red]", "" if p.index is None else str(p.index),
                          p.detail)
            console.print(t)
        console.print("[green]OK: the log verifies[/green]" if not problems else
                      f"[red]FAILED: {len(problems)} problem(s)[/red]",
                      f"[dim]({took:.2f}s)[/dim]")
    if save_checkpoint and not problems:
        save_checkpoint.write_text(out.latest_note, "utf-8")
        err.print(f"checkpoint saved to {save_checkpoint}")
    if problems:
        raise typer.Exit(1)

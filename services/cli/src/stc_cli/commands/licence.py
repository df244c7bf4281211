"""`stc licence`: licences (the Dual-use Regulations' licence provisions): list, show,
record an export, suspend, reinstate, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.table import Table
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import licence_pb2 as lpb
from stc.licensing.v1 import licensing_service_pb2 as spb

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
from stc_cli.files import parse_date
from stc_cli.render import date, enum_value, kv_table, money, short, styled

app = typer.Typer(help="Licences: list, show, export, suspend, reinstate, revoke.",
                  no_args_is_help=True)


def status(value: int) -> str:
    return short(lpb.LicenceStatus, value, "LICENCE_STATUS_")


def show_licence(lic: lpb.Licence) -> None:
    """The licence, its parties, items (with usage) and exports."""
    console.print(kv_table(f"Licence {lic.reference}", [
        ("id", lic.licence_id), ("application", lic.application_id),
        ("status", styled(status(lic.status))),
        ("status reason", lic.status_reason or "-"),
        ("holder", lic.holder_uscc), ("authority", lic.authority),
        ("type", short(apb.LicenceType, lic.licence_type, "LICENCE_TYPE_")),
        ("destination", lic.destination),
        ("valid", f"{date(lic.valid_from)} → {date(lic.valid_until)} "
                  f"(issued {date(lic.issued_on)})"),
        ("conditions", "; ".join(lic.conditions) or "-"),
        ("holds (open change reports)", ", ".join(lic.holds) or "-"),
    ]))
    if lic.parties:
        t = Table("party id", "role", "name", "country", title="Parties", title_justify="left")
        for p in lic.parties:
            t.add_row(p.party_id, short(common_pb2.PartyRole, p.role, "PARTY_ROLE_"), p.name,
                      p.country)
        console.print(t)
    if lic.items:
        t = Table("#", "code", "description", "licensed", "used", "value", title="Items",
                  title_justify="left")
        for i, it in enumerate(lic.items):
            t.add_row(str(i), it.control_code, it.description, f"{it.quantity} {it.unit}",
                      it.used_quantity or "0", money(it.value))
        console.print(t)
    for e in lic.exports:
        console.print(f"  export {e.export_id} on {date(e.exported_on)} "
                      f"(customs {e.customs_declaration or '-'})")


@app.command("list")
@run
async def list_(
    as_: AsOption = "public",
    status_: Annotated[str | None, typer.Option("--status", help="e.g. active, on-hold")] = None,
    holder: Annotated[str, typer.Option(help="officers/auditors: the holder's USCC")] = "",
    limit: int = 100,
    json_: JsonOption = False,
) -> None:
    """List licences visible to the identity."""
    st = enum_value(lpb.LicenceStatus, "LICENCE_STATUS_", status_, "--status") if status_ else 0
    out = await collect("licensing", "ListLicences", spb.ListLicencesRequest, "licences",
                        as_=as_, limit=limit, status=st, holder_uscc=holder)
    if json_:
        return print_json(list(out))
    t = Table()
    t.add_column("reference", no_wrap=True)
    t.add_column("id", no_wrap=True, min_width=36)
    for name in ("status", "dest.", "valid until", "holds"):
        t.add_column(name, no_wrap=True)
    t.add_column("holder", overflow="fold")
    for lic in out:
        t.add_row(lic.reference, lic.licence_id, styled(status(lic.status)), lic.destination,
                  date(lic.valid_until), str(len(lic.holds)) if lic.holds else "",
                  lic.holder_uscc)
    console.print(t)
    console.print(f"[dim]{len(out)} licence(s)[/dim]")


@app.command()
@run
async def show(licence_id: str, as_: AsOption = "public", json_: JsonOption = False) -> None:
    """Show one licence."""
    lic = await call("licensing", "GetLicence", spb.GetLicenceRequest(licence_id=licence_id), as_)
    emit(lic, json_, show_licence)


def _line(text: str) -> lpb.ExportLine:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise CliInputError(f"--line {text!r}: use ITEM_INDEX:QUANTITY[:VALUE_MINOR]")
    try:
        return lpb.ExportLine(item_index=int(parts[0]), quantity=parts[1],
                              value_minor=int(parts[2]) if len(parts) == 3 else 0)
    except ValueError:
        raise CliInputError(f"--line {text!r}: index and value must be integers") from None


@app.command("export")
@run
async def export_(
    licence_id: str,
    line: Annotated[list[str], typer.Option(help="ITEM_INDEX:QUANTITY[:VALUE_MINOR] (repeatable)")],
    as_: AsOption = "public",
    exported_on: str = "today",
    customs_declaration: str = "",
    export_id: Annotated[str | None, typer.Option(help="idempotency id of this export")] = None,
    json_: JsonOption = False,
) -> None:
    """Record an export made under a licence (a single licence is used up by it)."""
    req = spb.RecordExportRequest(licence_id=licence_id, export=lpb.ExportRecord(
        export_id=export_id or uuid.uuid4().hex,
        exported_on=parse_date(exported_on, "--exported-on"),
        lines=[_line(x) for x in line], customs_declaration=customs_declaration))
    lic = await call("licensing", "RecordExport", req, as_)
    if json_:
        return print_json(lic)
    console.print(f"export recorded on {lic.reference}: status {styled(status(lic.status)).markup}")


async def _status_change(rpc: str, req_cls, licence_id: str, reason: str, as_: str,
                         json_: bool) -> None:
    lic = await call("licensing", rpc, req_cls(licence_id=licence_id, reason=reason), as_)
    if json_:
        return print_json(lic)
    console.print(f"{lic.reference}: {styled(status(lic.status)).markup}"
                  f"{' — ' + lic.status_reason if lic.status_reason else ''}")


Reason = Annotated[str, typer.Option(help="reason (recorded and published)")]


@app.command()
@run
async def suspend(licence_id: str, reason: Reason, as_: AsOption = "public",
                  json_: JsonOption = False) -> None:
    """Officer: suspend a licence."""
    await _status_change("SuspendLicence", spb.SuspendLicenceRequest, licence_id, reason, as_,
                         json_)


@app.command()
@run
async def reinstate(licence_id: str, reason: Reason, as_: AsOption = "public",
                    json_: JsonOption = False) -> None:
    """Officer: reinstate a suspended licence."""
    await _status_change("ReinstateLicence", spb.ReinstateLicenceRequest, licence_id, reason,
                         as_, json_)


@app.command()
@run
async def revoke(licence_id: str, reason: Reason, as_: AsOption = "public",
                 json_: JsonOption = False) -> None:
    """Officer: revoke a licence."""
    await _status_change("RevokeLicence", spb.RevokeLicenceRequest, licence_id, reason, as_,
                         json_)

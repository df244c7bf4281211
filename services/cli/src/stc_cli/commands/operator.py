"""`stc operator`: export operators (USCC, names, Art. 14 ICP, Art. 23 military qualification)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import operator_pb2 as opb

from stc_cli.core import (
    AsOption,
    CliInputError,
    JsonOption,
    call,
    console,
    emit,
    exporter_uscc,
    print_json,
    run,
)
from stc_cli.files import load_data, parse_date
from stc_cli.render import date, enum_value, kv_table, short, styled, ts

app = typer.Typer(help="Export operators: register, show, ICP self-assessment, qualification.",
                  no_args_is_help=True)


def show_operator(op: opb.Operator) -> None:
    """The operator with its ICP table."""
    q = op.military_qualification
    console.print(kv_table(f"Operator {op.uscc}", [
        ("name (zh)", op.name_zh), ("name (en)", op.name_en), ("address", op.address or "-"),
        ("registered", ts(op.registered_at)),
        ("military qualification (Art. 23)",
         f"{q.certificate_no} {', '.join(q.scope)} {date(q.valid_from)} → {date(q.valid_to)}"
         if q.certificate_no else "none"),
        ("licensed exports", op.licensed_exports),
        ("ICP audits", "; ".join(
            f"{date(a.audited_on)} {short(opb.IcpAuditOutcome, a.outcome, 'ICP_AUDIT_OUTCOME_')}"
            f" ({a.report_ref})" for a in op.icp_audits) or "none"),
    ]))
    if op.icp:
        t = Table("ICP element (Art. 14)", "status", "evidence", title_justify="left")
        for e in op.icp:
            t.add_row(short(opb.IcpElement, e.element, "ICP_ELEMENT_"),
                      short(opb.IcpStatus, e.status, "ICP_STATUS_"), ", ".join(e.evidence_refs))
        console.print(t)


def _uscc(uscc: str | None, as_: str) -> str:
    value = uscc or exporter_uscc(as_)
    if not value:
        raise CliInputError("--uscc is needed (or act as exporter:<USCC>)")
    return value


def load_icp(path: Path) -> list[opb.IcpElementAssessment]:
    """ICP self-assessment from YAML/JSON: a mapping element → status (or {status, evidence})
    or a list of {element, status, evidence_refs}."""
    data = load_data(path)
    if isinstance(data, dict) and "icp" in data:
        data = data["icp"]
    rows = []
    if isinstance(data, dict):
        for element, v in data.items():
            if isinstance(v, dict):
                rows.append({"element": element, "status": v.get("status", ""),
                             "evidence_refs": v.get("evidence_refs", v.get("evidence", []))})
            else:
                rows.append({"element": element, "status": v, "evidence_refs": []})
    elif isinstance(data, list):
        rows = data
    else:
        raise CliInputError(f"{path}: expected a mapping of ICP elements or a list")
    out = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or "element" not in r or "status" not in r:
            raise CliInputError(f"{path}: entry {i} needs 'element' and 'status'")
        out.append(opb.IcpElementAssessment(
            element=enum_value(opb.IcpElement, "ICP_ELEMENT_", str(r["element"]),
                               f"{path}: icp[{i}].element"),
            status=enum_value(opb.IcpStatus, "ICP_STATUS_", str(r["status"]),
                              f"{path}: icp[{i}].status"),
            evidence_refs=[str(x) for x in r.get("evidence_refs") or []]))
    return out


@app.command()
@run
async def register(
    as_: AsOption = "public",
    uscc: Annotated[str | None, typer.Option(help="USCC (default: the --as exporter's)")] = None,
    name_zh: Annotated[str, typer.Option(help="registered Chinese name")] = "",
    name_en: Annotated[str, typer.Option(help="English name")] = "",
    address: str = "",
    icp: Annotated[Path | None, typer.Option(help="ICP self-assessment file (YAML/JSON)")] = None,
    json_: JsonOption = False,
) -> None:
    """Register an export operator (exporter itself, or an officer)."""
    req = spb.RegisterOperatorRequest(uscc=_uscc(uscc, as_), name_zh=name_zh, name_en=name_en,
                                      address=address, icp=load_icp(icp) if icp else [])
    op = await call("licensing", "RegisterOperator", req, as_)
    if json_:
        return print_json(op)
    console.print(f"[green]registered[/green] {op.uscc} {op.name_zh} / {op.name_en}")


@app.command()
@run
async def show(
    uscc: Annotated[str | None, typer.Argument(help="USCC (default: the --as exporter's)")] = None,
    as_: AsOption = "public",
    json_: JsonOption = False,
) -> None:
    """Show an operator."""
    op = await call("licensing", "GetOperator", spb.GetOperatorRequest(uscc=_uscc(uscc, as_)), as_)
    emit(op, json_, show_operator)


@app.command()
@run
async def icp(
    file: Annotated[Path, typer.Argument(help="YAML/JSON: element: status (nine elements)")],
    as_: AsOption = "public",
    uscc: Annotated[str | None, typer.Option(help="USCC (default: the --as exporter's)")] = None,
    json_: JsonOption = False,
) -> None:
    """Update the ICP self-assessment (Art. 14; MOFCOM's nine elements) from a file."""
    req = spb.UpdateIcpSelfAssessmentRequest(uscc=_uscc(uscc, as_), icp=load_icp(file))
    op = await call("licensing", "UpdateIcpSelfAssessment", req, as_)
    emit(op, json_, show_operator)


@app.command()
@run
async def audit(
    uscc: str,
    outcome: Annotated[str, typer.Option(help="effective | needs-improvement | ineffective")],
    as_: AsOption = "public",
    audited_on: Annotated[str, typer.Option(help="YYYY-MM-DD")] = "today",
    report_ref: str = "",
    json_: JsonOption = False,
) -> None:
    """Officer: record an ICP audit outcome."""
    req = spb.RecordIcpAuditRequest(
        uscc=uscc, outcome=enum_value(opb.IcpAuditOutcome, "ICP_AUDIT_OUTCOME_", outcome,
                                      "--outcome"),
        audited_on=parse_date(audited_on, "--audited-on"), report_ref=report_ref)
    op = await call("licensing", "RecordIcpAudit", req, as_)
    emit(op, json_, show_operator)


@app.command()
@run
async def qualify(
    uscc: str,
    as_: AsOption = "public",
    certificate_no: Annotated[str, typer.Option(help="qualification certificate number")] = "",
    scope: Annotated[list[str] | None, typer.Option(help="scope (repeatable)")] = None,
    valid_from: str = "today",
    valid_to: str = "+1095",
    clear: Annotated[bool, typer.Option(help="withdraw the qualification")] = False,
    json_: JsonOption = False,
) -> None:
    """Officer (SASTIND): set or clear the Art. 23 military export qualification."""
    if not clear and not certificate_no:
        raise CliInputError("--certificate-no is needed (or --clear)")
    req = spb.SetMilitaryQualificationRequest(uscc=uscc)
    if not clear:
        req.qualification.CopyFrom(opb.MilitaryQualification(
            certificate_no=certificate_no, scope=scope or [],
            valid_from=parse_date(valid_from, "--valid-from"),
            valid_to=parse_date(valid_to, "--valid-to")))
    op = await call("licensing", "SetMilitaryQualification", req, as_)
    if json_:
        return print_json(op)
    console.print(styled("qualification cleared" if clear else "qualified"))
    show_operator(op)

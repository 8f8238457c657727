"""``cityline orders``: create, list, show, move and import orders from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.cliutil import actor, fail
from cityline.db import transaction, utcnow
from cityline.errors import DomainError
from cityline.orders import service
from cityline.orders.schemas import OrderCreate
from cityline.timeutil import to_local

app = typer.Typer(help="Work orders: create, list, show, move through the loop, import.", no_args_is_help=True)
out = Console()


@app.command()
def create(
    text: Annotated[str, typer.Option(help="what the caller said")],
    channel: str = "phone", phone: str | None = None, address: str | None = None,
    kind: str | None = None, category: str | None = None, urgency: str | None = None,
    external_id: str | None = None, as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a new order (labels left empty are filled by triage)."""
    from cityline.intake.service import create_order
    from cityline.privacy import default_vault

    data = OrderCreate(text=text, channel=channel, caller_phone=phone, address=address, kind=kind,
                       category=category, urgency=urgency, external_id=external_id)
    try:
        with transaction(runtime.sessions()) as session:
            order, _ = create_order(session, data, actor=actor(), now=utcnow(), vault=default_vault(),
                                    classify=runtime.classifier(session))
            view = service.describe(session, order)
    except DomainError as exc:
        raise fail(exc) from exc
    out.print_json(view.model_dump_json()) if as_json else out.print(f"created {view.number} ({view.category}, {view.urgency})")


@app.command("list")
def list_(
    status: str | None = None, unit: str | None = None, category: str | None = None,
    urgency: str | None = None, channel: str | None = None, q: str | None = None,
    language: Annotated[str | None, typer.Option(help='a language code, or "foreign"')] = None,
    since: Annotated[datetime | None, typer.Option(help="received from (local time)")] = None,
    until: Annotated[datetime | None, typer.Option(help="received before (local time)")] = None,
    page: int = 1, page_size: int = 30, as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List orders, newest first."""
    from cityline.timeutil import as_aware

    f = service.OrderFilter(status=status, unit=unit, category=category, urgency=urgency, channel=channel,
                            text=q, language=language, received_from=as_aware(since) if since else None,
                            received_to=as_aware(until) if until else None)
    with transaction(runtime.sessions()) as session:
        rows, total = service.list_orders(session, f, page=page, page_size=page_size)
        views = [service.describe(session, o) for o, _u, _m in rows]
    if as_json:
        out.print_json(json.dumps({"total": total, "items": [v.model_dump(mode="json") for v in views]}))
        return
    table = Table("number", "received", "status", "category", "urgency", "unit", "text",
                  title=f"{total} orders (page {page})")
    for v in views:
        table.add_row(v.number, f"{to_local(v.received_at):%Y-%m-%d %H:%M}", v.status, v.category or "", v.urgency or "",
                      v.unit or "", v.text[:40])
    out.print(table)


@app.command()
def show(number: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One order with its whole history."""
    try:
        with transaction(runtime.sessions()) as session:
            order = service.get_order(session, number)
            view, events = service.describe(session, order), service.events_of(session, order)
    except DomainError as exc:
        raise fail(exc) from exc
    if as_json:
        history = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_status,
                    "to": e.to_status, "data": e.data, "note": e.note} for e in events]
        out.print_json(json.dumps({**view.model_dump(mode="json"), "events": history}, ensure_ascii=False))
        return
    out.print(f"[bold]{view.number}[/bold]  {view.status}  unit={view.unit or '-'}  {view.category} {view.urgency}")
    out.print(view.text)
    for e in events:
        out.print(f"  {to_local(e.at):%Y-%m-%d %H:%M:%S}  {e.action:<10} {e.from_status or '':>10} → {e.to_status or '':<10} {e.actor}  {e.note or ''}")


@app.command()
def move(
    number: str, action: Annotated[str, typer.Argument(help="dispatch, redispatch, accept, return, pause, resume, extend, grant, refuse, reply, visit, close, reopen, answer, merge, cancel")],
    unit: str | None = None, text: str | None = None, satisfaction: str | None = None,
    reason: str | None = None, into: str | None = None, note: str | None = None,
    until: Annotated[str | None, typer.Option(help="new deadline asked for (extend), ISO 8601")] = None,
) -> None:
    """Move an order one step through the loop."""
    params = {"unit": unit, "text": text, "satisfaction": satisfaction, "reason": reason, "into": into,
              "note": note, "until": until}
    try:
        with transaction(runtime.sessions()) as session:
            order = service.move_order(session, number, action, params, actor=actor(), now=utcnow())
            status = order.status
    except DomainError as exc:
        raise fail(exc) from exc
    out.print(f"{number}: {action} → {status}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv, .jsonl or .xlsx (formats §1)")],
    no_triage: Annotated[bool, typer.Option(help="keep labels as given; do not classify unlabelled rows")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import orders; idempotent by external_id; bad rows are listed and the rest go in."""
    from rich.progress import Progress

    from cityline.intake.importer import import_file
    from cityline.intake.rows import BadFile, count_rows
    from cityline.privacy import default_vault

    factory = runtime.sessions()
    classify = None
    if not no_triage:
        with factory() as session:
            classify = runtime.classifier(session)
    try:
        with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task(f"importing {file.name}", total=count_rows(file))
            report = import_file(factory, file, vault=default_vault(), classify=classify,
                                 progress=lambda n: bar.update(task, completed=n))
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if as_json:
        out.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        out.print(f"read {report.read}, imported {report.imported}, already present {report.already_present}, "
                  f"repeated in file {report.repeated_in_file}, bad {len(report.bad)}")
        for bad in report.bad[:50]:
            out.print(f"  row {bad.row}: {bad.message}")
        if len(report.bad) > 50:
            out.print(f"  … and {len(report.bad) - 50} more (use --json for all)")
    if report.bad:
        raise typer.Exit(1)


@app.command()
def label(
    number: str, kind: str | None = None, category: str | None = None, urgency: str | None = None,
    groups: Annotated[str | None, typer.Option(help="special groups, ';'-separated")] = None,
    language: str | None = None, note: str | None = None,
) -> None:
    """Confirm or correct an order's triage labels (the correction becomes training data)."""
    labels = {"kind": kind, "category": category, "urgency": urgency, "language": language,
              "special_groups": [g for g in groups.split(";") if g] if groups is not None else None}
    try:
        with transaction(runtime.sessions()) as session:
            order = service.set_labels(session, number, labels, actor=actor(), now=utcnow(), note=note)
            out.print(f"{number}: {order.kind} {order.category} {order.urgency} {order.special_groups} ({order.triage_source})")
    except DomainError as exc:
        raise fail(exc) from exc

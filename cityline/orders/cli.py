"""``cityline orders``: list, show, move and label orders from the command line (creating and
importing them is intake's: ``intake/cli.py``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.cliutil import actor, fail
from cityline.db import transaction, utcnow
from cityline.errors import DomainError
from cityline.orders import queries, service
from cityline.timeutil import to_local

app = typer.Typer(help="Work orders: create, list, show, move through the loop, import.", no_args_is_help=True)
out = Console()


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

    f = queries.OrderFilter(status=status, unit=unit, category=category, urgency=urgency, channel=channel,
                            text=q, language=language, received_from=as_aware(since) if since else None,
                            received_to=as_aware(until) if until else None)
    with transaction(runtime.sessions()) as session:
        rows, total, _next = queries.list_orders(session, f, page=page, page_size=page_size)
        views = [service.describe(session, o) for o, *_ in rows]
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
            view, events = service.describe(session, order, utcnow()), queries.events_of(session, order)
    except DomainError as exc:
        raise fail(exc) from exc
    if as_json:
        history = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_status,
                    "to": e.to_status, "data": e.data, "note": e.note} for e in events]
        out.print_json(json.dumps({**view.model_dump(mode="json"), "events": history}, ensure_ascii=False))
        return
    out.print(f"[bold]{view.number}[/bold]  {view.status}  unit={view.unit or '-'}  {view.category} {view.urgency}")
    out.print(view.text)
    for m in view.milestones:
        done = f"{to_local(m.done_at):%Y-%m-%d %H:%M}" if m.done_at else "-"
        out.print(f"  {m.zh} ({m.code}): due {to_local(m.due_at):%Y-%m-%d %H:%M}, done {done}, {m.state}")
    for e in events:
        out.print(f"  {to_local(e.at):%Y-%m-%d %H:%M:%S}  {e.action:<10} {e.from_status or '':>10} → {e.to_status or '':<10} {e.actor}  {e.note or ''}")


@app.command()
def move(
    number: str, action: Annotated[str, typer.Argument(help="dispatch, redispatch, accept, return, pause, resume, extend, grant, refuse, milestone, reply, visit, close, reopen, answer, merge, cancel")],
    unit: str | None = None, text: str | None = None, satisfaction: str | None = None,
    reason: str | None = None, into: str | None = None, note: str | None = None,
    until: Annotated[str | None, typer.Option(help="new deadline asked for (extend), ISO 8601")] = None,
    milestone: Annotated[str | None, typer.Option(help="the hour chain's milestone done (milestone), e.g. reached")] = None,
) -> None:
    """Move an order one step through the loop."""
    params = {"unit": unit, "text": text, "satisfaction": satisfaction, "reason": reason, "into": into,
              "note": note, "until": until, "milestone": milestone}
    try:
        with transaction(runtime.sessions()) as session:
            order = service.move_order(session, number, action, params, actor=actor(), now=utcnow())
            status = order.status
    except DomainError as exc:
        raise fail(exc) from exc
    out.print(f"{number}: {action} → {status}")


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

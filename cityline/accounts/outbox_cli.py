"""``cityline webhooks`` (a unit's webhooks) and ``cityline outbox`` (what failed to leave).

Here, beside ``units``, because adding a webhook names a unit by its code; the
outbox package below knows no units."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline.accounts.cli import run_in_transaction
from cityline.accounts.service import audit
from cityline.accounts.units import active_unit
from cityline.db import utcnow
from cityline.outbox import service, webhooks
from cityline.outbox.schemas import OutboxMessageRead
from cityline.privacy import default_vault
from cityline.timeutil import to_local

webhooks_app = typer.Typer(help="Webhooks: a unit's own system told of its orders by signed HTTP POSTs.",
                           no_args_is_help=True)
outbox_app = typer.Typer(help="The outbox: deliveries waiting, sent, or given up on.", no_args_is_help=True)
out = Console()


@webhooks_app.command("add")
def add(unit_code: str, url: str) -> None:
    """POST the unit's dispatched orders to URL; prints the signing secret (this once only)."""
    def work(session):
        unit = active_unit(session, unit_code)
        hook, secret = webhooks.add(session, default_vault(), unit_id=unit.id, unit_code=unit.code, url=url, actor="cli")
        audit(session, "cli", "webhook_added", f"webhook:{hook.id}", unit=unit.code, url=hook.url)
        return hook, secret

    hook, secret = run_in_transaction(work)
    out.print(f"webhook {hook.id} for {hook.unit_code}: {hook.url}", highlight=False)
    out.print(f"secret (shown only now; the receiver checks X-Cityline-Signature with it): {secret}",
              highlight=False)


@webhooks_app.command("list")
def list_(removed: Annotated[bool, typer.Option("--all", help="include removed webhooks")] = False) -> None:
    """The webhooks (never their secrets)."""
    def work(session):
        table = Table("id", "unit", "url", "active", "added", "by")
        for h in webhooks.list_webhooks(session, include_removed=removed):
            table.add_row(str(h.id), h.unit_code, h.url, str(h.active), f"{to_local(h.created_at):%Y-%m-%d %H:%M}",
                          h.created_by or "")
        out.print(table)
    run_in_transaction(work)


@webhooks_app.command("remove")
def remove(webhook_id: int) -> None:
    """Stop delivering to a webhook (its pending deliveries fail)."""
    def work(session):
        hook = webhooks.remove(session, webhook_id)
        audit(session, "cli", "webhook_removed", f"webhook:{hook.id}", unit=hook.unit_code, url=hook.url)
        return hook

    hook = run_in_transaction(work)
    out.print(f"removed webhook {hook.id} ({hook.unit_code} {hook.url})", highlight=False)


@outbox_app.command("list")
def messages(state: Annotated[str, typer.Option(help="pending, sent, failed or all")] = "failed",
             limit: int = 50) -> None:
    """Outbox messages, newest first (by default those given up on, with their last error)."""
    def work(session):
        table = Table("id", "kind", "to", "order", "state", "attempts", "last error")
        for row in service.messages(session, None if state == "all" else state, limit):
            m = OutboxMessageRead.of(row)
            table.add_row(str(m.id), m.kind, m.recipient, m.order_number or "", m.state, str(m.attempts),
                          (m.last_error or "")[:120])
        out.print(table)
    run_in_transaction(work)


@outbox_app.command("retry")
def retry(message_id: int) -> None:
    """Give a failed message a fresh set of attempts (the worker sends it on its next pass)."""
    def work(session):
        row = service.retry(session, message_id, utcnow())
        audit(session, "cli", "outbox_retry", f"outbox:{row.id}")
    run_in_transaction(work)
    out.print(f"outbox message {message_id} will be sent again", highlight=False)

"""``cityline users``, ``tokens`` and ``units``: accounts and the organisation from the command line
(the first admin too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cityline import runtime
from cityline.accounts import service, units
from cityline.accounts.rules import ROLES
from cityline.db import transaction, utcnow
from cityline.errors import DomainError

users_app = typer.Typer(help="People who sign in to cityline.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for systems (telephony gateway, Open311 clients).", no_args_is_help=True)
units_app = typer.Typer(help="Handling units (city centre, district centres, street offices, departments).",
                        no_args_is_help=True)
out = Console()
ROLE_HELP = f"repeatable: {', '.join(ROLES)}"


def run_in_transaction(work):
    """``work(session)`` in one transaction; a domain error is one line and exit code 1."""
    try:
        with transaction(runtime.sessions()) as session:
            return work(session)
    except DomainError as exc:
        out.print(f"[red]error:[/red] {escape(exc.detail)}")
        raise typer.Exit(1) from exc


@users_app.command("create")
def create_user(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help=ROLE_HELP)],
    unit: Annotated[str | None, typer.Option(help="unit code; empty = the whole city")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="CITYLINE_NEW_PASSWORD")] = "",
) -> None:
    """Create a user (the first admin: `cityline users create admin --role admin`)."""
    run_in_transaction(lambda s: service.create_user(s, username, password, role, unit=unit, actor="cli", display_name=name))
    out.print(f"created user {username} ({', '.join(sorted(set(role)))})")


@users_app.command("list")
def list_users() -> None:
    def work(session):
        table = Table("username", "name", "roles", "unit", "active", "last sign-in")
        for u in service.list_users(session):
            table.add_row(u.username, u.display_name, ",".join(u.roles), str(u.unit_id or ""), str(u.active),
                          f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "")
        out.print(table)
    run_in_transaction(work)


@users_app.command("disable")
def disable_user(username: str) -> None:
    """Disable a user and end their sessions."""
    run_in_transaction(lambda s: service.disable_user(s, username, actor="cli"))
    out.print(f"disabled {username}")


@tokens_app.command("create")
def create_token(
    name: str, role: Annotated[list[str], typer.Option("--role", help=ROLE_HELP)],
    unit: Annotated[str | None, typer.Option(help="unit code; empty = the whole city")] = None,
) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    token, row = run_in_transaction(lambda s: service.create_token(s, name, role, unit=unit, actor="cli"))
    out.print(f"token {row.id} ({name}): {token}\nstore it now: it cannot be shown again")


@tokens_app.command("revoke")
def revoke_token(token_id: int) -> None:
    """Revoke a token; its next request fails."""
    run_in_transaction(lambda s: service.revoke_token(s, token_id, actor="cli", now=utcnow()))
    out.print(f"revoked token {token_id}")


@units_app.command("import")
def import_units(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv (UTF-8 or GBK), .jsonl or .xlsx: code,name,parent_code,kind,district,street")]) -> None:
    """Create or update units from a file (parents before children); bad rows are listed."""
    from cityline import tabular

    try:
        with transaction(runtime.sessions()) as session:
            count, bad = units.import_units(session, tabular.read_rows(file))
    except DomainError as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    out.print(f"imported {count} units, bad {len(bad)}")
    for b in bad:
        out.print(f"  row {b.row}: {b.message}")
    if bad:
        raise typer.Exit(1)


@units_app.command("list")
def list_units() -> None:
    """All units as a table."""
    with transaction(runtime.sessions()) as session:
        found = units.list_units(session)
        codes = {u.id: u.code for u in found}
        table = Table("code", "name", "kind", "parent", "district", "street", title=f"{len(found)} units")
        for u in found:
            table.add_row(u.code, u.name, u.kind, codes.get(u.parent_id, ""), u.district or "", u.street or "")
    out.print(table)

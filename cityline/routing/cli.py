"""``cityline units``: import and list handling units."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.db import transaction
from cityline.errors import DomainError
from cityline.routing import service

app = typer.Typer(help="Handling units (city centre, district centres, street offices, departments).",
                  no_args_is_help=True)
out = Console()


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .xlsx: code,name,parent_code,kind,district,street")]) -> None:
    """Create or update units from a file (parents before children); bad rows are listed."""
    try:
        with transaction(runtime.sessions()) as session:
            count, bad = service.import_units(session, service.read_unit_rows(file))
    except DomainError as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    out.print(f"imported {count} units, bad {len(bad)}")
    for b in bad:
        out.print(f"  row {b.row}: {b.message}")
    if bad:
        raise typer.Exit(1)


@app.command("list")
def list_() -> None:
    """All units as a table."""
    with transaction(runtime.sessions()) as session:
        units = service.list_units(session)
        codes = {u.id: u.code for u in units}
        table = Table("code", "name", "kind", "parent", "district", "street", title=f"{len(units)} units")
        for u in units:
            table.add_row(u.code, u.name, u.kind, codes.get(u.parent_id, ""), u.district or "", u.street or "")
    out.print(table)


dispatch_app = typer.Typer(help="The dispatch catalogue (派单目录): which unit handles what, where.",
                           no_args_is_help=True)


@dispatch_app.command("import")
def import_catalogue(
    file: Annotated[Path | None, typer.Argument(help=".csv or .xlsx: category,district,street,unit,level,priority,note")] = None,
    default: Annotated[bool, typer.Option("--default", help="load the catalogue shipped with cityline")] = False,
) -> None:
    """Replace the catalogue with a file's rules (nothing changes if any row is bad)."""
    from cityline.routing import catalogue

    if (file is None) == (not default):
        out.print("[red]error:[/red] give a FILE or --default")
        raise typer.Exit(2)
    rows = catalogue.default_rows() if default else catalogue.read_rows(file)
    with transaction(runtime.sessions()) as session:
        count, bad = catalogue.replace_catalogue(session, rows)
    for b in bad:
        out.print(f"  row {b.row}: {b.message}")
    if bad:
        out.print(f"[red]catalogue unchanged:[/red] {len(bad)} bad rows")
        raise typer.Exit(1)
    out.print(f"catalogue now has {count} rules")


@dispatch_app.command("list")
def list_catalogue() -> None:
    """The catalogue as a table."""
    from cityline.routing import catalogue

    with transaction(runtime.sessions()) as session:
        table = Table("category", "district", "street", "unit", "level", "priority", "note")
        for r in catalogue.list_catalogue(session):
            table.add_row(r.category, r.district or "", r.street or "", r.unit_code or "", r.level or "",
                          str(r.priority), r.note or "")
    out.print(table)

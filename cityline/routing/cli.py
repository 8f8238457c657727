"""``cityline dispatch``: the dispatch catalogue from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.db import transaction

out = Console()


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

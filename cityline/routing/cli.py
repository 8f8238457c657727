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

"""``cityline inspection``: the sites inspectors patrol (the findings themselves come in
through the console's patrol form or ``POST /api/inspection/findings``, with photos)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cityline import runtime, tabular
from cityline.db import read_transaction, transaction
from cityline.errors import BadFile
from cityline.inspection import service

app = typer.Typer(help="Inspection findings: the sites patrolled.", no_args_is_help=True)
sites_app = typer.Typer(help="Sites patrolled (test sites, venues, compounds) and their units.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")
out = Console()


@sites_app.command("import")
def import_sites(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=(
        ".csv (UTF-8 or GBK), .jsonl or .xlsx: code,name,kind (test_site, venue, compound, other),"
        "district,street,address,unit (the answerable unit's code; empty: the catalogue routes)"))]) -> None:
    """Create or update sites; bad rows are listed, good ones go in."""
    try:
        with transaction(runtime.sessions()) as session:
            written, bad = service.import_sites(session, tabular.read_rows(file))
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    out.print(f"sites written {written}, bad {len(bad)}")
    for row in bad:
        out.print(f"  row {row.row}: {row.message}")
    if bad:
        raise typer.Exit(1)


@sites_app.command("list")
def list_sites(q: Annotated[str | None, typer.Argument(help="part of a code, name or address")] = None) -> None:
    """Active sites with their unit."""
    with read_transaction(runtime.sessions()) as session:
        for site, unit in service.find_sites(session, q, limit=1000):
            out.print(f"{site.code}\t{site.name}\t{site.kind}\t{site.district or ''}{site.street or ''}\t{unit or '-'}")

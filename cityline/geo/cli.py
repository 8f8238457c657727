"""``cityline grids``: grids (网格) and their epidemic-control zones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cityline import runtime, tabular
from cityline.db import transaction
from cityline.errors import BadFile, DomainError
from cityline.geo import service

app = typer.Typer(help="Grids (网格): import them, set their zone level.", no_args_is_help=True)
out = Console()


@app.command("import")
def import_grids(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=(
        ".csv (UTF-8 or GBK), .jsonl or .xlsx: code,name,district,street,unit_code,"
        "polygon (JSON rings of [lon,lat]),compounds (JSON list or ';'-separated),zone_level"))]) -> None:
    """Create or update grids; bad rows are listed, good ones go in."""
    try:
        with transaction(runtime.sessions()) as session:
            report = service.import_grids(session, tabular.read_rows(file))
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    out.print(f"created {report.created}, updated {report.updated}, bad {len(report.bad)}")
    for bad in report.bad:
        out.print(f"  row {bad.row}: {bad.message}")
    if report.bad:
        raise typer.Exit(1)


@app.command()
def zone(code: str, level: Annotated[str, typer.Argument(help="sealed/封控, controlled/管控, precaution/防范, or none")]) -> None:
    """Set a grid's zone level (封控/管控/防范) or clear it with 'none'."""
    try:
        with transaction(runtime.sessions()) as session:
            grid = service.set_zone(session, code, None if level == "none" else level)
            out.print(f"{grid.code} {grid.name}: {grid.zone_level or 'no zone'}")
    except DomainError as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from exc

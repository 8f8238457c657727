"""``cityline orders create`` and ``orders import``: every way in from the command line goes
through intake, like the API's (``cli.py`` adds these commands to ``cityline orders``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cityline import runtime
from cityline.cliutil import actor, fail
from cityline.db import transaction, utcnow
from cityline.errors import BadFile, DomainError
from cityline.intake.importer import ImportReport, ImportStopped, import_file
from cityline.intake.service import create_order
from cityline.intake.triage import classify_many_with, classify_with
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import describe
from cityline.privacy import default_vault
from cityline.tabular import count_rows

app = typer.Typer()
out = Console()


@app.command()
def create(
    text: Annotated[str, typer.Option(help="what the caller said")],
    channel: str = "phone", phone: str | None = None, address: str | None = None,
    kind: str | None = None, category: str | None = None, urgency: str | None = None,
    external_id: str | None = None, as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a new order (labels left empty are filled by triage)."""
    data = OrderCreate(text=text, channel=channel, caller_phone=phone, address=address, kind=kind,
                       category=category, urgency=urgency, external_id=external_id)
    try:
        with transaction(runtime.sessions()) as session:
            order, _ = create_order(session, data, actor=actor(), now=utcnow(), vault=default_vault(),
                                    classify=classify_with(session))
            view = describe(session, order)
    except DomainError as exc:
        raise fail(exc) from exc
    out.print_json(view.model_dump_json()) if as_json else out.print(f"created {view.number} ({view.category}, {view.urgency})")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv (UTF-8 or GBK), .jsonl or .xlsx (formats §1)")],
    no_triage: Annotated[bool, typer.Option(help="keep labels as given; do not classify unlabelled rows")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="rows of the file per transaction (the good ones written)")] = 2000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="processes checking the rows and building the orders "
                                         "(history, triage, places) beside the one writing them")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import orders; idempotent by external_id; bad rows are listed and the rest go in; an
    interrupted import finishes when run again."""
    from rich.progress import Progress

    factory = runtime.sessions()
    classify_many = None
    if not no_triage:
        with factory() as session:
            classify_many = classify_many_with(session)
    try:
        with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task(f"importing {file.name}", total=count_rows(file))
            report = import_file(factory, file, vault=default_vault(), classify_many=classify_many,
                                 batch_size=batch_size, workers=workers,
                                 progress=lambda n: bar.update(task, completed=n))
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ImportStopped as exc:  # the database failed: what was stored stays; a re-run finishes
        _print_report(exc.report, as_json)
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _print_report(report, as_json)
    if report.bad:
        raise typer.Exit(1)


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    out.print(f"read {report.read}, imported {report.imported}, already present {report.already_present}, "
              f"repeated in file {report.repeated_in_file}, bad {len(report.bad)}")
    for bad in report.bad[:50]:
        out.print(f"  row {bad.row}: {bad.message}")
    if len(report.bad) > 50:
        out.print(f"  … and {len(report.bad) - 50} more (use --json for all)")

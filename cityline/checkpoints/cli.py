"""``cityline checkpoints``: set up a checkpoint, import a file of registrations, run the overdue
check (once, or every N seconds as a worker), and the counts per checkpoint and hour."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.checkpoints import rules, service, worker
from cityline.checkpoints.schemas import CheckpointBody
from cityline.cliutil import actor, fail
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import DomainError
from cityline.privacy import default_vault
from cityline.timeutil import local_zone, parse_when, to_local

app = typer.Typer(help="Road checkpoints (卡口): registrations, closed loops, overdue warnings, counts.",
                  no_args_is_help=True)
out = Console()


@app.command()
def add(code: str, name: str, unit: Annotated[str, typer.Option(help="code of the unit responsible")],
        district: Annotated[str | None, typer.Option()] = None,
        street: Annotated[str | None, typer.Option()] = None) -> None:
    """Create a checkpoint, or update the one with CODE."""
    try:
        with transaction(runtime.sessions()) as session:
            service.save_checkpoint(session, CheckpointBody(code=code, name=name, unit=unit, district=district,
                                                            street=street))
    except DomainError as exc:
        raise fail(exc) from exc
    out.print(f"checkpoint {code} saved")


@app.command(name="import")
def import_(file: Path) -> None:
    """Register the vehicles of a CSV, JSON Lines or .xlsx file (one a row); every bad row is
    named with its reasons, the good ones are stored. Exit code 1 when a row was bad."""
    try:
        with transaction(runtime.sessions()) as session:
            report = service.import_file(session, service.env_for(default_vault()), file, actor=actor(),
                                         now=utcnow())
    except DomainError as exc:
        raise fail(exc) from exc
    out.print(f"{report.rows} rows: {report.added} registered, {report.existed} already there, "
              f"{report.loops} closed-loop tasks, {report.flagged} people flagged, {len(report.bad)} bad",
              highlight=False)
    for bad in report.bad:
        out.print(f"  row {bad.row}: {bad.message}", highlight=False, markup=False)
    if report.bad:
        raise typer.Exit(1)


@app.command()
def overdue(every: Annotated[float | None, typer.Option(
        help="run as a worker: a pass every this many seconds until stopped")] = None) -> None:
    """A warning order for every vehicle from a risk area not registered as left within its time.
    Running it again adds nothing."""
    env = service.env_for(default_vault())
    if every is None:
        warned = worker.run_once(runtime.sessions(), env, utcnow())
        out.print(f"{sum(w.created for w in warned)} warning orders opened", highlight=False)
        for w in warned:
            out.print(f"  registration {w.registration}: {w.number}", highlight=False)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out.print(f"overdue check every {every:g} s; Ctrl-C stops it", highlight=False)
    worker.run_forever(runtime.sessions(), env, stop, interval=every)


@app.command()
def counts(since: Annotated[str | None, typer.Option(help="ISO 8601 (default: 24 hours ago)")] = None,
           until: Annotated[str | None, typer.Option(help="ISO 8601 (default: now)")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line")] = False) -> None:
    """Per checkpoint and hour: vehicles checked, turned back, left, people flagged, warnings."""
    try:
        last = parse_when(until) if until else utcnow()
        first = parse_when(since) if since else last - timedelta(hours=24)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with read_transaction(runtime.sessions()) as session:
        found = rules.hourly(service.counted(session, first, last), local_zone(), first, last)
    if as_json:
        for count in found:
            sys.stdout.write(json.dumps(count.as_dict(), ensure_ascii=False) + "\n")
        return
    table = Table(title=f"checkpoints {to_local(first):%Y-%m-%d %H:%M} – {to_local(last):%Y-%m-%d %H:%M}")
    for column in ("checkpoint", "hour", "vehicles", "turned back", "left", "flagged", "warnings"):
        table.add_column(column)
    for c in found:
        table.add_row(c.checkpoint, f"{c.hour:%m-%d %H:00}", str(c.vehicles), str(c.turned_back), str(c.left),
                      str(c.flagged), str(c.warnings))
    out.print(table)

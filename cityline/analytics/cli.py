"""``cityline brief`` and ``cityline analytics``: the daily briefing, the export, the schedule.

``brief_command`` is a plain function so it can be mounted as the top-level
``cityline brief``; ``app`` holds the same command and the others.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cityline import runtime
from cityline.cliutil import Engine
from cityline.db import utcnow
from cityline.timeutil import to_local

app = typer.Typer(help="Analytics: the daily briefing, its export of orders, the morning schedule.",
                  no_args_is_help=True)
FORMATS = ("html", "pdf", "json")


def _day(text: str | None) -> date:
    if not text:
        return to_local(utcnow()).date() - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


def brief_command(
    day: Annotated[str | None, typer.Option("--date", help="the local day, YYYY-MM-DD (default: yesterday)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or json")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of standard output")] = None,
    store: Annotated[bool, typer.Option("--store", help="also keep it in the briefing archive")] = False,
    folder: Annotated[str | None, typer.Option(
        "--export-dir", help="the analytics export folder, or a copy of it at a URI (s3a://bucket/analytics, "
                             "hdfs://…, file://…), read as it is")] = None,
    engine: Engine = None,
) -> None:
    """The daily briefing of a day (formats.md §3) as HTML, PDF or JSON."""
    from cityline.analytics.service import generate
    from cityline.locations import LocationError

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        briefing = generate(runtime.sessions(), _day(day), folder=folder, store=store, engine=engine)
    except LocationError as error:  # an export at a URI that cannot be read
        raise typer.BadParameter(str(error), param_hint="--export-dir") from None
    if fmt == "json":
        content: bytes = json.dumps(briefing.as_json(), ensure_ascii=False, indent=1).encode("utf-8")
    elif fmt == "pdf":
        content = briefing.to_pdf()
    else:
        content = briefing.to_html().encode("utf-8")
    if out is not None:
        out.write_bytes(content)
        typer.echo(f"briefing of {briefing.day} written to {out}" + (" and stored" if store else ""),
                   err=True)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()


app.command("brief")(brief_command)


@app.command()
def export(
    folder: Annotated[Path | None, typer.Option("--export-dir", help="the analytics export folder")] = None,
    full: Annotated[bool, typer.Option("--full", help="rewrite every day, not only changed ones")] = False,
) -> None:
    """Bring the Parquet export analytics reads up to date with the order store."""
    from cityline.analytics.export import export_store
    from cityline.analytics.service import analytics_folder

    report = export_store(runtime.sessions(), folder or analytics_folder(), full=full)
    typer.echo(report.summary())


@app.command("list")
def list_() -> None:
    """The stored briefings, newest first."""
    from cityline.analytics.service import list_briefings

    with runtime.sessions()() as session:
        for day, generated in list_briefings(session):
            typer.echo(f"{day.isoformat()}  generated {to_local(generated):%Y-%m-%d %H:%M}")


@app.command()
def schedule(
    at: Annotated[str, typer.Option("--at", help="local time of the morning run, HH:MM")] = "06:30",
    once: Annotated[bool, typer.Option("--once", help="run now and stop (for cron or a systemd timer)")] = False,
) -> None:
    """Store yesterday's briefing every morning: a loop waking at --at, or one run with --once."""
    from cityline.analytics.service import morning_run, next_run

    try:
        hour, minute = (int(part) for part in at.split(":"))
        datetime(2000, 1, 1, hour, minute)
    except ValueError:
        raise typer.BadParameter(f"--at must be HH:MM, not {at!r}") from None
    while True:
        if not once:
            wake = next_run(utcnow(), hour, minute)
            typer.echo(f"next briefing run at {wake:%Y-%m-%d %H:%M}", err=True)
            time.sleep(max((wake - utcnow()).total_seconds(), 0))
        stored = morning_run(runtime.sessions(), utcnow())
        typer.echo(f"stored the briefing of {stored}" if stored else "yesterday's briefing was already stored",
                   err=True)
        if once:
            return

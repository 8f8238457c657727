"""What every command-line module shares: who is acting, and how a domain error is shown."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console

from cityline.errors import DomainError

out = Console()


def actor() -> str:
    """The name command-line changes are recorded under in order histories."""
    return f"cli:{getpass.getuser()}"


def fail(exc: DomainError) -> typer.Exit:
    """Print the error with its field details; the caller raises the returned exit (code 1)."""
    out.print(f"[red]error:[/red] {exc.detail}")
    for e in exc.errors:
        out.print(f"  {e.field}: {e.message}")
    return typer.Exit(1)


def _engine(value: str | None) -> str | None:
    from cityline.spark import check_engine

    try:
        return None if value is None else check_engine(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


# The analyses' engine, for the commands that run them (default: CITYLINE_ANALYTICS_ENGINE).
Engine = Annotated[str | None, typer.Option(
    "--engine", help="duckdb or spark (default: CITYLINE_ANALYTICS_ENGINE)", callback=_engine)]

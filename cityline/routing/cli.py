"""``cityline dispatch``: the dispatch catalogue and its versions from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.cliutil import actor, fail
from cityline.db import transaction
from cityline.errors import DomainError

out = Console()


dispatch_app = typer.Typer(help="The dispatch catalogue (派单目录): which unit handles what, where.",
                           no_args_is_help=True)

NOTE = typer.Option("--note", help="why: kept with the version and in the audit log")


@dispatch_app.command("import")
def import_catalogue(
    file: Annotated[Path | None, typer.Argument(help=".csv (UTF-8 or GBK), .jsonl or .xlsx: category,district,street,unit,level,priority,note")] = None,
    default: Annotated[bool, typer.Option("--default", help="load the catalogue shipped with cityline")] = False,
    note: Annotated[str | None, NOTE] = None,
) -> None:
    """Replace the catalogue with a file's rules, as a new version (nothing changes if any row is bad)."""
    from cityline import tabular
    from cityline.errors import BadFile
    from cityline.routing import catalogue

    if (file is None) == (not default):
        out.print("[red]error:[/red] give a FILE or --default")
        raise typer.Exit(2)
    try:
        rows = catalogue.default_rows() if default else tabular.read_rows(file)
        with transaction(runtime.sessions()) as session:
            done = catalogue.import_catalogue(session, rows, actor=actor(), note=note)
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    for b in done.bad:
        out.print(f"  row {b.row}: {b.message}")
    if done.bad:
        out.print(f"[red]catalogue unchanged:[/red] {len(done.bad)} bad rows")
        raise typer.Exit(1)
    _say(done)


@dispatch_app.command("list")
def list_catalogue() -> None:
    """The catalogue in force as a table."""
    from cityline.routing import catalogue

    with transaction(runtime.sessions()) as session:
        table = Table("category", "district", "street", "unit", "level", "priority", "note")
        for r in catalogue.list_catalogue(session):
            table.add_row(r.category, r.district or "", r.street or "", r.unit_code or "", r.level or "",
                          str(r.priority), r.note or "")
    out.print(table)


@dispatch_app.command("history")
def history() -> None:
    """Every version of the catalogue, newest first: when, who, what changed, why."""
    from cityline.routing import catalogue
    from cityline.timeutil import to_local

    with transaction(runtime.sessions()) as session:
        versions = catalogue.list_versions(session)
        in_force = len(catalogue.list_catalogue(session))
    if not versions:
        out.print(f"no versions yet: the catalogue in force ({in_force} rules) was written before versions were "
                  "kept, or never; the next `cityline dispatch import` makes one")
        return
    table = Table("version", "when", "who", "what", "rules", "added", "removed", "changed", "note")
    for v in versions:
        what = f"restore of v{v.restored_from}" if v.action == "restore" else v.action
        table.add_row(f"v{v.version}", to_local(v.created_at).strftime("%Y-%m-%d %H:%M"), v.actor, what,
                      str(v.rule_count), str(v.added), str(v.removed), str(v.changed), v.note or "")
    out.print(table)


@dispatch_app.command("show")
def show(version: Annotated[int, typer.Argument(help="version number")]) -> None:
    """A version's rules and what it changed against the version before."""
    from cityline.routing import catalogue
    from cityline.timeutil import to_local

    try:
        with transaction(runtime.sessions()) as session:
            v = catalogue.get_version(session, version)
            rules, changes = catalogue.version_rules(v), catalogue.version_changes(v)
    except DomainError as exc:
        raise fail(exc) from None
    restored = f", a restore of v{v.restored_from}" if v.restored_from else ""
    out.print(f"v{v.version}: {v.action}{restored} by {v.actor} at "
              f"{to_local(v.created_at).strftime('%Y-%m-%d %H:%M')}; {len(rules)} rules"
              + (f"; note: {v.note}" if v.note else ""), soft_wrap=True)
    table = Table("category", "district", "street", "unit", "level", "priority", "note")
    for r in rules:
        table.add_row(r.category, r.district or "", r.street or "", r.unit or "", r.level or "", str(r.priority),
                      r.note or "")
    out.print(table)
    out.print(f"changes against v{v.version - 1}:" if v.version > 1 else "changes against an empty catalogue:")
    _print_changes(changes)


@dispatch_app.command("diff")
def diff(
    older: Annotated[int, typer.Argument(help="version to compare from")],
    newer: Annotated[int, typer.Argument(help="version to compare to")],
) -> None:
    """What changed from one version to another: rules added, removed and changed."""
    from cityline.routing import catalogue

    try:
        with transaction(runtime.sessions()) as session:
            changes = catalogue.diff_versions(session, older, newer)
    except DomainError as exc:
        raise fail(exc) from None
    out.print(f"v{older} → v{newer}:")
    _print_changes(changes)


@dispatch_app.command("restore")
def restore(
    version: Annotated[str, typer.Argument(help="version number, or 'previous' (the one before the latest)")],
    note: Annotated[str | None, NOTE] = None,
) -> None:
    """Put an earlier version's rules back in force; the restore is itself a new version."""
    from cityline.routing import catalogue

    try:
        with transaction(runtime.sessions()) as session:
            number = _version_number(session, version)
            done = catalogue.restore(session, number, actor=actor(), note=note)
    except DomainError as exc:
        raise fail(exc) from None
    _say(done, restored=number)


def _version_number(session, text: str) -> int:
    from cityline.errors import Invalid
    from cityline.routing import catalogue

    if text == "previous":
        latest = catalogue.latest_version(session) or 0
        if latest < 2:
            raise Invalid("there is no version before the latest to restore")
        return latest - 1
    try:
        return int(text.removeprefix("v"))
    except ValueError:
        raise Invalid(f"not a version: {text!r} (a number such as 3, or 'previous')") from None


def _say(done, restored: int | None = None) -> None:
    if done.version is None:
        where = f"those of version {done.current}" if done.current else "the catalogue in force (not yet versioned)"
        out.print(f"catalogue unchanged: the {len(done.rules)} rules are {where}; no new version made")
        return
    v = done.version
    what = f"restored v{restored} as version {v.version}" if restored else f"version {v.version}"
    out.print(f"catalogue now has {v.rule_count} rules: {what} ({v.added} added, {v.removed} removed, "
              f"{v.changed} changed)")


def _print_changes(changes) -> None:
    from cityline.routing.rules import describe

    if changes.empty:
        out.print("  no changes")
    for r in changes.added:
        out.print(f"  + {describe(r)}", soft_wrap=True)
    for r in changes.removed:
        out.print(f"  - {describe(r)}", soft_wrap=True)
    for c in changes.changed:
        place = "/".join(p for p in (c.after.district, c.after.street) if p) or "citywide"
        what = "; ".join(f"{f} {_value(getattr(c.before, f))} → {_value(getattr(c.after, f))}" for f in c.fields)
        out.print(f"  ~ {c.after.category} {place}: {what}", soft_wrap=True)


def _value(value) -> str:
    return "—" if value is None else str(value)

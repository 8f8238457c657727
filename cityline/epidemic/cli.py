"""``cityline epidemic``: import the six kinds of data, and the §7 outputs (coverage, zones,
passes, arrivals, contacts). With ``--json`` each prints one JSON object a line, exactly as
formats.md §7 shows; without, a readable table. Personal data never appear in full."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.cliutil import Engine, actor, fail
from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic import schemas as outputs
from cityline.epidemic import service
from cityline.epidemic.facts import FactStore
from cityline.epidemic.importer import import_file
from cityline.epidemic.kinds import KINDS, kind_named
from cityline.epidemic.reading import BadFile, count_rows
from cityline.errors import DomainError
from cityline.locations import LocationError
from cityline.privacy import default_vault
from cityline.tabular import row_word
from cityline.timeutil import parse_when, to_local

app = typer.Typer(help="Epidemic data (formats §6) and rules (§7): coverage, zones, passes, arrivals, contacts; clusters.",
                  no_args_is_help=True)
pass_app = typer.Typer(help="Passes (通行码): issue, verify.", no_args_is_help=True)
app.add_typer(pass_app, name="pass")
out = Console()
Json = Annotated[bool, typer.Option("--json", help="one JSON object a line (formats §7)")]


def _lines(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _table(title: str, objects: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for obj in objects:
        table.add_row(*("" if obj.get(c) is None else str(obj.get(c)) for c in columns))
    out.print(table)


def _at(text: str | None) -> datetime:
    try:
        return parse_when(text) if text else utcnow()
    except ValueError as exc:
        raise typer.BadParameter(f"'{text}' is not an ISO 8601 date-time") from exc


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)") from exc


# The fact store read from a copy elsewhere: on a cluster, Spark's executors read it where it lies.
Facts = Annotated[str | None, typer.Option(
    "--facts", help="read the epidemic facts from a copy of the fact store at this URI (s3a://bucket/epidemic, "
                    "hdfs://…, file://…; with --engine spark) instead of the data folder's")]


def _env(engine: str | None = None, facts: str | None = None) -> service.Env:
    """The environment, its analyses run on ``engine`` when one is given (``--engine``), over
    the facts at ``facts`` when given (``--facts``)."""
    env = service.env_for(default_vault())
    if engine is not None:
        env.params = replace(env.params, engine=engine)
    if facts is not None:
        try:
            env.store = FactStore(facts, env.params.timezone)
        except LocationError as error:
            raise typer.BadParameter(str(error), param_hint="--facts") from None
        if env.params.engine != "spark":
            raise typer.BadParameter("a fact store at a URI is read by the spark engine: add --engine spark",
                                     param_hint="--facts")
    return env


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    file: Annotated[Path, typer.Argument(dir_okay=False, help=".csv (UTF-8, BOM or GBK), .jsonl or .xlsx")],
    as_json: Json = False,
) -> None:
    """Import one kind of data; idempotent by the kind's key; bad rows are named, the rest go in
    (exit code 1 when any row was refused)."""
    from rich.progress import Progress

    try:
        spec = kind_named(kind)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task(f"importing {file.name}", total=count_rows(file))
            report = import_file(runtime.sessions(), _env(), spec.name, file, actor=actor(),
                                 progress=lambda n: bar.update(task, completed=n))
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
    else:
        out.print(report.summary())
        word = row_word(file)
        for bad in report.bad[:50]:
            out.print(f"  {word} {bad.row}: {bad.message}", markup=False)
        if len(report.bad) > 50:
            out.print(f"  … and {len(report.bad) - 50} more (use --json for all)")
    if report.bad:
        raise typer.Exit(1)


@app.command()
def coverage(
    since: Annotated[str, typer.Option(help="first local date, YYYY-MM-DD")],
    until: Annotated[str, typer.Option(help="last local date, YYYY-MM-DD")],
    untested: Annotated[bool, typer.Option("--untested", help="list the present residents without a test")] = False,
    as_json: Json = False,
    engine: Engine = None,
    facts: Facts = None,
) -> None:
    """Test coverage of present residents by building for dates SINCE..UNTIL (or who is untested)."""
    env = _env(engine, facts)
    with read_transaction(runtime.sessions()) as session:
        found = service.coverage(session, env, _day(since), _day(until), untested=untested)
    if untested:
        objects = [outputs.untested(p) for p in found.untested]
        columns = ["person", "district", "street", "compound", "building", "grid"]
    else:
        objects = [outputs.coverage(row) for row in found.rows]
        columns = ["district", "street", "compound", "building", "present", "tested", "coverage"]
    _lines(objects) if as_json else _table(f"coverage {since} .. {until}", objects, columns)


@app.command()
def zones(
    day: Annotated[str, typer.Option("--date", help="local date, YYYY-MM-DD")],
    save: Annotated[bool, typer.Option("--save", help="publish these zones for the date (replacing earlier ones)")] = False,
    as_json: Json = False,
) -> None:
    """Sealed, controlled and precaution zones on a date, with their present population."""
    env = _env()
    with (transaction if save else read_transaction)(runtime.sessions()) as session:
        rows = service.compute_zones(session, env, _day(day))
        if save:
            service.save_zones(session, _day(day), rows, utcnow())
    objects = [outputs.zone(z) for z in rows]
    _lines(objects) if as_json else _table(f"zones on {day}", objects,
                                           ["level", "district", "street", "compound", "building", "population"])


@app.command()
def tasks(
    since: Annotated[str, typer.Option("--from", help="first local date, YYYY-MM-DD")],
    until: Annotated[str, typer.Option("--to", help="last local date, YYYY-MM-DD")],
    as_json: Json = False,
) -> None:
    """One work order per building with residents untested from FROM to TO (category EPI.TEST,
    channel warning), dispatched to the grid's unit; running the same range again adds nothing."""
    from cityline.epidemic.tasks import untested_tasks

    env = _env()
    first, last = _day(since), _day(until)
    if last < first:
        raise typer.BadParameter(f"--to {until} is before --from {since}")
    try:
        with transaction(runtime.sessions()) as session:
            report = untested_tasks(session, env, first, last, actor=actor(), now=utcnow(), vault=default_vault())
    except DomainError as exc:
        raise fail(exc) from exc
    found = report.as_dict()
    if as_json:
        _lines([found])
        return
    _table(f"untested residents {since} .. {until}", found["orders"],
           ["number", "created", "district", "street", "compound", "building", "untested", "unit"])
    out.print(f"created {found['created']}, already there {found['existed']}, "
              f"waiting for a dispatcher {found['undispatched']}")


@app.command()
def warnings(
    day: Annotated[str | None, typer.Option("--date", help="local date, YYYY-MM-DD (default: today)")] = None,
    as_json: Json = False,
) -> None:
    """Tracing orders for the cases reported in the contact window up to DATE (the 0+1+2+8+12 hour
    chain), control tasks for their tier-1 contacts and the risk-area arrivals on DATE; running it
    again adds nothing, new data add only what is new."""
    from cityline.epidemic.warnings import run_warnings

    env = _env()
    now = utcnow()
    try:
        with transaction(runtime.sessions()) as session:
            report = run_warnings(session, env, _day(day) if day else to_local(now).date(), actor=actor(), now=now,
                                  vault=default_vault())
    except DomainError as exc:
        raise fail(exc) from exc
    found = report.as_dict()
    if as_json:
        _lines([found])
        return
    _table(f"warnings up to {found['day']}", found["orders"],
           ["kind", "number", "created", "person", "cases", "added_cases", "unit", "status"])
    out.print(" · ".join(f"{kind}: created {found[kind]['created']}, already there {found[kind]['existed']}"
                         for kind in ("tracing", "contact", "arrival"))
              + f" · contact tasks with new cases {found['contact']['updated']}"
              + f" · waiting for a dispatcher {found['undispatched']}")


@app.command()
def arrivals(day: Annotated[str, typer.Option("--date", help="local date, YYYY-MM-DD")], as_json: Json = False,
             engine: Engine = None, facts: Facts = None) -> None:
    """People who arrived from a medium- or high-risk area in the 14 days up to a date (latest arrival each)."""
    env = _env(engine, facts)
    with read_transaction(runtime.sessions()) as session:
        found = service.risk_arrivals(session, env, _day(day))
    objects = [outputs.arrival(a) for a in found]
    _lines(objects) if as_json else _table(f"arrivals from risk areas, {day}", objects,
                                           ["person", "from_area", "risk_area", "level", "arrived_at", "trip_no"])


@app.command()
def contacts(
    case: Annotated[list[str] | None, typer.Option("--case", help="a case's person_id (repeatable); default: every case")] = None,
    as_json: Json = False,
    engine: Engine = None,
    facts: Facts = None,
) -> None:
    """Close contacts (tier 1) and their household members (tier 2) of cases."""
    env = _env(engine, facts)
    with read_transaction(runtime.sessions()) as session:
        cases = service.case_records(session, case or None)
        found = service.tracing.contacts(session, env, sorted(cases, key=lambda c: c.person_id))
    objects = [outputs.contact(c) for c in found]
    _lines(objects) if as_json else _table("contacts", objects,
                                           ["case", "person", "tier", "relation", "via", "overlap_minutes", "evidence"])


def _outbreak(day: str | None):
    from cityline.epidemic import clustering

    env = _env()
    with read_transaction(runtime.sessions()) as session:
        on = _day(day) if day else clustering.latest_report_day(session, env.params) or utcnow().astimezone(
            env.params.zone).date()
        return clustering.outbreak(session, env, on)


AsOf = Annotated[str | None, typer.Option("--date", help="local date, YYYY-MM-DD (default: the latest report)")]


@app.command()
def clusters(day: AsOf = None, as_json: Json = False) -> None:
    """Clusters (风险群) of the cases reported in the 28 days up to a date: cases linked as
    tier-1 contacts, largest first, then fastest growing; one line per cluster."""
    found = _outbreak(day)
    everyone = {c.person_id for c in found.cases}
    objects = [outputs.cluster(c, found.contacts_of(set(c.person_ids)),
                               [p.venue_code for p in found.places if set(p.cases) & set(c.person_ids)], everyone)
               for c in found.clusters]
    _lines(objects) if as_json else _table(f"clusters on {found.day}", objects, [
        "id", "size", "recent", "previous", "growth", "first_reported", "last_reported", "tier1", "tier2", "places"])


@app.command("exposure-places")
def exposure_places(day: AsOf = None, as_json: Json = False) -> None:
    """Venues where visits of two or more cases overlapped (at least 15 minutes inside a window)."""
    found = _outbreak(day)
    objects = [outputs.exposure_place(p, found.cluster_of, {c.person_id for c in found.cases}) for p in found.places]
    _lines(objects) if as_json else _table(f"places of exposure on {found.day}", objects, [
        "venue_code", "venue_name", "size", "cases", "first", "last", "contacts", "clusters"])


@app.command()
def compact(kind: Annotated[str | None, typer.Argument(help="tests, scans or trips; default: all three")] = None) -> None:
    """Rewrite the fact store's partitions as one file per day with one row per key."""
    from cityline.epidemic.checks import connect
    from cityline.epidemic.kinds import FACT_KINDS

    env = _env()
    con = connect(env.params.timezone)
    for name in [kind_named(kind).name] if kind else FACT_KINDS:
        out.print(f"{name}: {env.store.compact(name, con)} day(s) rewritten")


@pass_app.command("issue")
def pass_issue(
    persons: Annotated[list[str] | None, typer.Argument(help="person_id of each holder")] = None,
    at: Annotated[str | None, typer.Option(help="judge at this time (ISO 8601; default now)")] = None,
    building: Annotated[str | None, typer.Option(help="everyone at DISTRICT/STREET/COMPOUND/BUILDING")] = None,
    as_json: Json = False,
) -> None:
    """Issue passes to people who qualify at a time; one line per person (issued or why not)."""
    env = _env()
    try:
        with transaction(runtime.sessions()) as session:
            wanted = list(persons or [])
            if building:
                parts = building.split("/")
                if len(parts) not in (3, 4):
                    raise typer.BadParameter("--building is DISTRICT/STREET/COMPOUND[/BUILDING]")
                wanted += service.building_persons(session, *parts[:3], parts[3] if len(parts) == 4 else None)
            if not wanted:
                raise typer.BadParameter("name at least one person_id, or --building")
            results = service.issue_passes(session, env, list(dict.fromkeys(wanted)), _at(at), actor=actor())
    except DomainError as exc:
        raise fail(exc) from exc
    objects = [outputs.issued(r) for r in results]
    _lines(objects) if as_json else _table("passes", objects, ["person", "issued", "code", "valid_until", "reason"])


@pass_app.command("verify")
def pass_verify(code: str, at: Annotated[str | None, typer.Option(help="check at this time (default now)")] = None,
                as_json: Json = False) -> None:
    """valid, expired, revoked or invalid."""
    env = _env()
    with transaction(runtime.sessions()) as session:
        found = outputs.verified(service.verify_pass(session, env, code, _at(at), actor=actor()))
    if as_json:
        _lines([found])
    else:
        out.print(f"{found['status']}  person={found['person'] or '-'}  valid_until={found['valid_until'] or '-'}")


@app.command()
def resident(person_id: str, reveal: Annotated[str | None, typer.Option(
        help="show name, ID number and phone in full, for this reason (audited)")] = None) -> None:
    """One resident of the ledger, personal data masked (or revealed, audited)."""
    try:
        with transaction(runtime.sessions()) as session:
            found = outputs.resident(service.resident(session, person_id))
            if reveal:
                found |= service.reveal(session, default_vault(), person_id, actor=actor(), reason=reveal)
    except DomainError as exc:
        raise fail(exc) from exc
    _lines([found])

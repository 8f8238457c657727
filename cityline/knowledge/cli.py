"""``cityline knowledge``: import, export, search, mine, and the editorial workflow."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityline import runtime
from cityline.cliutil import actor, fail
from cityline.db import transaction, utcnow
from cityline.errors import DomainError

app = typer.Typer(help="Knowledge base: import, export, search, mine frequent questions, review and publish.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="a folder or file of Markdown articles, or a .csv (UTF-8 or GBK), .jsonl or .xlsx")],
    as_json: JsonFlag = False,
) -> None:
    """Import articles (formats.md §4); a changed article becomes a new version, published unless it says draft."""
    from cityline.errors import BadFile
    from cityline.knowledge.files import import_records, read_records

    try:
        with transaction(runtime.sessions()) as session:
            report = import_records(session, read_records(path), actor=actor(), now=utcnow())
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        out.print(f"read {report.read}, created {report.created}, updated {report.updated}, "
                  f"unchanged {report.unchanged}, published {report.published}, bad {len(report.bad)}")
        for where, why in report.bad:
            out.print(f"  {where}: {why}", markup=False)
    if report.bad:
        raise typer.Exit(1)


@app.command()
def export(
    path: Annotated[Path, typer.Argument(help="a .csv or .xlsx file, or a folder for Markdown files")],
    include_drafts: Annotated[bool, typer.Option("--drafts", help="also articles never published")] = False,
) -> None:
    """Export articles in the import format (the published version of each)."""
    from cityline.knowledge.files import export_rows, write_rows

    with transaction(runtime.sessions()) as session:
        rows = export_rows(session, include_drafts=include_drafts)
    write_rows(rows, path)
    out.print(f"exported {len(rows)} articles to {path}")


@app.command()
def search(
    text: Annotated[str | None, typer.Argument(help="the question")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="one question a line (UTF-8 or GBK)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Search published articles in force today (formats.md §5)."""
    from cityline.knowledge import search as searching

    if (text is None) == (file is None):
        out.print("[red]error:[/red] give either a question or --file (one question a line)")
        raise typer.Exit(2)
    questions = [text] if text is not None else _questions(file)
    with runtime.sessions()() as session:
        searching.index_for(session)  # build once, so "ms" is the search itself
        for question in questions:
            started = time.perf_counter()
            hits = searching.search(session, question, limit=limit)
            ms = round((time.perf_counter() - started) * 1000, 3)
            if as_json:
                results = [{"external_id": h.article.external_id, "title": h.article.title, "score": h.score}
                           for h in hits]
                typer.echo(json.dumps({"query": question, "results": results, "ms": ms}, ensure_ascii=False))
            else:
                _print_hits(question, hits, ms)


def _questions(file: Path) -> list[str]:
    from cityline.errors import BadFile, RowError
    from cityline.tabular import read_lines

    questions = []
    try:
        for number, line in read_lines(file):
            if isinstance(line, RowError):  # said on stderr: --json output stays JSON
                err.print(f"{file.name}, line {number}: {line.message}; left out", markup=False)
            else:
                questions.append(line.strip())
    except BadFile as exc:
        out.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    except OSError as exc:
        out.print(f"[red]error:[/red] cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from exc
    return questions


def _print_hits(question: str, hits, ms: float) -> None:
    table = Table("#", "article", "v", "title", "score", "covers", title=f"{question}  ({ms} ms)")
    for rank, h in enumerate(hits, start=1):
        table.add_row(str(rank), h.article.external_id, str(h.article.version), h.article.title,
                      f"{h.score:.2f}", f"{h.coverage:.0%}")
    out.print(table if hits else f"{question}: no article found")


@app.command("list")
def list_(status: str | None = None, category: str | None = None, page: int = 1, page_size: int = 50) -> None:
    """Articles, most recently changed first."""
    from cityline.knowledge import service

    with transaction(runtime.sessions()) as session:
        rows, total = service.list_articles(session, status=status, category=category, page=page,
                                            page_size=page_size)
    table = Table("article", "status", "latest", "live", "category", "title", title=f"{total} articles")
    for a in rows:
        table.add_row(a.external_id, a.status, str(a.latest_version), str(a.published_version or "-"),
                      a.category or "", a.title)
    out.print(table)


@app.command()
def show(external_id: str, as_json: JsonFlag = False) -> None:
    """One article: its versions and the history of its workflow."""
    from cityline.knowledge import service
    from cityline.knowledge.schemas import EventRead, VersionRead

    try:
        with transaction(runtime.sessions()) as session:
            article = service.get_article(session, external_id)
            versions = [VersionRead.model_validate(v) for v in service.versions_of(session, article)]
            events = [EventRead.model_validate(e) for e in service.events_of(session, article)]
    except DomainError as exc:
        raise fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({"external_id": external_id, "status": article.status,
                               "published_version": article.published_version,
                               "versions": [v.model_dump(mode="json") for v in versions],
                               "events": [e.model_dump(mode="json") for e in events]}, ensure_ascii=False))
        return
    out.print(f"[bold]{external_id}[/bold]  {article.status}  live version {article.published_version or '-'}")
    for v in versions:
        out.print(f"  v{v.version} {v.status:<10} by {v.author} {v.title}", markup=False)
    for e in events:
        out.print(f"  {e.at:%Y-%m-%d %H:%M} {e.action:<8} v{e.version} {e.from_status or ''} → {e.to_status} {e.actor}",
                  markup=False)


def _step(name: str, external_id: str, by: str | None, note: str | None) -> None:
    from cityline.knowledge import service

    steps = {"review": lambda s: service.review_article(s, external_id, reviewer=by or actor(), now=utcnow(), note=note),
             "publish": lambda s: service.publish_article(s, external_id, actor=by or actor(), now=utcnow(), note=note),
             "expire": lambda s: service.expire_article(s, external_id, actor=by or actor(), now=utcnow(), note=note)}
    try:
        with transaction(runtime.sessions()) as session:
            article = steps[name](session)
            out.print(f"{external_id}: {name} → {article.status} (live version {article.published_version or '-'})")
    except DomainError as exc:
        raise fail(exc) from exc


By = Annotated[str | None, typer.Option(help="who does it (default: the logged-in user)")]


@app.command()
def review(external_id: str, by: By = None, note: str | None = None) -> None:
    """Review the latest draft (not by its author)."""
    _step("review", external_id, by, note)


@app.command()
def publish(external_id: str, by: By = None, note: str | None = None) -> None:
    """Publish the reviewed latest version; it replaces the live one."""
    _step("publish", external_id, by, note)


@app.command()
def expire(
    external_id: Annotated[str | None, typer.Argument()] = None,
    due: Annotated[bool, typer.Option("--due", help="expire every article past its expiry date")] = False,
    by: By = None, note: str | None = None,
) -> None:
    """Take an article off the air, or (--due) all whose expiry date has passed."""
    if due:
        from cityline.knowledge import search as searching
        from cityline.knowledge import service

        with transaction(runtime.sessions()) as session:
            expired = service.expire_due(session, searching.today_local(), actor=by or actor(), now=utcnow())
        out.print(f"expired {len(expired)}: {', '.join(expired)}" if expired else "nothing is past its expiry date")
    elif external_id:
        _step("expire", external_id, by, note)
    else:
        out.print("[red]error:[/red] name an article or use --due")
        raise typer.Exit(2)


@app.command()
def answer(external_id: str, order: Annotated[str, typer.Option(help="the consultation's number")]) -> None:
    """Close a consultation at intake with the article's published answer (version recorded)."""
    from cityline.knowledge import search as searching
    from cityline.knowledge import service

    try:
        with transaction(runtime.sessions()) as session:
            closed, version = service.answer_from_article(session, external_id, order, actor=actor(),
                                                          now=utcnow(), today=searching.today_local())
            out.print(f"{order}: answered from {external_id} v{version.version} → {closed.status}")
    except DomainError as exc:
        raise fail(exc) from exc


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """How search ranks today: by words and meaning (the embedding model), or by words only and why."""
    from cityline.db import read_transaction
    from cityline.knowledge import search as searching

    with read_transaction(runtime.sessions()) as session:
        found = searching.status(session)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    out.print(f"search ranks by {found['ranked_by']}"
              + (f" ({found['model']})" if found["model"] else f": {found['why_words_only']}"), markup=False)
    out.print(f"{found['published_articles']} published articles, {found['texts_embedded']} of their texts embedded")


@app.command()
def embed(as_json: JsonFlag = False) -> None:
    """Embed every published article's texts that have no stored vector yet (after an upgrade,
    or once the model is turned on), so the first search does not wait for it."""
    from cityline.knowledge import search as searching

    started = time.perf_counter()

    def progress(done: int, missing: int) -> None:
        if not as_json:
            err.print(f"  {done}/{missing} texts embedded ({time.perf_counter() - started:.0f} s)")

    found = searching.embed_ahead(runtime.sessions(), progress=progress)
    if as_json:
        typer.echo(json.dumps(asdict(found), ensure_ascii=False))
        return
    if found.model is None:
        out.print(f"nothing embedded: search ranks by words only ({found.why_not})", markup=False)
        return
    out.print(f"{found.articles} published articles, {found.texts} texts: {found.embedded} embedded now, "
              f"{found.texts - found.embedded} were already stored ({found.model})", markup=False)


@app.command("learnt-words")
def learnt_words(
    min_count: Annotated[int, typer.Option(min=2, help="answered calls a word must be in")] = 3,
    as_json: JsonFlag = False,
) -> None:
    """Words callers keep using for an article that no article contains: proposals for synonyms.toml."""
    from cityline.db import read_transaction
    from cityline.knowledge import learning
    from cityline.knowledge import search as searching

    with read_transaction(runtime.sessions()) as session:
        found = learning.candidate_words(searching.index_for(session).articles, min_count=min_count)
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in found], ensure_ascii=False))
        return
    out.print(f"{len(found)} words callers use that no article has (in at least {min_count} answered calls)")
    for c in found:
        out.print(f"  {c.article}  {c.word}  {c.count} calls  e.g. {c.examples[0]}", markup=False)


@app.command()
def mine(
    day: Annotated[str, typer.Option("--date", help="the day of the consultations, YYYY-MM-DD (local)")],
    min_count: Annotated[int, typer.Option(min=1, help="smallest group worth a proposal")] = 3,
    dry_run: Annotated[bool, typer.Option(help="show the proposals without saving drafts")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Group the day's consultations no article answers well and save them as drafts for editors."""
    from cityline.knowledge import mining

    try:
        when = date.fromisoformat(day)
    except ValueError as exc:
        out.print(f"[red]error:[/red] --date {day!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from exc
    with transaction(runtime.sessions()) as session:
        proposals = mining.mine(session, when, min_count=min_count)
        if not dry_run:
            mining.store_proposals(session, proposals, when, actor=actor(), now=utcnow())
    if as_json:
        typer.echo(json.dumps([asdict(p) for p in proposals], ensure_ascii=False))
        return
    out.print(f"{len(proposals)} proposals from {day}" + (" (not saved)" if dry_run else ""))
    for p in proposals:
        state = "new draft" if p.stored else ("not saved" if dry_run else "already proposed")
        out.print(f"  {p.external_id}  {p.count} calls  {' '.join(p.key_terms)}  ({state})", markup=False)
        for q in p.questions[:5]:
            out.print(f"      {q.count} × {q.text}", markup=False)


@app.command("ship-vectors", hidden=True)
def ship_vectors() -> None:
    """For cityline's maintainers: embed the starter articles' texts and the shipped phrasings and
    write them as the vectors shipped with cityline (after either changed; a test says when)."""
    from cityline.knowledge import semantic
    from cityline.knowledge.search import starter_texts

    began = time.perf_counter()
    count = semantic.write_shipped(starter_texts())
    typer.echo(f"wrote {count} vectors to {semantic.SHIPPED} in {time.perf_counter() - began:.0f} s")

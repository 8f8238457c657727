"""Articles in and out of files (formats.md §4): Markdown with YAML front matter, CSV, Excel.

A Markdown article is one file: front matter with the fields, the body being the
answer. A folder is read recursively (``*.md``, in name order). CSV and .xlsx
have one article a row, question variants one per line in their cell (JSON
Lines, one article a line, is read too: ``cityline.tabular`` reads all three).
Re-importing an article whose content changed adds a new version; an unchanged
one adds nothing, so importing the same file twice is harmless.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from cityline import tabular
from cityline.cells import plain_cell, safe_cell, safe_row
from cityline.errors import BadFile, Invalid, RowError
from cityline.knowledge import service
from cityline.knowledge.models import Article
from cityline.knowledge.service import ArticleInput

COLUMNS = ["external_id", "title", "questions", "answer", "category", "effective_from", "expires_at",
           "source", "status", "version"]


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    published: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)  # (where, why)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "published": self.published,
                "bad": [{"where": w, "message": m} for w, m in self.bad]}


def read_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, fields) for every article in a Markdown file or folder, or a CSV, JSON Lines
    or .xlsx file (read by ``cityline.tabular``: "row 2" is the first row under the header)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.md") if p.is_file())
        if not files:
            raise BadFile(f"{path.name}: no .md files in this folder")
        for file in files:
            yield from _markdown(file)
    elif not path.exists():
        raise BadFile(f"{path.name}: no such file or folder")
    elif path.suffix.lower() == ".md":
        yield from _markdown(path)
    elif path.suffix.lower() in tabular.SUFFIXES:
        word = tabular.row_word(path)
        for number, values in tabular.read_rows(path, required=("external_id",)):
            record = {"_error": values.message} if isinstance(values, RowError) else values
            yield f"{word} {number}", record
    else:
        raise BadFile(f"{path.name}: expected a folder or a .md, {tabular.ACCEPTED} file")


def _markdown(file: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    text = file.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        yield str(file), {"_error": "no front matter (the file must start with a line '---')"}
        return
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() in ("---", "..."))
    except StopIteration:
        yield str(file), {"_error": "front matter is not closed by a line '---'"}
        return
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        yield str(file), {"_error": f"front matter is not valid YAML: {exc}"}
        return
    if not isinstance(meta, dict):
        yield str(file), {"_error": "front matter must be a mapping of field: value"}
        return
    yield str(file), {**meta, "answer": "\n".join(lines[end + 1:]).strip() or meta.get("answer", "")}


def to_input(record: dict[str, Any]) -> tuple[ArticleInput, str]:
    """The article and its status from one record; raises Invalid naming each bad field."""
    if "_error" in record:
        raise Invalid(record["_error"])
    problems = []
    dates = {}
    for name in ("effective_from", "expires_at"):
        try:
            dates[name] = _date(record.get(name))
        except ValueError:
            problems.append(f"{name} {record.get(name)!r} is not an ISO date (YYYY-MM-DD)")
    questions = record.get("questions") or []
    if isinstance(questions, str):
        questions = questions.splitlines()
    if not isinstance(questions, list):
        problems.append("questions must be a list (one question a line in a cell)")
        questions = []
    if problems:
        raise Invalid("; ".join(problems))
    data = ArticleInput(
        external_id=_text(record.get("external_id")), title=_text(record.get("title")),
        answer=_text(record.get("answer")), questions=[q for q in (_text(q) for q in questions) if q],
        category=_text(record.get("category")) or None, source=_text(record.get("source")) or None,
        **dates)
    status = _text(record.get("status")) or "published"
    service.check_input(data, status=status)
    return data, status


def _text(value: Any) -> str:
    # A cell of a file cityline exported may carry the formula guard (cells.safe_cell).
    return "" if value is None else str(plain_cell(value)).strip()


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def import_records(session: Session, records: Iterator[tuple[str, dict[str, Any]]], *, actor: str,
                   now: datetime) -> ImportReport:
    """Write every good record as a version (published unless it says draft); report the bad ones."""
    report, seen = ImportReport(), set()
    for where, record in records:
        report.read += 1
        try:
            data, status = to_input(record)
        except Invalid as exc:
            report.bad.append((where, exc.detail))
            continue
        if data.external_id in seen:
            report.bad.append((where, f"external_id {data.external_id} appears twice in this import"))
            continue
        seen.add(data.external_id)
        existed = service.find_article(session, data.external_id) is not None
        article, changed = service.write_version(session, data, actor=actor, now=now, note="import")
        if not changed:
            report.unchanged += 1
        elif existed:
            report.updated += 1
        else:
            report.created += 1
        if status == "published" and service.state_of(session, article).latest_status != "published":
            service.publish_article(session, data.external_id, actor=actor, now=now, skip_review=True)
            report.published += 1
    return report


def export_rows(session: Session, *, include_drafts: bool = False) -> list[dict[str, Any]]:
    """Published articles as their live version; with ``include_drafts``, never-published ones too."""
    statuses = ["published", "draft", "reviewed"] if include_drafts else ["published"]
    articles = session.query(Article).filter(Article.status.in_(statuses)).order_by(Article.external_id)
    rows = []
    for article in articles:
        version = service.get_version(session, article, article.published_version or article.latest_version)
        rows.append({
            "external_id": article.external_id, "title": version.title, "questions": list(version.questions),
            "answer": version.answer, "category": version.category,
            "effective_from": version.effective_from.isoformat() if version.effective_from else None,
            "expires_at": version.expires_at.isoformat() if version.expires_at else None,
            "source": version.source, "status": "published" if article.published_version else "draft",
            "version": version.version})
    return rows


def write_rows(rows: list[dict[str, Any]], out: Path) -> None:
    """A .csv or .xlsx file, or otherwise a folder of Markdown files (one per article)."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: safe_cell(v) for k, v in {**row, "questions": "\n".join(row["questions"])}.items()})
        out.write_text(buffer.getvalue(), encoding="utf-8-sig")
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "articles"
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append(safe_row(("\n".join(row[c]) if c == "questions" else row[c]) for c in COLUMNS))
        book.save(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for row in rows:
            meta = {k: v for k, v in row.items() if k != "answer" and v not in (None, [])}
            front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
            (out / f"{_file_name(row['external_id'])}.md").write_text(
                f"---\n{front}---\n\n{row['answer']}\n", encoding="utf-8")


def _file_name(external_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in external_id)

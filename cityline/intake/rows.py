"""Reading and checking the rows of an order import file (formats.md §1).

Pure apart from reading the file: every check names the row and what was wrong.
Row numbers are what a person sees: the spreadsheet row in CSV/Excel (the
header is row 1) and the line in JSON Lines.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cityline.errors import Invalid
from cityline.orders.schemas import CHANNELS
from cityline.privacy import normalise_phone
from cityline.taxonomy import label_errors
from cityline.timeutil import parse_when

REQUIRED = ("external_id", "received_at", "text")
SATISFACTION_WORDS = {
    "satisfied": "satisfied", "满意": "satisfied", "非常满意": "satisfied",
    "basic": "basic", "基本满意": "basic", "一般": "basic",
    "unsatisfied": "unsatisfied", "不满意": "unsatisfied", "非常不满意": "unsatisfied",
    "5": "satisfied", "4": "satisfied", "3": "basic", "2": "unsatisfied", "1": "unsatisfied",
}


class BadFile(Exception):
    """The file as a whole cannot be imported (unknown format, missing columns)."""


@dataclass
class ImportRow:
    row: int
    external_id: str
    received_at: datetime
    text: str
    channel: str = "phone"
    address: str | None = None
    caller_phone: str | None = None
    language: str | None = None
    kind: str | None = None
    category: str | None = None
    urgency: str | None = None
    special_groups: list[str] = field(default_factory=list)
    district: str | None = None
    street: str | None = None
    unit: str | None = None
    dispatched_at: datetime | None = None
    replied_at: datetime | None = None
    closed_at: datetime | None = None
    satisfaction: str | None = None


def count_rows(path: Path) -> int | None:
    """Rows to expect, for a progress bar (cheap line count; None when unknown)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl", ".ndjson"):
        with path.open("rb") as fh:
            lines = sum(1 for _ in fh)
        return max(lines - (1 if suffix == ".csv" else 0), 0)
    return None


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(path)
    elif suffix == ".xlsx":
        yield from _read_xlsx(path)
    else:
        raise BadFile(f"{path.name}: unknown file type '{suffix}'; use .csv, .jsonl or .xlsx")


def _check_header(columns: list[str], path: Path) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BadFile(f"{path.name}: missing required column(s): {', '.join(missing)}")


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        _check_header([c.strip() for c in reader.fieldnames or []], path)
        for n, raw in enumerate(reader, start=2):
            yield n, {(k or "").strip(): v for k, v in raw.items()}


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, {"__error__": f"not valid JSON ({exc.msg} at column {exc.colno})"}
                continue
            yield n, raw if isinstance(raw, dict) else {"__error__": "a line must be a JSON object"}


def _read_xlsx(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        _check_header(header, path)
        for n, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue
            yield n, dict(zip(header, values, strict=False))
    finally:
        book.close()


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    value = str(value).strip()
    return value or None


def _when(raw: dict[str, Any], name: str, problems: list[str]) -> datetime | None:
    value = raw.get(name)
    if isinstance(value, datetime):  # Excel cells arrive as datetimes (local time)
        return parse_when(value.isoformat())
    text = _text(raw, name)
    if text is None:
        return None
    try:
        return parse_when(text)
    except ValueError:
        problems.append(f"{name} '{text}' is not an ISO 8601 date-time")
        return None


def _groups(raw: dict[str, Any]) -> list[str]:
    value = raw.get("special_groups")
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = _text(raw, "special_groups") or ""
    return [g.strip() for g in text.replace("；", ";").split(";") if g.strip()]


def parse_row(n: int, raw: dict[str, Any]) -> tuple[ImportRow | None, list[str]]:
    """The checked row, or None and the list of what is wrong with it."""
    if "__error__" in raw:
        return None, [raw["__error__"]]
    problems: list[str] = []
    for name in REQUIRED:
        if not _text(raw, name):
            problems.append(f"{name} is required")
    received_at = _when(raw, "received_at", problems)
    channel = _text(raw, "channel") or "phone"
    if channel not in CHANNELS:
        problems.append(f"channel '{channel}' is not one of {', '.join(CHANNELS)}")
    phone = _text(raw, "caller_phone")
    if phone:
        try:
            normalise_phone(phone)
        except Invalid:
            problems.append("caller_phone is not a phone number (5 to 20 digits)")
    satisfaction = _text(raw, "satisfaction")
    if satisfaction:
        if satisfaction not in SATISFACTION_WORDS:
            problems.append(f"satisfaction '{satisfaction}' is not satisfied/basic/unsatisfied, 满意/基本满意/不满意 or 1-5")
        satisfaction = SATISFACTION_WORDS.get(satisfaction)
    groups = _groups(raw)
    labels = {name: _text(raw, name) for name in ("kind", "category", "urgency")}
    problems += [e.message for e in label_errors(labels["kind"], labels["category"], labels["urgency"], groups)]
    times = {name: _when(raw, name, problems) for name in ("dispatched_at", "replied_at", "closed_at")}
    if problems:
        return None, problems
    row = ImportRow(
        row=n, external_id=_text(raw, "external_id") or "", received_at=received_at, text=_text(raw, "text") or "",
        channel=channel, address=_text(raw, "address"), caller_phone=phone, language=_text(raw, "language"),
        special_groups=groups, district=_text(raw, "district"), street=_text(raw, "street"),
        unit=_text(raw, "unit"), satisfaction=satisfaction, **labels, **times,
    )
    return row, history_problems(row)


def history_problems(row: ImportRow) -> list[str]:
    """A historical order's times must follow the loop."""
    problems = []
    if row.dispatched_at and not row.unit:
        problems.append("dispatched_at is given but unit is empty")
    if row.replied_at and not row.dispatched_at:
        problems.append("replied_at is given without dispatched_at")
    if row.satisfaction and not (row.replied_at or row.closed_at):
        problems.append("satisfaction is given but the order was never replied to or closed")
    steps = [("received_at", row.received_at), ("dispatched_at", row.dispatched_at),
             ("replied_at", row.replied_at), ("closed_at", row.closed_at)]
    known = [(name, at) for name, at in steps if at is not None]
    for (a, at_a), (b, at_b) in zip(known, known[1:], strict=False):
        if at_b < at_a:
            problems.append(f"{b} is before {a}")
    return problems

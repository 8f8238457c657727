"""Checking the rows of an order import file (formats.md §1).

The file is read by ``cityline.tabular`` (CSV, JSON Lines, .xlsx; row numbers as
a person sees them: the spreadsheet row, the header being row 1, or the line).
Pure apart from that: every check names the row and what was wrong.

A row may hold only what the API would accept in an order (``OrderCreate``): the same
longest value per field (``DEFAULT_MAX_STRING`` for those it does not bound), no NUL
character (PostgreSQL cannot store one), times between ``limits.EARLIEST`` and
``LATEST``. So a row that would fail in the database is a named bad row instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from cityline import tabular
from cityline.errors import Invalid, RowError
from cityline.limits import DEFAULT_MAX_STRING, NUL_MESSAGE, OUT_OF_RANGE, in_range
from cityline.orders.schemas import CHANNELS, OrderCreate
from cityline.privacy import normalise_phone
from cityline.taxonomy import label_errors
from cityline.timeutil import parse_when

REQUIRED = ("external_id", "received_at", "text")
COLUMNS = (*REQUIRED, "channel", "address", "caller_phone", "language", "kind", "category", "urgency",
           "special_groups", "district", "street", "unit", "dispatched_at", "replied_at", "closed_at",
           "satisfaction")


def _max_length(name: str) -> int:
    """The longest value the API takes in the field of that name (``OrderCreate``), else the
    default of every request string: one limit per field, wherever an order comes in."""
    field = OrderCreate.model_fields.get(name)
    found = [m.max_length for m in (field.metadata if field else ()) if getattr(m, "max_length", None)]
    return found[0] if found else DEFAULT_MAX_STRING


def _group_limits() -> tuple[int, int]:
    """How many special groups an order may have, and how long one may be (``OrderCreate``)."""
    field = OrderCreate.model_fields["special_groups"]
    (item,) = get_args(field.annotation)
    return _max_length("special_groups"), get_args(item)[1].metadata[0].max_length


MAX_LENGTH = {name: _max_length(name) for name in COLUMNS if name != "special_groups"}
MAX_GROUPS, MAX_GROUP_LENGTH = _group_limits()
SATISFACTION_WORDS = {
    "satisfied": "satisfied", "满意": "satisfied", "非常满意": "satisfied",
    "basic": "basic", "基本满意": "basic", "一般": "basic",
    "unsatisfied": "unsatisfied", "不满意": "unsatisfied", "非常不满意": "unsatisfied",
    "5": "satisfied", "4": "satisfied", "3": "basic", "2": "unsatisfied", "1": "unsatisfied",
}


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


def read_rows(path: Path) -> Iterator[tabular.Row]:
    """The file's rows (``cityline.tabular``: CSV in UTF-8 or GBK/GB18030, JSON Lines,
    .xlsx); a CSV or Excel header without the required columns rejects the file."""
    return tabular.read_rows(path, required=REQUIRED)


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    value = str(value).strip()
    return value or None


def external_id_of(raw: dict[str, Any] | RowError) -> str | None:
    """The row's external_id as ``parse_row`` reads it (None for a row the reader could not read)."""
    return None if isinstance(raw, RowError) else _text(raw, "external_id")


def _when(raw: dict[str, Any], name: str, problems: list[str]) -> datetime | None:
    value = raw.get(name)
    if isinstance(value, datetime):  # Excel cells arrive as datetimes (local time)
        return parse_when(value.isoformat())
    text = _text(raw, name)
    if text is None:
        return None
    try:
        return in_range(parse_when(text))
    except ValueError as exc:
        if str(exc) == OUT_OF_RANGE:
            problems.append(f"{name} {OUT_OF_RANGE}")
        else:
            problems.append(f"{name} '{text}' is not an ISO 8601 date-time")
        return None


def _groups(raw: dict[str, Any]) -> list[str]:
    value = raw.get("special_groups")
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = _text(raw, "special_groups") or ""
    return [g.strip() for g in text.replace("；", ";").split(";") if g.strip()]


def parse_row(n: int, raw: dict[str, Any] | RowError) -> tuple[ImportRow | None, list[str]]:
    """The checked row, or None and the list of what is wrong with it."""
    if isinstance(raw, RowError):  # the reader could not read the row at all
        return None, [raw.message]
    problems = storable_problems(raw)
    if problems:  # checked first: no other check quotes an overlong value
        return None, problems
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


def storable_problems(raw: dict[str, Any]) -> list[str]:
    """Values the database could not store, or the API would refuse: too long, or holding NUL."""
    problems = []
    for name, limit in MAX_LENGTH.items():
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, str):  # most cells: measured as _text reads them, stripped only when long
            if "\x00" in value:
                problems.append(f"{name} {NUL_MESSAGE}")
            elif len(value) > limit and len(value.strip()) > limit:
                problems.append(f"{name} longer than {limit} characters")
        elif len(_text(raw, name) or "") > limit:
            problems.append(f"{name} longer than {limit} characters")
    groups = _groups(raw)
    if any("\x00" in group for group in groups):
        problems.append(f"special_groups {NUL_MESSAGE}")
    elif len(groups) > MAX_GROUPS:
        problems.append(f"special_groups has more than {MAX_GROUPS} groups")
    elif any(len(group) > MAX_GROUP_LENGTH for group in groups):
        problems.append(f"special_groups has a group longer than {MAX_GROUP_LENGTH} characters")
    return problems


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

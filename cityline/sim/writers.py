"""Write simulated orders in the order import format: JSON Lines or CSV (UTF-8)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from cityline.sim.generate import ROW_KEYS

CHUNK = 5000  # rows encoded and written at a time


def write_orders(rows: Iterable[dict], path: str | Path) -> int:
    """Write ``rows`` to ``path`` (``.jsonl`` or ``.csv``); returns how many were written."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _write_jsonl(rows, target)
    if suffix == ".csv":
        return _write_csv(rows, target)
    raise ValueError(f"cannot write orders to {target.name!r}: use a .jsonl or .csv file name")


def _write_jsonl(rows: Iterable[dict], target: Path) -> int:
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    written = 0
    iterator = iter(rows)
    with target.open("w", encoding="utf-8") as handle:
        while chunk := list(islice(iterator, CHUNK)):
            handle.write("\n".join(map(encode, chunk)))
            handle.write("\n")
            written += len(chunk)
    return written


def _write_csv(rows: Iterable[dict], target: Path) -> int:
    written = 0
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROW_KEYS)
        for row in rows:
            writer.writerow([_cell(row.get(key)) for key in ROW_KEYS])
            written += 1
    return written


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return value

"""Epidemic files in, as chunks of text columns with the row numbers a user sees.

Two ways to read, one result (:class:`Chunk`: an Arrow table of the kind's
columns as text plus ``_row``, and the rows that could not be read at all):

- **Rows** (JSON Lines, .xlsx, and any CSV the fast way cannot take): the
  project's one reader, ``cityline.tabular.read_rows``, one row at a time. It also
  judges every file first (type, encoding, header, required columns: ``BadFile``),
  so both ways refuse the same files with the same words.
- **Columns** (CSV without blank lines, in UTF-8, UTF-8 with BOM or GB18030/GBK, as
  ``tabular.detect_encoding`` judges): pyarrow's multi-threaded CSV reader, about
  five times the speed of reading row by row, which is what lets a scan import pass
  100,000 rows a second. Row numbers are the same (the header is row 1; a record
  whose quoted cell spans lines is one row). If pyarrow meets anything it cannot
  take (a short row, bytes that are not text) the rest of the file is read row by
  row from the last whole chunk.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from cityline.errors import BadFile, RowError
from cityline.tabular import count_rows, detect_encoding
from cityline.tabular import read_rows as _row_reader

__all__ = ["BadFile", "Chunk", "count_rows", "read_chunks"]
_SAMPLE = 1 << 20


@dataclass
class Chunk:
    table: pa.Table  # the kind's columns as text (None where empty) and "_row"
    unreadable: list[RowError] = field(default_factory=list)
    last_row: int = 0  # the number of the last row this chunk covers

    @property
    def rows(self) -> int:
        return self.table.num_rows + len(self.unreadable)


def read_chunks(path: Path, columns: Sequence[str], required: Sequence[str] = (),
                chunk_rows: int = 200_000) -> Iterator[Chunk]:
    """The file's rows in chunks of about ``chunk_rows`` (see the module doc)."""
    rows = _row_reader(path, required=required)
    if path.suffix.lower() != ".csv":
        yield from _row_chunks(rows, columns, chunk_rows)
        return
    first = next(rows, None)  # the row reader judges the file (BadFile) before anything is read fast
    encoding = _fast_csv_encoding(path)
    names = _header(path, encoding) if encoding else []
    # the fast way only when its header is the row reader's (not after blank rows, say)
    if encoding is None or not isinstance(first, tuple) or not isinstance(first[1], dict) \
            or set(first[1]) != {n for n in names if n}:
        yield from _row_chunks(_again(first, rows), columns, chunk_rows)
        return
    rows.close()
    done = 1  # rows handed out so far (the header is row 1)
    try:
        for chunk in _csv_chunks(path, encoding, names, columns, chunk_rows):
            done = chunk.last_row
            yield chunk
    except _NotFast:
        rest = ((n, v) for n, v in _row_reader(path, required=required) if n > done)
        yield from _row_chunks(rest, columns, chunk_rows)


def _again(first, rows):
    if first is not None:
        yield first
    yield from rows


# -- columns: the fast CSV path ------------------------------------------------------------


class _NotFast(Exception):
    """pyarrow cannot read the rest; the row reader takes over."""


def _fast_csv_encoding(path: Path) -> str | None:
    """The encoding to give pyarrow, or None when the CSV must be read row by row (blank
    lines, which pyarrow would not count, or lines ending in CR alone)."""
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
        handle.seek(0)
        previous = b""
        while block := handle.read(1 << 22):
            joined = previous + block
            if b"\n\n" in joined or b"\n\r\n" in joined or b"\r\r" in joined:
                return None
            previous = block[-2:]
    if b"\r" in sample and b"\n" not in sample:
        return None  # an old Mac file
    encoding = detect_encoding(sample, complete=len(sample) < _SAMPLE)
    return {"utf-8-sig": "utf8", "utf-8": "utf8", "gb18030": "gb18030"}.get(encoding)


def _header(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8" if encoding == "utf8" else encoding, "replace")
    return [name.strip().lstrip("\ufeff").strip() for name in next(csv.reader([first]), [])]


def _csv_chunks(path: Path, encoding: str, names: list[str], columns: Sequence[str],
                chunk_rows: int) -> Iterator[Chunk]:
    physical = [f"c{i}" for i in range(len(names))]  # the header as written may be untrimmed
    wanted = {n: p for n, p in zip(names, physical, strict=True) if n in columns}

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=physical, skip_rows=1, block_size=1 << 22,
                                           encoding=encoding),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),  # a short row raises: see read_chunks
            convert_options=pacsv.ConvertOptions(column_types={p: pa.string() for p in physical},
                                                 include_columns=list(wanted.values()) or physical[:1],
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except Exception as exc:  # whatever pyarrow cannot take, the row reader can
        raise _NotFast() from exc
    row, pending = 1, []
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except Exception as exc:  # whatever pyarrow cannot take, the row reader can
            if pending:
                yield _chunk_of(pending, columns, row)
            raise _NotFast() from exc
        numbers = pa.array(range(row + 1, row + 1 + batch.num_rows), pa.int64())
        row += batch.num_rows
        data = {c: (batch.column(wanted[c]) if c in wanted else pa.nulls(batch.num_rows, pa.string()))
                for c in columns}
        pending.append(pa.table({**data, "_row": numbers}))
        while sum(t.num_rows for t in pending) >= chunk_rows:
            table = pa.concat_tables(pending)
            head, pending = table.slice(0, chunk_rows), [table.slice(chunk_rows)]
            yield _chunk_of([head], columns, head["_row"][-1].as_py())
    if pending and sum(t.num_rows for t in pending):
        yield _chunk_of(pending, columns, row)


def _chunk_of(tables: list[pa.Table], columns: Sequence[str], last_row: int) -> Chunk:
    # rows whose cells are all empty (",,,") are blank rows: ``checks.check_chunk`` drops them
    return Chunk(pa.concat_tables(tables), [], last_row)


# -- rows: JSON Lines, .xlsx and CSVs the fast path cannot take -----------------------------


def _row_chunks(rows: Iterator[tuple[int, Any]], columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    values: dict[str, list[str | None]] = {c: [] for c in columns}
    numbers: list[int] = []
    unreadable: list[RowError] = []
    last = 1
    for n, row in rows:
        last = n
        if isinstance(row, RowError):
            unreadable.append(row)
        else:
            numbers.append(n)
            for name, column in values.items():
                column.append(as_text(row.get(name)))
        if len(numbers) + len(unreadable) >= chunk_rows:
            yield _table_chunk(values, numbers, unreadable, last)
            values, numbers, unreadable = {c: [] for c in columns}, [], []
    if numbers or unreadable:
        yield _table_chunk(values, numbers, unreadable, last)


def _table_chunk(values: dict[str, list[str | None]], numbers: list[int], unreadable: list[RowError],
                 last: int) -> Chunk:
    data = {name: pa.array(column, pa.string()) for name, column in values.items()}
    return Chunk(pa.table({**data, "_row": pa.array(numbers, pa.int64())}), unreadable, last)


def as_text(value: Any) -> str | None:
    """A cell as text: Excel's numbers without a spurious ``.0``, dates in ISO 8601, JSON
    lists joined by ``;`` (special groups)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

"""The one reader of imported files: CSV, JSON Lines and Excel, streamed row by row.

Every import (orders, units, the dispatch catalogue, grids, knowledge articles, and
the epidemic files to come) reads its file here, so they all agree on:

- **Formats**, by extension: ``.csv``; ``.jsonl`` / ``.ndjson`` (one JSON object a
  line); ``.xlsx`` (the first sheet, its first non-empty row being the header; read
  in openpyxl's read-only mode). Anything else is a ``BadFile`` naming these.
- **Encodings** of CSV and JSON Lines: UTF-8 with or without BOM, and GB18030, which
  contains GBK and GB2312 (what Excel on a Chinese Windows saves as "CSV"). Judged
  from a sample of the first bytes (``detect_encoding``): UTF-8 whenever the sample
  decodes as UTF-8, else charset-normalizer's view. Lines are decoded one by one, so
  bytes that are not text in the file's encoding spoil only their own row: it comes
  back as a ``RowError`` and the rows after it are still read.
- **Row numbers** as a person sees them: in CSV and .xlsx the spreadsheet row (the
  header is row 1, the first data row 2; a quoted cell spanning lines is still one
  row), in JSON Lines the line. Blank rows and lines are skipped but counted.
- **Values**: header names (and JSON keys) trimmed; columns without a name dropped;
  a cell that is empty or only spaces is ``None`` in every format (CSV's ``""``,
  Excel's empty cell, JSON's ``null`` or ``""``), and a row shorter than the header
  has ``None`` for the missing cells, so every header name is a key. Other values
  are as the format gives them: CSV strings (not trimmed), JSON values, and Excel
  cells as Python values (``str``, ``int``, ``float``, ``bool``, ``datetime`` for
  dates and times, local as written).
- **Errors**: a file that cannot be read at all (missing, unknown type, not text,
  damaged .xlsx, no header, a required column missing, a column named twice)
  raises ``BadFile``; a row that cannot be read (undecodable bytes, a line that is
  not a JSON object, a malformed CSV record) is yielded as a ``RowError`` in place
  of its values. What a row *means* is the importer's business, not this module's.

Memory does not grow with the file: one row is held at a time.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import IO, Any

from cityline.errors import BadFile, RowError

CSV, JSONL, XLSX = ".csv", (".jsonl", ".ndjson"), ".xlsx"
SUFFIXES = (CSV, *JSONL, XLSX)
ACCEPTED = ".csv, .jsonl (or .ndjson) or .xlsx"
SAMPLE_BYTES = 64 * 1024
# charset-normalizer's names of the GB family; GB18030 decodes all of them.
_GB_NAMES = frozenset({"gb2312", "gbk", "gb18030", "cp936", "euc_cn"})
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030"}

Values = dict[str, Any]
Row = tuple[int, Values | RowError]
"""A row number and the row's values, or what made the row unreadable."""


def read_rows(path: Path, *, required: Sequence[str] = ()) -> Iterator[Row]:
    """The rows of a CSV, JSON Lines or .xlsx file, numbered as the user sees them.

    ``required`` column names must be in the header of a CSV or .xlsx file (JSON
    Lines has no header: a missing field is the row checks' to report). A missing
    file or an unknown type raises ``BadFile`` at once; a damaged or headerless
    file raises it when iteration starts.
    """
    kind = _kind(path)
    if kind == XLSX:
        return _read_xlsx(path, tuple(required))
    return _read_text(path, kind, tuple(required))


def read_lines(path: Path) -> Iterator[tuple[int, str | RowError]]:
    """The non-blank lines of a plain text file (e.g. one question a line), numbered,
    without their line endings; same encodings and per-line errors as CSV."""
    if not path.is_file():
        raise BadFile(f"{path.name}: no such file")

    def lines() -> Iterator[tuple[int, str | RowError]]:
        with path.open("rb") as handle:
            encoding = detect_encoding(*_sample(handle, path))
            damaged: list[int] = []
            for number, line in enumerate(_decoded(handle, encoding, damaged), start=1):
                if damaged:
                    damaged.clear()
                    yield number, RowError(number, _damage(encoding))
                elif line.strip():
                    yield number, line.rstrip("\r\n")

    return lines()


def count_rows(path: Path) -> int | None:
    """About how many rows the file has, for a progress bar: cheap (a byte count of
    newlines, or the .xlsx sheet's declared size); None when unknown. Never raises."""
    try:
        kind = _kind(path)
        if kind == XLSX:
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True)
            try:
                rows = book.worksheets[0].max_row  # from the sheet's <dimension>: may be absent
            finally:
                book.close()
            return max(rows - 1, 0) if rows else None
        lines, last = 0, b""
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += 1 if last not in (b"", b"\n") else 0  # a last line without its newline
        return max(lines - (1 if kind == CSV else 0), 0)
    except Exception:  # a progress bar is never worth failing an import for
        return None


def row_word(path: Path) -> str:
    """What a row number counts in this file, for messages: "line" (JSON Lines) or "row"."""
    return "line" if path.suffix.lower() in JSONL else "row"


def detect_encoding(sample: bytes, complete: bool = False) -> str:
    """How to decode a CSV or JSON Lines file: "utf-8-sig", "utf-8" or "gb18030".

    ``sample`` is the file's first bytes (``complete``: the whole file, so a character
    cut at its end is an error rather than the sample's edge). UTF-8 wins whenever
    the sample decodes as UTF-8, plain ASCII included. Otherwise charset-normalizer
    judges, and when it names a GB encoding the answer is GB18030, their superset.
    On a short or damaged sample its guess is unreliable (a lone "张" in GBK reads
    as Big5, a UTF-8 file with one bad byte as nothing at all), so for any other
    guess the one of our two encodings that decodes more of the sample's lines
    wins: a UTF-8 file with a few damaged bytes stays UTF-8 and loses only those rows.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if _decodes(sample, "utf-8", complete):
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and best.encoding.lower() in _GB_NAMES:
        return "gb18030"
    lines = sample.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut off mid-character
    utf8 = sum(_decodes(line, "utf-8", True) for line in lines)
    gb = sum(_decodes(line, "gb18030", True) for line in lines)
    return "gb18030" if gb > utf8 else "utf-8"


# -- kinds and samples ----------------------------------------------------------


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadFile(f"{path.name}: unknown file type '{suffix}'; use {ACCEPTED}")
    if not path.is_file():
        raise BadFile(f"{path.name}: no such file")
    return ".jsonl" if suffix in JSONL else suffix


def _sample(handle: IO[bytes], path: Path) -> tuple[bytes, bool]:
    """The bytes to judge the encoding by, and whether they reach the end of the file;
    the handle is left at the start. A file whose first bytes are all ASCII (a header
    and rows of codes, say) is judged by the bytes from its first non-ASCII one: ASCII
    reads the same in every encoding we accept, and a BOM is not ASCII."""
    sample = first = handle.read(SAMPLE_BYTES)
    while sample.isascii() and len(sample) == SAMPLE_BYTES:
        sample = handle.read(SAMPLE_BYTES)
    complete = len(sample) < SAMPLE_BYTES
    if not complete:
        more = handle.read(SAMPLE_BYTES)  # the telling text may start near the chunk's end
        sample, complete = sample + more, len(more) < SAMPLE_BYTES
    handle.seek(0)
    _check_text(first, path)
    return sample, complete


def _check_text(first: bytes, path: Path) -> None:
    """Refuse files that are not text at all, saying what they look like."""
    if first.startswith(b"PK\x03\x04"):
        raise BadFile(f"{path.name}: this is a zip archive (an Excel workbook?), not text; "
                      f"name an Excel file .xlsx, or save it as CSV")
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or first.count(0) > len(first) // 10:
        raise BadFile(f"{path.name}: this is UTF-16 text or not text at all; "
                      f"save it as CSV UTF-8 (or GBK / GB18030)")


def _decodes(data: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _decoded(handle: IO[bytes], encoding: str, damaged: list[int]) -> Iterator[str]:
    """The file's lines as text, line endings kept (csv needs them for quoted line breaks).

    Each line is decoded on its own, so undecodable bytes spoil only their line: its
    number is appended to ``damaged`` and the line is given with U+FFFD in their
    place (the CSV parser still needs it to find where the row ends). Splitting the
    bytes into lines is safe in UTF-8 and GB18030: neither uses LF or CR inside a
    character.
    """
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for number, raw in enumerate(_raw_lines(handle), start=1):
        if number == 1 and encoding == "utf-8-sig":
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode(codec)
        except UnicodeDecodeError:
            damaged.append(number)
            yield raw.decode(codec, "replace")


def _raw_lines(handle: IO[bytes]) -> Iterable[bytes]:
    """Lines end in LF (or CR LF); a file with CRs and no LF in its first bytes is an old
    Mac one (Excel's "CSV (Macintosh)"), whose lines end in CR alone."""
    head = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    return handle if b"\n" in head or b"\r" not in head else _cr_lines(handle)


def _cr_lines(handle: IO[bytes]) -> Iterator[bytes]:
    rest = b""
    while chunk := handle.read(SAMPLE_BYTES):
        *lines, rest = (rest + chunk).split(b"\r")
        yield from (line + b"\r" for line in lines)
    if rest:
        yield rest


def _damage(encoding: str) -> str:
    label = _LABELS[encoding]
    return f"has bytes that are not {label} text (the file is read as {label})"


# -- CSV and JSON Lines ---------------------------------------------------------------


def _read_text(path: Path, kind: str, required: tuple[str, ...]) -> Iterator[Row]:
    with path.open("rb") as handle:
        encoding = detect_encoding(*_sample(handle, path))
        damaged: list[int] = []
        lines = _decoded(handle, encoding, damaged)
        if kind == CSV:
            yield from _csv_rows(path, lines, encoding, damaged, required)
        else:
            yield from _jsonl_rows(lines, encoding, damaged)


def _csv_rows(path: Path, lines: Iterator[str], encoding: str, damaged: list[int],
              required: tuple[str, ...]) -> Iterator[Row]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    number = 0  # the spreadsheet row: one per CSV record, however many lines it spans
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a NUL byte or an overlong cell; the reader goes on after it
            number += 1
            if header is None:
                raise BadFile(f"{path.name}: the header row is not readable CSV ({exc})") from exc
            damaged.clear()
            yield number, RowError(number, f"not a readable CSV row ({exc})")
            continue
        number += 1
        spoilt = bool(damaged)  # every line read for this record belongs to it
        damaged.clear()
        if header is None:
            if _blank(cells):
                continue
            if spoilt:
                raise BadFile(f"{path.name}: the header row {_damage(encoding)}")
            header = _header(cells, path, required)
        elif spoilt:
            yield number, RowError(number, _damage(encoding))
        elif not _blank(cells):
            yield number, _values(header, cells)
    if header is None:
        raise BadFile(f"{path.name}: no header row (the file is empty)")


def _jsonl_rows(lines: Iterable[str], encoding: str, damaged: list[int]) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        if damaged:
            damaged.clear()
            yield number, RowError(number, _damage(encoding))
            continue
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, RowError(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(raw, dict):
            yield number, RowError(number, "a line must be a JSON object")
            continue
        yield number, {name: _cell(value) for key, value in raw.items() if (name := key.strip())}


# -- Excel ----------------------------------------------------------------------------


def _read_xlsx(path: Path, required: tuple[str, ...]) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file (zip, XML, KeyError...)
        raise BadFile(f"{path.name}: not a readable .xlsx file ({exc})") from exc
    try:
        if not book.worksheets:
            raise BadFile(f"{path.name}: the workbook has no worksheet")
        sheet = book.worksheets[0]
        # Some writers declare a wrong sheet size (A1:A1), and read-only mode trusts it:
        # read every row the sheet has instead.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        header: list[str] | None = None
        number = 0  # openpyxl gives missing rows as empty ones, so counting finds the row
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                break
            except Exception as exc:  # damaged sheet XML part-way through
                raise BadFile(f"{path.name}: the sheet is damaged after row {number} ({exc})") from exc
            number += 1
            if _blank(cells):
                continue
            if header is None:
                header = _header(["" if c is None else str(c) for c in cells], path, required)
            else:
                yield number, _values(header, cells)
        if header is None:
            raise BadFile(f"{path.name}: no header row (the first sheet is empty)")
    finally:
        book.close()


# -- shared ---------------------------------------------------------------------------


def _header(cells: Sequence[str], path: Path, required: tuple[str, ...]) -> list[str]:
    names = [cell.strip().lstrip("\ufeff") for cell in cells]
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if twice:  # which of the two columns would be meant is anyone's guess
        raise BadFile(f"{path.name}: column(s) named twice in the header: {', '.join(twice)}")
    missing = [name for name in required if name not in names]
    if missing:
        raise BadFile(f"{path.name}: missing required column(s): {', '.join(missing)}")
    return names


def _values(header: list[str], cells: Sequence[Any]) -> Values:
    # zip_longest: a short row has None for its missing cells; cells beyond the header
    # (and columns without a name) have no name to go by and are dropped.
    return {name: _cell(cell) for name, cell in zip_longest(header, cells) if name}


def _cell(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _blank(cells: Sequence[Any]) -> bool:
    return all(_cell(cell) is None for cell in cells)

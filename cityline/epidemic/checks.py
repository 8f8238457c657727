"""Checking a chunk of rows of one kind, all rows at once, in DuckDB.

Every column of :mod:`cityline.epidemic.kinds` becomes a typed value and, when
the text does not fit, a reason; a row with reasons is refused with its row
number, the others go on. Times without an offset are local (the connection's
``TimeZone`` is the hotline's zone). Reasons never repeat a person's name, ID
number or phone.

Vectorised on purpose: a row-by-row check in Python costs more than the whole
rest of a scan import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from cityline.epidemic.kinds import Column, Kind
from cityline.errors import RowError
from cityline.taxonomy import load_taxonomy

_SPACES = " \t\r\n\u3000\u00a0"
_PERSONAL = ("name", "id_number", "phone")


@dataclass
class Checked:
    good: pa.Table  # typed columns and "_row", one row per key (the last in the file wins)
    bad: list[RowError] = field(default_factory=list)
    repeated: int = 0  # good rows whose key came again later in the chunk


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _case(expression: str, words: dict[str, str]) -> str:
    whens = " ".join(f"WHEN {_quote(word.lower())} THEN {_quote(code)}" for word, code in words.items())
    return f"(CASE lower({expression}) {whens} END)"


def _words_help(words: dict[str, str]) -> str:
    codes = list(dict.fromkeys(words.values()))
    chinese = [next((w for w, c in words.items() if c == code and not w.isascii()), None) for code in codes]
    shown = ", ".join(codes)
    return f"{shown} ({' / '.join(c for c in chinese if c)})" if any(chinese) else shown


def _group_words() -> dict[str, str]:
    words: dict[str, str] = {}
    for entry in load_taxonomy().special_groups:
        for word in (entry.code, entry.zh, entry.en):
            words[word.lower()] = entry.code
    return words


def _column(column: Column) -> tuple[str, list[str]]:
    """(the typed value, the reasons it may be refused) as SQL over the trimmed text ``t_<name>``."""
    name, text = column.name, f"t_{column.name}"
    reasons: list[str] = []
    given = f"{text} IS NOT NULL"
    if column.required:
        reasons.append(f"CASE WHEN {text} IS NULL THEN {_quote(name + ' is required')} END")
    shown = "" if name in _PERSONAL else f" || ' ''' || {text} || ''''"
    if column.parse == "text":
        value = text
        reasons.append(f"CASE WHEN length({text}) > {column.max_length} "
                       f"THEN {_quote(f'{name} is longer than {column.max_length} characters')} END")
    elif column.parse == "time":
        value = f"try_cast({text} AS TIMESTAMPTZ)"
        reasons.append(f"CASE WHEN {given} AND {value} IS NULL THEN {_quote(name)}{shown} || "
                       f"' is not an ISO 8601 date-time' END")
    elif column.parse == "date":
        value = f"coalesce(try_cast({text} AS DATE), try_cast(try_cast({text} AS TIMESTAMP) AS DATE))"
        reasons.append(f"CASE WHEN {given} AND {value} IS NULL THEN {_quote(name)}{shown} || "
                       f"' is not an ISO 8601 date' END")
    elif column.parse == "word":
        mapped = _case(text, column.words)
        value = f"CASE WHEN {text} IS NULL THEN {_quote(column.default) if column.default else 'NULL'} ELSE {mapped} END"
        reasons.append(f"CASE WHEN {given} AND {mapped} IS NULL THEN {_quote(name)}{shown} || "
                       f"{_quote(' is not one of ' + _words_help(column.words))} END")
    elif column.parse == "phone":
        digits = f"regexp_replace({text}, '[\\s\\-()（）+]', '', 'g')"
        value = f"CASE WHEN length({digits}) = 13 AND starts_with({digits}, '86') THEN {digits}[3:] ELSE {digits} END"
        reasons.append(f"CASE WHEN {given} AND NOT regexp_full_match({value}, '[0-9]{{5,20}}') "
                       f"THEN 'phone is not a phone number (5 to 20 digits)' END")
    elif column.parse == "id_number":
        value = f"upper(regexp_replace({text}, '\\s', '', 'g'))"
        reasons.append(f"CASE WHEN {given} AND NOT regexp_full_match({value}, '[0-9A-Z\\-]{{5,32}}') "
                       f"THEN 'id_number is not an ID number (5 to 32 letters and digits)' END")
    elif column.parse == "groups":
        parts = (f"list_filter(list_transform(string_split(replace({text}, '；', ';'), ';'), "
                 f"lambda g: trim(g, {_quote(_SPACES)})), lambda g: g <> '')")
        mapped = f"list_transform({parts}, lambda g: {_case('g', _group_words())})"
        value = f"CASE WHEN {text} IS NULL THEN []::VARCHAR[] ELSE {mapped} END"
        reasons.append(f"CASE WHEN {given} AND len(list_filter({mapped}, lambda g: g IS NULL)) > 0 "
                       f"THEN 'special_groups ''' || {text} || ''' names a group that is not in the taxonomy' END")
    else:  # pragma: no cover - a kind names a parse this module does not know
        raise ValueError(f"unknown parse {column.parse!r} for {name}")
    return value, reasons


# Reasons that look at several columns of a row, by kind.
CROSS_CHECKS = {
    "scans": [("left_at < scanned_at", "left_at is before scanned_at")],
    "trips": [("departed_at > arrived_at", "departed_at is after arrived_at")],
    "risk-areas": [('"to" < "from"', "to is before from")],
}


def check_sql(kind: Kind) -> str:
    """One statement: the chunk ``raw`` → typed columns, ``_row`` and ``problems`` (a list)."""
    trimmed = ", ".join(f"nullif(trim({_ident(c.name)}, {_quote(_SPACES)}), '') AS t_{c.name}"
                        for c in kind.columns)
    values, reasons = [], []
    for column in kind.columns:
        value, column_reasons = _column(column)
        values.append(f"{value} AS {_ident(column.name)}")
        reasons += column_reasons
    typed = f"SELECT _row, {', '.join(values)}, [{', '.join(reasons)}] AS column_problems FROM trimmed"
    cross = [f"CASE WHEN {condition} THEN {_quote(message)} END" for condition, message in
             CROSS_CHECKS.get(kind.name, [])]
    problems = f"list_filter(column_problems || [{', '.join(cross)}]::VARCHAR[], lambda p: p IS NOT NULL)"
    names = ", ".join(_ident(c.name) for c in kind.columns)
    return (f"WITH trimmed AS (SELECT _row, {trimmed} FROM raw), typed AS ({typed}) "
            f"SELECT _row, {names}, {problems} AS problems FROM typed")


def check_chunk(con: duckdb.DuckDBPyConnection, kind: Kind, raw: pa.Table) -> Checked:
    """Check the rows of ``raw`` (text columns and ``_row``); see :class:`Checked`."""
    con.register("raw", raw)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {check_sql(kind)}")
    finally:
        con.unregister("raw")
    bad = [RowError(row, "; ".join(problems)) for row, problems in
           con.execute("SELECT _row, problems FROM checked WHERE len(problems) > 0 ORDER BY _row").fetchall()]
    key = ", ".join(_ident(k) for k in kind.key)
    names = ", ".join(_ident(c.name) for c in kind.columns)
    good = con.sql(
        f"SELECT _row, {names} FROM checked WHERE len(problems) = 0 "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _row DESC) = 1 ORDER BY _row"
    ).to_arrow_table()
    ((total,),) = con.execute("SELECT count(*) FROM checked WHERE len(problems) = 0").fetchall()
    return Checked(good, bad, total - good.num_rows)


def connect(timezone: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose local time is the hotline's."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = {_quote(timezone)}")
    return con

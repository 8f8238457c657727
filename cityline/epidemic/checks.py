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
import pyarrow.compute as pc

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
    blank: int = 0  # rows without any value (skipped, like blank lines)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _case(expression: str, words: dict[str, str]) -> str:
    """The code a word stands for (NULL when none): a MAP look-up, ten times a long CASE."""
    pairs = ", ".join(f"{_quote(word.lower())}: {_quote(code)}" for word, code in words.items())
    return f"map_extract_value(MAP {{{pairs}}}, lower({expression}))"


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


def _column(column: Column) -> tuple[str | None, str, list[str]]:
    """(the parsed text ``p_<name>``, computed once; the typed value; the reasons it may be
    refused) as SQL over the trimmed text ``t_<name>``."""
    name, text, parsed = column.name, f"t_{column.name}", f"p_{column.name}"
    reasons: list[str] = []
    given = f"{text} IS NOT NULL"
    if column.required:
        reasons.append(f"CASE WHEN {text} IS NULL THEN {_quote(name + ' is required')} END")
    shown = "" if name in _PERSONAL else f" || ' ''' || {text} || ''''"
    if column.parse == "text":
        reasons.append(f"CASE WHEN length({text}) > {column.max_length} "
                       f"THEN {_quote(f'{name} is longer than {column.max_length} characters')} END")
        return None, text, reasons
    value = parsed
    if column.parse == "time":
        parse = f"try_cast({text} AS TIMESTAMPTZ)"
        reasons.append(f"CASE WHEN {given} AND {parsed} IS NULL THEN {_quote(name)}{shown} || "
                       f"' is not an ISO 8601 date-time' END")
    elif column.parse == "date":
        parse = f"coalesce(try_cast({text} AS DATE), try_cast(try_cast({text} AS TIMESTAMP) AS DATE))"
        reasons.append(f"CASE WHEN {given} AND {parsed} IS NULL THEN {_quote(name)}{shown} || "
                       f"' is not an ISO 8601 date' END")
    elif column.parse == "word":
        parse = _case(text, column.words)
        value = f"CASE WHEN {text} IS NULL THEN {_quote(column.default) if column.default else 'NULL'} ELSE {parsed} END"
        reasons.append(f"CASE WHEN {given} AND {parsed} IS NULL THEN {_quote(name)}{shown} || "
                       f"{_quote(' is not one of ' + _words_help(column.words))} END")
    elif column.parse == "phone":
        digits = f"regexp_replace({text}, '[\\s\\-()（）+]', '', 'g')"
        parse = f"CASE WHEN length({digits}) = 13 AND starts_with({digits}, '86') THEN {digits}[3:] ELSE {digits} END"
        reasons.append(f"CASE WHEN {given} AND NOT regexp_full_match({parsed}, '[0-9]{{5,20}}') "
                       f"THEN 'phone is not a phone number (5 to 20 digits)' END")
    elif column.parse == "id_number":
        parse = f"upper(regexp_replace({text}, '\\s', '', 'g'))"
        reasons.append(f"CASE WHEN {given} AND NOT regexp_full_match({parsed}, '[0-9A-Z\\-]{{5,32}}') "
                       f"THEN 'id_number is not an ID number (5 to 32 letters and digits)' END")
    elif column.parse == "groups":
        parts = (f"list_filter(list_transform(string_split(replace({text}, '；', ';'), ';'), "
                 f"lambda g: trim(g, {_quote(_SPACES)})), lambda g: g <> '')")
        parse = f"list_transform({parts}, lambda g: {_case('g', _group_words())})"
        value = f"CASE WHEN {text} IS NULL THEN []::VARCHAR[] ELSE {parsed} END"
        reasons.append(f"CASE WHEN {given} AND len(list_filter({parsed}, lambda g: g IS NULL)) > 0 "
                       f"THEN 'special_groups ''' || {text} || ''' names a group that is not in the taxonomy' END")
    else:  # pragma: no cover - a kind names a parse this module does not know
        raise ValueError(f"unknown parse {column.parse!r} for {name}")
    return parse, value, reasons


# Reasons that look at several columns of a row, by kind.
CROSS_CHECKS = {
    "scans": [("left_at < scanned_at", "left_at is before scanned_at")],
    "trips": [("departed_at > arrived_at", "departed_at is after arrived_at")],
    "risk-areas": [('"to" < "from"', "to is before from")],
}


def check_sql(kind: Kind) -> str:
    """One statement: the chunk ``raw`` (trimmed text, None for empty) → typed columns, ``_row``
    and ``problems`` (the reasons joined by "; ", empty for a good row)."""
    columns = ", ".join(f"{_ident(c.name)} AS t_{c.name}" for c in kind.columns)
    values, reasons, parses = [], [], []
    for column in kind.columns:
        parse, value, column_reasons = _column(column)
        if parse:
            parses.append(f", {parse} AS p_{column.name}")
        values.append(f"{value} AS {_ident(column.name)}")
        reasons += column_reasons
    typed = f"SELECT _row, {', '.join(values)}, concat_ws('; ', {', '.join(reasons)}) AS column_problems FROM parsed"
    cross = [f"CASE WHEN {condition} THEN {_quote(message)} END" for condition, message in
             CROSS_CHECKS.get(kind.name, [])]
    problems = f"concat_ws('; ', nullif(column_problems, ''), {', '.join(cross) or 'NULL'})"
    # plain text comes back from the input as it is (no copy through DuckDB)
    names = "".join(f", {_ident(c.name)}" for c in kind.columns if c.parse != "text")
    return (f"WITH given AS (SELECT _row, {columns} FROM raw), "
            f"parsed AS (SELECT *{''.join(parses)} FROM given), typed AS ({typed}) "
            f"SELECT _row{names}, {problems} AS problems FROM typed")


def trimmed(raw: pa.Table) -> pa.Table:
    """Every text cell without surrounding white space (also tabs, full-width and no-break
    spaces); an empty cell is None. (pyarrow: ten times DuckDB's trim with a character set.)"""
    columns = {}
    for name in raw.column_names:
        column = raw[name]
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.utf8_trim(column, characters=_SPACES)
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
        columns[name] = column
    return pa.table(columns)


def check_chunk(con: duckdb.DuckDBPyConnection, kind: Kind, raw: pa.Table) -> Checked:
    """Check the rows of ``raw`` (text columns and ``_row``); see :class:`Checked`."""
    given = trimmed(raw)
    blank = None
    for column in kind.columns:  # a row without a single value is a blank row, not a bad one
        empty = pc.is_null(given[column.name])
        blank = empty if blank is None else pc.and_(blank, empty)
    if blank is not None and pc.any(blank).as_py():
        given = given.filter(pc.invert(blank))
    con.register("raw", given)
    try:
        typed = con.sql(check_sql(kind)).to_arrow_table()
    finally:
        con.unregister("raw")
    if not typed["_row"].equals(given["_row"]):  # DuckDB keeps the order; should it ever not
        typed, given = typed.sort_by("_row"), given.sort_by("_row")
    checked = pa.table({"_row": given["_row"], **{
        c.name: (given[c.name] if c.parse == "text" else typed[c.name]) for c in kind.columns},
        "problems": typed["problems"]})
    refused = pc.fill_null(pc.not_equal(checked["problems"], ""), False)
    bad_rows = checked.filter(refused).select(["_row", "problems"]).to_pylist()
    bad = [RowError(r["_row"], r["problems"]) for r in bad_rows]
    good = checked.filter(pc.invert(refused)).drop_columns(["problems"])
    con.register("good", good)
    try:
        key = ", ".join(_ident(k) for k in kind.key)
        # distinct 64-bit hashes: several times faster than distinct keys, and a collision only
        # sends the chunk through the exact deduplication below
        ((repeated,),) = con.execute(f"SELECT count(*) - count(DISTINCT hash({key})) FROM good").fetchall()
        if repeated:  # the last row of a key in the file wins
            good = con.sql(f"SELECT * FROM good QUALIFY row_number() OVER (PARTITION BY {key} "
                           f"ORDER BY _row DESC) = 1 ORDER BY _row").to_arrow_table()
    finally:
        con.unregister("good")
    return Checked(good, bad, repeated, raw.num_rows - given.num_rows)


def connect(timezone: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose local time is the hotline's."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = {_quote(timezone)}")
    return con

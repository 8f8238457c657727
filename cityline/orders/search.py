"""The orders' text index: each order's text and address as overlapping character pairs.

A search of the order list (``q``) finds the orders whose text or address holds the searched
text, or whose number it is (``queries.filtered`` says it as LIKE, which alone reads every order
the words are not in). Chinese words are mostly two characters, below a trigram index's three, and
cutting texts into words would miss a search that crosses a word's edge; so, as Lucene's CJK
bigram analyzer does, the index holds every pair of neighbouring characters (a *bigram*, ASCII
lower-cased) of each order's text and address, runs of letters and digits split at spaces and
punctuation.

Every bigram of a searched text is a bigram of any text holding it (the runs of the search are
runs, or parts of runs, of that text; lower-casing goes character by character, as LIKE's own
ASCII folding on SQLite): the orders holding all of the search's bigrams are a superset of its
matches, which the LIKE then confirms. The index narrows, the LIKE decides: results are exactly
the LIKE's. A search with no bigram (one character, only punctuation) is the LIKE alone.

The index is a side table keyed by the order's id, written in the transaction that stores the
order (``index_orders``; an order's text and address never change once stored):

- SQLite: an FTS5 table, contentless (``content=''``: it keeps only the index) with
  ``detail=none`` (which orders hold a term, not where) and no column sizes, tokenized by
  ``ascii`` (a space separates terms; every other character of a term is a token character, so a
  term is one token);
- PostgreSQL: ``(order_id, terms tsvector)`` with a GIN index; the tsvector made with
  ``array_to_tsvector`` and the query a ``tsquery`` literal of quoted lexemes, neither through
  the text-search parser, so the database's locale and configuration do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from sqlalchemy import Select, column, select, table
from sqlalchemy import text as sql_text

TABLE = "order_search"

# Runs of letters and digits (``\\w`` is str.isalnum() and the underscore).
_RUN = re.compile(r"[^\W_]+")
_ASCII_UPPER = re.compile("[A-Z]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def terms(*texts: str | None) -> set[str]:
    """The bigrams of ``texts`` (an order's text and address; or a search)."""
    found: set[str] = set()
    for text in texts:
        if text:
            if _ASCII_UPPER.search(text):  # most texts have none: translating costs a third of the rest
                text = text.translate(_ASCII_LOWER)
            for run in _RUN.findall(text):
                found.update(run[i:i + 2] for i in range(len(run) - 1))
    return found


def match_text(dialect: str, wanted: Collection[str]) -> str:
    """The index's query for orders holding every one of ``wanted`` (terms: letters and digits
    only, so no quoting is needed inside the quotes), in a stable order."""
    if dialect == "postgresql":
        return " & ".join(f"'{term}'" for term in sorted(wanted))
    return " ".join(f'"{term}"' for term in sorted(wanted))  # FTS5: strings side by side are an AND


def candidates(dialect: str, match: str) -> Select:
    """The ids of the orders holding every term of ``match`` (``match_text``): the index alone."""
    if dialect == "postgresql":
        return (select(column("order_id")).select_from(table(TABLE))
                .where(sql_text("terms @@ CAST(:match AS tsquery)").bindparams(match=match)))
    return select(column("rowid")).select_from(table(TABLE)).where(sql_text(f"{TABLE} MATCH :match")
                                                                   .bindparams(match=match))


def index_decides(text: str, dialect: str) -> bool:
    """Whether the orders the index gives for ``text`` are exactly those whose text or address
    holds it (no LIKE needed to confirm): a search of one bigram alone, two letters or digits,
    holds no other bigram to be out of place; on PostgreSQL, whose LIKE tells upper from lower
    case where the index does not, one without ASCII letters."""
    if len(text) != 2 or not _RUN.fullmatch(text):
        return False
    return dialect != "postgresql" or not any(c.isascii() and c.isalpha() for c in text)


def create_statements(dialect: str) -> list[str]:
    """The side table (and on PostgreSQL its index: made after a backfill, it is built once, sorted)."""
    if dialect == "postgresql":
        # The order's row named: its rows go with it (a TRUNCATE of orders too, by CASCADE).
        return [f"CREATE TABLE {TABLE} (order_id BIGINT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE, "
                "terms TSVECTOR NOT NULL)",
                f"CREATE INDEX ix_{TABLE}_terms ON {TABLE} USING gin (terms)"]
    return [f"CREATE VIRTUAL TABLE {TABLE} USING fts5(terms, content='', detail=none, columnsize=0, "
            "tokenize='ascii')"]


def index_orders(connection, orders: Iterable[tuple[int, str | None, str | None]]) -> None:
    """Write the terms of ``orders`` (id, text, address), stored in this transaction, in one
    statement. An order without a bigram gets no row (no search can find it through the index)."""
    write_terms(connection, [(order_id, indexed_terms(text, address)) for order_id, text, address in orders])


def indexed_terms(text: str | None, address: str | None) -> str:
    """An order's index entry as ``write_terms`` takes it: its bigrams, space-separated ("": none).
    A bulk import makes these where it builds the orders, in its worker processes."""
    return " ".join(terms(text, address))


def write_terms(connection, entries: Iterable[tuple[int, str]]) -> None:
    """Write the index entries (id, ``indexed_terms``) of orders stored in this transaction, in one
    statement; an entry without terms is left out."""
    rows = [(order_id, found) for order_id, found in entries if found]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"INSERT INTO {TABLE} (order_id, terms) SELECT id, array_to_tsvector(string_to_array(t, ' ')) "
            "FROM unnest(%(ids)s::bigint[], %(terms)s::text[]) AS x(id, t)",
            {"ids": [r[0] for r in rows], "terms": [r[1] for r in rows]})
    else:
        connection.exec_driver_sql(f"INSERT INTO {TABLE} (rowid, terms) VALUES (?, ?)", rows)


def backfill(connection, batch: int = 20_000, progress=None) -> int:
    """Index every order stored, in batches of ``batch`` orders by id (the migration, and stores
    filled by SQL); how many were read."""
    done, last = 0, 0
    while True:
        rows = connection.exec_driver_sql(
            f"SELECT id, text, address FROM orders WHERE id > {int(last)} ORDER BY id LIMIT {int(batch)}").all()
        if not rows:
            return done
        index_orders(connection, rows)
        done, last = done + len(rows), rows[-1][0]
        if progress:
            progress(done)

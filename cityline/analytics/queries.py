"""The briefing's analytical SQL, over one plain table ``orders`` (``table.py``'s columns).

Every figure of a briefing is one of these statements; Python only shapes the
results. The SQL is the portable core of ANSI SQL that DuckDB and Spark SQL
share, with the two places where engines spell things differently
(``DIALECTS``): turning a list column into rows (DuckDB ``unnest``, Spark
``explode``) and testing a list for any of some values (``list_has_any`` /
``arrays_overlap``). To run a briefing on a distributed engine, register the same
Parquet day files as ``orders`` (and ``units``) there and run the same statements.

Times: ``day`` is the local day of receipt; the other timestamps are UTC, so a
local day's bounds are passed as UTC instants (``:start`` / ``:end``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from cityline.analytics.export import Dataset
from cityline.analytics.table import SCHEMA, UNITS_SCHEMA

DIALECTS = {
    "duckdb": {"explode": "unnest", "overlaps": "list_has_any"},
    "spark": {"explode": "explode", "overlaps": "arrays_overlap"},
}
DIALECT = DIALECTS["duckdb"]

DAILY_TOTALS = """
SELECT day, COUNT(*) AS received,
       SUM(CASE WHEN category LIKE 'EPI.%' THEN 1 ELSE 0 END) AS epidemic
FROM orders WHERE day BETWEEN $first AND $last GROUP BY day ORDER BY day"""

CATEGORY_COUNTS = """
SELECT category, SUM(CASE WHEN day = $day THEN 1 ELSE 0 END) AS today,
       SUM(CASE WHEN day = $previous THEN 1 ELSE 0 END) AS previous
FROM orders WHERE day IN ($day, $previous) AND category IS NOT NULL
GROUP BY category ORDER BY today DESC, category"""

CELL_SERIES = """
SELECT category, district, day, COUNT(*) AS n
FROM orders WHERE day BETWEEN $first AND $last AND category IS NOT NULL AND district IS NOT NULL
GROUP BY category, district, day"""

TERMS_OF_DAY = """
SELECT term, COUNT(*) AS n
FROM (SELECT {explode}(terms) AS term FROM orders WHERE day = $day) AS t
GROUP BY term HAVING COUNT(*) >= $min_count"""

TERM_SERIES = """
SELECT term, day, COUNT(*) AS n
FROM (SELECT day, {explode}(terms) AS term FROM orders WHERE day BETWEEN $first AND $last) AS t
WHERE term IN (SELECT term FROM candidates)
GROUP BY term, day"""

HOTSPOTS = """
SELECT district, street, COUNT(*) AS n
FROM orders WHERE day = $day AND district IS NOT NULL
GROUP BY district, street ORDER BY n DESC, district, street LIMIT $limit"""

DISTRICTS = """
SELECT COALESCE(district, '') AS district, COUNT(*) AS n
FROM orders WHERE day = $day GROUP BY COALESCE(district, '') ORDER BY n DESC, district"""

# An order is resolved when the unit replied or the order was closed, whichever came first.
RESOLVED = "LEAST(COALESCE(replied_at, closed_at), COALESCE(closed_at, replied_at))"

SERVICE = f"""
SELECT
  SUM(CASE WHEN dispatched_at >= $start AND dispatched_at < $end THEN 1 ELSE 0 END) AS dispatched,
  SUM(CASE WHEN day = $day AND answered_directly THEN 1 ELSE 0 END) AS answered_directly,
  SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end AND deadline IS NOT NULL
           THEN 1 ELSE 0 END) AS judged,
  SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end AND {RESOLVED} <= deadline
           THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN received_at < $end AND deadline < $end
            AND ({RESOLVED} IS NULL OR {RESOLVED} >= $end)
            AND status NOT IN ('merged', 'cancelled') THEN 1 ELSE 0 END) AS overdue,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND dispatched_at IS NOT NULL
           THEN 1 ELSE 0 END) AS closed_after_dispatch,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND dispatched_at IS NOT NULL
            AND reopens = 0 AND COALESCE(satisfaction, '') <> 'unsatisfied'
           THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND satisfaction IS NOT NULL
           THEN 1 ELSE 0 END) AS rated,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND satisfaction IN ('satisfied', 'basic')
           THEN 1 ELSE 0 END) AS satisfied
FROM orders WHERE received_at < $end"""

UNITS = f"""
SELECT o.unit, COALESCE(u.name, o.unit) AS name,
  SUM(CASE WHEN dispatched_at >= $start AND dispatched_at < $end THEN 1 ELSE 0 END) AS received,
  SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end AND deadline IS NOT NULL
           THEN 1 ELSE 0 END) AS judged,
  SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end AND {RESOLVED} <= deadline
           THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND satisfaction IS NOT NULL
           THEN 1 ELSE 0 END) AS rated,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND satisfaction IN ('satisfied', 'basic')
           THEN 1 ELSE 0 END) AS satisfied
FROM orders AS o LEFT JOIN units AS u ON u.code = o.unit
WHERE o.unit IS NOT NULL AND o.dispatched_at IS NOT NULL AND o.received_at < $end
  AND (o.dispatched_at >= $start OR {RESOLVED} >= $start OR o.closed_at >= $start)
GROUP BY o.unit, u.name
HAVING SUM(CASE WHEN dispatched_at >= $start AND dispatched_at < $end THEN 1 ELSE 0 END) > 0
    OR SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end THEN 1 ELSE 0 END) > 0
ORDER BY received DESC, o.unit"""

CATEGORY_ORDERS = """
SELECT number, category, day, district, street, terms, text
FROM orders WHERE day BETWEEN $first AND $last AND category IN (SELECT category FROM wanted)
ORDER BY day, id"""

ORDERS_WITH_TERMS = """
SELECT number, category, day, district, street, terms, text
FROM orders WHERE day BETWEEN $first AND $last AND {overlaps}(terms, $terms)
ORDER BY day, id"""


def sql(statement: str) -> str:
    return statement.format(**DIALECT)


@dataclass
class Window:
    """The days a briefing reads: the history window ending on the day, and the day a year ago."""

    first: date
    last: date
    extra: tuple[date, ...] = ()


class Source:
    """A DuckDB connection whose ``orders`` view holds the day files of a window.

    The service figures need orders received long before the day (an order can
    be overdue for weeks), so ``all_orders`` widens the view to every day file.
    """

    def __init__(self, dataset: Dataset, window: Window, all_orders: bool = False) -> None:
        self.connection = duckdb.connect()
        self.connection.execute("SET threads TO 2")
        days = dataset.days()
        files = ([str(dataset.day_file(d)) for d in days] if all_orders
                 else dataset.files(window.first, window.last)
                 + [str(dataset.day_file(d)) for d in window.extra if d in set(days)])
        self._view("orders", files, SCHEMA)
        units = [str(dataset.units_file)] if dataset.units_file.exists() else []
        self._view("units", units, UNITS_SCHEMA)

    def _view(self, name: str, files: Sequence[str], schema: pa.Schema) -> None:
        if files:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}])")
        else:  # no data yet: an empty table of the right shape
            self.connection.register(f"{name}_empty", schema.empty_table())
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_empty")

    def rows(self, statement: str, **params: Any) -> list[tuple]:
        return self.connection.execute(sql(statement), params).fetchall()

    def table(self, statement: str, **params: Any) -> pa.Table:
        return self.connection.execute(sql(statement), params).fetch_arrow_table()

    def register(self, name: str, table: pa.Table) -> None:
        self.connection.register(name, table)

    def close(self) -> None:
        self.connection.close()

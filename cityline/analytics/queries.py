"""The briefing's analytical SQL, over one plain table ``orders`` (``table.py``'s columns).

Every figure of a briefing is one of these statements; Python only shapes the
results. The SQL is the portable core of ANSI SQL that DuckDB and Spark SQL
share, with the two places where engines spell things differently
(``DIALECTS``): turning a list column into rows (DuckDB ``unnest``, Spark
``explode``) and testing a list for any of some values (``list_has_any`` /
``arrays_overlap``). :class:`SparkSource` registers the same Parquet day files as
``orders`` (and ``units``) in Spark and runs the same statements (``open_source`` picks
the engine); parameters are written ``$name`` (DuckDB's) and become ``:name`` for Spark
in :func:`spark_statement`.

Times: ``day`` is the local day of receipt; the other timestamps are UTC, so a
local day's bounds are passed as UTC instants (``:start`` / ``:end``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from cityline.analytics.dataset import Dataset
from cityline.analytics.table import SCHEMA, UNITS_SCHEMA
from cityline.orders.rules import WITHDRAWN

DIALECTS = {
    "duckdb": {"explode": "unnest", "overlaps": "list_has_any", "joined_terms": "array_to_string(terms, ' ')"},
    "spark": {"explode": "explode", "overlaps": "arrays_overlap", "joined_terms": "concat_ws(' ', terms)"},
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

# Where each of the day's orders is, as far as anything tells. The order's own district and
# street come first: given by the caller or operator, or read at intake from its address,
# its text and its grid, in that order (intake.service.locate, grid_for). An order without
# one is placed where the unit that handled it is, when that unit belongs to a district
# (a street office, a district bureau), and a street missing beside a known district is
# taken from a unit of that same district. ``placed_by``: 'order', 'unit', 'city' (handled
# by a city-level unit: a city-wide matter, no district to give) or NULL (no place, no unit).
PLACED = """
SELECT CASE WHEN o.district IS NOT NULL THEN o.district ELSE NULLIF(u.district, '') END AS district,
       CASE WHEN o.district IS NOT NULL
            THEN COALESCE(o.street, CASE WHEN u.district = o.district THEN NULLIF(u.street, '') END)
            ELSE NULLIF(u.street, '') END AS street,
       CASE WHEN o.district IS NOT NULL THEN 'order'
            WHEN NULLIF(u.district, '') IS NOT NULL THEN 'unit'
            WHEN u.code IS NOT NULL THEN 'city' END AS placed_by
FROM orders AS o LEFT JOIN units AS u ON u.code = o.unit WHERE o.day = $day"""

# The hotspots, the orders per district and how orders were placed, from one pass over the day.
PLACE_COUNTS = f"""
SELECT district, street, placed_by, COUNT(*) AS n FROM ({PLACED}) AS p GROUP BY district, street, placed_by"""

# An order is resolved when the unit replied or the order was closed, whichever came first.
RESOLVED = "LEAST(COALESCE(replied_at, closed_at), COALESCE(closed_at, replied_at))"
# Merged and cancelled orders have no deadline to miss (orders/rules.py's WITHDRAWN).
WITHDRAWN_SQL = ", ".join(f"'{status.value}'" for status in sorted(WITHDRAWN))

# The service figures of the day for the whole line (GROUPING(unit) = 1) and for every unit,
# in one pass over the orders that may still count on the day (Dataset.service_files).
SERVICE = f"""
SELECT GROUPING(unit) AS whole_line, unit,
  SUM(CASE WHEN dispatched_at >= $start AND dispatched_at < $end THEN 1 ELSE 0 END) AS dispatched,
  SUM(CASE WHEN day = $day AND answered_directly THEN 1 ELSE 0 END) AS answered_directly,
  SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end AND deadline IS NOT NULL
           THEN 1 ELSE 0 END) AS judged,
  SUM(CASE WHEN {RESOLVED} >= $start AND {RESOLVED} < $end AND {RESOLVED} <= deadline
           THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN received_at < $end AND deadline < $end
            AND ({RESOLVED} IS NULL OR {RESOLVED} >= $end)
            AND status NOT IN ({WITHDRAWN_SQL}) THEN 1 ELSE 0 END) AS overdue,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND dispatched_at IS NOT NULL
           THEN 1 ELSE 0 END) AS closed_after_dispatch,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND dispatched_at IS NOT NULL
            AND reopens = 0 AND COALESCE(satisfaction, '') <> 'unsatisfied'
           THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND satisfaction IS NOT NULL
           THEN 1 ELSE 0 END) AS rated,
  SUM(CASE WHEN closed_at >= $start AND closed_at < $end AND satisfaction IN ('satisfied', 'basic')
           THEN 1 ELSE 0 END) AS satisfied
FROM orders WHERE received_at < $end
GROUP BY GROUPING SETS ((unit), ())"""

UNIT_NAMES = "SELECT code, name FROM units"

# Orders cross into Python with their terms joined by spaces (a string crosses
# several times faster than a list). CATEGORY_ORDERS: the day's orders of some
# categories and a sample of each category's orders of the days before, whose
# words the problems are learned from (texts are fetched for the few shown). The
# sample is drawn by md5, which both engines compute alike (their hash() differ).
CATEGORY_ORDERS = """
SELECT number, category, day, district, street, {joined_terms} AS terms, NULL AS text
FROM (SELECT number, category, day, district, street, terms, id,
             ROW_NUMBER() OVER (PARTITION BY category ORDER BY md5(number)) AS pick
      FROM orders WHERE day BETWEEN $first AND $last AND category IN (SELECT category FROM wanted)) AS o
WHERE day = $last OR pick <= $per_category
ORDER BY day, id"""

ORDER_TEXTS = """
SELECT number, text, district, street FROM orders WHERE day = $day AND number IN (SELECT number FROM chosen)"""

# What the briefing and the situation read: the public's orders. The work orders cityline opens
# itself — epidemic tasks and warnings, checkpoints' closed loops (channel ``warning``) and
# inspectors' findings (``inspection``) — are work on the board and the commander's page, not
# calls: their templated texts would otherwise crowd the problems and emerging issues of the day.
MADE_HERE = ("warning", "inspection")
CALLERS_ORDERS = ("SELECT * FROM every_order WHERE channel IS NULL OR channel NOT IN ("
                  + ", ".join(f"'{c}'" for c in MADE_HERE) + ")")
# The names of the districts and streets the units are in: every street office's (what a title leaves out).
PLACE_NAMES = "SELECT district FROM units UNION SELECT street FROM units"

ORDERS_WITH_TERMS = """
SELECT number, category, day, district, street, {joined_terms} AS terms, text
FROM orders WHERE day BETWEEN $first AND $last AND {overlaps}(terms, $terms)
ORDER BY day, id"""


def sql(statement: str) -> str:
    return statement.format(**DIALECT)


def spark_statement(statement: str) -> str:
    """A statement in Spark's dialect, its ``$name`` parameters written ``:name``."""
    return re.sub(r"\$(\w+)", r":\1", statement.format(**DIALECTS["spark"]))


class OrderRow(NamedTuple):
    number: str
    category: str | None
    day: date
    district: str | None
    street: str | None
    terms: tuple[str, ...]
    text: str | None


@dataclass
class Window:
    """The days a briefing reads: the history window ending on the day, and the day a year ago."""

    first: date
    last: date
    extra: tuple[date, ...] = ()


class Source:
    """A DuckDB connection whose ``orders`` view holds the day files of a window.

    The service figures need orders received long before the day (an order can
    be overdue for weeks), so with ``service`` the view holds every day file that
    may still count on the window's last day (``Dataset.service_files``).
    """

    def __init__(self, dataset: Dataset, window: Window, service: bool = False) -> None:
        self.dataset = dataset
        self._start()
        if service:
            files = dataset.service_files(window.last)
        else:
            files = dataset.files(window.first, window.last) + dataset.day_files(window.extra)
        self._view("every_order", files, SCHEMA)
        self._derived_view("orders", CALLERS_ORDERS)
        self._view("units", dataset.units_files(), UNITS_SCHEMA)

    def _start(self) -> None:
        self.connection = duckdb.connect()

    def _view(self, name: str, files: Sequence[str], schema: pa.Schema) -> None:
        if files and self.dataset.remote:
            # An export elsewhere (an object store): read through pyarrow's file system, whose
            # dataset DuckDB scans as it scans files (the columns and filters it needs only).
            found = pads.dataset(list(files), schema=schema, format="parquet", filesystem=self.dataset.fs)
            self.connection.register(f"{name}_files", found)
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_files")
        elif files:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}])")
        else:  # no data yet: an empty table of the right shape
            self.connection.register(f"{name}_empty", schema.empty_table())
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_empty")

    def _derived_view(self, name: str, statement: str) -> None:
        self.connection.execute(f"CREATE VIEW {name} AS {statement}")

    def rows(self, statement: str, **params: Any) -> list[tuple]:
        return self.connection.execute(sql(statement), params).fetchall()

    def orders(self, statement: str, **params: Any) -> list[OrderRow]:
        """Rows of a statement selecting ORDER columns (terms joined), as OrderRow."""
        return [OrderRow(n, c, d, district, street, tuple(terms.split()) if terms else (), text)
                for n, c, d, district, street, terms, text in self.rows(statement, **params)]

    def register(self, name: str, table: pa.Table) -> None:
        self.connection.register(name, table)

    def close(self) -> None:
        self.connection.close()


class SparkSource(Source):
    """The same views and statements in a Spark workspace (``cityline.spark``)."""

    def _start(self) -> None:
        from cityline.spark import workspace

        self.spark = workspace()
        self.views: set[str] = set()

    def _view(self, name: str, files: Sequence[str], schema: pa.Schema) -> None:
        from cityline.spark import parquet_view

        parquet_view(self.spark, name, [self.dataset.uri(f) for f in files], schema)
        self.views.add(name)

    def _derived_view(self, name: str, statement: str) -> None:
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {statement}")
        self.views.add(name)

    def rows(self, statement: str, **params: Any) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(spark_statement(statement), args=params or None).collect()]

    def register(self, name: str, table: pa.Table) -> None:
        from cityline.spark import arrow_view

        arrow_view(self.spark, name, table)
        self.views.add(name)

    def close(self) -> None:  # dropping a cached view frees its cache
        for name in self.views:
            self.spark.catalog.dropTempView(name)


def open_source(dataset: Dataset, window: Window, service: bool = False, engine: str = "duckdb") -> Source:
    """The day files of ``window`` as ``orders`` and ``units`` on ``engine`` (duckdb or spark)."""
    return (SparkSource if engine == "spark" else Source)(dataset, window, service)

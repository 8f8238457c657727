"""The §7 rules as DuckDB SQL over the fact store and the ledger snapshot (millions of rows).

Each function here has a reference in ``rules.py`` / ``places.py`` and the tests
check that both give the same answer on the same data. What makes them fast:

- partitions are local dates, so "sampled on a date from S to U" is the choice
  of files (``FactStore.source(kind, S, U)``), not a per-row conversion;
- coverage counts "has at least one test", so it reads raw rows (a second
  version of a test changes nothing) and skips the latest-version window;
- visits compute "the same person's next scan" with one window per person and
  local day (a later day's scan is past the day's end anyway).

Results come back through Arrow (DuckDB's own datetime conversion needs pytz).

Coverage, contacts and arrivals run on DuckDB or Spark (``Params.engine``) through an
:class:`Engine`: the same statements, with the few things the two spell differently
taken from ``DIALECTS``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa

from cityline.epidemic.areas import LEVELS, Area
from cityline.epidemic.contacts import VENUE_RELATIONS, trip_evidence, venue_evidence
from cityline.epidemic.facts import FactStore
from cityline.epidemic.kinds import LEVEL_ORDER
from cityline.epidemic.ledger import PersonScope
from cityline.epidemic.places import Arrival, RiskWindow
from cityline.epidemic.rules import (
    CaseRecord,
    Contact,
    Coverage,
    CoverageRow,
    Params,
    Person,
    Test,
    Trip,
    Visit,
    exposure_window,
)
from cityline.locations import read_schema

PLACE_ORDER = "district, street, compound, building NULLS FIRST"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# What DuckDB and Spark SQL spell differently, for the statements of coverage, contacts and
# arrivals ({0}, {1}: the arguments; {zone}: the hotline's zone as a literal). Spark's
# workspaces hold instants in UTC (cityline/spark.py), so its local day is the UTC wall
# clock moved to the zone. DuckDB's generate_series of an empty range is empty; Spark's
# sequence refuses one, hence the CASE.
DIALECTS = {
    "duckdb": {
        "temp_table": "CREATE TEMP TABLE",
        "exclude": "EXCLUDE",
        "semi_join": "SEMI JOIN",
        "epoch_us": "epoch_us({0})",
        "distinct_list": "list(DISTINCT {0})",
        "list_contains": "list_contains({0}, {1})",
        "days": "unnest(generate_series({0}, {1}, INTERVAL 1 DAY))::DATE",
        "local_day": "CAST(timezone({zone}, {0}) AS DATE)",
        "local_midnight": "timezone({zone}, ({0})::TIMESTAMP)",
        "no_end": "'infinity'::TIMESTAMPTZ",
        "big_int": "HUGEINT",
        "all_digits": "regexp_full_match({0}, '[0-9]+')",
    },
    "spark": {
        "temp_table": "CACHE TABLE",
        "exclude": "EXCEPT",
        "semi_join": "LEFT SEMI JOIN",
        "epoch_us": "unix_micros({0})",
        "distinct_list": "collect_set({0})",
        "list_contains": "array_contains({0}, {1})",
        "days": "explode(CASE WHEN {0} <= {1} THEN sequence({0}, {1}, INTERVAL 1 DAY) END)",
        "local_day": "CAST(from_utc_timestamp({0}, {zone}) AS DATE)",
        "local_midnight": "to_utc_timestamp(CAST({0} AS TIMESTAMP), {zone})",
        "no_end": "TIMESTAMP '9999-12-31 00:00:00Z'",
        "big_int": "DECIMAL(38, 0)",
        "all_digits": "{0} RLIKE '^[0-9]+$'",
    },
}
# The fact store's column types (facts.column_types) as Spark names them.
SPARK_TYPES = {"TIMESTAMPTZ": "TIMESTAMP", "VARCHAR": "STRING", "VARCHAR[]": "ARRAY<STRING>"}


def connect(params: Params) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in the hotline's zone, held to the memory setting (above it, joins and
    windows spill to the system's temporary folder rather than fail or take the machine)."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{params.timezone}'")
    con.execute(f"SET memory_limit = '{int(params.query_memory_mb)}MB'")
    con.execute(f"SET temp_directory = {_literal(str(Path(tempfile.gettempdir()) / 'cityline-duckdb'))}")
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence | None = None) -> list[dict]:
    relation = con.sql(sql, params=parameters) if parameters else con.sql(sql)
    return _dicts(relation.to_arrow_table())


def _dicts(table: pa.Table) -> list[dict]:
    columns = {name: _times(column) if pa.types.is_timestamp(column.type) and column.type.tz else column.to_pylist()
               for name, column in zip(table.column_names, table.columns, strict=True)}
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _times(column: pa.ChunkedArray) -> list[datetime | None]:
    """Aware datetimes in the column's zone, five times faster than Arrow's own conversion (which
    looks the zone up for every value: seconds for the 100,000s of rows contacts can have)."""
    try:
        zone = ZoneInfo(column.type.tz)
    except (ValueError, ZoneInfoNotFoundError):  # a fixed offset ("+08:00"): Arrow's way
        return column.to_pylist()
    micros = column.cast(pa.timestamp("us", column.type.tz)).cast(pa.int64()).to_pylist()
    return [None if us is None else (EPOCH + timedelta(microseconds=us)).astimezone(zone) for us in micros]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def spelling(name: str, params: Params) -> Callable[..., str]:
    """The ``DIALECTS`` entries of engine ``name``, spelt with their arguments."""
    return lambda word, *args: DIALECTS[name][word].format(*args, zone=_literal(params.timezone))


class Engine:
    """Where coverage, contacts and arrivals run: DuckDB here, :class:`SparkEngine` below.
    ``say`` spells a ``DIALECTS`` entry; ``source`` and ``parquet`` name the fact store's
    rows and a Parquet file as relations."""

    name = "duckdb"

    def __init__(self, params: Params) -> None:
        self.params = params
        self.say = spelling(self.name, params)
        self.con = connect(params)

    def local_day(self, moment: str) -> str:
        return self.say("local_day", moment)

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def rows(self, sql: str) -> list[dict]:
        return _rows(self.con, sql)

    def parquet(self, path: str) -> str:
        return f"read_parquet({_literal(path)})"

    def source(self, store: FactStore, kind: str, since: date | None = None, until: date | None = None,
               *, latest: bool = True) -> str:
        return store.source(kind, since, until, latest=latest)

    def close(self) -> None:
        self.con.close()


class SparkEngine(Engine):
    """The same statements in a Spark workspace (``cityline.spark``): files become temporary
    views, temporary tables cached views, instants come back in the hotline's zone."""

    name = "spark"

    def __init__(self, params: Params) -> None:
        from cityline.spark import workspace

        self.params = params
        self.say = spelling(self.name, params)
        self.spark = workspace()
        self.views: list[str] = []

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def register(self, name: str, table: pa.Table) -> None:
        from cityline.spark import arrow_view

        arrow_view(self.spark, name, table)
        self.views.append(name)

    def rows(self, sql: str) -> list[dict]:
        from cityline.spark import arrow

        table = arrow(self.spark, sql)
        for i, field in enumerate(table.schema):  # Spark's are in UTC, DuckDB's in the zone
            if pa.types.is_timestamp(field.type) and field.type.tz:
                table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("us", self.params.timezone)))
        return _dicts(table)

    def _files(self, paths: Sequence[str], base: str | None = None) -> str:
        from cityline.spark import parquet_view

        schema = read_schema(paths[0])
        if base is not None:  # the partition column, from the folder names (day=2022-04-01)
            schema = schema.append(pa.field("day", pa.date32()))
        name = f"files_{len(self.views)}"
        parquet_view(self.spark, name, paths, schema, base)
        self.views.append(name)
        return name

    def parquet(self, path: str) -> str:
        return self._files([path])

    def source(self, store: FactStore, kind: str, since: date | None = None, until: date | None = None,
               *, latest: bool = True) -> str:
        return store.source(kind, since, until, latest=latest, scan=self._files, types=SPARK_TYPES)

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        for table in self.spark.catalog.listTables():  # the cached tables of the statements
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)


@contextmanager
def engine(params: Params) -> Iterator[Engine]:
    found = SparkEngine(params) if params.engine == "spark" else Engine(params)
    try:
        yield found
    finally:
        found.close()


def scope_sql(scope: PersonScope | None) -> str:
    """A condition on a resident's district, street and grid for a principal's person scope."""
    if scope is None or scope.everyone:
        return "true"
    terms = []
    if scope.grids:
        terms.append(f"grid IN ({', '.join(_literal(g) for g in sorted(scope.grids))})")
    for district, street in sorted(scope.places, key=str):
        if district is None:
            continue
        terms.append(f"(district = {_literal(district)}"
                     + (f" AND street = {_literal(street)})" if street else ")"))
    return "(" + " OR ".join(terms) + ")" if terms else "false"


# -- coverage ---------------------------------------------------------------------------------


def coverage(store: FactStore, ledger: str, since: date, until: date, params: Params, *,
             untested: bool = True, scope: PersonScope | None = None) -> Coverage:
    """Present residents with a test sampled on a local date from ``since`` to ``until``, by
    building; and, with ``untested``, those without one (narrowed to ``scope``)."""
    with engine(params) as e:
        return _coverage(e, store, ledger, since, until, untested, scope)


def _coverage(e: Engine, store: FactStore, ledger: str, since: date, until: date, untested: bool,
              scope: PersonScope | None) -> Coverage:
    e.execute(f"CREATE TEMPORARY VIEW present AS SELECT * FROM {e.parquet(ledger)} WHERE status = 'present'")
    tests = e.source(store, "tests", since, until, latest=False)
    e.execute(f"CREATE TEMPORARY VIEW tested AS SELECT DISTINCT person_id FROM {tests}")
    rows = e.rows(f"SELECT p.district, p.street, p.compound, p.building, count(*) AS present, "
                  f"count(t.person_id) AS tested "
                  f"FROM present p LEFT JOIN tested t ON t.person_id = p.person_id "
                  f"GROUP BY ALL ORDER BY {PLACE_ORDER}")
    result = Coverage([CoverageRow(**row) for row in rows])
    if untested:
        people = e.rows(f"SELECT * FROM present WHERE {scope_sql(scope)} AND person_id NOT IN "
                        f"(SELECT person_id FROM tested) ORDER BY {PLACE_ORDER}, person_id")
        result.untested = [Person(p["person_id"], p["district"], p["street"], p["compound"], p["building"],
                                  p["unit"], p["room"], None, p["grid"], p["status"]) for p in people]
    return result


def latest_tested_day(store: FactStore, ledger: str, place: dict[str, str], since: date, until: date,
                      params: Params) -> date | None:
    """The latest local day from ``since`` to ``until`` on which a present resident of ``place``
    ({level: name}, from the district down; {} is the city) was sampled, or None."""
    with engine(params) as e:
        tests = e.source(store, "tests", since, until, latest=False)
        here = "".join(f" AND p.{level} = {_literal(name)}" for level, name in place.items())
        rows = e.rows(f"SELECT max({e.local_day('t.sampled_at')}) AS day FROM {tests} t "
                      f"JOIN {e.parquet(ledger)} p ON p.person_id = t.person_id WHERE p.status = 'present'{here}")
    return rows[0]["day"] if rows else None


def place_counts(ledger: str, streets: Iterable[tuple[str, str]], params: Params) -> dict[tuple, int]:
    """Present residents per (district, street, compound, building) in the given streets."""
    streets = sorted(set(streets))
    if not streets:
        return {}
    con = connect(params)
    wanted = pa.table({"district": [d for d, _ in streets], "street": [s for _, s in streets]})
    con.register("wanted", wanted)
    rows = _rows(con, f"SELECT district, street, compound, building, count(*) AS n "
                      f"FROM read_parquet({_literal(ledger)}) JOIN wanted USING (district, street) "
                      f"WHERE status = 'present' GROUP BY ALL")
    return {(r["district"], r["street"], r["compound"], r["building"]): r["n"] for r in rows}


# -- tests of persons (passes) --------------------------------------------------------------------


def tests_of(store: FactStore, persons: Iterable[str], until: datetime, params: Params) -> list[Test]:
    """The current version of every test of ``persons`` sampled at or before ``until``."""
    persons = sorted(set(persons))
    if not persons:
        return []
    con = connect(params)
    con.register("wanted", pa.table({"person_id": persons}))
    last_day = params.local_date(until)
    rows = _rows(con, f"SELECT person_id, sampled_at, result, kind FROM {store.source('tests', None, last_day)} "
                      f"WHERE person_id IN (SELECT person_id FROM wanted) AND sampled_at <= ?", [until])
    return [Test(**row) for row in rows]


def positives_after(store: FactStore, persons: Iterable[str], since_day: date, params: Params) -> dict[str, datetime]:
    """Each person's earliest positive sampled on or after ``since_day`` (for revocations)."""
    persons = sorted(set(persons))
    if not persons:
        return {}
    con = connect(params)
    con.register("wanted", pa.table({"person_id": persons}))
    rows = _rows(con, f"SELECT person_id, min(sampled_at) AS first FROM {store.source('tests', since_day)} "
                      f"WHERE result = 'positive' AND person_id IN (SELECT person_id FROM wanted) GROUP BY ALL")
    return {r["person_id"]: r["first"] for r in rows}


# -- visits and trips (contacts) -------------------------------------------------------------------


def visits(store: FactStore, since: date, until: date, params: Params, *,
           venues: Iterable[str] | None = None, persons: Iterable[str] | None = None) -> list[Visit]:
    """The visits of scans made on local dates ``since``..``until`` (at ``venues``, of
    ``persons``, when given), with the same ends as ``rules.visits``. The venue filter comes
    after the ends are known (a visit ends at the person's next scan anywhere); the person
    filter may come first (a person's next scan is their own)."""
    con = connect(params)
    venue_filter, person_filter = "true", "true"
    if venues is not None:
        con.register("venues", pa.table({"venue_code": pa.array(sorted(set(venues)), pa.string())}))
        venue_filter = "venue_code IN (SELECT venue_code FROM venues)"
    if persons is not None:
        con.register("persons", pa.table({"person_id": pa.array(sorted(set(persons)), pa.string())}))
        person_filter = "person_id IN (SELECT person_id FROM persons)"
    scans = f"SELECT * FROM {store.source('scans', since, until)} WHERE {person_filter}"
    found = _visits_sql(scans, params, spelling("duckdb", params))
    rows = _rows(con, f"SELECT * FROM ({found}) WHERE {venue_filter}")
    return [Visit(r["person_id"], r["venue_code"], r["venue_kind"], r["start"], r["end"], r["venue_name"])
            for r in rows]


def _visits_sql(scans: str, params: Params, say: Callable[..., str]) -> str:
    """The visits of the rows of ``scans`` (a query over scans with their ``day``): their columns
    with ``start`` and ``end`` for ``scanned_at`` and ``left_at``, as ``rules.visits`` (the next
    scan is looked for among the same rows, so they must hold all of each person's scans of the
    day)."""
    minutes = int(params.visit.total_seconds() // 60)
    return f"""
        WITH s AS (
            SELECT *, first_value(scanned_at) OVER (PARTITION BY person_id, day ORDER BY scanned_at
                       RANGE BETWEEN INTERVAL 1 MICROSECOND FOLLOWING AND UNBOUNDED FOLLOWING) AS next_scan
            FROM ({scans}))
        SELECT * {say("exclude")} (scanned_at, left_at, next_scan), scanned_at AS start,
               coalesce(left_at, least(scanned_at + INTERVAL {minutes} MINUTE,
                                       coalesce(next_scan, {say("no_end")}),
                                       {say("local_midnight", "day + 1")})) AS "end"
        FROM s"""


def trips_of(store: FactStore, persons: Iterable[str], since: date, until: date, params: Params) -> list[Trip]:
    persons = sorted(set(persons))
    if not persons:
        return []
    con = connect(params)
    con.register("wanted", pa.table({"person_id": persons}))
    rows = _rows(con, f"SELECT person_id, mode, arrived_at, from_area, trip_no, departed_at, carriage, seat "
                      f"FROM {store.source('trips', since, until)} WHERE person_id IN (SELECT person_id FROM wanted)")
    return [Trip(**row) for row in rows]


# -- contacts at venues and on trips (tier 1) ------------------------------------------------------
#
# ``contacts.venue_contacts`` / ``trip_contacts`` as set-based SQL for many cases at once: the
# cases are a table joined to the scans and trips, never a loop. Where the pure rules keep the
# first of several equally good pairs, the SQL keeps the earliest (the case's visit or trip, then
# the contact's), which is what the rules give for rows sorted by time.

FULL_WIDTH_DIGITS = "０１２３４５６７８９"


def _cases_table(cases: Sequence[CaseRecord], params: Params) -> pa.Table:
    windows = [exposure_window(case, params) for case in cases]
    return pa.table({"case_no": pa.array(range(len(cases)), pa.int32()),
                     "case_id": pa.array([c.person_id for c in cases], pa.string()),
                     "w0": pa.array([w[0] for w in windows], pa.timestamp("us", "UTC")),
                     "w1": pa.array([w[1] for w in windows], pa.timestamp("us", "UTC"))})


def venue_contacts(store: FactStore, cases: Sequence[CaseRecord], since: date, until: date,
                   params: Params) -> dict[int, list[Contact]]:
    """``contacts.venue_contacts`` of every case (by its place in ``cases``) over the scans made on
    local dates ``since``..``until``. Reads only what can matter: the cases' own visits, then the
    scans at the venues on the local days those visits touch inside the windows (and check-outs
    running into such a day from an earlier one), then all scans of those people on those days
    (a visit without check-out ends at the person's next scan anywhere)."""
    if not cases:
        return {}
    with engine(params) as e:
        return _venue_contacts(e, store, cases, since, until)


def _venue_contacts(e: Engine, store: FactStore, cases: Sequence[CaseRecord], since: date, until: date
                    ) -> dict[int, list[Contact]]:
    params, say, local_day = e.params, e.say, e.local_day
    e.register("cases", _cases_table(cases, params))
    scans = f"(SELECT person_id, venue_code, venue_kind, venue_name, scanned_at, left_at, day " \
            f"FROM {e.source(store, 'scans', since, until)})"
    relation = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in VENUE_RELATIONS.items())
    # the cases' visits, clipped to their windows: [a, b). The ids as constants, not a subquery:
    # DuckDB then filters the Parquet scan itself and decodes the other columns of the cases'
    # rows only, instead of every column of every scan.
    ids = ", ".join(sorted({_literal(c.person_id) for c in cases}))
    e.execute(f"""
        {say("temp_table")} own AS
        SELECT c.case_no, c.case_id, v.venue_code, v.venue_kind, v.venue_name, v.start, v."end",
               greatest(v.start, c.w0) AS a, least(v."end", c.w1) AS b,
               CASE v.venue_kind {relation} ELSE 'venue' END AS relation
        FROM ({_visits_sql(f"SELECT * FROM {scans} WHERE person_id IN ({ids})", params, say)}) v
        JOIN cases c ON v.person_id = c.case_id
        WHERE greatest(v.start, c.w0) < least(v."end", c.w1)""")
    e.execute(f"""
        {say("temp_table")} own_days AS
        SELECT *, {say("days", local_day("a"), local_day("b - INTERVAL 1 MICROSECOND"))} AS d
        FROM own""")
    e.execute(f"{say('temp_table')} touched AS SELECT venue_code, {say('distinct_list', 'd')} AS days, "
              f"max(d) AS last FROM own_days GROUP BY venue_code")
    # who scanned there on such a day, or checked out there on a later day than they came
    e.execute(f"""
        {say("temp_table")} there AS
        SELECT DISTINCT s.person_id, s.day FROM {scans} s JOIN touched t USING (venue_code)
        WHERE {say("list_contains", "t.days", "s.day")}
           OR (s.left_at IS NOT NULL AND s.day < t.last AND {local_day('s.left_at')} > s.day)""")
    # the widest read: only the columns a visit needs (not the venue's name and kind, which are the case's)
    everyone = (f"SELECT person_id, venue_code, scanned_at, left_at, day FROM {scans} "
                f"{say('semi_join')} there USING (person_id, day)")
    overlap_us = int(params.overlap.total_seconds() * 1_000_000)
    end_before = '"end" - INTERVAL 1 MICROSECOND'
    first_day = f"greatest({local_day('start')}, DATE '{since}')"
    last_day = f"least({local_day(end_before)}, DATE '{until}')"
    rows = e.rows(f"""
        WITH v AS ({_visits_sql(everyone, params, say)}),
        v_days AS (
            SELECT v.*, {say("days", first_day, last_day)} AS d
            FROM v WHERE venue_code IN (SELECT venue_code FROM touched)),
        pairs AS (
            SELECT m.case_no, m.relation, o.person_id, m.venue_code, m.venue_name, m.start AS m_start,
                   m."end" AS m_end, o.start AS o_start, o."end" AS o_end,
                   {say("epoch_us", 'least(m.b, o."end")')} - {say("epoch_us", "greatest(m.a, o.start)")} AS shared_us
            FROM own_days m JOIN v_days o ON o.venue_code = m.venue_code AND o.d = m.d
            WHERE o.person_id <> m.case_id AND o.start < m.b AND o."end" > m.a)
        SELECT case_no, relation, person_id, venue_code, venue_name, greatest(m_start, o_start) AS together, shared_us
        FROM pairs WHERE shared_us >= {overlap_us}
        QUALIFY row_number() OVER (PARTITION BY case_no, person_id, relation
                                   ORDER BY shared_us DESC, m_start, venue_code, m_end, o_start, o_end) = 1
        ORDER BY case_no, person_id, relation""")
    found: dict[int, list[Contact]] = {}
    for r in rows:
        shared = timedelta(microseconds=r["shared_us"])
        found.setdefault(r["case_no"], []).append(Contact(
            cases[r["case_no"]].person_id, r["person_id"], 1, r["relation"],
            overlap_minutes=int(shared.total_seconds() // 60),
            evidence=venue_evidence(r["venue_code"], r["venue_name"], r["together"], shared, params)))
    return found


def _digits(column: str) -> str:
    """The text with full-width digits as ASCII ones (Python's int() reads both)."""
    return f"translate({column}, {_literal(FULL_WIDTH_DIGITS)}, '0123456789')"


def trip_contacts(store: FactStore, cases: Sequence[CaseRecord], since: date, until: date,
                  params: Params) -> dict[int, list[Contact]]:
    """``contacts.trip_contacts`` of every case (by its place in ``cases``) over the trips arriving
    on local dates ``since``..``until``."""
    if not cases:
        return {}
    with engine(params) as e:
        return _trip_contacts(e, store, cases, since, until)


def _trip_contacts(e: Engine, store: FactStore, cases: Sequence[CaseRecord], since: date, until: date
                   ) -> dict[int, list[Contact]]:
    params, say = e.params, e.say
    e.register("cases", _cases_table(cases, params))

    def derived(rows: str) -> str:  # the values compared, computed for the rows kept only
        seat_row = f"nullif(regexp_extract({_digits('seat')}, '[0-9]+', 0), '')"
        return f"""SELECT *, upper(trim(trip_no)) AS number, coalesce(departed_at, arrived_at) AS moment,
                          {e.local_day('coalesce(departed_at, arrived_at)')} AS on_day,
                          TRY_CAST({seat_row} AS {say("big_int")}) AS seat_row,
                          {_digits('upper(trim(carriage))')} AS car FROM ({rows})"""

    trips = (f"SELECT person_id, mode, arrived_at, from_area, trip_no, departed_at, carriage, seat "
             f"FROM {e.source(store, 'trips', since, until)}")
    e.execute(f"""
        {say("temp_table")} mine AS
        SELECT c.case_no, t.* FROM ({derived(f"SELECT * FROM ({trips}) WHERE person_id IN (SELECT case_id FROM cases)")}) t
        JOIN cases c ON t.person_id = c.case_id
        WHERE t.number <> '' AND t.moment BETWEEN c.w0 AND c.w1""")
    e.execute(f"{say('temp_table')} numbers AS SELECT DISTINCT number FROM mine")
    fellow = derived(f"SELECT * FROM ({trips}) WHERE upper(trim(trip_no)) IN (SELECT number FROM numbers)")
    same_car = (f"(m.car IS NULL OR m.car = '' OR o.car IS NULL OR o.car = '' OR CASE "
                f"WHEN {say('all_digits', 'm.car')} AND {say('all_digits', 'o.car')} "
                f"THEN CAST(m.car AS {say('big_int')}) = CAST(o.car AS {say('big_int')}) ELSE m.car = o.car END)")
    trip_columns = ("person_id", "mode", "arrived_at", "from_area", "trip_no", "departed_at", "carriage", "seat")
    rows = e.rows(f"""
        SELECT m.case_no, {", ".join(f"m.{c} AS m_{c}, o.{c} AS o_{c}" for c in trip_columns)}
        FROM mine m JOIN ({fellow}) o
             ON o.mode = m.mode AND o.number = m.number AND o.on_day = m.on_day
        WHERE o.person_id <> m.person_id AND {same_car}
          AND (m.seat_row IS NULL OR o.seat_row IS NULL OR abs(m.seat_row - o.seat_row) <= {int(params.seat_rows)})
        QUALIFY row_number() OVER (PARTITION BY m.case_no, o.person_id
                                   ORDER BY m.arrived_at, m.mode, m.trip_no, o.arrived_at, o.mode, o.trip_no) = 1
        ORDER BY m.case_no, o.person_id""")
    found: dict[int, list[Contact]] = {}
    for r in rows:
        mine, other = (Trip(**{c: r[f"{side}_{c}"] for c in trip_columns}) for side in ("m", "o"))
        found.setdefault(r["case_no"], []).append(Contact(mine.person_id, other.person_id, 1, "trip",
                                                          evidence=trip_evidence(mine, other, params)))
    return found


# -- arrivals --------------------------------------------------------------------------------------


def arrivals(store: FactStore, risks: Sequence[RiskWindow], day: date, params: Params,
             resolve: Callable[[str], Area | None]) -> list[Arrival]:
    """``places.arrivals`` in SQL: the trips of the arrival window joined to the risk areas by
    level, the strictest area per trip, the latest trip per person."""
    with engine(params) as e:
        return _arrivals(e, store, risks, day, resolve)


def _arrivals(e: Engine, store: FactStore, risks: Sequence[RiskWindow], day: date,
              resolve: Callable[[str], Area | None]) -> list[Arrival]:
    params = e.params
    first = day - timedelta(days=params.arrival_days)
    trips = e.source(store, "trips", first, day)
    names = [r["from_area"] for r in e.rows(f"SELECT DISTINCT from_area FROM {trips}")]
    resolved = {n: resolve(n) for n in names}
    areas = {"from_area": [n for n in names if resolved[n]]}
    for i, level in enumerate(LEVELS):
        areas[level] = [resolved[n].levels()[i] for n in areas["from_area"]]
    e.register("origins", pa.table(areas, schema=pa.schema([(k, pa.string()) for k in areas])))
    live = [r for r in risks if LEVEL_ORDER.get(r.level, 0) >= LEVEL_ORDER["medium"]]
    table = {"risk_area": [r.area for r in live], "level": [r.level for r in live],
             "rank": [LEVEL_ORDER[r.level] for r in live], "depth": [r.where.depth for r in live],
             "since": [r.since for r in live], "until": [r.until for r in live]}
    for i, level in enumerate(LEVELS):
        table["r_" + level] = [r.where.levels()[i] for r in live]
    schema = pa.schema([("risk_area", pa.string()), ("level", pa.string()), ("rank", pa.int32()),
                        ("depth", pa.int32()), ("since", pa.date32()), ("until", pa.date32())]
                       + [("r_" + level, pa.string()) for level in LEVELS])
    e.register("risks", pa.table(table, schema=schema))
    inside = " AND ".join(f"(r.r_{level} IS NULL OR r.r_{level} = o.{level})" for level in LEVELS)
    # which origin lies in which area does not depend on the trip: found once per name, then the
    # trips from such names only are joined to them by name (a hash join, not a loop over areas)
    rows = e.rows(f"""
        WITH hit AS (SELECT o.from_area, r.* FROM origins o JOIN risks r ON {inside}),
        t AS (SELECT person_id, from_area, arrived_at, trip_no, mode, departed_at,
                     {e.local_day('coalesce(departed_at, arrived_at)')} AS on_day
              FROM {trips} WHERE from_area IN (SELECT from_area FROM hit)),
        matched AS (
            SELECT t.person_id, t.from_area, t.arrived_at, t.trip_no, t.mode, t.departed_at,
                   r.risk_area, r.level, r.rank
            FROM t JOIN hit r USING (from_area)
            WHERE r.since <= t.on_day AND (r.until IS NULL OR t.on_day <= r.until)
            QUALIFY row_number() OVER (PARTITION BY t.person_id, t.mode, t.trip_no, t.arrived_at
                                       ORDER BY r.rank DESC, r.depth DESC, r.risk_area) = 1)
        SELECT * {e.say("exclude")} (rank) FROM matched
        QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY arrived_at DESC, rank DESC) = 1
        ORDER BY person_id""")
    return [Arrival(r["person_id"], r["from_area"], r["risk_area"], r["level"], r["arrived_at"], r["trip_no"],
                    r["mode"], r["departed_at"]) for r in rows]

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

import duckdb
import pyarrow as pa

from cityline.epidemic.areas import LEVELS, Area
from cityline.epidemic.facts import FactStore
from cityline.epidemic.kinds import LEVEL_ORDER
from cityline.epidemic.ledger import PersonScope
from cityline.epidemic.places import Arrival, RiskWindow
from cityline.epidemic.rules import Coverage, CoverageRow, Params, Person, Test, Trip, Visit

PLACE_ORDER = "district, street, compound, building NULLS FIRST"


def connect(params: Params) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{params.timezone}'")
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence | None = None) -> list[dict]:
    relation = con.sql(sql, params=parameters) if parameters else con.sql(sql)
    return relation.to_arrow_table().to_pylist()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
    con = connect(params)
    con.execute(f"CREATE TEMP VIEW present AS SELECT * FROM read_parquet({_literal(ledger)}) "
                f"WHERE status = 'present'")
    tests = store.source("tests", since, until, latest=False)
    con.execute(f"CREATE TEMP VIEW tested AS SELECT DISTINCT person_id FROM {tests}")
    rows = _rows(con, f"SELECT district, street, compound, building, count(*) AS present, "
                      f"count(*) FILTER (WHERE person_id IN (SELECT person_id FROM tested)) AS tested "
                      f"FROM present GROUP BY ALL ORDER BY {PLACE_ORDER}")
    result = Coverage([CoverageRow(**row) for row in rows])
    if untested:
        people = _rows(con, f"SELECT * FROM present WHERE {scope_sql(scope)} AND person_id NOT IN "
                            f"(SELECT person_id FROM tested) ORDER BY {PLACE_ORDER}, person_id")
        result.untested = [Person(p["person_id"], p["district"], p["street"], p["compound"], p["building"],
                                  p["unit"], p["room"], None, p["grid"], p["status"]) for p in people]
    return result


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
    minutes = int(params.visit.total_seconds() // 60)
    con = connect(params)
    venue_filter, person_filter = "true", "true"
    if venues is not None:
        con.register("venues", pa.table({"venue_code": pa.array(sorted(set(venues)), pa.string())}))
        venue_filter = "venue_code IN (SELECT venue_code FROM venues)"
    if persons is not None:
        con.register("persons", pa.table({"person_id": pa.array(sorted(set(persons)), pa.string())}))
        person_filter = "person_id IN (SELECT person_id FROM persons)"
    rows = _rows(con, f"""
        WITH s AS (
            SELECT *, min(scanned_at) OVER (PARTITION BY person_id, day ORDER BY scanned_at
                       RANGE BETWEEN INTERVAL 1 MICROSECOND FOLLOWING AND UNBOUNDED FOLLOWING) AS next_scan
            FROM {store.source('scans', since, until)} WHERE {person_filter})
        SELECT person_id, venue_code, venue_kind, venue_name, scanned_at AS start,
               coalesce(left_at, least(scanned_at + INTERVAL {minutes} MINUTE,
                                       coalesce(next_scan, 'infinity'::TIMESTAMPTZ),
                                       timezone({_literal(params.timezone)}, (day + 1)::TIMESTAMP))) AS "end"
        FROM s WHERE {venue_filter}""")
    return [Visit(r["person_id"], r["venue_code"], r["venue_kind"], r["start"], r["end"], r["venue_name"])
            for r in rows]


def trips_on(store: FactStore, numbers: Iterable[str], since: date, until: date, params: Params) -> list[Trip]:
    """Trips whose number (trimmed, any case) is one of ``numbers``, arriving ``since``..``until``."""
    numbers = sorted({n.strip().upper() for n in numbers if n and n.strip()})
    if not numbers:
        return []
    con = connect(params)
    con.register("wanted", pa.table({"trip_no": numbers}))
    rows = _rows(con, f"SELECT person_id, mode, arrived_at, from_area, trip_no, departed_at, carriage, seat "
                      f"FROM {store.source('trips', since, until)} "
                      f"WHERE upper(trim(trip_no)) IN (SELECT trip_no FROM wanted)")
    return [Trip(**row) for row in rows]


def trips_of(store: FactStore, persons: Iterable[str], since: date, until: date, params: Params) -> list[Trip]:
    persons = sorted(set(persons))
    if not persons:
        return []
    con = connect(params)
    con.register("wanted", pa.table({"person_id": persons}))
    rows = _rows(con, f"SELECT person_id, mode, arrived_at, from_area, trip_no, departed_at, carriage, seat "
                      f"FROM {store.source('trips', since, until)} WHERE person_id IN (SELECT person_id FROM wanted)")
    return [Trip(**row) for row in rows]


# -- arrivals --------------------------------------------------------------------------------------


def arrivals(store: FactStore, risks: Sequence[RiskWindow], day: date, params: Params,
             resolve: Callable[[str], Area | None]) -> list[Arrival]:
    """``places.arrivals`` in SQL: the trips of the arrival window joined to the risk areas by
    level, the strictest area per trip, the latest trip per person."""
    first = day - timedelta(days=params.arrival_days)
    trips = store.source("trips", first, day)
    con = connect(params)
    names = [n for (n,) in con.execute(f"SELECT DISTINCT from_area FROM {trips}").fetchall()]
    resolved = {n: resolve(n) for n in names}
    areas = {"from_area": [n for n in names if resolved[n]]}
    for i, level in enumerate(LEVELS):
        areas[level] = [resolved[n].levels()[i] for n in areas["from_area"]]
    con.register("origins", pa.table(areas, schema=pa.schema([(k, pa.string()) for k in areas])))
    live = [r for r in risks if LEVEL_ORDER.get(r.level, 0) >= LEVEL_ORDER["medium"]]
    table = {"risk_area": [r.area for r in live], "level": [r.level for r in live],
             "rank": [LEVEL_ORDER[r.level] for r in live], "depth": [r.where.depth for r in live],
             "since": [r.since for r in live], "until": [r.until for r in live]}
    for i, level in enumerate(LEVELS):
        table["r_" + level] = [r.where.levels()[i] for r in live]
    schema = pa.schema([("risk_area", pa.string()), ("level", pa.string()), ("rank", pa.int32()),
                        ("depth", pa.int32()), ("since", pa.date32()), ("until", pa.date32())]
                       + [("r_" + level, pa.string()) for level in LEVELS])
    con.register("risks", pa.table(table, schema=schema))
    inside = " AND ".join(f"(r.r_{level} IS NULL OR r.r_{level} = o.{level})" for level in LEVELS)
    rows = _rows(con, f"""
        WITH t AS (SELECT *, CAST(timezone({_literal(params.timezone)}, coalesce(departed_at, arrived_at)) AS DATE)
                             AS on_day FROM {trips}),
        matched AS (
            SELECT t.person_id, t.from_area, t.arrived_at, t.trip_no, t.mode, t.departed_at,
                   r.risk_area, r.level, r.rank
            FROM t JOIN origins o USING (from_area)
                   JOIN risks r ON {inside} AND r.since <= t.on_day AND (r.until IS NULL OR t.on_day <= r.until)
            QUALIFY row_number() OVER (PARTITION BY t.person_id, t.mode, t.trip_no, t.arrived_at
                                       ORDER BY r.rank DESC, r.depth DESC, r.risk_area) = 1)
        SELECT * EXCLUDE (rank) FROM matched
        QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY arrived_at DESC, rank DESC) = 1
        ORDER BY person_id""")
    return [Arrival(r["person_id"], r["from_area"], r["risk_area"], r["level"], r["arrived_at"], r["trip_no"],
                    r["mode"], r["departed_at"]) for r in rows]

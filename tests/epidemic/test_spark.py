"""The epidemic analyses on the spark engine give what DuckDB gives (and so what the rules
give): contacts on a seeded random world, coverage on a random ledger, arrivals of the
reference world. One Spark session for the run (the ``spark`` fixture of tests/conftest.py)."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from datetime import date, timedelta

import duckdb
import pyarrow as pa

from cityline.epidemic import queries
from cityline.epidemic.areas import resolve
from cityline.epidemic.facts import FactStore
from cityline.epidemic.ledger import SNAPSHOT
from cityline.epidemic.places import arrivals
from cityline.epidemic.rules import Params, coverage
from tests.epidemic import world
from tests.epidemic.test_contacts_sql import (
    FIRST,
    LAST,
    latest,
    random_cases,
    random_scans,
    random_trips,
    store_of,
)
from tests.epidemic.test_contacts_sql import table as fact_table
from tests.epidemic.test_rules import world_risks, world_trips
from tests.epidemic.test_service import random_world

ON_SPARK = {"engine": "spark"}


def test_contacts_on_spark_are_duckdbs(spark, tmp_path):
    rng = random.Random(3)
    params = Params(seat_rows=5)
    scans, trips, cases = random_scans(rng), random_trips(rng), random_cases(rng)
    trips = latest(trips, lambda t: (t.person_id, t.mode, t.trip_no, t.arrived_at))
    store = store_of(tmp_path, scans, trips, params)
    for contacts, last in ((queries.venue_contacts, LAST), (queries.trip_contacts, LAST + timedelta(days=2))):
        expected = contacts(store, cases, FIRST, last, params)
        assert sum(len(found) for found in expected.values())  # some contacts, or the comparison says little
        assert contacts(store, cases, FIRST, last, replace(params, **ON_SPARK)) == expected


def test_coverage_on_spark_is_duckdbs(spark, tmp_path):
    people, tests, _ = random_world()
    params = Params()
    store = FactStore(tmp_path, params.timezone)
    ledger = store.ledger_path()
    fields = {"household_key": "household_id"}  # the snapshot's name for it
    store.write_table(ledger, pa.table({name: pa.array([getattr(p, fields.get(name, name)) for p in people],
                                                       pa.string()) for name in SNAPSHOT}))
    unique = list({(t.person_id, t.sampled_at, t.kind): t for t in tests}.values())
    con = duckdb.connect()
    store.append(con, "tests", fact_table("tests", [asdict(t) for t in unique]))
    since, until = date(2022, 4, 2), date(2022, 4, 3)
    expected = coverage(people, unique, since, until, params)
    for engine_params in (params, replace(params, **ON_SPARK)):
        found = queries.coverage(store, str(ledger), since, until, engine_params)
        assert found.rows == expected.rows and found.untested == expected.untested
    assert any(0 < r.tested < r.present for r in expected.rows)


def test_arrivals_on_spark_are_duckdbs(spark, tmp_path):
    params = Params()
    store = store_of(tmp_path, [], world_trips(), params)
    expected = arrivals(world_trips(), world_risks(), world.DAY, params, resolve)
    assert len(expected) >= 3
    for engine_params in (params, replace(params, **ON_SPARK)):
        assert queries.arrivals(store, world_risks(), world.DAY, engine_params, resolve) == expected

"""The epidemic analyses on the spark engine give what DuckDB gives (and so what the rules
give): contacts on a seeded random world, coverage on a random ledger, arrivals of the
reference world. One Spark session for the run (the ``spark`` fixture of tests/conftest.py)."""

from __future__ import annotations

import random
import shutil
from dataclasses import asdict, replace
from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from cityline.epidemic import queries
from cityline.epidemic.areas import resolve
from cityline.epidemic.facts import FactStore
from cityline.epidemic.ledger import SNAPSHOT
from cityline.epidemic.places import arrivals
from cityline.epidemic.rules import Params, coverage
from cityline.locations import LocationError
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


# -- a copy of the fact store elsewhere -------------------------------------------------------------


def copy_tree(folder, fs, to: str) -> None:
    """A fact store's files copied as an operator's sync would (not its locks)."""
    local = pafs.LocalFileSystem()
    for info in local.get_file_info(pafs.FileSelector(str(folder), recursive=True)):
        if info.type == pafs.FileType.File and not info.base_name.startswith("."):
            pafs.copy_files(info.path, f"{to}/{info.path[len(str(folder)) + 1:]}",
                            source_filesystem=local, destination_filesystem=fs)


def test_contacts_and_coverage_on_spark_read_a_fact_store_at_a_uri(spark, tmp_path):
    """The spark engine reads a copy of the store where it lies (file:// here: Spark's object-store
    connectors are not installed) and finds what DuckDB finds in the folder; the ledger snapshot is
    written there as one file."""
    rng = random.Random(5)
    params = Params(seat_rows=5)
    scans, trips, cases = random_scans(rng), random_trips(rng), random_cases(rng)
    trips = latest(trips, lambda t: (t.person_id, t.mode, t.trip_no, t.arrived_at))
    store = store_of(tmp_path / "here", scans, trips, params)
    shutil.copytree(tmp_path / "here", tmp_path / "copy", ignore=shutil.ignore_patterns(".*"))
    remote = FactStore(f"file://{tmp_path / 'copy'}", params.timezone)
    assert remote.entries("scans") == store.entries("scans") and remote.location.remote
    expected = queries.venue_contacts(store, cases, FIRST, LAST, params)
    assert sum(len(found) for found in expected.values())
    assert queries.venue_contacts(remote, cases, FIRST, LAST, replace(params, **ON_SPARK)) == expected
    # DuckDB reads a store on this machine only, and says so
    with pytest.raises(LocationError, match="spark engine"):
        queries.venue_contacts(remote, cases, FIRST, LAST, params)
    # the ledger snapshot, written into the copy, read by Spark from its URI
    people, tests, _ = random_world()
    fields = {"household_key": "household_id"}
    ledger = pa.table({name: pa.array([getattr(p, fields.get(name, name)) for p in people], pa.string())
                       for name in SNAPSHOT})
    remote.write_table(remote.ledger_path(), ledger)
    store.write_table(store.ledger_path(), ledger)
    since, until = date(2022, 4, 2), date(2022, 4, 3)
    assert (queries.coverage(remote, remote.location.uri(remote.ledger_path()), since, until, replace(params, **ON_SPARK))
            == queries.coverage(store, str(store.ledger_path()), since, until, params))
    with pytest.raises(LocationError, match="read-only"), remote.locked("scans"):
        pass


def test_a_fact_store_copied_to_s3_is_listed_and_its_ledger_written_there(tmp_path, s3):
    fs, uri = s3
    rng = random.Random(6)
    params = Params()
    store = store_of(tmp_path, random_scans(rng), [], params)
    copy_tree(tmp_path, fs, "hotline/epidemic")
    remote = FactStore(uri("s3a", "hotline/epidemic"), params.timezone)
    assert remote.entries("scans") == store.entries("scans") != []
    scanned: list[list[str]] = []
    remote.source("scans", scan=lambda paths, base: scanned.append([*paths, base]) or "rows")
    assert scanned[0][-1] == "s3a://hotline/epidemic/scans"
    assert all(p.startswith("s3a://hotline/epidemic/scans/day=") for p in scanned[0][:-1])
    remote.write_table(remote.ledger_path(), pa.table({"person_id": ["P1"]}).replace_schema_metadata({"k": "v"}))
    assert remote.location.read_schema(remote.ledger_path()).metadata == {b"k": b"v"}

"""Contacts at venues and on trips: the set-based SQL (``queries.venue_contacts``,
``queries.trip_contacts``) gives what the pure rules (``contacts.py``) give, on seeded random
worlds written into a fact store of their own (no database: these are facts only)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from cityline.epidemic import queries
from cityline.epidemic.contacts import trip_contacts, venue_contacts
from cityline.epidemic.facts import FactStore, column_types
from cityline.epidemic.kinds import KINDS
from cityline.epidemic.rules import CaseRecord, Params, Scan, Trip, visits
from tests.epidemic.boundaries import make as boundaries
from tests.epidemic.world import SH

START = datetime(2022, 4, 1, tzinfo=SH)
FIRST, LAST = date(2022, 3, 31), date(2022, 4, 5)  # the scans' dates the cases' windows ask for
VENUE_KINDS = ["restaurant", "workplace", "shop", "other"]


def moment(rng: random.Random, days: int = 4) -> datetime:
    """A local time in the first ``days`` days, to the second (ties to the minute happen too)."""
    seconds = rng.randrange(days * 24 * 60) * 60 + rng.choice([0, 0, 0, rng.randrange(60)])
    return START + timedelta(seconds=seconds)


def random_scans(rng: random.Random) -> list[Scan]:
    scans = []
    for _ in range(rng.randrange(150, 400)):
        person, venue, begin = f"P{rng.randrange(40):02d}", f"V{rng.randrange(6)}", moment(rng)
        left = None
        if rng.random() < 0.3:  # a check-out, sometimes after midnight
            left = begin + timedelta(minutes=rng.choice([5, 14, 15, 16, 40, 90, 300, 900]))
        scans.append(Scan(person, venue, begin, left, rng.choice(VENUE_KINDS), rng.choice([None, "好味餐厅"])))
        if rng.random() < 0.1:  # the same person, the same instant, somewhere else
            scans.append(Scan(person, f"V{rng.randrange(6)}", begin, None, rng.choice(VENUE_KINDS)))
    return scans


def random_trips(rng: random.Random) -> list[Trip]:
    trips = []
    for _ in range(rng.randrange(30, 80)):
        departed = moment(rng) if rng.random() < 0.8 else None
        arrived = (departed or moment(rng)) + timedelta(hours=rng.randrange(1, 30))
        trips.append(Trip(f"P{rng.randrange(40):02d}", rng.choice(["train", "train", "flight"]), arrived, "湖北省武汉市",
                          rng.choice(["G123", "g123", "D5", None]), departed,
                          rng.choice([None, "05", "5", "6", "A", "０５"]),
                          rng.choice([None, "12F", "13A", "14C", "15D", "F", "１２B"])))
    return trips


def random_cases(rng: random.Random) -> list[CaseRecord]:
    cases = []
    for person in rng.sample([f"P{i:02d}" for i in range(40)], 6):
        reported = START + timedelta(days=3, minutes=rng.randrange(2 * 24 * 60))
        onset = reported - timedelta(hours=rng.randrange(0, 60)) if rng.random() < 0.6 else None
        cases.append(CaseRecord(person, reported, onset, None))
    return cases


def table(kind: str, rows: list[dict]) -> pa.Table:
    types = {"TIMESTAMPTZ": pa.timestamp("us", "UTC"), "VARCHAR": pa.string()}
    schema = pa.schema([(name, types[t]) for name, t in column_types(KINDS[kind]).items()])
    return pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)


def store_of(tmp_path, scans: list[Scan], trips: list[Trip], params: Params) -> FactStore:
    """The facts written as imports write them, in two chunks (the second updating some keys)."""
    store = FactStore(tmp_path, params.timezone)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{params.timezone}'")
    scan_rows = [{"person_id": s.person_id, "venue_code": s.venue_code, "scanned_at": s.scanned_at,
                  "left_at": s.left_at, "venue_name": s.venue_name, "venue_kind": s.venue_kind} for s in scans]
    trip_rows = [{"person_id": t.person_id, "mode": t.mode, "arrived_at": t.arrived_at, "from_area": t.from_area,
                  "trip_no": t.trip_no, "departed_at": t.departed_at, "carriage": t.carriage, "seat": t.seat}
                 for t in trips]
    for kind, rows in (("scans", scan_rows), ("trips", trip_rows)):
        half = len(rows) // 2
        for chunk in (rows[:half], rows[half:]):
            unique = list({tuple(r[k] for k in KINDS[kind].key): r for r in chunk}.values())
            store.append(con, kind, table(kind, unique))
    return store


def latest(rows, key):
    """One row per key, the last written (as the store keeps them)."""
    return list({key(r): r for r in rows}.values())


def by_time_visits(found):
    return sorted(found, key=lambda v: (v.start, v.venue_code, v.person_id, v.end))


def by_time_trips(found):
    return sorted(found, key=lambda t: (t.arrived_at, t.person_id, t.mode, t.trip_no or ""))


@pytest.mark.parametrize("seed", range(12))
def test_sql_contacts_are_the_pure_rules_on_random_worlds(tmp_path, seed):
    rng = random.Random(seed)
    params = Params(overlap=timedelta(minutes=rng.choice([15, 15, 1, 30])), seat_rows=rng.choice([2, 2, 0, 5]))
    scans, trips, cases = random_scans(rng), random_trips(rng), random_cases(rng)
    # the store writes the second half after the first: its rows win for keys in both
    scans = latest(scans[:len(scans) // 2] + scans[len(scans) // 2:], lambda s: (s.person_id, s.venue_code,
                                                                                  s.scanned_at))
    trips = latest(trips, lambda t: (t.person_id, t.mode, t.trip_no, t.arrived_at))
    store = store_of(tmp_path, scans, trips, params)
    in_days = [s for s in scans if FIRST <= params.local_date(s.scanned_at) <= LAST]
    all_visits = by_time_visits(visits(in_days, params))
    trip_days = by_time_trips(t for t in trips if FIRST <= params.local_date(t.arrived_at) <= LAST + timedelta(2))
    found_venues = queries.venue_contacts(store, cases, FIRST, LAST, params)
    found_trips = queries.trip_contacts(store, cases, FIRST, LAST + timedelta(days=2), params)
    total = 0
    for number, case in enumerate(cases):
        assert found_venues.get(number, []) == venue_contacts(case, all_visits, params), case
        assert found_trips.get(number, []) == trip_contacts(case, trip_days, params), case
        total += len(found_venues.get(number, [])) + len(found_trips.get(number, []))
    assert total  # every world has some contacts (else the comparison says little)


def test_sql_contacts_are_the_pure_rules_on_the_boundary_fixture(tmp_path):
    params = Params()
    scans = [Scan(p, venue, datetime.fromisoformat(at), datetime.fromisoformat(left) if left else None, kind, name)
             for p, venue, at, left, name, kind in boundaries.SCANS[1]]
    trips = [Trip(p, mode, datetime.fromisoformat(arrived), area, no, datetime.fromisoformat(departed),
                  carriage or None, seat or None)
             for p, mode, no, departed, arrived, area, carriage, seat in boundaries.TRIPS[1]]
    ((person, reported, _, sampled, _),) = boundaries.CASES[1]
    case = CaseRecord(person, datetime.fromisoformat(reported), None, datetime.fromisoformat(sampled))
    store = store_of(tmp_path, scans, trips, params)
    since, until = date(2022, 5, 6), date(2022, 5, 10)  # as tracing asks: the window's days, one before
    found = queries.venue_contacts(store, [case], since, until, params)[0]
    assert found == venue_contacts(case, by_time_visits(visits(scans, params)), params)
    assert [(c.person, c.relation, c.overlap_minutes) for c in found] == [
        ("B10", "meal", 15), ("B13", "workplace", 15), ("B15", "venue", 20), ("B16", "venue", 50), ("B18", "meal", 15)]
    found = queries.trip_contacts(store, [case], since, until + timedelta(days=2), params)[0]
    assert found == trip_contacts(case, by_time_trips(trips), params)
    assert [c.person for c in found] == ["B22"]

"""The commander's day: the pure sums by district and street, and the API over the small
epidemic of world.py, where every figure must equal what the lists themselves answer."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic.command import UNPLACED, by_district, by_street, day_view
from cityline.epidemic.places import ZoneRow
from cityline.epidemic.rules import CoverageRow
from cityline.epidemic.warnings import run_warnings
from tests.epidemic.test_api import app_world  # noqa: F401  (fixture)
from tests.epidemic.world import AT, DAY, EXPECTED_ARRIVALS, JA

A, B = "静安区", "徐汇区"


def test_districts_sum_zones_cases_arrivals_and_coverage():
    zones = [ZoneRow("sealed", A, "s1", "c1", "1号楼", 10), ZoneRow("controlled", A, "s1", "c1", None, 50),
             ZoneRow("precaution", A, "s1", None, None, 300), ZoneRow("sealed", B, "s9", "c9", "2号楼", 7)]
    cases = [(A, True), (A, False), (B, False), (UNPLACED, True)]
    coverage = [CoverageRow(A, "s1", "c1", "1号楼", 10, 9), CoverageRow(A, "s2", "c2", None, 30, 30),
                CoverageRow(B, "s9", "c9", "2号楼", 0, 0)]
    rows = {r["district"]: r for r in by_district(zones, cases, [A, UNPLACED, UNPLACED], coverage)}
    assert (rows[A]["cases"], rows[A]["new_cases"], rows[A]["arrivals"]) == (2, 1, 1)
    assert (rows[A]["sealed_zones"], rows[A]["sealed_people"], rows[A]["controlled_people"]) == (1, 10, 50)
    assert rows[A]["precaution_zones"] == 1 and rows[A]["coverage"] == 39 / 40
    assert rows[B]["coverage"] is None  # nobody present: no rate, not 0 %
    assert rows[UNPLACED]["cases"] == 1 and rows[UNPLACED]["arrivals"] == 2
    assert [r["district"] for r in by_district(zones, cases, [], coverage)][-1] == UNPLACED  # always last


def test_streets_lowest_coverage_first():
    coverage = [CoverageRow(A, "s1", "c1", "1号楼", 10, 9), CoverageRow(A, "s1", "c2", None, 10, 1),
                CoverageRow(A, "s2", "c3", None, 20, 20), CoverageRow(B, "s9", "c9", None, 0, 0)]
    streets = by_street(coverage)
    assert [(s["street"], s["tested"], s["present"]) for s in streets] == [("s1", 10, 20), ("s2", 20, 20)]
    assert len(by_street(coverage, limit=1)) == 1


def test_the_day_agrees_with_the_lists(app_world):  # noqa: F811
    city, roles = app_world
    day = DAY.isoformat()
    view = city.get(f"/api/epidemic/command?date={day}").json()
    zones = city.get(f"/api/epidemic/zones?date={day}").json()
    arrivals = city.get(f"/api/epidemic/arrivals?date={day}").json()
    levels = Counter(z["level"] for z in zones)
    assert {k: view["totals"][f"{k}_zones"] for k in levels} == dict(levels)
    assert view["totals"]["arrivals"] == len(arrivals) == sum(1 for v in EXPECTED_ARRIVALS.values() if v)
    # Cases of D−13..D: R10, R11, R14 in the ledger (静安区) and R20X, who is not.
    districts = {r["district"]: r for r in view["districts"]}
    assert districts[JA]["cases"] == 3 and districts[UNPLACED]["cases"] == 1
    assert view["totals"]["cases"] == 4 and view["totals"]["new_cases"] == 0
    assert sum(r["sealed_zones"] for r in view["districts"]) == levels["sealed"]
    coverage = city.get(f"/api/epidemic/coverage?since={view['coverage_since']}&until={day}").json()
    assert districts[JA]["present"] == sum(c["present"] for c in coverage)
    assert roles["operator"].get(f"/api/epidemic/command?date={day}").status_code == 403


def test_the_hour_chain_of_the_tracing_orders_judged_at_the_days_end(world, vault):
    sessions, env = world
    with transaction(sessions) as session:
        run_warnings(session, env, DAY, actor="commander", now=AT, vault=vault)
    with read_transaction(sessions) as session:
        chain = {m["milestone"]: m for m in day_view(session, env, DAY, utcnow())["milestones"]}
        before = day_view(session, env, DAY - timedelta(days=20), utcnow())["milestones"]
    # Four tracing orders at noon: R10 and R11 dispatched at once (started on time), R14 and R20X
    # waiting for a dispatcher; by midnight nobody has recorded reaching anyone.
    assert (chain["started"]["on_time"], chain["started"]["late"]) == (2, 2)
    assert (chain["reached"]["on_time"], chain["reached"]["late"], chain["reached"]["pending"]) == (0, 4, 0)
    assert all(m["on_time"] + m["late"] + m["pending"] == 0 for m in before)  # received after that day

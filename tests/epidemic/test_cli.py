"""``cityline epidemic`` as a user runs it: real processes on an embedded database, and the
exact §7 lines with ``--json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.epidemic.conftest import ORDER
from tests.epidemic.world import write_world


@pytest.fixture(scope="module")
def cityline(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("epidemic-cli")
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("CITYLINE_DATABASE_URL", None)

    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cityline", "epidemic", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == code, done.stdout + done.stderr
        return done

    return run


def lines(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def loaded(cityline, tmp_path_factory):
    """One database for the module: the tests only add what the others do not look at."""
    files = write_world(tmp_path_factory.mktemp("world"))
    for kind in ORDER:
        report = lines(cityline("import", kind, str(files[kind]), "--json"))[0]
        assert report["bad"] == 0 and report["added"] == report["read"]
    return cityline, files


def test_import_twice_bad_rows_and_exit_codes(loaded, tmp_path):
    cityline, files = loaded
    again = cityline("import", "residents", str(files["residents"]))
    assert "added 0, updated 0, unchanged 22" in again.stdout
    (tmp_path / "bad.csv").write_text("person_id,sampled_at,result\nP1,2022-04-10 09:00,阴性\nP2,soon,阴性\n",
                                      encoding="utf-8")
    bad = cityline("import", "tests", str(tmp_path / "bad.csv"), code=1)
    assert "row 3: sampled_at 'soon' is not an ISO 8601 date-time" in bad.stdout and "added 1" in bad.stdout
    assert "unknown kind" in cityline("import", "people", str(tmp_path / "bad.csv"), code=2).stderr
    assert "no such file" in cityline("import", "tests", str(tmp_path / "none.csv"), code=2).stdout


def test_coverage_zones_arrivals_and_contacts_lines(loaded):
    cityline, _files = loaded
    coverage = lines(cityline("coverage", "--since", "2022-04-09", "--until", "2022-04-10", "--json"))
    assert {"district": "静安区", "street": "曹家渡街道", "compound": "阳光小区", "building": "2号楼", "present": 2,
            "tested": 2, "coverage": 1.0} in coverage
    assert {"district": "静安区", "street": "江宁路街道", "compound": "星星小区", "building": None, "present": 1,
            "tested": 0, "coverage": 0.0} in coverage
    untested = lines(cityline("coverage", "--since", "2022-04-09", "--until", "2022-04-10", "--untested", "--json"))
    assert untested[2] == {"person": "R01", "district": "静安区", "street": "曹家渡街道", "compound": "阳光小区",
                           "building": "1号楼", "grid": "G-SUN"}
    zones = lines(cityline("zones", "--date", "2022-04-10", "--json"))
    assert [(z["level"], z["compound"], z["building"], z["population"]) for z in zones] == [
        ("sealed", "月亮小区", "1号楼", 2), ("sealed", "月亮小区", "2号楼", 1), ("sealed", "星星小区", None, 1),
        ("controlled", "月亮小区", None, 1), ("precaution", None, None, 6), ("precaution", None, None, 8)]
    assert set(zones[0]) >= {"level", "district", "street", "compound", "building", "population"}
    arrivals = {a["person"]: a for a in lines(cityline("arrivals", "--date", "2022-04-10", "--json"))}
    assert sorted(arrivals) == ["A02", "A03", "A05", "A07", "A08", "A10"]
    assert arrivals["A05"] | {"mode": None, "departed_at": None} == {
        "person": "A05", "from_area": "吉林省长春市南关区", "risk_area": "长春市南关区", "level": "medium",
        "arrived_at": "2022-04-08T20:00:00+08:00", "trip_no": "K1", "mode": None, "departed_at": None}
    contacts = lines(cityline("contacts", "--case", "R10", "--json"))
    assert contacts[1] == {"case": "R10", "person": "R16", "tier": 1, "relation": "meal", "via": None,
                           "overlap_minutes": 42, "evidence": contacts[1]["evidence"]}
    table = cityline("zones", "--date", "2022-04-10").stdout
    assert "sealed" in table and "月亮小区" in table
    wrong = cityline("arrivals", "--date", "2022-04-10", "--engine", "oracle", code=2).stderr
    assert "duckdb or spark, not 'oracle'" in wrong
    # a copy of the fact store elsewhere is the spark engine's to read; a URI nothing reads is named
    wrong = cityline("contacts", "--facts", "file:///srv/epidemic", code=2).stderr
    assert "--facts" in wrong and "--engine spark" in wrong
    wrong = cityline("contacts", "--facts", "nosuch://bucket/epidemic", "--engine", "spark", code=2).stderr
    assert "nosuch://bucket/epidemic" in wrong


def test_passes_from_the_command_line(loaded):
    cityline, _files = loaded
    issued = lines(cityline("pass", "issue", "R01", "R02", "R03", "R08", "--at", "2022-04-10T12:00", "--json"))
    assert [(p["person"], p["issued"], p["reason"]) for p in issued] == [
        ("R01", True, None), ("R02", False, "test_too_old"), ("R03", False, "test_too_old"), ("R08", True, None)]
    assert issued[0]["valid_until"] == "2022-04-10T12:01:00+08:00" and issued[1]["code"] is None

    def verify(code, moment):
        return lines(cityline("pass", "verify", code, "--at", moment, "--json"))[0]

    r01, r08 = issued[0]["code"], issued[3]["code"]
    assert verify(r01, "2022-04-10T12:00:59") == {"status": "valid", "person": "R01",
                                                  "valid_until": "2022-04-10T12:01:00+08:00", "reason": None}
    assert verify(r01, "2022-04-10T12:01")["status"] == "expired"
    assert verify(r08, "2022-04-10T18:00")["status"] == "revoked"
    changed = r08[:10] + ("Q" if r08[10] != "Q" else "R") + r08[11:]
    assert verify(changed, "2022-04-10T13:00") == {"status": "invalid", "person": None, "valid_until": None,
                                                   "reason": None}
    building = lines(cityline("pass", "issue", "--building", "静安区/曹家渡街道/阳光小区/2号楼", "--at",
                              "2022-04-10T12:00", "--json"))
    assert [p["person"] for p in building] == ["R04", "R05", "R06"]
    shown = lines(cityline("resident", "R01"))[0]
    assert shown["phone"] == "138****0101" and "13800000101" not in json.dumps(shown)

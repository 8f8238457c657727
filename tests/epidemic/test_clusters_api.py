"""Cases, clusters and places of exposure through HTTP (SQLite and PostgreSQL) and the command
line, over the world of ``world.py`` with a few more cases (``add_cluster_cases``):

- R16 ate with case R10 (42 minutes at 好味餐厅) and is a case; R22 lives with R16 and is a
  case: the cluster R10 – R16 – R22 (id R10, the earliest). R09 (R10's household) also ate
  there, beside both: a tier-1 contact found at the place of exposure.
- R17 sat two rows from case R11 on train G123 and is a case: the cluster R11 – R17.
- R13, R14, R20X, R21 stay alone: no cluster.

Who sees what: the units and grids of ``test_api.py``; a grid worker of SH-JA-MOON (G-MOON:
月亮小区, R09–R12) and one of SH-JA-CJD (G-SUN: 阳光小区, nobody of the clusters).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cityline.api import create_app
from cityline.epidemic.importer import import_file
from tests.conftest import make_token
from tests.epidemic.test_api import app_world  # noqa: F401  (a fixture)
from tests.epidemic.world import DAY, RESIDENTS, SH, at, write_csv, write_jsonl

NAMES = {r[0]: r[1] for r in RESIDENTS}


def add_cluster_cases(sessions, env, folder) -> None:
    """The cases and the scan of the module's story, imported like any file."""
    folder.mkdir(exist_ok=True)
    cases = write_csv(folder / "more-cases.csv", ["person_id", "reported_at", "onset_at", "sampled_at", "kind"], [
        ("R16", at(-48), "", at(-50), "confirmed"), ("R22", at(-24), "", at(-26), "asymptomatic"),
        ("R17", at(-12), "", at(-14), "confirmed")])
    scans = write_jsonl(folder / "more-scans.jsonl", ["person_id", "venue_code", "scanned_at", "left_at",
                                                      "venue_name", "venue_kind"], [
        ("R09", "V-REST", datetime(2022, 4, 6, 12, 5, tzinfo=SH), datetime(2022, 4, 6, 12, 35, tzinfo=SH),
         "好味餐厅", "restaurant")])
    for kind, path in (("cases", cases), ("scans", scans)):
        assert not import_file(sessions, env, kind, path, actor="test").bad


@pytest.fixture
def outbreak_world(app_world, sessions, vault, env, tmp_path):  # noqa: F811
    city, clients = app_world
    add_cluster_cases(sessions, env, tmp_path / "more")

    def grid_worker(unit: str) -> TestClient:
        app = create_app(sessions, vault)
        app.state.epidemic_env = env
        token = make_token(sessions, ["grid_worker"], unit=unit, name=f"grid-{unit}")
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    return city, clients, grid_worker("SH-JA-MOON"), grid_worker("SH-JA-CJD")


def test_clusters_places_and_cases_for_the_city(outbreak_world):
    city, _clients, _moon, _sun = outbreak_world
    day = DAY.isoformat()
    found = city.get(f"/api/epidemic/clusters?date={day}").json()
    assert [(c["id"], c["cases"], c["size"], c["recent"], c["previous"], c["growth"]) for c in found] == [
        ("R10", ["R10", "R16", "R22"], 3, 3, 0, 3), ("R11", ["R11", "R17"], 2, 2, 0, 2)]
    chain = found[0]
    assert {(x["case"], x["person"], x["relation"]) for x in chain["links"]} == {
        ("R10", "R16", "meal"), ("R16", "R10", "meal"), ("R16", "R22", "household"), ("R22", "R16", "household")}
    assert chain["places"] == ["V-REST"] and chain["first_reported"] == at(-72).isoformat()
    assert city.get("/api/epidemic/clusters").json() == found  # the default day: the latest report (DAY)

    [place] = city.get(f"/api/epidemic/exposure-places?date={day}").json()
    assert (place["venue_code"], place["venue_name"], place["cases"], place["clusters"], place["contacts"]) == (
        "V-REST", "好味餐厅", ["R10", "R16"], ["R10"], 1)  # R09, beside both; not R17 (10 minutes)
    assert (place["first"], place["last"]) == ("2022-04-06T12:00:00+08:00", "2022-04-06T12:42:00+08:00")

    cases = {c["person"]: c for c in city.get(f"/api/epidemic/cases?date={day}").json()}
    assert {p: c["cluster"] for p, c in cases.items()} == {
        "R10": "R10", "R16": "R10", "R22": "R10", "R11": "R11", "R17": "R11", "R13": None, "R14": None,
        "R20X": None, "R21": None}
    assert list(cases)[0] == "R17"  # the latest report first
    assert (cases["R10"]["name"], cases["R10"]["compound"], cases["R20X"]["name"]) == ("郑*十", "月亮小区", None)
    assert NAMES["R10"] not in json.dumps(cases, ensure_ascii=False)

    graph = city.get(f"/api/epidemic/clusters/R10?date={day}").json()["graph"]
    roles = {n["id"]: n["role"] for n in graph["nodes"]}
    assert roles == {"R10": "case", "R16": "case", "R22": "case", "R09": "tier1"}
    assert {n["label"] for n in graph["nodes"]} == {"郑*十", "沈*六", "沈*二", "吴*九"}
    assert {(e["source"], e["target"], e["relation"], e["tier"]) for e in graph["edges"]} >= {
        ("R10", "R16", "meal", 0), ("R16", "R22", "household", 0), ("R10", "R09", "household", 1)}
    assert city.get(f"/api/epidemic/clusters/R13?date={day}").status_code == 404  # a lone case


def test_a_case_with_its_window_contacts_and_evidence(outbreak_world):
    city, _clients, _moon, _sun = outbreak_world
    case = city.get("/api/epidemic/cases/R10").json()
    assert case["window"] == {"start": "2022-04-04T12:00:00+08:00", "end": "2022-04-07T12:00:00+08:00"}  # onset − 48 h
    assert (case["cluster"], case["tier1"], case["tier2"], case["hidden"]) == ("R10", 2, 1, 0)  # R09, R16; R22
    contacts = {(c["person"], c["tier"], c["relation"]): c for c in case["contacts"]}
    assert set(contacts) == {("R09", 1, "household"), ("R09", 1, "meal"), ("R16", 1, "meal"), ("R22", 2, "household")}
    meal = contacts[("R16", 1, "meal")]
    assert (meal["overlap_minutes"], meal["is_case"], meal["name"]) == (42, True, "沈*六")
    assert meal["evidence"] == "V-REST 好味餐厅 2022-04-06 12:00 (42 min together)"
    assert contacts[("R22", 2, "household")]["via"] == "R16"
    # A case outside the span of the day asked for is judged on its own report's day.
    assert city.get("/api/epidemic/cases/R10?date=2022-04-01").json()["day"] == "2022-04-07"
    assert city.get("/api/epidemic/cases/R01").status_code == 404  # not a case


def test_reach_a_grid_worker_sees_their_grid_only(outbreak_world):
    _city, clients, moon, sun = outbreak_world
    assert sun.get("/api/epidemic/cases/R16").status_code == 404  # another street (江宁路街道)
    assert sun.get("/api/epidemic/cases/R10").status_code == 404  # another grid of the same street
    assert sun.get("/api/epidemic/clusters").json() == [] and sun.get("/api/epidemic/exposure-places").json() == []
    assert sun.get("/api/epidemic/clusters/R10").status_code == 404
    assert [c["person"] for c in sun.get("/api/epidemic/cases").json()] == []

    assert [c["person"] for c in moon.get("/api/epidemic/cases").json()] == ["R11", "R10"]
    case = moon.get("/api/epidemic/cases/R10").json()
    assert {c["person"] for c in case["contacts"]} == {"R09"} and case["hidden"] == 2  # R16, R22 counted only
    [chain, pair] = moon.get("/api/epidemic/clusters").json()
    assert (chain["size"], chain["cases"], chain["links"]) == (3, ["R10"], [])
    assert pair["cases"] == ["R11"]
    nodes = moon.get("/api/epidemic/clusters/R10").json()["graph"]["nodes"]
    assert sorted((n["id"], n["label"]) for n in nodes) == [("R09", "吴*九"), ("R10", "郑*十"), ("~1", ""), ("~2", "")]
    assert clients["analyst"].get("/api/epidemic/clusters").status_code == 403  # figures only: no people


@pytest.mark.parametrize("sessions", ["sqlite"], indirect=True)
def test_the_command_line_prints_a_line_per_cluster(outbreak_world, sessions, env, monkeypatch):
    from cityline import runtime
    from cityline.epidemic import cli as epidemic_cli

    monkeypatch.setattr(runtime, "sessions", lambda: sessions)
    monkeypatch.setattr(epidemic_cli, "_env", lambda: env)

    def invoke(*args: str) -> list[dict]:
        result = CliRunner().invoke(epidemic_cli.app, list(args))
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines()]

    city = outbreak_world[0]
    assert invoke("clusters", "--date", "2022-04-10", "--json") == city.get("/api/epidemic/clusters").json()
    assert invoke("exposure-places", "--json") == city.get("/api/epidemic/exposure-places").json()
    assert invoke("clusters", "--date", "2022-04-01", "--json") == []  # before R16, R22, R17 were cases
    table = CliRunner().invoke(epidemic_cli.app, ["clusters"], env={"COLUMNS": "200"})
    assert "R10" in table.output and "R11" in table.output

"""Epidemic HTTP: uploads, figures for many roles, people only for those whose reach holds them.

Units: the city centre SH; 静安区 SH-JA; 曹家渡街道 SH-JA-CJD, which looks after grid G-SUN
(阳光小区); SH-JA-MOON, which looks after grid G-MOON (月亮小区, the same street). Each role
gets a token at SH-JA-CJD; a city-wide commander loads the world.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cityline.accounts.rules import PERMISSIONS, ROLES
from cityline.accounts.units import upsert_unit
from cityline.api import create_app
from cityline.db import transaction
from cityline.geo.service import import_grids
from tests.conftest import make_token
from tests.epidemic.conftest import ORDER
from tests.epidemic.world import AT, CJD, DAY, JA

UNITS = [
    {"code": "SH", "name": "市热线", "kind": "centre"},
    {"code": "SH-JA", "name": "静安区中心", "kind": "centre", "parent_code": "SH", "district": JA},
    {"code": "SH-JA-CJD", "name": "曹家渡街道", "kind": "street_office", "parent_code": "SH-JA", "district": JA,
     "street": CJD},
    {"code": "SH-JA-MOON", "name": "月亮居委", "kind": "street_office", "parent_code": "SH-JA", "district": JA,
     "street": CJD},
]
GRIDS = [{"code": "G-SUN", "name": "阳光网格", "district": JA, "street": CJD, "unit_code": "SH-JA-CJD",
          "compounds": "阳光小区"},
         {"code": "G-MOON", "name": "月亮网格", "district": JA, "street": CJD, "unit_code": "SH-JA-MOON",
          "compounds": "月亮小区"}]


@pytest.fixture
def app_world(sessions, vault, env, world_files):
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
        assert not import_grids(session, enumerate(GRIDS, start=2)).bad

    def client(roles, unit, name):
        app = create_app(sessions, vault)
        app.state.epidemic_env = env
        return TestClient(app, headers={"Authorization": f"Bearer {make_token(sessions, roles, unit=unit, name=name)}"})

    city = client(["commander"], "SH", "city-commander")
    for kind in ORDER:
        path = world_files[kind]
        response = city.post(f"/api/epidemic/{kind}", files={"file": (path.name, path.read_bytes())})
        assert response.status_code == 200 and response.json()["bad"] == 0, response.text
    roles = {role: client([role], "SH-JA-CJD", role) for role in ROLES}
    return city, roles


def routes():
    day, since = DAY.isoformat(), "2022-04-09"
    return [
        ("GET", f"/api/epidemic/coverage?since={since}&until={day}", None, "epidemic:read"),
        ("GET", f"/api/epidemic/zones?date={day}", None, "epidemic:read"),
        ("GET", f"/api/epidemic/command?date={day}", None, "epidemic:read"),
        ("GET", f"/api/epidemic/coverage/untested?since={since}&until={day}", None, "epidemic:persons"),
        ("GET", f"/api/epidemic/arrivals?date={day}", None, "epidemic:persons"),
        ("GET", "/api/epidemic/contacts?case=R10", None, "epidemic:persons"),
        ("GET", "/api/epidemic/cases", None, "epidemic:persons"),
        ("GET", "/api/epidemic/clusters", None, "epidemic:persons"),
        ("GET", "/api/epidemic/exposure-places", None, "epidemic:persons"),
        ("GET", "/api/epidemic/residents/R01", None, "epidemic:persons"),
        ("POST", "/api/epidemic/residents/R01/reveal", {"reason": "核实身份"}, "epidemic:reveal"),
        ("POST", "/api/epidemic/passes/issue", {"persons": ["R01"], "at": AT.isoformat()}, "epidemic:passes"),
        ("POST", "/api/epidemic/passes/verify", {"code": "AAAA"}, "epidemic:verify"),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_epidemic_route_by_role(app_world, role):
    _city, clients = app_world
    for method, path, body, permission in routes():
        response = clients[role].request(method, path, json=body) if body else clients[role].request(method, path)
        if permission not in PERMISSIONS[role]:
            assert response.status_code == 403, (role, path, response.text)
        else:
            assert response.status_code == 200, (role, path, response.text)
        assert "13800000101" not in response.text or path.endswith("/reveal")
    upload = clients[role].post("/api/epidemic/tests", files={"file": ("t.csv", b"person_id,sampled_at,result\n")})
    assert upload.status_code == (200 if "epidemic:import" in PERMISSIONS[role] else 403)


def test_figures_are_city_wide_and_people_follow_the_reach(app_world):
    city, clients = app_world
    since, until = "2022-04-09", DAY.isoformat()
    everyone = {r["person"] for r in city.get(f"/api/epidemic/coverage/untested?since={since}&until={until}").json()}
    grid = {r["person"] for r in clients["grid_worker"].get(
        f"/api/epidemic/coverage/untested?since={since}&until={until}").json()}
    street = {r["person"] for r in clients["commander"].get(
        f"/api/epidemic/coverage/untested?since={since}&until={until}").json()}
    assert grid == {"R01", "R02", "R03"}  # G-SUN only, not 月亮小区 in the same street
    assert street == grid | {"R10", "R11"}  # the street's commander: the whole street
    assert everyone > street and "R19" in everyone
    assert len(clients["grid_worker"].get(f"/api/epidemic/coverage?since={since}&until={until}").json()) == \
        len(city.get(f"/api/epidemic/coverage?since={since}&until={until}").json())
    assert clients["grid_worker"].get("/api/epidemic/residents/R09").status_code == 404
    assert clients["grid_worker"].get("/api/epidemic/residents/NOBODY").status_code == 404
    assert {a["person"] for a in city.get(f"/api/epidemic/arrivals?date={until}").json()} >= {"A02", "A08"}
    assert clients["grid_worker"].get(f"/api/epidemic/arrivals?date={until}").json() == []  # visitors: city only


def test_resident_is_masked_and_the_reveal_audited(app_world):
    city, clients = app_world
    shown = clients["grid_worker"].get("/api/epidemic/residents/R01").json()
    assert (shown["name"], shown["phone"], shown["id_number"]) == ("张*一", "138****0101", "310101********1234")
    revealed = clients["grid_worker"].post("/api/epidemic/residents/R01/reveal", json={"reason": "上门核实"}).json()
    assert (revealed["name"], revealed["phone"]) == ("张小一", "13800000101")
    admin = clients["admin"]
    entries = admin.get("/api/audit", params={"action": "reveal_resident"}).json()
    assert [(e["actor"], e["target"], e["reason"]) for e in entries] == [("token:grid_worker", "person:R01", "上门核实")]
    assert clients["analyst"].post("/api/epidemic/residents/R01/reveal", json={"reason": "看看"}).status_code == 403


def test_passes_through_http(app_world):
    city, clients = app_world
    issued = city.post("/api/epidemic/passes/issue", json={"persons": ["R08", "R02"], "at": AT.isoformat()}).json()
    assert [(p["person"], p["issued"], p["reason"]) for p in issued] == [("R08", True, None), ("R02", False, "test_too_old")]
    code = issued[0]["code"]
    gate = clients["unit_handler"]
    assert gate.post("/api/epidemic/passes/verify", json={"code": code, "at": "2022-04-10T13:00:00"}).json() == {
        "status": "valid", "person": "R08", "valid_until": "2022-04-11T16:00:00+08:00", "reason": None}
    assert gate.post("/api/epidemic/passes/verify", json={"code": code, "at": "2022-04-10T18:00:00+08:00"}).json()[
        "status"] == "revoked"
    assert gate.post("/api/epidemic/passes/verify", json={"code": code[:-1] + ("A" if code[-1] != "A" else "B")}).json()[
        "status"] == "invalid"
    building = clients["grid_worker"].post("/api/epidemic/passes/issue", json={
        "district": JA, "street": CJD, "compound": "阳光小区", "building": "2号楼", "persons": ["R09"],
        "at": AT.isoformat()}).json()
    assert {p["person"]: p["reason"] for p in building} == {"R04": None, "R05": "no_result", "R06": None,
                                                          "R09": "outside_reach"}


def test_issuing_passes_twice_with_one_idempotency_key_issues_them_once(app_world, sessions):
    from sqlalchemy import func, select

    from cityline.epidemic.models import Pass

    city, clients = app_world
    body = {"district": JA, "street": CJD, "compound": "阳光小区", "building": "2号楼", "persons": ["R09", "R08"],
            "at": AT.isoformat()}
    key = {"Idempotency-Key": "passes-building-2-0410"}
    worker = clients["grid_worker"]
    first = worker.post("/api/epidemic/passes/issue", json=body, headers=key)
    again = worker.post("/api/epidemic/passes/issue", json=body, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()  # the same codes, refusals and reasons
    assert {p["person"]: p["reason"] for p in first.json()} == {
        "R04": None, "R05": "no_result", "R06": None, "R08": None, "R09": "outside_reach"}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Pass)) == 3  # R04, R06, R08: once each
    code = first.json()[0]["code"]
    assert city.post("/api/epidemic/passes/verify", json={"code": code, "at": AT.isoformat()}).json()["status"] == "valid"
    changed = worker.post("/api/epidemic/passes/issue", json={**body, "persons": ["R08"]}, headers=key)
    assert changed.status_code == 409 and [e["field"] for e in changed.json()["errors"]] == ["persons"]
    # Without a key, or with another, a request is a new one.
    assert worker.post("/api/epidemic/passes/issue", json=body).status_code == 200
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Pass)) == 6


def test_uploads_refuse_unknown_kinds_and_files(app_world):
    city, _clients = app_world
    assert city.post("/api/epidemic/people", files={"file": ("x.csv", b"a\n")}).status_code == 404
    bad = city.post("/api/epidemic/tests", files={"file": ("x.txt", b"a\n")})
    assert bad.status_code == 422 and "x.txt" in bad.text
    missing = city.post("/api/epidemic/tests", files={"file": ("t.csv", "person_id,result\nP1,阴性\n".encode())})
    assert missing.status_code == 422 and "sampled_at" in missing.text

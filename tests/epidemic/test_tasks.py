"""Untested residents become work orders (one per building), on SQLite and PostgreSQL, through
the service, HTTP and the command line.

The world (``world.py``) for 2022-04-09..10 leaves untested: 阳光小区 1号楼 R01–R03 (grid G-SUN),
月亮小区 1号楼 R10 and 2号楼 R11 (grid G-MOON), 星星小区 R14 (no building), 花园小区 5号楼 R13,
6号楼 R22, 7号楼 R17–R19 (no grid). Units: G-SUN's unit SH-JA-SUN; G-MOON names a unit that
does not exist (→ the street office SH-JA-CJD); 江宁路街道 has no office (→ a dispatcher).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityline.api import create_app
from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic import ledger, service
from cityline.epidemic.places import ZoneRow
from cityline.epidemic.tasks import untested_tasks
from cityline.orders.models import Order
from cityline.orders.service import events_of, get_order
from cityline.timeutil import to_local
from tests.conftest import make_token
from tests.epidemic.world import AT, CJD, DAY, JA, MOON, SUN

SINCE, UNTIL = date(2022, 4, 9), DAY
def run(sessions, env, vault, now=AT):
    with transaction(sessions) as session:
        return untested_tasks(session, env, SINCE, UNTIL, actor="commander", now=now, vault=vault).as_dict()


def by_place(report):
    return {(o["compound"], o["building"]): o for o in report["orders"]}


def test_one_order_per_building_dispatched_with_deadlines_and_masked_people(world, vault):
    sessions, env = world
    report = run(sessions, env, vault)
    found = by_place(report)
    assert (report["created"], report["existed"], report["undispatched"]) == (7, 0, 4)
    assert sorted(found) == [("星星小区", None), ("月亮小区", "1号楼"), ("月亮小区", "2号楼"), ("花园小区", "5号楼"),
                             ("花园小区", "6号楼"), ("花园小区", "7号楼"), ("阳光小区", "1号楼")]
    assert {k: (o["untested"], o["unit"]) for k, o in found.items()} == {
        ("阳光小区", "1号楼"): (3, "SH-JA-SUN"), ("月亮小区", "1号楼"): (1, "SH-JA-CJD"),
        ("月亮小区", "2号楼"): (1, "SH-JA-CJD"), ("星星小区", None): (1, None), ("花园小区", "5号楼"): (1, None),
        ("花园小区", "6号楼"): (1, None), ("花园小区", "7号楼"): (3, None)}
    with read_transaction(sessions) as session:
        sun = get_order(session, found[("阳光小区", "1号楼")]["number"])
        assert (sun.channel, sun.category, sun.urgency, sun.status, sun.sla_policy) == (
            "warning", "EPI.TEST", "sub_urgent", "dispatched", "epidemic_untested")
        assert (sun.district, sun.street, sun.unit_id is not None) == (JA, CJD, True)
        assert sun.respond_by == AT + timedelta(hours=2) and sun.resolve_by == AT + timedelta(hours=12)
        assert sun.text.startswith(f"核酸检测排查：{JA}{CJD}{SUN}1号楼在住居民3人2022-04-09至2022-04-10未做核酸检测")
        assert "张*一 1单元101 138****0101；张*二 1单元101 138****0102；王*三 1单元102" in sun.text
        assert "13800000101" not in sun.text and "张小一" not in sun.text
        assert [e.action for e in events_of(session, sun)] == ["received", "dispatch"]
        garden = get_order(session, found[("花园小区", "7号楼")]["number"])
        assert (garden.status, garden.unit_id, garden.sla_policy) == ("received", None, "epidemic_untested")


def test_running_the_range_again_adds_nothing_even_with_a_new_untested_resident(world, vault):
    sessions, env = world
    first = run(sessions, env, vault)
    with transaction(sessions) as session:  # a new resident of 阳光小区 1号楼, untested
        ledger.upsert_residents(session, [{"person_id": "R30", "name": "新三十", "district": JA, "street": CJD,
                                           "compound": SUN, "building": "1号楼", "room": "103", "grid": "G-SUN",
                                           "status": "present"}], ledger.Protector(vault), AT)
    again = run(sessions, env, vault, now=AT + timedelta(hours=1))
    assert (again["created"], again["existed"]) == (0, 7)
    assert {o["number"] for o in again["orders"]} == {o["number"] for o in first["orders"]}
    assert by_place(again)[("阳光小区", "1号楼")]["untested"] == 4  # counted now, the order left as it was
    assert by_place(again)[("阳光小区", "1号楼")]["unit"] == "SH-JA-SUN"
    with read_transaction(sessions) as session:
        assert session.scalar(select(func.count(Order.id))) == 7
        sun = get_order(session, by_place(first)[("阳光小区", "1号楼")]["number"])
        assert "3人" in sun.text and "新*十" not in sun.text
    with transaction(sessions) as session:  # another range is another set of orders
        day = untested_tasks(session, env, UNTIL, UNTIL, actor="t", now=AT, vault=vault).as_dict()
    assert day["created"] == len(day["orders"]) > 7 and not {o["number"] for o in day["orders"]} & {
        o["number"] for o in first["orders"]}


def test_an_order_for_a_sealed_building_is_marked(world, vault):
    from cityline.epidemic import zonemarks
    from cityline.intake.service import use_zone_lookup

    sessions, env = world
    use_zone_lookup(zonemarks.zone_of)
    with transaction(sessions) as session:
        service.save_zones(session, DAY, [ZoneRow("sealed", JA, CJD, MOON, "1号楼", 1)], AT)
    found = by_place(run(sessions, env, vault))
    with read_transaction(sessions) as session:
        moon = get_order(session, found[("月亮小区", "1号楼")]["number"])
        received = events_of(session, moon)[0].data
        assert moon.urgency == "sub_urgent"  # testing is not raised to urgent; sub-urgent already
        assert received["zone"]["level"] == "sealed" and received["zone"]["name"] == f"{JA}{CJD}{MOON}1号楼"
        assert "zone" not in events_of(session, get_order(session, found[("月亮小区", "2号楼")]["number"]))[0].data


def test_http_needs_the_commanders_permission_and_is_idempotent(world, vault):
    sessions, env = world
    app = create_app(sessions, vault)
    app.state.epidemic_env = env

    def client(roles):
        return TestClient(app, headers={"Authorization": f"Bearer {make_token(sessions, roles, unit='SH')}"})

    body = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    assert client(["grid_worker"]).post("/api/epidemic/tasks/untested", json=body).status_code == 403
    commander = client(["commander"])
    first = commander.post("/api/epidemic/tasks/untested", json=body)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["existed"]) == (7, 0)
    again = commander.post("/api/epidemic/tasks/untested", json=body).json()
    assert (again["created"], again["existed"]) == (0, 7)
    bad = commander.post("/api/epidemic/tasks/untested", json={"since": "2022-04-10", "until": "2022-04-09"})
    assert bad.status_code == 422 and "until" in bad.text
    assert commander.post("/api/epidemic/tasks/untested", json={**body, "since": "0001-01-01"}).status_code == 422
    shown = commander.get(f"/api/orders/{by_place(first.json())[('阳光小区', '1号楼')]['number']}").json()
    assert shown["category"] == "EPI.TEST" and "138****0101" in shown["text"]


def test_command_line_tasks_twice_and_an_order_from_a_sealed_building(world, vault, monkeypatch):
    """``cityline epidemic tasks`` and ``cityline orders create`` through the assembled command
    (which plugs the zones into intake), on the test's database."""
    from cityline import runtime
    from cityline.cli import app
    from cityline.config import get_settings
    from cityline.epidemic import cli as epidemic_cli

    sessions, env = world
    monkeypatch.setattr(runtime, "sessions", lambda: sessions)
    monkeypatch.setattr(epidemic_cli, "_env", lambda: env)
    monkeypatch.setenv("CITYLINE_SECRET_KEY", "test-secret-not-for-production")
    get_settings.cache_clear()
    monkeypatch.setattr("cityline.intake.service._zone_lookup", None)  # the command plugs it in

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    try:
        first = json.loads(invoke("epidemic", "tasks", "--from", "2022-04-09", "--to", "2022-04-10", "--json"))
        again = json.loads(invoke("epidemic", "tasks", "--from", "2022-04-09", "--to", "2022-04-10", "--json"))
        assert (first["created"], again["created"], again["existed"]) == (7, 0, 7)
        assert sorted(o["number"] for o in again["orders"]) == sorted(o["number"] for o in first["orders"])
        table = invoke("epidemic", "tasks", "--from", "2022-04-09", "--to", "2022-04-10")
        assert "created 0, already there 7, waiting for a dispatcher 0" in table
        with transaction(sessions) as session:  # today's zones: 月亮小区 1号楼 sealed
            today = to_local(utcnow()).date()  # the centre's day (the machine's may differ: UTC after 16:00)
            service.save_zones(session, today, [ZoneRow("sealed", JA, CJD, MOON, "1号楼", 1)], AT)
        created = invoke("orders", "create", "--text", f"{JA}{CJD}{MOON}1号楼居民来电：老人降压药吃完了，请求帮助配药",
                         "--kind", "help", "--category", "EPI.MEDICAL", "--urgency", "normal")
        assert "(EPI.MEDICAL, urgent)" in created
    finally:
        get_settings.cache_clear()

"""``cityline demo`` builds a working hotline on today's calendar once and reuses it that day."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityline.api import create_app
from cityline.config import Settings, get_settings
from cityline.db import make_engine, make_sessionmaker
from cityline.demo import DEMO_PASSWORD, ROLE_USERS, _day, serving_first, simulated_orders
from cityline.epidemic import service
from cityline.intake.triage import classify_with
from cityline.orders.models import Order
from cityline.privacy import Vault
from cityline.sim.timeshift import replay_at_peak
from cityline.timeutil import to_local
from tests.conftest import copy_demo, run_cityline


def run_demo(folder) -> str:
    done = run_cityline(folder, "demo", "--build-only", "--scale", "0.002")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def demo_settings(tmp_path, monkeypatch):
    """This process's settings on the demo's data directory (``tmp_path / "data"``), as
    ``cityline serve`` on it has them: the app reads the analytics export there."""
    monkeypatch.setenv("CITYLINE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_demo_builds_once_and_every_role_can_sign_in(built_demo, tmp_path, demo_settings):
    copy_demo(built_demo, tmp_path)
    first = built_demo[1]  # what the build printed (built once per test run, as scripts/run builds it)
    today = to_local(datetime.now(UTC)).date()
    assert "building the demo" in first and "is active" in first and DEMO_PASSWORD in first
    info = json.loads((tmp_path / "data" / "demo.json").read_text())
    assert info["finished"] and info["weeks"] > 300
    assert info["orders"] > 1000 and info["units"] > 200 and info["model_version"] in (1, 2)
    assert info["epidemic"]["residents"] > 1000 and info["epidemic"]["tests"] > 3 * info["epidemic"]["residents"]  # up to now: the wave's first six weeks
    assert "epidemic data of the 2022 wave" in first
    second = run_demo(tmp_path)
    assert "building the demo" not in second and f"{info['orders']:,} orders" in second

    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'data' / 'cityline.db'}"))
    with sessions() as session:
        opened = sum(info["warnings"][kind] for kind in ("tracing", "contacts", "arrivals"))  # by the warnings
        field = info["field_work"]  # findings at test sites, vehicles' closed loops and their overdue warnings
        assert field["findings"] > 0 and field["loops"] > field["warnings"] > 0 and field["flagged"] > 0
        opened += field["orders"]
        assert session.scalar(select(func.count(Order.id))) == info["orders"] + opened
        masks = session.scalar(select(func.count(Order.id)).where(Order.category == "EPI.MASK"))
        assert masks > 0
        # The outbreak is replayed up to now: today has orders, none is received later than now.
        received = session.scalars(select(Order.received_at).order_by(Order.received_at.desc()).limit(1)).one()
        assert received <= datetime.now(UTC) and to_local(received).date() >= today - timedelta(days=1)
    vault = Vault((tmp_path / "data" / "secret.key").read_text())
    app = create_app(sessions, vault, classifier=classify_with)
    app.state.epidemic_env = service.env_for(vault, Settings(data_dir=tmp_path / "data"))
    with TestClient(app) as browser:
        for username, role in ROLE_USERS:
            me = browser.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert me.status_code == 200 and me.json()["roles"] == [role]
        # A handler for each of the 16 district centres, who sees its street offices' orders.
        assert len(info["district_handlers"]) == 16 and "handler-ja" in first
        jingan = browser.post("/api/auth/login", json={"username": "handler-ja", "password": DEMO_PASSWORD})
        assert jingan.json()["roles"] == ["unit_handler"]
        theirs = browser.get("/api/orders", params={"page_size": 50}).json()
        assert theirs["total"] > 0 and {item["district"] for item in theirs["items"]} <= {"静安区", None}
        # The README's example order reaches a demo handler who can act on it, with no command-line step.
        operator = browser.post("/api/auth/login", json={"username": "operator", "password": DEMO_PASSWORD}).json()
        order = browser.post("/api/orders", headers={"X-CSRF-Token": operator.get("csrf_token", "")}, json={
            "text": "家里老人透析药快用完了，小区封控出不去", "caller_phone": "13800001234",
            "address": "静安区曹家渡街道"}).json()
        assert order["status"] == "dispatched" and order["unit"].startswith("JA-")
        jingan = browser.post("/api/auth/login", json={"username": "handler-ja", "password": DEMO_PASSWORD}).json()
        accepted = browser.post(f"/api/orders/{order['number']}/moves", json={"action": "accept"},
                                headers={"X-CSRF-Token": jingan.get("csrf_token", "")})
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
        handler = browser.post("/api/auth/login", json={"username": "handler", "password": DEMO_PASSWORD})
        inbox = browser.get("/api/orders", params={"page_size": 5}).json()
        assert handler.json()["unit"] == info["handler_unit"] and inbox["total"] > 0
        assert all(item["caller_phone"] is None or "****" in item["caller_phone"] for item in inbox["items"])
        browser.post("/api/auth/login", json={"username": "analyst", "password": DEMO_PASSWORD})
        archive = [date.fromisoformat(b["day"]) for b in browser.get("/api/analytics/briefings").json()]
        # The telling days the replay has reached, moved by its weeks, and yesterday's morning briefing.
        moved = {day + timedelta(weeks=info["weeks"]) for day in (date(2020, 2, 12), date(2020, 2, 9), date(2020, 1, 28))}
        assert archive == sorted({today - timedelta(days=1), *(day for day in moved if day < today)}, reverse=True)
        assert "exported" in first and (tmp_path / "data" / "analytics").is_dir()
        situation = browser.get("/api/analytics/situation").json()
        assert situation["day"] == today.isoformat()
        assert sum(c["received"] for c in situation["curve"] if c["day"] >= str(today - timedelta(days=1))) > 0
        zones = browser.get("/api/epidemic/zones", params={"date": today.isoformat()}).json()
        assert {"sealed", "controlled"} <= {zone["level"] for zone in zones}
        # Today's zones are published and the cases, contacts and arrivals are orders on the loop;
        # the commander's day shows the tracing orders on their hour chain.
        assert info["warnings"]["zones"] == len(zones) and info["warnings"]["tracing"] > 0
        browser.post("/api/auth/login", json={"username": "commander", "password": DEMO_PASSWORD})
        day = browser.get("/api/epidemic/command", params={"date": today.isoformat()}).json()
        started = next(m for m in day["milestones"] if m["milestone"] == "started")
        assert day["totals"]["cases"] > 0 and started["on_time"] + started["late"] == info["warnings"]["tracing"]
        # The inspector's findings, some put right with a photo; the checkpoints' hours and open loops.
        browser.post("/api/auth/login", json={"username": "inspector", "password": DEMO_PASSWORD})
        tallies = browser.get("/api/inspection/tallies").json()
        assert sum(site["findings"] for site in tallies["by_site"]) == field["findings"]
        assert any(site["on_time"] + site["late"] for site in tallies["by_site"])
        browser.post("/api/auth/login", json={"username": "commander", "password": DEMO_PASSWORD})
        loops = browser.get("/api/checkpoints/loops").json()
        assert any(loop["overdue"] for loop in loops)
        # The grid worker sees the untested residents of their own street office's grids, masked.
        browser.post("/api/auth/login", json={"username": "gridworker", "password": DEMO_PASSWORD})
        untested = browser.get("/api/epidemic/coverage/untested",
                               params={"since": str(today - timedelta(days=1)), "until": str(today)}).json()
        assert untested and all(person["grid"].startswith(info["handler_unit"] + "-") for person in untested)


def test_the_demo_serves_once_the_days_with_an_open_order_are_in():
    """``build_city`` imports the orders of the days that still have one open, whole days (an
    order's number counts its day's calls in order); ``finish`` the rest, all closed."""
    rows = simulated_orders("2020", 0.002, 1, replay_at_peak("2020", datetime.now(UTC)))
    first, later = serving_first(rows)
    assert sorted(r["external_id"] for r in first + later) == sorted(r["external_id"] for r in rows)
    assert later and len(first) < len(rows) and all(r["closed_at"] for r in later)
    assert {r["external_id"] for r in rows if not r["closed_at"]} <= {r["external_id"] for r in first}
    assert not {_day(r) for r in first} & {_day(r) for r in later}

"""Warnings on the loop (issue 16): each case opens a tracing order on the hour chain, each tier-1
contact and each risk-area arrival a control task; on SQLite and PostgreSQL, through the service,
HTTP, the console's order page and the command line.

The world (``world.py``) on DAY: cases in the contact window R14 (江宁路街道, no office, no grid),
R10 and R11 (月亮小区, grid G-MOON → the street office SH-JA-CJD), R20X (not in the ledger); R13 and
R21 are older. Tier-1 contacts: R09 (R10's household), R16 (ate with R10), R17 and R19 (R11's
train). Arrivals from risk areas: A02, A03, A05, A07, A08, A10 (none in the ledger).
"""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityline.api import create_app
from cityline.db import read_transaction, transaction, utcnow
from cityline.epidemic import service
from cityline.epidemic.warnings import run_warnings
from cityline.orders.models import Order
from cityline.orders.queries import milestone_standing
from cityline.orders.service import describe, events_of, get_order
from tests.conftest import make_token
from tests.epidemic.world import AT, DAY
from tests.web.conftest import add_user, sign_in

CASES = ["R14", "R10", "R20X", "R11"]  # by the time they were reported
CONTACTS = {"R09": ["R10"], "R16": ["R10"], "R17": ["R11"], "R19": ["R11"]}
ARRIVALS = ["A02", "A03", "A05", "A07", "A08", "A10"]


def run(sessions, env, vault, now=AT) -> dict:
    with transaction(sessions) as session:
        return run_warnings(session, env, DAY, actor="commander", now=now, vault=vault).as_dict()


def of_kind(report, kind) -> dict[str, dict]:
    return {o["person"]: o for o in report["orders"] if o["kind"] == kind}


def count_orders(sessions) -> int:
    with read_transaction(sessions) as session:
        return session.scalar(select(func.count(Order.id)))


def add_case(sessions, person: str, reported) -> None:
    with transaction(sessions) as session:
        service.upsert_cases(session, [{"person_id": person, "reported_at": reported, "kind": "confirmed"}], reported)


def test_cases_contacts_and_arrivals_become_orders_once_and_new_data_add_only_the_new(world, vault):
    sessions, env = world
    first = run(sessions, env, vault)
    tracing, contacts, arrivals = of_kind(first, "tracing"), of_kind(first, "contact"), of_kind(first, "arrival")
    assert [o["person"] for o in first["orders"] if o["kind"] == "tracing"] == CASES
    assert {p: o["cases"] for p, o in contacts.items()} == CONTACTS
    assert sorted(arrivals) == ARRIVALS
    assert {p: o["unit"] for p, o in tracing.items()} == {"R14": None, "R10": "SH-JA-CJD", "R20X": None,
                                                          "R11": "SH-JA-CJD"}
    assert contacts["R09"]["unit"] == "SH-JA-CJD" and contacts["R16"]["unit"] is None  # no grid, no office
    assert (first["tracing"], first["contact"]["created"], first["arrival"]["created"]) == (
        {"created": 4, "existed": 0}, 4, 6)
    with read_transaction(sessions) as session:
        r10 = get_order(session, tracing["R10"]["number"])
        assert (r10.channel, r10.kind, r10.category, r10.urgency, r10.status, r10.sla_policy) == (
            "warning", "help", "EPI.ISOLATION", "urgent", "dispatched", "epidemic_tracing")
        assert r10.external_id == "epi-trace:R10" and "郑*十（R10）" in r10.text and "郑小十" not in r10.text
        # Dispatched at once, so the run recorded the chain's start; the other four are to come.
        assert [e.action for e in events_of(session, r10)] == ["received", "dispatch", "milestone"]
        chain = describe(session, r10, AT).milestones
        assert [(m.code, m.due_at - AT, m.done_at, m.state) for m in chain] == [
            ("started", timedelta(0), AT, "on_time"), ("reached", timedelta(hours=1), None, "pending"),
            ("core_info", timedelta(hours=2), None, "pending"),
            ("contacts_controlled", timedelta(hours=8), None, "pending"),
            ("report", timedelta(hours=12), None, "pending")]
        waiting = get_order(session, tracing["R14"]["number"])
        assert (waiting.status, describe(session, waiting, AT + timedelta(minutes=1)).milestones[0].state) == (
            "received", "late")  # no unit: tracing has not started, the supervisor hears at once
        r16 = get_order(session, contacts["R16"]["number"])
        assert (r16.sla_policy, r16.urgency, r16.resolve_by - r16.received_at) == (
            "epidemic_control", "sub_urgent", timedelta(hours=8))
        assert "病例 郑*十（R10）（同餐）" in r16.text and "沈*六（R16）" in r16.text
        a02 = get_order(session, arrivals["A02"]["number"])
        assert a02.external_id.startswith("epi-arrival:A02:") and "高风险" in a02.text and "MU101" in a02.text
        # Not in the ledger: no place — not the one the text names (where A02 came from).
        assert (a02.district, a02.street, a02.status) == (None, None, "received")
    total = count_orders(sessions)
    assert total == 14

    again = run(sessions, env, vault, now=AT + timedelta(hours=1))
    assert not any(o["created"] or o["added_cases"] for o in again["orders"])
    assert sorted(o["number"] for o in again["orders"]) == sorted(o["number"] for o in first["orders"])
    assert count_orders(sessions) == total

    # New data: R22 (R16's flatmate) is reported a case. Its tracing order is new; R16, already a
    # contact of R10, keeps its one task and gets R22 added to it.
    add_case(sessions, "R22", AT + timedelta(hours=1))
    later = run(sessions, env, vault, now=AT + timedelta(hours=2))
    assert [o["person"] for o in later["orders"] if o["created"]] == ["R22"]
    r16_again = of_kind(later, "contact")["R16"]
    assert (r16_again["number"], r16_again["cases"], r16_again["added_cases"]) == (
        contacts["R16"]["number"], ["R10", "R22"], ["R22"])
    assert later["contact"] == {"created": 0, "existed": 4, "updated": 1}
    assert count_orders(sessions) == total + 1
    with read_transaction(sessions) as session:
        named = [(e.data["cases"], e.note) for e in events_of(session, get_order(session, r16_again["number"]))
                 if e.action == "contact_cases"]
        assert named == [(["R10"], None), (["R22"], "新增关联病例：病例 沈*二（R22）（同住）")]
    assert not any(o["created"] or o["added_cases"] for o in run(sessions, env, vault, AT + timedelta(hours=3))["orders"])


def test_a_contact_of_two_cases_gets_one_task_naming_both(world, vault):
    sessions, env = world
    add_case(sessions, "R22", AT - timedelta(hours=1))
    contacts = of_kind(run(sessions, env, vault), "contact")
    assert contacts["R16"]["cases"] == ["R10", "R22"] and list(contacts).count("R16") == 1
    with read_transaction(sessions) as session:
        text = get_order(session, contacts["R16"]["number"]).text
    assert "病例 郑*十（R10）（同餐）；病例 沈*二（R22）（同住）" in text


def test_milestones_over_http_the_order_page_and_the_commanders_read(world, vault):
    sessions, env = world
    app = create_app(sessions, vault)
    app.state.epidemic_env = env

    def client(roles, unit="SH"):
        return TestClient(app, headers={"Authorization": f"Bearer {make_token(sessions, roles, unit=unit)}"})

    denied = client(["grid_worker"]).post("/api/epidemic/warnings", json={"day": DAY.isoformat()})
    assert denied.status_code == 403, denied.text
    commander = client(["commander"])
    report = commander.post("/api/epidemic/warnings", json={"day": DAY.isoformat()})
    assert report.status_code == 200, report.text
    assert commander.post("/api/epidemic/warnings", json={"day": DAY.isoformat()}).json()["tracing"] == {
        "created": 0, "existed": 4}
    number = of_kind(report.json(), "tracing")["R10"]["number"]
    handler = client(["unit_handler"], unit="SH-JA-CJD")
    shown = handler.get(f"/api/orders/{number}").json()
    assert "milestone" in shown["allowed_actions"] and len(shown["milestones"]) == 5

    def record(code):
        return handler.post(f"/api/orders/{number}/moves", json={"action": "milestone", "milestone": code,
                                                                  "note": "已联系到人"})

    moved = record("reached")
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "dispatched"  # a milestone changes no status
    assert [m["state"] for m in moved.json()["milestones"]] == ["on_time", "on_time", "pending", "pending", "pending"]
    assert record("reached").status_code == 409  # recorded already
    unknown = record("lunch")
    assert unknown.status_code == 422 and "contacts_controlled" in unknown.text
    other = of_kind(report.json(), "contact")["R09"]["number"]  # a control task has no hour chain
    no_chain = handler.post(f"/api/orders/{other}/moves", json={"action": "milestone", "milestone": "reached"})
    assert no_chain.status_code == 422 and "no milestones" in no_chain.text
    assert "milestone" not in handler.get(f"/api/orders/{other}").json()["allowed_actions"]

    add_user(sessions, "tracer", ["unit_handler"], "SH-JA-CJD")
    page = sign_in(app, "tracer").get(f"/orders/{number}")
    assert page.status_code == 200, page.text
    assert 'data-milestone="reached"' in page.text and "病例到人到位、落实管控" in page.text
    assert 'data-action="milestone"' in page.text and '<option value="core_info">' in page.text
    assert '<option value="reached">' not in page.text  # only what is still to record

    with read_transaction(sessions) as session:  # the HTTP calls ran on the real clock
        standing = {r["milestone"]: (r["on_time"], r["late"], r["pending"])
                    for r in milestone_standing(session, utcnow() + timedelta(hours=13))}
        assert milestone_standing(session, utcnow(), received_from=utcnow() + timedelta(hours=1))[0]["late"] == 0
    # Four tracing orders: two started when dispatched, two never (no unit); R10 reached in time.
    assert standing == {"started": (2, 2, 0), "reached": (1, 3, 0), "core_info": (0, 4, 0),
                        "contacts_controlled": (0, 4, 0), "report": (0, 4, 0)}


def test_command_line_warnings_twice(world, vault, monkeypatch):
    from cityline import runtime
    from cityline.cli import app
    from cityline.config import get_settings
    from cityline.epidemic import cli as epidemic_cli

    sessions, env = world
    monkeypatch.setattr(runtime, "sessions", lambda: sessions)
    monkeypatch.setattr(epidemic_cli, "_env", lambda: env)
    monkeypatch.setenv("CITYLINE_SECRET_KEY", "test-secret-not-for-production")
    get_settings.cache_clear()
    try:
        runs = [CliRunner().invoke(app, ["epidemic", "warnings", "--date", DAY.isoformat(), "--json"])
                for _ in range(2)]
        assert all(r.exit_code == 0 for r in runs), runs[0].output
        first, again = (json.loads(r.output) for r in runs)
        assert (first["tracing"]["created"], first["contact"]["created"], first["arrival"]["created"]) == (4, 4, 6)
        assert (again["tracing"]["created"], again["contact"]["existed"], again["arrival"]["existed"]) == (0, 4, 6)
        table = CliRunner().invoke(app, ["epidemic", "warnings", "--date", DAY.isoformat()])
        assert "tracing: created 0, already there 4" in table.output
        number = next(o["number"] for o in first["orders"] if o["person"] == "R10")
        moved = CliRunner().invoke(app, ["orders", "move", number, "milestone", "--milestone", "reached"])
        assert moved.exit_code == 0 and f"{number}: milestone → dispatched" in moved.output, moved.output
        shown = CliRunner().invoke(app, ["orders", "show", number]).output
        assert "病例到人到位、落实管控 (reached)" in shown and "核心信息报告 (core_info)" in shown
        assert "on_time" in shown and "pending" in shown
    finally:
        get_settings.cache_clear()

"""An order gets its place, unit and deadlines at intake; the dispatcher sees the rest."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityline.accounts.rules import ROLES
from cityline.accounts.units import upsert_unit
from cityline.api import create_app
from cityline.db import transaction
from cityline.routing import catalogue
from cityline.sla.models import Timer
from cityline.timeutil import parse_when
from tests.conftest import make_token
from tests.factories import CATALOGUE, UNITS, add_units_and_catalogue

RULES = CATALOGUE


@pytest.fixture
def desk(sessions, vault):
    add_units_and_catalogue(sessions)
    token = make_token(sessions, ROLES)
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def post(client, **body):
    response = client.post("/api/orders", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_urgent_medical_order_is_placed_dispatched_and_timed(desk, sessions):
    order = post(desk, text="家里老人透析药明天就断了，小区封控出不去", address="静安区曹家渡街道万航渡路123弄",
                 kind="help", category="EPI.MEDICAL", urgency="urgent", special_groups=["elderly"],
                 received_at="2020-04-06T10:00:00+08:00")
    assert (order["district"], order["street"]) == ("静安区", "曹家渡街道")
    assert (order["status"], order["unit"]) == ("dispatched", "SH-JA-CJD")
    received = parse_when(order["received_at"])
    assert parse_when(order["resolve_by"]) - received <= timedelta(hours=2)
    assert parse_when(order["accept_by"]) > received
    events = desk.get(f"/api/orders/{order['number']}").json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [("received", "token:tester"), ("dispatch", "auto-dispatch")]
    assert events[0]["data"]["place"]["street"] == "曹家渡街道"
    assert events[1]["data"]["deadlines"]["resolve_by"] == order["resolve_by"].replace("Z", "+00:00")
    assert events[0]["data"]["suggested_units"][0]["unit"] == "SH-JA-CJD"
    with sessions() as session:
        kinds = {t.kind for t in session.scalars(select(Timer).where(Timer.state == "pending"))}
    assert "accept_reminder" in kinds and "overdue_escalation" in kinds
    accepted = desk.post(f"/api/orders/{order['number']}/moves", json={"action": "accept"}).json()
    with sessions() as session:
        kinds = {t.kind for t in session.scalars(select(Timer).where(Timer.state == "pending"))}
    assert "accept_reminder" not in kinds and accepted["status"] == "accepted"


def test_unsure_orders_wait_in_the_queue_with_likely_units(desk):
    no_place = post(desk, text="健康码变黄了怎么办", kind="help", category="EPI.CODE", urgency="sub_urgent")
    unplaced = post(desk, text="楼下垃圾三天没人收", kind="complaint", category="GEN.ENVIRONMENT", urgency="normal")
    question = post(desk, text="口罩在哪里预约", kind="consult", category="EPI.MASK", urgency="normal")
    assert no_place["status"] == "dispatched" and no_place["unit"] == "SH-WJW"  # a department needs no place
    assert unplaced["status"] == "received" and question["status"] == "received"
    queue = desk.get("/api/dispatch/queue").json()
    numbers = [item["order"]["number"] for item in queue]
    assert unplaced["number"] in numbers and question["number"] not in numbers  # consultations are answered
    assert desk.get("/api/dispatch/suggest", params={"category": "GEN.ENVIRONMENT", "district": "静安区",
                                                     "street": "江宁路街道"}).json()[0]["unit"] == "SH-JA-JNL"


def test_near_duplicates_across_channels_are_suggested_not_dispatched(desk):
    first = post(desk, text="江宁路街道昌平路口的路灯坏了好几天，晚上很黑", address="静安区江宁路街道",
                 kind="complaint", category="GEN.ENVIRONMENT", urgency="normal", channel="phone")
    second = post(desk, text="昌平路口路灯坏了好几天了晚上黑", address="静安区江宁路街道",
                  kind="complaint", category="GEN.ENVIRONMENT", urgency="normal", channel="wechat")
    assert first["status"] == "dispatched"
    assert second["status"] == "received"  # held for the dispatcher to merge
    found = desk.get(f"/api/orders/{second['number']}/duplicates").json()
    assert found[0]["number"] == first["number"] and found[0]["channel"] == "phone"
    queued = {i["order"]["number"]: i for i in desk.get("/api/dispatch/queue").json()}
    assert queued[second["number"]]["duplicates"][0]["number"] == first["number"]
    merged = desk.post(f"/api/orders/{second['number']}/moves", json={"action": "merge", "into": first["number"]})
    assert merged.json()["status"] == "merged"


def test_duplicates_are_only_orders_within_the_askers_reach(desk, sessions, vault):
    """The street's dispatcher is not shown the neighbouring street's order, its status or its caller."""
    other_street = post(desk, text="昌平路口的路灯坏了好几天，晚上很黑", address="静安区江宁路街道",
                        kind="complaint", category="GEN.ENVIRONMENT", urgency="normal", caller_phone="13800005555")
    here = post(desk, text="昌平路口路灯坏了好几天了晚上很黑", address="静安区曹家渡街道",
                kind="complaint", category="GEN.ENVIRONMENT", urgency="normal", caller_phone="13800005555")
    assert (other_street["unit"], here["status"]) == ("SH-JA-JNL", "received")  # held: it looks like a duplicate
    token = make_token(sessions, ["dispatcher", "operator"], unit="SH-JA-CJD", name="cjd-dispatcher")
    street = TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"})
    assert [d["number"] for d in desk.get(f"/api/orders/{here['number']}/duplicates").json()] == [
        other_street["number"]]
    assert street.get(f"/api/orders/{here['number']}/duplicates").json() == []
    queued = {i["order"]["number"]: i for i in street.get("/api/dispatch/queue").json()}
    assert queued[here["number"]]["duplicates"] == []
    preview = street.post("/api/intake/preview", json={"text": "昌平路口路灯坏了", "address": "静安区曹家渡街道",
                                                       "caller_phone": "13800005555",
                                                       "category": "GEN.ENVIRONMENT"}).json()
    assert [d["number"] for d in preview["duplicates"]] == [here["number"]]
    # Intake stored what it found city-wide; each reader of the history sees what is within reach.
    for client, expected in ((desk, [other_street["number"]]), (street, [])):
        received = client.get(f"/api/orders/{here['number']}").json()["events"][0]
        assert [d["number"] for d in received["data"]["duplicates"]] == expected


def test_pause_moves_the_deadline_and_resume_restarts_the_clock(desk):
    order = post(desk, text="小区垃圾清运不及时", address="静安区曹家渡街道", kind="complaint",
                 category="GEN.ENVIRONMENT", urgency="normal")
    number = order["number"]
    desk.post(f"/api/orders/{number}/moves", json={"action": "accept"})
    paused = desk.post(f"/api/orders/{number}/moves", json={"action": "pause", "reason": "来电人出差，约定下周上门"})
    assert paused.json()["paused"] is True and paused.json()["resolve_by"] is None
    assert desk.post(f"/api/orders/{number}/moves", json={"action": "pause", "reason": "again"}).status_code == 409
    resumed = desk.post(f"/api/orders/{number}/moves", json={"action": "resume"}).json()
    assert resumed["paused"] is False and resumed["resolve_by"] is not None


def test_bad_catalogue_changes_nothing(sessions):
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
        assert catalogue.replace_catalogue(session, RULES)[0] == 3
        count, bad = catalogue.replace_catalogue(session, [(2, {"category": "EPI.TEST", "unit": "NOPE"}),
                                                           (3, {"category": "", "level": "street"})])
        assert count == 0 and [b.row for b in bad] == [2, 3] and "NOPE" in bad[0].message
        assert len(catalogue.list_catalogue(session)) == 3


def test_shipped_catalogue_fits_the_simulated_city(sessions):
    from cityline.sim import units_rows

    with transaction(sessions) as session:
        for row in units_rows():
            upsert_unit(session, row)
        count, bad = catalogue.replace_catalogue(session, catalogue.default_rows())
        assert bad == [] and count >= 20
        assert catalogue.suggest_units(session, "GEN.HOUSING", "徐汇区", "漕河泾街道")[0].confidence == 1.0


def test_unaccepted_order_reminds_its_unit_once_when_accept_by_passes(desk, sessions):
    from cityline.outbox.senders import MemorySender
    from cityline.sla.messages import reminder_handler
    from cityline.sla.worker import run_once

    order = post(desk, text="楼下垃圾堆了三天没人收", address="静安区曹家渡街道", kind="complaint",
                 category="GEN.ENVIRONMENT", urgency="normal")
    accept_by = parse_when(order["accept_by"])
    # 30 working minutes after dispatch (on a rest day they start with the next working day)
    assert accept_by - parse_when(order["dispatched_at"]) >= timedelta(minutes=30)
    sender = MemorySender()
    early = run_once(sessions, accept_by - timedelta(minutes=1), "w1", reminder_handler(), sender)
    assert not sender.delivered and early.fired == 0
    run_once(sessions, accept_by + timedelta(minutes=1), "w1", reminder_handler(), sender)
    run_once(sessions, accept_by + timedelta(minutes=5), "w2", reminder_handler(), sender)  # nothing twice
    reminders = [m for m in sender.delivered if "accept" in m.kind]
    assert len(reminders) == 1 and reminders[0].recipient.endswith("SH-JA-CJD")


def test_deadline_board_filters(desk):
    urgent = post(desk, text="家里老人透析药断了", address="静安区曹家渡街道", kind="help", category="EPI.MEDICAL",
                  urgency="urgent", special_groups=["elderly", "serious_illness"])
    normal = post(desk, text="小区垃圾没人收", address="静安区曹家渡街道", kind="complaint",
                  category="GEN.ENVIRONMENT", urgency="normal")
    board = desk.get("/api/orders", params={"open": "true", "sort": "deadline"}).json()["items"]
    assert [o["number"] for o in board][:2] == [urgent["number"], normal["number"]]
    groups = desk.get("/api/orders", params={"special_group": "serious_illness"}).json()
    assert [o["number"] for o in groups["items"]] == [urgent["number"]]
    assert desk.get("/api/orders", params={"special_group": "any"}).json()["total"] == 1
    soon = desk.get("/api/orders", params={"due_before": urgent["resolve_by"].replace("Z", "+00:00")}).json()
    assert soon["total"] == 0  # strictly before its own deadline
    assert desk.get("/api/orders", params={"overdue": "true"}).json()["total"] == 0


def test_orders_map_to_their_grid_by_position_or_compound(desk, sessions):
    from cityline.geo.service import import_grids

    square = [[[121.42, 31.22], [121.44, 31.22], [121.44, 31.24], [121.42, 31.24], [121.42, 31.22]]]
    with transaction(sessions) as session:
        report = import_grids(session, [(2, {"code": "CJD-07", "name": "曹家渡第七网格", "district": "静安区",
                                             "street": "曹家渡街道", "unit_code": "SH-JA-CJD", "polygon": square,
                                             "compounds": ["万航渡花园"]})])
        assert report.created == 1
    by_position = post(desk, text="楼道里堆满杂物有消防隐患", lat=31.23, lon=121.43, kind="complaint",
                       category="GEN.ENVIRONMENT", urgency="normal")
    by_compound = post(desk, text="万航渡花园3号楼门口垃圾没人收", kind="complaint", category="GEN.ENVIRONMENT",
                       urgency="normal")
    elsewhere = post(desk, text="楼下路灯坏了", lat=31.30, lon=121.50, kind="complaint", category="GEN.UTILITIES",
                     urgency="normal")
    assert by_position["grid"] == by_compound["grid"] == "CJD-07" and elsewhere["grid"] is None
    assert (by_compound["district"], by_compound["street"], by_compound["unit"]) == ("静安区", "曹家渡街道", "SH-JA-CJD")
    assert desk.post("/api/orders", json={"text": "x", "lat": 95, "lon": 0}).status_code == 422


def test_unit_asks_for_more_time_and_a_supervisor_grants_it(desk, sessions, vault):
    order = post(desk, text="楼道漏水需要物业配合维修", address="静安区曹家渡街道", kind="complaint",
                 category="GEN.ENVIRONMENT", urgency="normal")
    number = order["number"]
    desk.post(f"/api/orders/{number}/moves", json={"action": "accept"})
    resolve_by = parse_when(desk.get(f"/api/orders/{number}").json()["resolve_by"])
    until = (resolve_by + timedelta(days=3)).isoformat()
    handler = TestClient(create_app(sessions, vault), headers={
        "Authorization": f"Bearer {make_token(sessions, ['unit_handler'], unit='SH-JA-CJD', name='h')}"})
    asked = handler.post(f"/api/orders/{number}/moves", json={"action": "extend", "reason": "需物业配合", "until": until})
    assert asked.status_code == 200 and asked.json()["extension_requested"] is not None
    assert handler.post(f"/api/orders/{number}/moves", json={"action": "grant"}).status_code == 403
    granted = desk.post(f"/api/orders/{number}/moves", json={"action": "grant"}).json()
    assert parse_when(granted["resolve_by"]) == parse_when(until) == parse_when(granted["extended_to"])
    event = desk.get(f"/api/orders/{number}").json()["events"][-1]
    assert event["action"] == "grant" and parse_when(event["data"]["until"]) == parse_when(until)


def test_a_returned_order_waits_in_the_queue_with_the_units_reason_and_other_units(desk):
    """The dispatcher deciding where a returned order goes next reads why it came back, and is
    offered other units than the one that returned it; a new order carries no reason, and is
    offered that unit still."""
    returned = post(desk, text="江宁路街道昌平路口的路灯坏了好几天，晚上很黑", address="静安区江宁路街道",
                    kind="complaint", category="GEN.ENVIRONMENT", urgency="normal")
    held = post(desk, text="昌平路口路灯坏了好几天了晚上黑", address="静安区江宁路街道",
                kind="complaint", category="GEN.ENVIRONMENT", urgency="normal")
    assert (returned["status"], returned["unit"], held["status"]) == ("dispatched", "SH-JA-JNL", "received")
    assert desk.post(f"/api/orders/{returned['number']}/moves",
                     json={"action": "return", "reason": "不属于本街道辖区"}).status_code == 200
    queued = {i["order"]["number"]: i for i in desk.get("/api/dispatch/queue").json()}
    back, new = queued[returned["number"]], queued[held["number"]]
    assert back["return_reason"] == "不属于本街道辖区" and new["return_reason"] is None
    assert [u["unit"] for u in new["suggested_units"]][0] == "SH-JA-JNL"
    assert "SH-JA-JNL" not in [u["unit"] for u in back["suggested_units"]]

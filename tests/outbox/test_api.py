"""Dispatch notifications end to end: the unit's console list over HTTP, and a signed
webhook POSTed to a real receiver on 127.0.0.1 that fails twice before it answers."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.db import transaction, utcnow
from cityline.outbox.senders import standard
from cityline.outbox.worker import deliver_outbox
from cityline.timeutil import parse_when, to_local
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue, order_body


@pytest.fixture
def world(sessions, vault):
    add_units_and_catalogue(sessions)
    people = {"desk": (ROLES, None), "admin": (["admin"], None),
              "cjd": (["unit_handler"], "SH-JA-CJD"), "jnl": (["unit_handler"], "SH-JA-JNL"),
              "district": (["supervisor"], "SH-JA")}
    app = create_app(sessions, vault)
    clients = {name: TestClient(app, headers={"Authorization": f"Bearer {make_token(sessions, roles, unit, name)}"})
               for name, (roles, unit) in people.items()}
    yield clients
    for client in clients.values():
        client.close()


def new_order(desk, **overrides) -> dict:
    response = desk.post("/api/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def move(client, number: str, **body) -> dict:
    response = client.post(f"/api/orders/{number}/moves", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_dispatched_order_notifies_the_unit_and_posts_a_signed_webhook_retried_until_it_answers(
    world, receiver, sessions, vault, tmp_path
):
    added = world["admin"].post("/api/webhooks", json={"unit": "SH-JA-CJD", "url": receiver.url})
    assert added.status_code == 201, added.text
    receiver.secret = added.json()["secret"]
    receiver.statuses = [500, 500]  # the centre's system is down twice, then answers
    # No address: the catalogue is not sure, so a dispatcher dispatches by hand.
    order = new_order(world["desk"], address=None, text="小区门口的核酸检测点排队太长，老人站不住")
    assert order["status"] == "received"
    order = move(world["desk"], order["number"], action="dispatch", unit="SH-JA-CJD")
    number = order["number"]

    # The console: the unit's list has it, in Chinese, by number, category and deadline.
    listed = world["cjd"].get("/api/notifications").json()
    assert listed["unread"] == 1
    [note] = listed["items"]
    assert (note["unit"], note["order_number"], note["kind"], note["read_at"]) == (
        "SH-JA-CJD", number, "order.dispatched", None)
    accept_by = to_local(parse_when(order["accept_by"])).strftime("%Y-%m-%d %H:%M")
    assert note["text"].startswith(f"新派工单 {number}（就医配药，紧急），请于 {accept_by} 前签收")

    # The webhook: a real POST per attempt, backed off 30 s then 1 min, until it answers 200.
    sender = standard(sessions, tmp_path / "outbox.log", vault)
    start = utcnow()
    for at, seen in ((start, 1), (start + timedelta(seconds=29), 1), (start + timedelta(seconds=30), 2),
                     (start + timedelta(seconds=89), 2), (start + timedelta(seconds=90), 3),
                     (start + timedelta(hours=2), 3)):
        deliver_outbox(sessions, at, sender)
        assert len(receiver.seen) == seen, at - start
    assert [s.status for s in receiver.seen] == [500, 500, 200]
    assert all(s.signature_ok for s in receiver.seen)
    [delivery] = world["admin"].get("/api/outbox", params={"state": "sent"}).json()
    assert (delivery["kind"], delivery["attempts"], delivery["order_number"]) == ("order.dispatched", 3, number)
    for request in receiver.seen:  # every attempt carries the same delivery id, in header and body
        assert request.headers["X-Cityline-Delivery"] == str(delivery["id"]) == str(request.json["delivery"])
        assert request.headers["X-Cityline-Event"] == "order.dispatched"
    body = receiver.seen[-1].json
    assert body == {"event": "order.dispatched", "delivery": delivery["id"], "order_number": number,
                    "unit": "SH-JA-CJD", "category": "EPI.MEDICAL", "urgency": "urgent",
                    "deadline": body["deadline"], "accept_by": body["accept_by"],
                    "dispatched_at": body["dispatched_at"]}
    assert parse_when(body["deadline"]) == parse_when(order["resolve_by"])
    assert parse_when(body["accept_by"]) == parse_when(order["accept_by"])
    assert receiver.secret not in json.dumps(body) and not (tmp_path / "outbox.log").exists()


def test_auto_dispatch_and_redispatch_notify_each_unit_within_its_reach(world):
    order = new_order(world["desk"])  # 曹家渡 + 就医配药: the catalogue dispatches by itself
    assert (order["status"], order["unit"]) == ("dispatched", "SH-JA-CJD")
    move(world["desk"], order["number"], action="redispatch", unit="SH-JA-JNL", note="地址在江宁路")
    cjd = world["cjd"].get("/api/notifications").json()["items"]
    jnl = world["jnl"].get("/api/notifications").json()["items"]
    district = world["district"].get("/api/notifications").json()
    assert [(n["kind"], n["order_number"]) for n in cjd] == [("order.dispatched", order["number"])]
    assert [(n["kind"], n["order_number"]) for n in jnl] == [("order.redispatched", order["number"])]
    assert jnl[0]["text"].startswith(f"改派工单 {order['number']}")
    assert district["unread"] == 2 and len(district["items"]) == 2

    # Another street's notification does not exist for this unit; its own can be read.
    assert world["jnl"].post(f"/api/notifications/{cjd[0]['id']}/read").status_code == 404
    read = world["cjd"].post(f"/api/notifications/{cjd[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_by"] == "token:cjd" and read.json()["read_at"]
    district = world["district"].get("/api/notifications").json()
    assert district["unread"] == 1
    assert [n["read_at"] is None for n in district["items"]] == [True, False]  # unread first
    unread = world["district"].get("/api/notifications", params={"unread": "true"}).json()["items"]
    assert [n["id"] for n in unread] == [jnl[0]["id"]]
    assert world["desk"].get("/api/notifications").json()["unread"] == 1  # the city centre sees every unit


def test_an_order_reopened_after_an_unsatisfied_return_visit_is_announced_to_its_unit_again(world):
    order = new_order(world["desk"])
    for action, params in [("accept", {}), ("reply", {"text": "药已送到"}), ("visit", {"satisfaction": "unsatisfied"}),
                           ("reopen", {"reason": "药仍未送到"})]:
        move(world["desk"], order["number"], action=action, **params)
    notes = world["cjd"].get("/api/notifications").json()["items"]
    assert [n["kind"] for n in notes] == ["order.reopened", "order.dispatched"]
    assert notes[0]["text"].startswith(f"重办工单 {order['number']}")


def test_webhooks_are_for_admins_and_their_secret_is_shown_once(world, sessions, vault):
    hook = {"unit": "SH-JA-CJD", "url": "https://cjd.example/12345"}
    for name in ("cjd", "district"):
        client = world[name]
        assert client.get("/api/webhooks").status_code == 403
        assert client.post("/api/webhooks", json=hook).status_code == 403
        assert client.delete("/api/webhooks/1").status_code == 403
        assert client.get("/api/outbox").status_code == 403
    admin = world["admin"]
    created = admin.post("/api/webhooks", json=hook).json()
    assert len(created["secret"]) == 64 and created["unit"] == "SH-JA-CJD"
    listed = admin.get("/api/webhooks").json()
    assert [h["id"] for h in listed] == [created["id"]] and listed[0]["secret"] is None
    assert created["secret"] not in admin.get("/api/webhooks").text
    with transaction(sessions) as session:  # a copy of the database cannot sign deliveries
        stored = session.execute(text("SELECT secret_enc FROM webhooks")).scalar_one()
    assert created["secret"] not in stored and vault.reveal(stored) == created["secret"]
    unknown = admin.post("/api/webhooks", json={"unit": "NOPE", "url": hook["url"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "unit"
    assert admin.post("/api/webhooks", json={"unit": "SH-JA-CJD", "url": "file:///etc/passwd"}).status_code == 422
    assert admin.delete(f"/api/webhooks/{created['id']}").status_code == 204
    assert admin.get("/api/webhooks").json() == []
    assert [h["active"] for h in admin.get("/api/webhooks", params={"removed": "true"}).json()] == [False]
    assert admin.delete(f"/api/webhooks/{created['id']}").status_code == 404
    actions = [e["action"] for e in admin.get("/api/audit", params={"actor": "token:admin"}).json()]
    assert {"webhook_added", "webhook_removed"} <= set(actions)


def test_a_delivery_given_up_on_is_shown_to_the_admin_who_can_send_it_again(world, sessions, vault):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    admin = world["admin"]
    admin.post("/api/webhooks", json={"unit": "SH-JA-CJD", "url": dead})
    order = new_order(world["desk"])
    report = deliver_outbox(sessions, utcnow(), standard(sessions, None, vault), max_attempts=1)
    assert (report.sent, report.failed) == (0, 1)
    [failed] = admin.get("/api/outbox").json()
    assert (failed["state"], failed["order_number"], failed["attempts"]) == ("failed", order["number"], 1)
    assert "refused" in failed["last_error"].lower()
    again = admin.post(f"/api/outbox/{failed['id']}/retry")
    assert again.status_code == 200 and (again.json()["state"], again.json()["attempts"]) == ("pending", 0)
    assert admin.post(f"/api/outbox/{failed['id']}/retry").status_code == 409
    assert world["cjd"].post(f"/api/outbox/{failed['id']}/retry").status_code == 403

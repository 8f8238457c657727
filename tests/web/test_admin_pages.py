"""The administrator's pages and the API changes behind them: users (roles, unit, password,
deactivation), units as a tree, the dispatch catalogue with its versions, the audit log a page
at a time with its total; and the moves an order page offers a person."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from cityline.accounts.rules import ACTION_PERMISSION
from cityline.accounts.service import audit
from cityline.db import transaction
from cityline.orders.rules import ALLOWED_FROM
from tests.factories import order_body


def rows(html: str, table: str) -> list[str]:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', html, re.S)
    return re.findall(r"<tr\b.*?</tr>", body.group(1), re.S) if body else []


def test_users_are_created_changed_reset_and_deactivated(city):
    app, people = city
    admin = people["admin"]
    made = admin.post("/api/users", json={"username": "wang.op", "password": "first-password-1",
                                          "roles": ["operator"], "display_name": "王接线"})
    assert made.status_code == 201, made.text
    again = admin.post("/api/users", json={"username": "wang.op", "password": "first-password-1",
                                           "roles": ["operator"]})
    assert again.status_code == 409 and again.json()["code"] == "user.exists"

    wang = TestClient(app, follow_redirects=False)
    assert wang.post("/api/auth/login", json={"username": "wang.op", "password": "first-password-1"}).status_code == 200
    changed = admin.patch("/api/users/wang.op", json={"roles": ["unit_handler"], "unit": "SH-JA-CJD"})
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"last_login_at": None} == {
        "username": "wang.op", "display_name": "王接线", "roles": ["unit_handler"], "unit": "SH-JA-CJD",
        "active": True, "last_login_at": None}
    assert wang.get("/api/auth/me").status_code == 401  # what they may see changed: signed out
    bad_unit = admin.patch("/api/users/wang.op", json={"unit": "SH-NOWHERE"})
    assert bad_unit.status_code == 422 and [e["field"] for e in bad_unit.json()["errors"]] == ["unit"]
    assert admin.patch("/api/users/wang.op", json={"unit": ""}).json()["unit"] is None

    short = admin.post("/api/users/wang.op/password", json={"password": "short"})
    assert short.status_code == 422
    assert short.json()["errors"][0] | {"message": ""} == {"field": "password", "message": "",
                                                           "code": "string_too_short", "params": {"min_length": 10}}
    assert admin.post("/api/users/wang.op/password", json={"password": "second-password-2"}).status_code == 204
    assert wang.post("/api/auth/login", json={"username": "wang.op", "password": "first-password-1"}).status_code == 401
    assert wang.post("/api/auth/login", json={"username": "wang.op", "password": "second-password-2"}).status_code == 200

    assert admin.patch("/api/users/wang.op", json={"active": False}).json()["active"] is False
    assert wang.get("/api/auth/me").status_code == 401
    assert people["operator"].patch("/api/users/wang.op", json={"active": True}).status_code == 403

    page = admin.get("/admin/users").text
    listed = rows(page, "users")
    assert len(listed) == len(admin.get("/api/users").json())
    wang_row = next(r for r in listed if 'id="u-wang.op"' in r)
    assert 'class="inactive"' in wang_row and "已停用" in wang_row and "启用" in wang_row
    actions = [e["action"] for e in admin.get("/api/audit", params={"actor": "admin"}).json()]
    assert {"user_created", "user_changed", "password_reset"} <= set(actions)


def test_units_form_a_tree_and_are_deactivated_leaves_first(city):
    _app, people = city
    admin = people["admin"]
    made = admin.post("/api/units", json={"code": "SH-JA-CJD-1", "name": "曹家渡第一居委", "kind": "department",
                                          "parent_code": "SH-JA-CJD"})
    assert made.status_code == 201 and made.json()["active"] is True
    loop = admin.post("/api/units", json={"code": "SH-JA", "name": "静安区城运中心", "kind": "centre",
                                          "parent_code": "SH-JA-CJD-1"})
    assert loop.status_code == 422 and loop.json()["errors"][0]["code"] == "below_itself"

    refused = admin.post("/api/units/SH-JA-CJD/active", json={"active": False})
    assert refused.status_code == 409 and refused.json()["code"] == "unit.children_active"
    assert refused.json()["params"] == {"units": "SH-JA-CJD-1"}
    assert admin.post("/api/units/SH-JA-CJD-1/active", json={"active": False}).json()["active"] is False
    assert admin.post("/api/units/SH-JA-CJD/active", json={"active": False}).json()["active"] is False
    back = admin.post("/api/units/SH-JA-CJD-1/active", json={"active": True})
    assert back.status_code == 409 and back.json()["code"] == "unit.parent_inactive"
    assert admin.post("/api/units/SH-NOPE/active", json={"active": False}).status_code == 404

    page = admin.get("/admin/units").text
    order = re.findall(r'<li id="unit-([^"]+)" class="(\w+)" style="--depth: (\d+)"', page)
    assert order == [("SH", "active", "0"), ("SH-JA", "active", "1"), ("SH-JA-CJD", "inactive", "2"),
                     ("SH-JA-CJD-1", "inactive", "3"), ("SH-JA-JNL", "active", "2"), ("SH-WJW", "active", "1")]
    assert "共 6 个单位，4 个启用" in page
    # A deactivated unit is offered to no new user, and not to dispatchers either.
    users_page = people["admin"].get("/admin/users").text
    assert 'value="SH-JA-JNL"' in users_page and 'value="SH-JA-CJD"' not in users_page


def test_the_catalogue_page_shows_rules_versions_and_what_each_changed(city):
    _app, people = city
    admin = people["admin"]
    rules = [{"category": "EPI.MEDICAL", "level": "street"}, {"category": "EPI.CODE", "unit": "SH-WJW", "priority": 5},
             {"category": "GEN.TRAFFIC", "level": "district", "note": "区交通"}]
    made = admin.post("/api/dispatch/catalogue", json={"rules": rules, "note": "调整交通"})
    assert made.status_code == 201, made.text
    newest = made.json()["current"]
    page = admin.get("/admin/catalogue").text
    assert len(rows(page, "rules")) == 3 and len(rows(page, "versions")) == newest
    detail = admin.get(f"/admin/catalogue?version={newest}").text
    assert "新增 1 条" in detail and "删除 1 条" in detail and "修改 1 条" in detail and "id=\"restore\"" not in detail
    first = admin.get(f"/admin/catalogue?version={newest - 1}").text
    assert f"/api/dispatch/catalogue/versions/{newest - 1}/restore" in first
    assert admin.get("/admin/catalogue?version=99999").status_code == 200  # no such version: none chosen
    restored = admin.post(f"/api/dispatch/catalogue/versions/{newest - 1}/restore", json={"note": "回退"})
    assert restored.status_code == 201
    assert len(rows(admin.get("/admin/catalogue").text, "versions")) == newest + 1
    assert people["dispatcher"].get("/admin/catalogue").status_code == 403


def test_the_audit_log_filters_and_counts_every_entry(city, sessions):
    _app, people = city
    admin = people["admin"]
    with transaction(sessions) as session:
        for i in range(60):
            audit(session, "zhao.admin", "unit_saved", f"SH-T{i:02d}")
        audit(session, "zhao.admin", "export", "orders")
    page1 = admin.get("/admin/audit", params={"actor": "zhao.admin", "action": "unit_saved"}).text
    assert "显示 50 / 共 60 件" in page1 and len(rows(page1, "audit")) == 50
    assert 'href="/admin/audit?actor=zhao.admin&amp;action=unit_saved&amp;page=2"' in page1
    page2 = admin.get("/admin/audit", params={"actor": "zhao.admin", "action": "unit_saved", "page": 2}).text
    assert len(rows(page2, "audit")) == 10 and "SH-T00" in page2 and "SH-T59" not in page2
    later = admin.get("/admin/audit", params={"actor": "zhao.admin", "since": "2099-01-01T00:00"}).text
    assert ">0 件<" in later and "没有符合条件的记录" in later
    unreadable = admin.get("/admin/audit", params={"actor": "zhao.admin", "since": "2999-01-01T00:00"}).text
    assert "起始时间「2999-01-01T00:00」不是可用的时间" in unreadable and "共 61 件" in unreadable
    answer = admin.get("/api/audit", params={"actor": "zhao.admin", "limit": 7, "page": 2})
    assert answer.headers["x-total-count"] == "61" and len(answer.json()) == 7
    assert people["supervisor"].get("/admin/audit").status_code == 403


def test_an_order_offers_each_person_the_moves_its_state_and_their_role_allow(city):
    _app, people = city
    # Every verb of the loop needs a permission of its own: a verb added to the table without
    # one would be offered to anyone who may read the order.
    assert set(ALLOWED_FROM) <= set(ACTION_PERMISSION)
    order = people["operator"].post("/api/orders", json=order_body()).json()
    number, handler = order["number"], people["handler"]
    if order["status"] == "received":  # not sent on by auto-dispatch
        people["dispatcher"].post(f"/api/orders/{number}/moves", json={"action": "dispatch", "unit": "SH-JA-CJD"})
    assert handler.post(f"/api/orders/{number}/moves", json={"action": "accept"}).status_code == 200
    running = handler.get(f"/api/orders/{number}").json()
    assert "pause" in running["your_moves"] and "resume" not in running["your_moves"]
    assert "grant" not in running["your_moves"] and "redispatch" in running["allowed_actions"]
    refused = handler.post(f"/api/orders/{number}/moves", json={"action": "resume"})
    assert refused.status_code == 409
    assert refused.json() | {"detail": "", "instance": ""} == {
        "type": "about:blank", "title": "Conflict", "status": 409, "detail": "", "instance": "",
        "code": "move.not_paused", "params": {"action": "resume", "status": "accepted"}}
    assert handler.post(f"/api/orders/{number}/moves", json={"action": "pause", "reason": "等待市民补充材料"}).status_code == 200
    paused = handler.get(f"/api/orders/{number}").json()["your_moves"]
    assert "resume" in paused and "pause" not in paused
    page = handler.get(f"/orders/{number}").text
    assert 'data-action="resume"' in page and 'data-action="pause"' not in page
    inbox = handler.get("/inbox").text
    assert 'data-action="resume"' in inbox and 'data-action="pause"' not in inbox
    # The supervisor may grant only while an extension waits, and never handles the order.
    supervisor = people["supervisor"]
    assert set(supervisor.get(f"/api/orders/{number}").json()["your_moves"]) == {"redispatch", "cancel", "merge"}
    assert handler.post(f"/api/orders/{number}/moves", json={"action": "resume"}).status_code == 200
    asked = handler.post(f"/api/orders/{number}/moves", json={"action": "extend", "reason": "需协调物业",
                                                                "until": "2099-01-01T10:00:00"})
    assert asked.status_code == 200, asked.text
    assert {"grant", "refuse"} <= set(supervisor.get(f"/api/orders/{number}").json()["your_moves"])
    assert "extend" not in handler.get(f"/api/orders/{number}").json()["your_moves"]

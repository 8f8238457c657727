"""Every API route × every role × own unit / other unit: nothing leaks.

Units: the city centre SH; 静安区 SH-JA with streets 曹家渡 (A, SH-JA-CJD) and
江宁路 (B, SH-JA-JNL); 普陀区 SH-PT. Each role gets a token attached to street A.
Orders: one dispatched to each of P, B and A (in that order, so A's duplicates at intake
include B), and W, waiting in street A for a dispatcher, which looks like A and B and
whose caller also called P in.
"""

import csv
import io

import pytest
from fastapi.testclient import TestClient

from cityline.accounts.rules import PERMISSIONS, ROLES
from cityline.accounts.units import upsert_unit
from cityline.api import create_app
from cityline.db import transaction
from tests.conftest import make_token

PHONES = {"A": "13800000001", "B": "13800000002", "P": "13800000003"}
UNITS = [
    {"code": "SH", "name": "市热线", "kind": "centre"},
    {"code": "SH-JA", "name": "静安区中心", "kind": "centre", "parent_code": "SH", "district": "静安区"},
    {"code": "SH-JA-CJD", "name": "曹家渡街道", "kind": "street_office", "parent_code": "SH-JA",
     "district": "静安区", "street": "曹家渡街道"},
    {"code": "SH-JA-JNL", "name": "江宁路街道", "kind": "street_office", "parent_code": "SH-JA",
     "district": "静安区", "street": "江宁路街道"},
    {"code": "SH-PT", "name": "普陀区中心", "kind": "centre", "parent_code": "SH", "district": "普陀区"},
]
PLACES = {"P": ("SH-PT", "普陀区", None), "B": ("SH-JA-JNL", "静安区", "江宁路街道"),
          "A": ("SH-JA-CJD", "静安区", "曹家渡街道")}
MISSING = "20990101-00001"  # no order has this number
FOREIGN = ("B", "P")  # other street in the same district, other district: outside every token's reach


@pytest.fixture
def world(sessions, vault):
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
    admin = TestClient(create_app(sessions, vault),
                       headers={"Authorization": f"Bearer {make_token(sessions, ROLES, name='setup')}"})
    numbers = {}
    for key, (unit, district, street) in PLACES.items():
        order = admin.post("/api/orders", json={
            "text": f"{district}{street or ''}居民反映小区门口排队做核酸", "caller_phone": PHONES[key],
            "district": district, "street": street, "kind": "complaint", "category": "EPI.TEST",
            "urgency": "sub_urgent"}).json()
        admin.post(f"/api/orders/{order['number']}/moves", json={"action": "dispatch", "unit": unit})
        numbers[key] = order["number"]
    numbers["W"] = admin.post("/api/orders", json={
        "text": "静安区曹家渡街道居民反映小区门口排队做核酸人很多", "caller_phone": PHONES["P"],
        "district": "静安区", "street": "曹家渡街道", "kind": "complaint", "category": "EPI.TEST",
        "urgency": "sub_urgent"}).json()["number"]
    clients = {role: TestClient(create_app(sessions, vault), headers={
        "Authorization": f"Bearer {make_token(sessions, [role], unit='SH-JA-CJD', name=role)}"}) for role in ROLES}
    return numbers, clients


def order_routes(number):
    """Every route that looks an order up by its number."""
    return [
        ("GET", f"/api/orders/{number}", None, "orders:read"),
        ("GET", f"/api/orders/{number}/duplicates", None, "orders:read"),
        ("POST", f"/api/orders/{number}/moves", {"action": "accept"}, "orders:handle"),
        ("POST", f"/api/orders/{number}/moves", {"action": "redispatch", "unit": "SH-PT"}, "orders:dispatch"),
        ("POST", f"/api/orders/{number}/moves", {"action": "answer", "text": "x"}, "orders:answer"),
        ("POST", f"/api/orders/{number}/moves", {"action": "visit", "satisfaction": "satisfied"}, "orders:visit"),
        ("PUT", f"/api/orders/{number}/labels", {"urgency": "urgent"}, "orders:label"),
        ("POST", f"/api/orders/{number}/triage", None, "orders:label"),
        ("POST", f"/api/orders/{number}/moves", {"action": "merge", "into": MISSING}, "orders:dispatch"),
        # A's kind is complaint, so answering it from an article is refused (409) before the
        # article is looked up: no article is needed to see whose order it is.
        ("POST", "/api/knowledge/articles/KB-NONE/answer", {"order": number}, "orders:answer"),
        ("POST", f"/api/orders/{number}/reveal", {"reason": "回电核实"}, "pii:reveal"),
    ]


def merge_routes(numbers, into):
    """Merging street A's waiting order W into the order numbered ``into``."""
    return [("POST", f"/api/orders/{numbers['W']}/moves", {"action": "merge", "into": into}, "orders:dispatch")]


# The operator's form while a call about street A is written up, from P's caller.
PREVIEW = {"text": "静安区曹家渡街道小区门口排队做核酸", "address": "静安区曹家渡街道", "caller_phone": PHONES["P"],
           "category": "EPI.TEST"}
CITY_ROUTES = [
    ("GET", "/api/orders", None, "orders:read"),
    ("POST", "/api/orders", {"text": "路灯不亮", "kind": "complaint", "category": "GEN.UTILITIES",
                             "urgency": "normal"}, "orders:create"),
    ("POST", "/api/orders/batch", {"orders": [{"text": "路灯不亮", "kind": "complaint", "category": "GEN.UTILITIES",
                                               "urgency": "normal", "external_id": "GW-MATRIX-1"}]}, "orders:create"),
    ("GET", "/api/orders/export.csv", None, "orders:export"),
    ("GET", "/api/units", None, "units:read"),
    ("POST", "/api/units", {"code": "SH-X", "name": "新单位", "kind": "department", "parent_code": "SH"},
     "units:write"),
    ("POST", "/api/units/SH-X/active", {"active": False}, "units:write"),
    ("GET", "/api/users", None, "users:admin"),
    ("POST", "/api/users", {"username": "newbie", "password": "a-long-password", "roles": ["operator"]},
     "users:admin"),
    ("PATCH", "/api/users/newbie", {"roles": ["operator", "dispatcher"], "display_name": "新人"}, "users:admin"),
    ("GET", "/api/tokens", None, "users:admin"),
    ("GET", "/api/audit", None, "audit:read"),
    ("GET", "/api/notifications", None, "orders:read"),
    ("GET", "/api/webhooks", None, "outbox:admin"),
    ("POST", "/api/webhooks", {"unit": "SH-JA-CJD", "url": "https://cjd.example/hook"}, "outbox:admin"),
    ("GET", "/api/outbox", None, "outbox:admin"),
    ("GET", "/api/auth/me", None, None),
    ("GET", "/api/dispatch/queue", None, "orders:dispatch"),
    ("POST", "/api/intake/preview", PREVIEW, "orders:create"),
    ("GET", "/api/dispatch/suggest?category=EPI.TEST&district=静安区&street=曹家渡街道", None, "orders:read"),
    ("GET", "/api/inspection/findings", None, "orders:read"),
    ("GET", "/api/inspection/tallies", None, "orders:read"),
    ("GET", "/api/inspection/sites", None, "orders:read"),
    ("GET", "/api/inspection/problems", None, "orders:read"),
]


def call(client, method, path, body):
    return client.request(method, path, json=body) if body is not None else client.request(method, path)


def no_full_phone(response, allowed=()):
    for key, phone in PHONES.items():
        if key not in allowed:
            assert phone not in response.text, f"{response.request.url} leaked {key}'s phone"


def no_foreign_number(response, numbers):
    """Orders outside the reach do not exist: not even their numbers show (duplicates, history, queue)."""
    for key in FOREIGN:
        assert numbers[key] not in response.text, f"{response.request.url} named {key}'s order: {response.text}"


@pytest.mark.parametrize("role", ROLES)
def test_order_routes_by_role_and_unit(world, role):
    numbers, clients = world
    client, allowed = clients[role], PERMISSIONS[role]
    for key in (*FOREIGN, "A"):  # other street in the same district, other district, own street
        for method, path, body, permission in order_routes(numbers[key]):
            response = call(client, method, path, body)
            if permission not in allowed:
                assert response.status_code == 403, (role, method, path, response.text)
                continue
            # Street A is every token's own street; B and P are outside every role's reach.
            if key == "A":
                assert response.status_code not in (401, 403, 404), (role, method, path, response.text)
            else:
                assert response.status_code == 404, (role, method, path, response.text)
            revealed = ("A",) if permission == "pii:reveal" and key == "A" else ()
            no_full_phone(response, allowed=revealed)
            if key == "A":  # a foreign order's own 404 names the number that was asked for
                no_foreign_number(response, numbers)
            if revealed:
                assert response.json()["caller_phone"] == PHONES["A"]


@pytest.mark.parametrize("role", ROLES)
def test_city_routes_by_role(world, role):
    numbers, clients = world
    client, allowed = clients[role], PERMISSIONS[role]
    for method, path, body, permission in CITY_ROUTES:
        response = call(client, method, path, body)
        if permission and permission not in allowed:
            assert response.status_code == 403, (role, path, response.text)
            continue
        assert response.status_code in (200, 201), (role, method, path, response.text)
        no_full_phone(response)
        no_foreign_number(response, numbers)
        if path == "/api/orders" and method == "GET":
            seen = {item["number"] for item in response.json()["items"]}
            assert numbers["A"] in seen and numbers["B"] not in seen and numbers["P"] not in seen


def same_answer(foreign, missing, number):
    """Byte for byte the answer for a missing order, once the number is swapped."""
    assert foreign.status_code == missing.status_code, (foreign.request.url, foreign.text, missing.text)
    assert foreign.content.replace(number.encode(), MISSING.encode()) == missing.content, (
        foreign.request.url, foreign.text, missing.text)
    assert foreign.headers["content-type"] == missing.headers["content-type"]


@pytest.mark.parametrize("role", ROLES)
def test_other_units_order_answers_exactly_like_a_missing_one(world, role):
    numbers, clients = world
    client = clients[role]
    for key in FOREIGN:
        for (method, path, body, _), (m_method, m_path, m_body, _) in zip(
                order_routes(numbers[key]) + merge_routes(numbers, numbers[key]),
                order_routes(MISSING) + merge_routes(numbers, MISSING), strict=True):
            same_answer(call(client, method, path, body), call(client, m_method, m_path, m_body), numbers[key])


@pytest.mark.parametrize("role", ROLES)
def test_another_units_notification_answers_like_a_missing_one(world, sessions, vault, role):
    numbers, clients = world
    city = TestClient(create_app(sessions, vault), headers={
        "Authorization": f"Bearer {make_token(sessions, ['dispatcher'], unit='SH', name='city')}"})
    ids = {n["order_number"]: n["id"] for n in city.get("/api/notifications").json()["items"]}
    for key in FOREIGN:
        foreign = clients[role].post(f"/api/notifications/{ids[numbers[key]]}/read")
        missing = clients[role].post("/api/notifications/999999/read")
        assert foreign.status_code == missing.status_code, (role, foreign.text)
        assert foreign.text == missing.text.replace("999999", str(ids[numbers[key]]))


@pytest.mark.parametrize("role", sorted(r for r in ROLES if "orders:dispatch" in PERMISSIONS[r]))
def test_merge_only_into_an_order_within_reach(world, role):
    numbers, clients = world
    client = clients[role]
    refused = call(client, *merge_routes(numbers, numbers["B"])[0][:3])
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "into", "message": "no order has this number"}]
    merged = call(client, *merge_routes(numbers, numbers["A"])[0][:3])
    assert merged.status_code == 200 and merged.json()["merged_into"] == numbers["A"]


def test_duplicates_stop_at_the_reach(world, sessions, vault):
    """The same orders, as the street's dispatcher and as the district's supervisor see them."""
    numbers, clients = world
    token = make_token(sessions, ["supervisor"], unit="SH-JA", name="ja-supervisor")
    district = TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"})
    street = clients["dispatcher"]

    def found(items):
        return {d["number"] for d in items}

    assert found(street.get(f"/api/orders/{numbers['W']}/duplicates").json()) == {numbers["A"]}
    assert found(district.get(f"/api/orders/{numbers['W']}/duplicates").json()) == {numbers["A"], numbers["B"]}
    queued = {i["order"]["number"]: i for i in street.get("/api/dispatch/queue").json()}
    assert found(queued[numbers["W"]]["duplicates"]) == {numbers["A"]}
    preview = clients["operator"].post("/api/intake/preview", json=PREVIEW).json()
    assert found(preview["duplicates"]) == {numbers["A"], numbers["W"]}
    # What intake found is stored whole; each reader of the history sees the part within their reach.
    for client, expected in ((clients["unit_handler"], set()), (street, set()), (district, {numbers["B"]})):
        received = client.get(f"/api/orders/{numbers['A']}").json()["events"][0]
        assert received["action"] == "received" and found(received["data"]["duplicates"]) == expected


def test_handler_of_street_a_gets_404_for_street_b(world):
    numbers, clients = world
    response = clients["unit_handler"].get(f"/api/orders/{numbers['B']}")
    assert response.status_code == 404
    assert response.json()["detail"] == clients["unit_handler"].get("/api/orders/20990101-00001").json()["detail"].replace(
        "20990101-00001", numbers["B"])


def test_city_centre_staff_see_the_whole_city(sessions, vault, world):
    numbers, _clients = world
    token = make_token(sessions, ["dispatcher"], unit="SH", name="city-dispatcher")
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        seen = {o["number"] for o in client.get("/api/orders").json()["items"]}
    assert set(numbers.values()) <= seen


def test_district_supervisor_sees_its_district_only(sessions, vault, world):
    numbers, _clients = world
    token = make_token(sessions, ["supervisor"], unit="SH-JA", name="ja-supervisor")
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        seen = {o["number"] for o in client.get("/api/orders").json()["items"]}
        assert client.get(f"/api/orders/{numbers['P']}").status_code == 404
    assert {numbers["A"], numbers["B"]} <= seen and numbers["P"] not in seen


def test_analyst_export_has_no_personal_data(world):
    numbers, clients = world
    response = clients["analyst"].get("/api/orders/export.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and not {"caller_phone", "caller_name", "address"} & set(rows[0])
    no_full_phone(response)


def test_reveal_is_audited_and_denials_too(world, sessions, vault):
    numbers, clients = world
    clients["operator"].post(f"/api/orders/{numbers['A']}/reveal", json={"reason": "回电核实地址"})
    clients["analyst"].post(f"/api/orders/{numbers['A']}/reveal", json={"reason": "想看看"})
    admin = clients["admin"]
    reveals = admin.get("/api/audit", params={"action": "reveal_phone"}).json()
    assert [(e["actor"], e["target"], e["reason"]) for e in reveals] == [
        ("token:operator", f"order:{numbers['A']}", "回电核实地址")]
    denied = admin.get("/api/audit", params={"action": "denied", "actor": "token:analyst"}).json()
    assert denied and denied[0]["target"] == "pii:reveal"

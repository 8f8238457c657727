"""Open311 GeoReport v2 over HTTP through the ASGI app, on SQLite and PostgreSQL: form-encoded
creates through intake, public reads in JSON and XML, filters, the 90-day limit, the
specification's errors, and no caller's phone in any GET."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cityline.api import create_app
from cityline.db import transaction
from cityline.geo.models import Grid
from cityline.intake.triage import classify_with
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue, order_body

BASE = "/open311/v2"
PHONE = "13911112222"  # fake
TEXT = "小区封控，家中老人的降压药快用完了，请帮忙配药。"
ADDRESS = "静安区曹家渡街道万航渡路123弄"


@pytest.fixture
def api(sessions, vault) -> Iterator[tuple[TestClient, str, str]]:
    """The app with triage; an operator's token and a city-wide token of every other role."""
    add_units_and_catalogue(sessions)
    operator = make_token(sessions, ["operator"], name="open311-gateway")
    staff = make_token(sessions, ["dispatcher", "unit_handler", "supervisor"], name="staff")
    with TestClient(create_app(sessions, vault, classifier=classify_with)) as client:
        yield client, operator, staff


def _create(client: TestClient, key: str, fmt: str = "json", **fields) -> TestClient:
    form = {"api_key": key, "service_code": "EPI.MEDICAL", "address_string": ADDRESS,
            "description": f"{TEXT}联系电话{PHONE}", "phone": PHONE, "first_name": "三", "last_name": "张",
            "email": "zhang.san@example.org", "media_url": "https://example.org/photo.jpg",
            "attribute[special_group][]": ["elderly"], **fields}
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def test_a_request_is_an_order_made_through_intake_and_read_back_without_its_caller(api):
    client, operator, staff = api
    created = _create(client, operator)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/json")
    (made,) = created.json()
    number, token = made["service_request_id"], made["token"]

    order = client.get(f"/api/orders/{number}", headers={"Authorization": f"Bearer {staff}"}).json()
    assert order["channel"] == "app" and order["category"] == "EPI.MEDICAL"
    assert order["special_groups"] == ["elderly"] and order["urgency"]  # triage filled the urgency
    assert order["status"] == "dispatched" and order["unit"] == "SH-JA-CJD"  # routed like any other
    assert order["resolve_by"] and order["caller_phone"] == "139****2222" and order["caller_name"] != "张三"
    received = order["events"][0]["data"]["open311"]
    assert received["media_url"] == "https://example.org/photo.jpg" and received["email"] == "z***@example.org"

    answers = [client.get(f"{BASE}/requests.json"), client.get(f"{BASE}/requests/{number}.json"),
               client.get(f"{BASE}/requests.xml"), client.get(f"{BASE}/requests/{number}.xml")]
    for answer in answers:
        assert answer.status_code == 200
        assert PHONE not in answer.text and "139****2222" in answer.text
        assert "zhang.san" not in answer.text and "张三" not in answer.text
    (listed,) = answers[0].json()
    assert answers[1].json() == [listed]  # a list of one
    assert listed["service_request_id"] == number and listed["status"] == "open"
    assert listed["agency_responsible"] == "曹家渡街道办事处" and listed["status_notes"] == "已派至曹家渡街道办事处"
    assert listed["requested_datetime"].endswith("+08:00") and listed["expected_datetime"].endswith("+08:00")
    assert listed["media_url"] == "https://example.org/photo.jpg" and listed["service_name"] == "就医配药"
    assert answers[2].headers["content-type"] == "application/xml"
    request = ET.fromstring(answers[3].content).find("request")
    assert request.findtext("service_request_id") == number and request.findtext("status") == "open"
    assert client.get(f"{BASE}/tokens/{token}.json").json() == [{"service_request_id": number, "token": token}]
    assert ET.fromstring(client.get(f"{BASE}/tokens/{token}.xml").content).findtext("request/token") == token


def test_the_units_reply_becomes_the_status_notes_and_a_closed_order_a_closed_request(api):
    client, operator, staff = api
    number = _create(client, operator).json()[0]["service_request_id"]
    as_staff = {"Authorization": f"Bearer {staff}"}
    for move in ({"action": "accept"}, {"action": "reply", "text": f"已送药上门，回电{PHONE}"}):
        assert client.post(f"/api/orders/{number}/moves", json=move, headers=as_staff).status_code == 200
    (record,) = client.get(f"{BASE}/requests/{number}.json", params={"locale": "en"}).json()
    assert record["status_notes"] == "已送药上门，回电139****2222" and record["status"] == "open"
    assert record["service_name"] == "Medical care and medicine"
    assert client.post(f"/api/orders/{number}/moves", json={"action": "close", "reason": "已办结"},
                       headers=as_staff).status_code == 200
    assert [r["service_request_id"] for r in client.get(f"{BASE}/requests.json?status=closed").json()] == [number]
    assert client.get(f"{BASE}/requests.json?status=open").json() == []


def test_filters_ids_codes_dates_and_pages(api):
    client, operator, staff = api
    first = _create(client, operator).json()[0]["service_request_id"]
    made = _create(client, operator, fmt="xml", service_code="GEN.ENVIRONMENT", description="小区门口垃圾三天没人清运",
                   **{"attribute[special_group][]": []})
    assert made.status_code == 201 and made.headers["content-type"] == "application/xml"
    second = ET.fromstring(made.content).findtext("request/service_request_id")
    # An order that came in by phone is not an Open311 request: no public GET shows it.
    phoned = client.post("/api/orders", json=order_body(), headers={"Authorization": f"Bearer {operator}"})
    assert phoned.status_code == 201
    ids = lambda answer: [r["service_request_id"] for r in answer.json()]  # noqa: E731
    assert ids(client.get(f"{BASE}/requests.json")) == [second, first]
    assert client.get(f"{BASE}/requests/{phoned.json()['number']}.json").status_code == 404
    assert ids(client.get(f"{BASE}/requests.json", params={"service_request_id": f"{first},nope"})) == [first]
    assert ids(client.get(f"{BASE}/requests.json", params={"service_code": "GEN.ENVIRONMENT"})) == [second]
    assert ids(client.get(f"{BASE}/requests.json", params={"page_size": 1, "page": 2})) == [first]
    assert ids(client.get(f"{BASE}/requests.json", params={"start_date": "2020-01-01", "end_date": "2020-03-01"})) == []
    too_long = client.get(f"{BASE}/requests.xml", params={"start_date": "2026-01-01", "end_date": "2026-06-01"})
    assert too_long.status_code == 400 and too_long.headers["content-type"] == "application/xml"
    assert "90 days" in ET.fromstring(too_long.content).findtext("error/description")
    bad = client.get(f"{BASE}/requests.json", params={"status": "pending", "page_size": 0})
    assert bad.status_code == 400 and {e["code"] for e in bad.json()} == {400}


def test_errors_are_the_specifications_list(api):
    client, operator, staff = api
    bad_key = _create(client, "cl_not-a-token")
    assert bad_key.status_code == 403 and bad_key.json()[0]["code"] == 403
    not_operator = _create(client, staff, fmt="xml")
    assert not_operator.status_code == 403
    assert "operator" in ET.fromstring(not_operator.content).findtext("error/description")
    assert _create(client, "").status_code == 400
    unknown_service = _create(client, operator, service_code="NOPE")
    assert unknown_service.status_code == 400 and "no service NOPE" in unknown_service.text
    nowhere = _create(client, operator, address_string="", lat="31.2")
    assert nowhere.status_code == 400
    assert {e["description"] for e in nowhere.json()} >= {"lat and long: give both, or neither"}
    wrong_attribute = _create(client, operator, **{"attribute[special_group][]": ["martian"]})
    assert wrong_attribute.status_code == 400 and "martian" in wrong_attribute.text
    assert _create(client, operator, description="x\x00y").status_code == 400
    for path in ("/requests/20200101-00001.json", "/services/NOPE.json", "/tokens/nope.json", "/services.csv",
                 "/nothing.json"):
        answer = client.get(BASE + path)
        assert answer.status_code == 404 and answer.json()[0]["code"] == 404, path
    assert client.get(f"{BASE}/requests.json").json() == []  # nothing was stored by the refusals


def test_services_definitions_discovery_in_both_formats(api):
    client, _operator, _staff = api
    services = client.get(f"{BASE}/services.json").json()
    assert len(services) == 25 and services[0]["service_name"] == "核酸检测"
    english = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}).json()
    assert english[0]["service_name"] == "Nucleic-acid testing"
    xml = ET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert [s.findtext("service_code") for s in xml.findall("service")] == [s["service_code"] for s in services]
    definition = ET.fromstring(client.get(f"{BASE}/services/EPI.MEDICAL.xml").content)
    assert definition.tag == "service_definition"
    assert definition.findtext("attributes/attribute/code") == "special_group"
    assert len(definition.findall("attributes/attribute/values/value")) >= 5
    discovery = client.get(f"{BASE}/discovery.json").json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2")


def test_a_grid_code_is_an_address_id(api, sessions):
    client, operator, staff = api
    with transaction(sessions) as session:
        session.add(Grid(code="JA-CJD-07", name="曹家渡街道万航渡路第七网格", district="静安区", street="曹家渡街道"))
    made = _create(client, operator, address_string="", address_id="JA-CJD-07")
    assert made.status_code == 201, made.text
    number = made.json()[0]["service_request_id"]
    order = client.get(f"/api/orders/{number}", headers={"Authorization": f"Bearer {staff}"}).json()
    assert (order["district"], order["street"], order["address"]) == ("静安区", "曹家渡街道", "曹家渡街道万航渡路第七网格")
    unknown = _create(client, operator, address_string="", address_id="NOPE")
    assert unknown.status_code == 400 and "not the code of a grid" in unknown.text


def test_an_account_id_is_answered_back_masked_like_any_value_shown(api):
    client, operator, _staff = api
    plain = _create(client, operator, account_id="gateway-user-42").json()[0]
    assert plain["account_id"] == "gateway-user-42"  # a client matches its own ids as it sent them
    numbered = _create(client, operator, account_id="110101199003071234").json()[0]
    assert numbered["account_id"] == "110101********1234"  # an ID number put there is not shown in full

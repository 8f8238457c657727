"""HTTP for orders coming in: triage fills what the operator left empty, explains itself, and never
overrides a person; the operator's form asks what cityline would decide while the call is being written up."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityline.accounts.models import ApiToken
from cityline.accounts.service import revoke_token
from cityline.api import create_app
from cityline.db import read_transaction, transaction, utcnow
from cityline.intake.triage import classify_with
from cityline.orders.models import Order
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue


@pytest.fixture
def triaged_client(sessions, vault):
    token = make_token(sessions, ["operator"])
    with TestClient(create_app(sessions, vault, classifier=classify_with),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_unlabelled_order_gets_labels_and_an_explanation(triaged_client):
    response = triaged_client.post("/api/orders", json={
        "text": "我爸爸八十多岁一个人住，小区封控了，家里降压药明天就吃完了，求求你们帮帮忙"})
    order = response.json()
    assert response.status_code == 201
    assert (order["category"], order["urgency"], order["triage_source"]) == ("EPI.MEDICAL", "urgent", "model")
    assert "elderly" in order["special_groups"] and order["language"] == "zh"
    received = triaged_client.get(f"/api/orders/{order['number']}").json()["events"][0]
    explanation = received["data"]["triage"]["explanation"]
    assert explanation["category"]["confidence"] > 0 and explanation["category"]["evidence"]


def test_foreign_caller_is_detected(triaged_client):
    order = triaged_client.post("/api/orders", json={
        "text": "Hello, I live in Jing'an and my health code turned yellow, how can I appeal?"}).json()
    assert order["language"] == "en" and "foreigner" in order["special_groups"]


def test_retriage_keeps_labels_a_person_gave(triaged_client):
    manual = triaged_client.post("/api/orders", json={
        "text": "药店排队买口罩", "kind": "complaint", "category": "GEN.MARKET", "urgency": "normal"}).json()
    result = triaged_client.post(f"/api/orders/{manual['number']}/triage").json()
    assert result["order"]["category"] == "GEN.MARKET" and result["prediction"]["category"] == "EPI.MASK"
    history = triaged_client.get(f"/api/orders/{manual['number']}").json()["events"]
    assert history[-1]["action"] == "triaged" and history[-1]["data"]["applied"] is False


def test_preview_fills_the_form_and_stores_nothing(sessions, vault):
    add_units_and_catalogue(sessions)
    token = make_token(sessions, ["operator"])
    with TestClient(create_app(sessions, vault, classifier=classify_with),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        first = client.post("/api/orders", json={"text": "曹家渡街道万航渡路有位老人透析药吃完了，小区封着出不去",
                                                  "caller_phone": "13800007777"})
        assert first.status_code == 201
        preview = client.post("/api/intake/preview", json={
            "text": "我爸在静安区曹家渡街道，透析的药吃完了，小区封控出不去", "caller_phone": "13800007777"}).json()
        assert preview["triage"]["category"] == "EPI.MEDICAL" and preview["triage"]["urgency"] == "urgent"
        assert (preview["place"]["district"], preview["place"]["street"]) == ("静安区", "曹家渡街道")
        assert preview["suggested_units"][0]["unit"] == "SH-JA-CJD"
        assert preview["duplicates"][0]["number"] == first.json()["number"]
        assert client.get("/api/orders").json()["total"] == 1
        denied = TestClient(create_app(sessions, vault), headers={
            "Authorization": f"Bearer {make_token(sessions, ['analyst'], name='a')}"})
        assert denied.post("/api/intake/preview", json={"text": "口罩"}).status_code == 403


def test_a_repeated_external_id_gives_the_first_order_only_to_those_who_may_see_it(sessions, vault):
    add_units_and_catalogue(sessions)
    city, street = (TestClient(create_app(sessions, vault), headers={
        "Authorization": f"Bearer {make_token(sessions, ['operator'], unit=unit, name=name)}"})
        for unit, name in ((None, "city"), ("SH-JA-CJD", "cjd")))
    body = {"text": "江宁路街道昌平路口垃圾没人收", "external_id": "WX-0001", "address": "静安区江宁路街道"}
    first = city.post("/api/orders", json=body)
    assert first.status_code == 201
    again = street.post("/api/orders", json=body)
    assert again.status_code == 409, again.text
    assert first.json()["number"] not in again.text and "江宁路" not in again.text
    assert city.post("/api/orders", json=body).json()["number"] == first.json()["number"]
    assert city.get("/api/orders").json()["total"] == 1


def test_a_callers_name_comes_back_masked_and_the_reveal_gives_it_in_full(sessions, vault):
    token = make_token(sessions, ["operator"])
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        order = client.post("/api/orders", json={"text": "楼下烧烤油烟很大", "caller_name": "王小明",
                                                  "category": "GEN.ENVIRONMENT", "kind": "complaint"}).json()
        polite = client.post("/api/orders", json={"text": "楼下烧烤油烟很大", "caller_name": "张先生",
                                                   "category": "GEN.ENVIRONMENT", "kind": "complaint"}).json()
        assert order["caller_name"] == "王*明" and polite["caller_name"] == "张先生"
        assert client.get(f"/api/orders/{order['number']}").json()["caller_name"] == "王*明"
        revealed = client.post(f"/api/orders/{order['number']}/reveal", json={"reason": "回访核实", "texts": True})
        assert revealed.json()["caller_name"] == "王小明"


def test_a_token_revoked_after_it_recorded_orders_records_no_more(sessions, vault):
    """Recording an order takes a token this process authenticated before without a read of its
    own (it is confirmed in the order's transaction): a revocation meanwhile is still seen."""
    token = make_token(sessions, ["operator"])
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        for n in range(2):  # the first authenticates it as any request does, the second as known
            assert client.post("/api/orders", json={"text": f"路灯不亮（第{n}次）"}).status_code == 201
        with transaction(sessions) as session:
            token_id = session.scalar(select(ApiToken.id).where(ApiToken.prefix == token[:10]))
            revoke_token(session, token_id, actor="admin", now=utcnow())
        refused = client.post("/api/orders", json={"text": "路灯不亮（第3次）"})
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    with read_transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 2


def test_a_token_that_may_not_record_orders_is_refused_403_and_once_revoked_401(sessions, vault):
    token = make_token(sessions, ["analyst"])
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(2):  # the first authenticates it as any request does, the second as known
            refused = client.post("/api/orders", json={"text": "路灯不亮"})
            assert refused.status_code == 403 and "orders:create" in refused.json()["detail"]
        with transaction(sessions) as session:
            token_id = session.scalar(select(ApiToken.id).where(ApiToken.prefix == token[:10]))
            revoke_token(session, token_id, actor="admin", now=utcnow())
        refused = client.post("/api/orders", json={"text": "路灯不亮"})
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]

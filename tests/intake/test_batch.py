"""POST /api/orders/batch: a system (the telephony gateway) sends many orders at once; each gets
its own answer, a refused one never takes the others down, and sending the batch again is safe."""

import pytest
from fastapi.testclient import TestClient

from cityline.api import create_app
from cityline.db import transaction
from cityline.intake.api import BATCH_CHUNK, BATCH_LIMIT
from cityline.orders.service import get_order
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue, order_body


@pytest.fixture
def gateway(sessions, vault):
    add_units_and_catalogue(sessions)
    token = make_token(sessions, ["operator"], name="telephony-gateway")
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def call(n: int, **overrides) -> dict:
    return order_body(external_id=f"GW-{n}", caller_phone=f"1390000{n:04d}", **overrides)


def test_each_order_gets_its_answer_and_a_bad_one_takes_none_down(gateway, sessions):
    batch = [call(1), call(2, text=" "), call(3, category="NOT.A.CATEGORY"), order_body(text="没有编号的来电"),
             call(4, kind="complaint", category="GEN.UTILITIES", urgency="normal", special_groups=[]), call(1)]
    answer = gateway.post("/api/orders/batch", json={"orders": batch})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body["results"]
    assert [r["result"] for r in results] == ["created", "refused", "refused", "refused", "created", "existing"]
    assert [r["index"] for r in results] == list(range(6))
    assert (body["created"], body["existing"], body["refused"]) == (2, 1, 3)
    assert results[1]["error"]["status"] == 422 and results[1]["error"]["errors"][0]["field"] == "text"
    assert results[1]["external_id"] == "GW-2"  # which one it was, though it did not validate
    assert results[2]["error"]["status"] == 422 and "taxonomy" in results[2]["error"]["detail"]
    assert results[3]["error"]["errors"] == [{"field": "external_id", "message": "required in a batch",
                                              "code": "missing"}]
    assert results[5]["number"] == results[0]["number"]  # the same call twice in one batch: one order
    assert results[0]["status"] in ("received", "dispatched") and "13900000001" not in answer.text
    with transaction(sessions) as session:
        assert get_order(session, results[4]["number"]).external_id == "GW-4"


def test_a_batch_sent_again_records_nothing_twice(gateway):
    batch = [call(n) for n in range(BATCH_CHUNK + 3)]  # more than one transaction's worth
    first = gateway.post("/api/orders/batch", json={"orders": batch}).json()
    assert first["created"] == len(batch) and len({r["number"] for r in first["results"]}) == len(batch)
    again = gateway.post("/api/orders/batch", json={"orders": [*batch, call(5000)]}).json()
    assert [r["result"] for r in again["results"]] == ["existing"] * len(batch) + ["created"]
    assert [r["number"] for r in again["results"][:-1]] == [r["number"] for r in first["results"]]
    changed = gateway.post("/api/orders/batch", json={"orders": [call(0, text="另一通来电，另一件事"), call(5001)]}).json()
    refused = changed["results"][0]
    assert refused["result"] == "refused" and refused["error"]["status"] == 409
    assert [e["field"] for e in refused["error"]["errors"]] == ["text"]
    assert changed["results"][1]["result"] == "created"
    single = gateway.post("/api/orders", json=call(5001))  # the single create knows it too
    assert single.status_code == 200 and single.json()["number"] == changed["results"][1]["number"]


def test_a_batch_is_bounded(gateway):
    too_many = gateway.post("/api/orders/batch", json={"orders": [call(n) for n in range(BATCH_LIMIT + 1)]})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "orders"
    assert gateway.post("/api/orders/batch", json={"orders": []}).status_code == 422

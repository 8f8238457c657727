"""Creating an order twice is safe: retries with the same external_id or Idempotency-Key get
the first order (201 first, 200 for a replay), concurrent retries never fail, and the same key
with a different request is refused (409) saying what differs. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import order_body

PROBLEM = "application/problem+json"


def _at_once(count: int, call):
    """``call(i)`` from ``count`` threads released together; their answers (or exceptions)."""
    start = threading.Barrier(count)

    def run(i: int):
        start.wait()
        try:
            return call(i)
        except Exception as error:  # noqa: BLE001 - an exception is an answer here (the 500 we test for)
            return error

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_retries_with_one_external_id_make_one_order(client):
    body = order_body(external_id="TEL-2020-0001")
    answers = _at_once(16, lambda _i: client.post("/api/orders", json=body))
    failed = [a for a in answers if isinstance(a, Exception) or a.status_code not in (200, 201)]
    assert not failed, [a if isinstance(a, Exception) else (a.status_code, a.text) for a in failed][:3]
    assert sorted(a.status_code for a in answers) == [200] * 15 + [201]
    assert len({a.json()["number"] for a in answers}) == 1
    assert client.get("/api/orders").json()["total"] == 1


def test_same_external_id_with_another_body_is_409_naming_what_differs(client):
    first = client.post("/api/orders", json=order_body(external_id="TEL-7"))
    assert first.status_code == 201
    again = client.post("/api/orders", json=order_body(external_id="TEL-7"))
    assert again.status_code == 200 and again.json()["number"] == first.json()["number"]
    other = client.post("/api/orders", json=order_body(external_id="TEL-7", text="另一件事：楼道灯坏了"))
    assert other.status_code == 409 and other.headers["content-type"].startswith(PROBLEM)
    problem = other.json()
    assert "TEL-7" in problem["detail"] and first.json()["number"] in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["text"]
    assert client.get("/api/orders").json()["total"] == 1


def test_concurrent_retries_with_one_idempotency_key_make_one_order(client):
    body = order_body()
    answers = _at_once(16, lambda _i: client.post("/api/orders", json=body, headers={"Idempotency-Key": "k-16"}))
    failed = [a for a in answers if isinstance(a, Exception) or a.status_code not in (200, 201)]
    assert not failed, [a if isinstance(a, Exception) else (a.status_code, a.text) for a in failed][:3]
    assert sorted(a.status_code for a in answers) == [200] * 15 + [201]
    assert len({a.json()["number"] for a in answers}) == 1
    assert client.get("/api/orders").json()["total"] == 1


def test_a_replay_answers_200_with_the_same_body(client):
    key = {"Idempotency-Key": "3f6c1a52-5b1e-4c1e-9d3e-0a1b2c3d4e5f"}
    first = client.post("/api/orders", json=order_body(), headers=key)
    again = client.post("/api/orders", json=order_body(), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # Another key is another order, even with the same body.
    other = client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": "another"})
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]


def test_the_same_key_with_another_body_is_409_naming_the_fields(client):
    key = {"Idempotency-Key": "k-1"}
    first = client.post("/api/orders", json=order_body(), headers=key)
    changed = client.post("/api/orders", json=order_body(text="楼道灯坏了", address="静安区江宁路街道"), headers=key)
    assert changed.status_code == 409 and changed.headers["content-type"].startswith(PROBLEM)
    problem = changed.json()
    assert [e["field"] for e in problem["errors"]] == ["address", "text"]
    assert "Idempotency-Key 'k-1'" in problem["detail"] and first.json()["number"] in problem["detail"]
    assert "楼道灯" not in changed.text  # what the first request said is not kept, so not shown
    assert client.get("/api/orders").json()["total"] == 1


def test_a_key_belongs_to_its_caller_and_its_endpoint(client, sessions, vault):
    from fastapi.testclient import TestClient

    from cityline.api import create_app
    from tests.conftest import make_token

    key = {"Idempotency-Key": "shared-key"}
    mine = client.post("/api/orders", json=order_body(), headers=key)
    token = make_token(sessions, ["operator"], name="gateway")
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as other:
        theirs = other.post("/api/orders", json=order_body(), headers=key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["number"] != theirs.json()["number"]
    elsewhere = client.post("/api/knowledge/articles", json={"external_id": "KB-1", "title": "口罩"}, headers=key)
    assert elsewhere.status_code == 409 and elsewhere.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_failed_first_request_is_not_remembered(client):
    key = {"Idempotency-Key": "k-fix"}
    assert client.post("/api/orders", json=order_body(category="EPI.NOPE"), headers=key).status_code == 422
    assert client.post("/api/orders", json=order_body(), headers=key).status_code == 201


def test_a_bad_key_is_422(client):
    for bad in (b"x" * 256, "含中文".encode(), b"a b", b""):
        answer = client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": bad})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_key_is_kept_a_day_and_then_free_again(client, sessions):
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from cityline.db import transaction, utcnow
    from cityline.idempotency.models import IdempotencyKey

    key = {"Idempotency-Key": "k-day"}
    first = client.post("/api/orders", json=order_body(), headers=key).json()
    with transaction(sessions) as session:
        row = session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "k-day")).one()
        assert row.resource == first["number"] and row.scope == "key:token:tester"
        assert timedelta(hours=23) < row.expires_at - utcnow() <= timedelta(hours=24)
        assert "13800001234" not in str(row.field_digests)  # digests only, keyed
        session.execute(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    later = client.post("/api/orders", json=order_body(text="楼道灯坏了"), headers=key)
    assert later.status_code == 201 and later.json()["number"] != first["number"]
    client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": "k-other"})
    with transaction(sessions) as session:  # expired rows are purged by later requests
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)
                              .where(IdempotencyKey.expires_at <= utcnow())) == 0


def test_an_external_id_stored_before_it_was_kept_is_compared_with_the_order(client, sessions, vault):
    """An imported order (or one older than a day) has no kept request: a retry is compared with
    what the order stores as given."""
    from cityline.intake.importer import import_rows

    row = {"external_id": "H-1", "received_at": "2020-01-28T09:15:00+08:00", "text": "药店门口排队买口罩人太多",
           "channel": "phone", "address": "静安区曹家渡街道"}
    assert import_rows(sessions, [(1, row)], vault=vault).bad == []
    number = client.get("/api/orders").json()["items"][0]["number"]
    same = client.post("/api/orders", json=row)
    assert same.status_code == 200 and same.json()["number"] == number
    other = client.post("/api/orders", json={**row, "text": "别的事", "channel": "web"})
    assert other.status_code == 409 and [e["field"] for e in other.json()["errors"]] == ["channel", "text"]
    assert client.get("/api/orders").json()["total"] == 1


def test_a_knowledge_article_created_twice_with_a_key_is_one_article(client):
    article = {"external_id": "KB-MASK", "title": "口罩预约", "answer": "在社区预约"}
    key = {"Idempotency-Key": "kb-1"}
    first = client.post("/api/knowledge/articles", json=article, headers=key)
    again = client.post("/api/knowledge/articles", json=article, headers=key)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    assert client.post("/api/knowledge/articles", json=article).status_code == 409  # no key: the id is taken
    changed = client.post("/api/knowledge/articles", json={**article, "answer": "到药店"}, headers=key)
    assert changed.status_code == 409 and [e["field"] for e in changed.json()["errors"]] == ["answer"]


def test_a_retry_says_nothing_of_an_order_outside_the_callers_reach(sessions, vault):
    """The city's order under an external_id, asked for again by a street's operator with
    another body: 409 naming neither the order nor what differs (the fields would let one
    test guesses about an order one may not see). A street operator's own order that lies
    in another street: a retry with its key is 409 too, naming no order."""
    from fastapi.testclient import TestClient

    from cityline.api import create_app
    from tests.conftest import make_token
    from tests.factories import add_units_and_catalogue

    add_units_and_catalogue(sessions)
    city, street = (TestClient(create_app(sessions, vault), headers={
        "Authorization": f"Bearer {make_token(sessions, ['operator'], unit=unit, name=name)}"})
        for unit, name in ((None, "city"), ("SH-JA-CJD", "cjd")))
    body = {"text": "江宁路街道昌平路口垃圾没人收", "external_id": "WX-0002", "address": "静安区江宁路街道"}
    first = city.post("/api/orders", json=body).json()
    other = street.post("/api/orders", json={**body, "text": "曹家渡街道万航渡路垃圾没人收"})
    assert other.status_code == 409, other.text
    assert first["number"] not in other.text and "errors" not in other.json() and "text" not in other.json()["detail"]
    elsewhere = {"text": "江宁路街道昌平路口路灯坏了", "address": "静安区江宁路街道"}
    made = street.post("/api/orders", json=elsewhere, headers={"Idempotency-Key": "cjd-1"})
    assert made.status_code == 201
    again = street.post("/api/orders", json=elsewhere, headers={"Idempotency-Key": "cjd-1"})
    assert again.status_code == 409 and made.json()["number"] not in again.text
    assert city.get("/api/orders").json()["total"] == 2



@pytest.mark.postgres
@pytest.mark.parametrize("sessions", ["postgresql"], indirect=True)
def test_a_create_racing_an_import_of_the_same_external_id_answers_with_the_imported_order(client, sessions, vault):
    """An import takes no Idempotency key: its uncommitted row is invisible to the create's
    look-up, and the create's insert waits on the unique index, then fails once the import
    commits. It answers 200 with the imported order, never 500. (PostgreSQL only: on SQLite
    the create waits for the import's write lock before it looks.) A real trigger holds the
    import's transaction open for three seconds after its insert."""
    import time

    from sqlalchemy import select, text

    from cityline.db import transaction
    from cityline.intake.importer import import_rows
    from cityline.orders.models import Order

    with transaction(sessions) as session:
        session.execute(text("CREATE FUNCTION hold_import() RETURNS trigger AS $$ BEGIN "
                             "PERFORM pg_sleep(3); RETURN NULL; END $$ LANGUAGE plpgsql"))
        session.execute(text("CREATE TRIGGER hold_import AFTER INSERT ON orders FOR EACH ROW "
                             "WHEN (NEW.external_id = 'TEL-RACE-1') EXECUTE FUNCTION hold_import()"))
    row = {"external_id": "TEL-RACE-1", "received_at": "2020-01-28T09:15:00+08:00", "text": "药店门口排队买口罩人太多",
           "channel": "phone", "address": "静安区曹家渡街道"}
    try:
        with ThreadPoolExecutor(1) as pool:
            imported = pool.submit(import_rows, sessions, [(1, row)], vault=vault)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # until the import's row is in, its trigger asleep
                with sessions() as session:
                    if session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")):
                        break
                time.sleep(0.05)
            response = client.post("/api/orders", json=row)
            assert imported.result(timeout=30).imported == 1
    finally:
        with transaction(sessions) as session:
            session.execute(text("DROP TRIGGER hold_import ON orders"))
            session.execute(text("DROP FUNCTION hold_import()"))
    assert response.status_code == 200, response.text
    with sessions() as session:
        numbers = session.scalars(select(Order.number).where(Order.external_id == "TEL-RACE-1")).all()
    assert numbers == [response.json()["number"]]

"""A finding round the loop over HTTP on both databases: recorded with a photo, dispatched to
the site's unit with the inspection deadline, replied with a photo of the rectified site, reopened
once, closed; photos served only within reach; anything but a photo refused and nothing kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cityline.api import create_app
from cityline.inspection.service import PhotoStore
from tests.conftest import make_token
from tests.inspection.conftest import photo
from tests.web.conftest import add_user, sign_in

LIMIT = 200_000


@pytest.fixture
def people(site_city, vault, tmp_path):
    """Signed-in clients: the inspector and handler of 曹家渡街道, and 江宁路's handler; the store."""
    store = PhotoStore(tmp_path / "photos", LIMIT)
    app = create_app(site_city, vault)
    app.state.inspection_photos = store
    clients = {}
    for name, role, unit in (("inspector", "inspector", "SH-JA-CJD"), ("handler", "unit_handler", "SH-JA-CJD"),
                             ("other", "unit_handler", "SH-JA-JNL")):
        token = make_token(site_city, [role], unit=unit, name=name)
        clients[name] = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    return clients, store


def record(client, data: bytes, name: str = "site.jpg", **fields):
    form = {"site": "TS-CJD-01", "problem": "crowding", "method": "video", "note": "采样点排队人员聚集，未保持间距"}
    return client.post("/api/inspection/findings", data=form | fields, files=[("photos", (name, data, "image/jpeg"))])


def test_a_finding_with_a_photo_goes_round_the_loop_to_closure(people, site_city):
    clients, store = people
    inspector, handler, other = clients["inspector"], clients["handler"], clients["other"]
    found = record(inspector, photo("JPEG", colour="red"))
    assert found.status_code == 201, found.text
    finding = found.json()
    order, number = finding["order"], finding["order"]["number"]
    assert (order["channel"], order["status"], order["unit"], order["sla_policy"]) == (
        "inspection", "dispatched", "SH-JA-CJD", "inspection")
    received = datetime.fromisoformat(order["received_at"])
    assert datetime.fromisoformat(order["resolve_by"]) - received == timedelta(minutes=30)
    assert (finding["site"]["code"], finding["problem"]["code"], finding["method"], finding["inspector"]) == (
        "TS-CJD-01", "crowding", "video", "token:inspector")
    assert "人员聚集" in order["text"] and "采样点排队" in order["text"]
    [first] = finding["photos"]
    assert inspector.get(first["url"]).content == photo("JPEG", colour="red")

    handler.post(f"/api/orders/{number}/moves", json={"action": "accept"}).raise_for_status()
    told = handler.post(f"/api/orders/{number}/moves", json={"action": "reply", "text": "已整改"})
    assert told.status_code == 422 and told.json()["code"] == "move.photo_required"
    # So the inbox's reply on a finding is a link to its page, where the photo goes with the answer.
    add_user(site_city, "handler-page", ["unit_handler"], "SH-JA-CJD")
    inbox = sign_in(handler.app, "handler-page").get("/inbox").text
    assert f'<a class="button primary" href="/inspection/findings/{number}">答复</a>' in inbox
    assert f'data-number="{number}" data-action="reply"' not in inbox
    replied = handler.post(f"/api/inspection/findings/{number}/reply", data={"text": "已疏导人群，设置一米线"},
                           files=[("photos", ("after.png", photo("PNG", colour="green"), "image/png"))])
    assert replied.status_code == 200, replied.text
    assert replied.json()["order"]["status"] == "replied"
    rectified = [p for p in replied.json()["photos"] if p["stage"] == "rectified"]
    assert len(rectified) == 1 and inspector.get(rectified[0]["url"]).headers["content-type"] == "image/png"

    unsaid = inspector.post(f"/api/inspection/findings/{number}/check", json={"accepted": False})
    assert unsaid.status_code == 422  # a reopening says why; the visit before it is not kept either
    assert inspector.get(f"/api/orders/{number}").json()["status"] == "replied"
    reopened = inspector.post(f"/api/inspection/findings/{number}/check",
                              json={"accepted": False, "note": "复查仍有聚集"})
    assert reopened.json()["order"]["status"] == "dispatched" and reopened.json()["order"]["reopens"] == 1
    handler.post(f"/api/orders/{number}/moves", json={"action": "accept"}).raise_for_status()
    handler.post(f"/api/inspection/findings/{number}/reply", data={"text": "增派志愿者维持秩序"},
                 files=[("photos", ("again.jpg", photo(colour="blue"), "image/jpeg"))]).raise_for_status()
    closed = inspector.post(f"/api/inspection/findings/{number}/check", json={"accepted": True, "note": "已整改到位"})
    assert closed.json()["order"]["status"] == "closed"
    assert [p["stage"] for p in closed.json()["photos"]] == ["finding", "rectified", "rectified"]
    actions = [e["action"] for e in inspector.get(f"/api/orders/{number}").json()["events"]]
    assert actions == ["received", "dispatch", "accept", "reply", "visit", "reopen", "accept", "reply", "visit",
                       "close"]

    tallies = inspector.get("/api/inspection/tallies").json()
    assert tallies["by_site"] == [{"code": "TS-CJD-01", "name": "曹家渡街道万航渡路核酸采样点", "findings": 1,
                                   "open": 0, "on_time": 1, "late": 0, "on_time_rate": 1.0}]
    assert [(t["code"], t["findings"]) for t in tallies["by_unit"]] == [("SH-JA-CJD", 1)]

    # Outside the reach a photo does not exist: the same answer as a photo nobody has.
    foreign, missing = other.get(first["url"]), other.get("/api/inspection/photos/999999")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content.replace(str(first["id"]).encode(), b"999999") == missing.content
    assert other.get(f"/api/inspection/findings/{number}").status_code == 404
    assert other.get("/api/inspection/tallies").json() == {"by_site": [], "by_unit": []}
    assert len(list(store.root.iterdir())) == 3


def test_anything_but_a_photo_is_refused_and_nothing_is_kept(people):
    clients, store = people
    inspector = clients["inspector"]
    text = record(inspector, b"%PDF-1.4 a report, not a photo", name="report.jpg")
    assert text.status_code == 422 and text.headers["content-type"] == "application/problem+json"
    assert text.json()["code"] == "inspection.not_an_image" and "report.jpg" in text.json()["detail"]
    big = record(inspector, photo("PNG", (400, 400), "white") + bytes(LIMIT), name="big.png")
    assert big.status_code == 413 and big.json()["code"] == "inspection.photo_too_large"
    # A good photo beside a bad one: the whole finding is refused, no order, no file.
    both = inspector.post("/api/inspection/findings", data={"site": "TS-CJD-01", "problem": "no_masks",
                                                            "method": "foot"},
                          files=[("photos", ("ok.jpg", photo(), "image/jpeg")),
                                 ("photos", ("notes.txt", b"hello", "text/plain"))])
    assert both.status_code == 422
    unknown = record(inspector, photo(), site="TS-NONE")
    assert unknown.status_code == 422 and unknown.json()["code"] == "inspection.unknown_site"
    assert inspector.get("/api/orders").json()["total"] == 0
    assert not store.root.exists() or not list(store.root.iterdir())


def test_a_reply_refused_by_the_loop_leaves_no_file(people):
    clients, store = people
    number = record(clients["inspector"], photo()).json()["order"]["number"]
    before = set(store.root.iterdir())
    early = clients["handler"].post(f"/api/inspection/findings/{number}/reply", data={"text": "已整改"},
                                    files=[("photos", ("after.jpg", photo(colour="green"), "image/jpeg"))])
    assert early.status_code == 409  # not accepted yet
    assert set(store.root.iterdir()) == before
    assert clients["inspector"].post("/api/inspection/findings", data={"site": "TS-CJD-01"}).status_code == 422


def test_a_finding_sent_again_with_its_key_is_recorded_once(people):
    clients, store = people
    inspector = clients["inspector"]
    key = {"Idempotency-Key": "patrol-0001"}
    form = {"site": "TS-CJD-01", "problem": "no_masks", "method": "foot"}
    first = inspector.post("/api/inspection/findings", data=form, headers=key,
                           files=[("photos", ("a.jpg", photo(), "image/jpeg"))])
    again = inspector.post("/api/inspection/findings", data=form, headers=key,
                           files=[("photos", ("a.jpg", photo(), "image/jpeg"))])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order"]["number"] == first.json()["order"]["number"]
    other = inspector.post("/api/inspection/findings", data=form, headers=key,
                           files=[("photos", ("b.jpg", photo(colour="blue"), "image/jpeg"))])
    assert other.status_code == 409 and "photos" in other.json()["detail"]
    assert inspector.get("/api/orders").json()["total"] == 1 and len(list(store.root.iterdir())) == 1

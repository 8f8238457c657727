"""One duplicate window (the ``duplicate_window_hours`` setting) for every place that looks for
duplicates: auto-dispatch at intake, the operator's preview, an order's duplicates and the
dispatcher's queue."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.config import get_settings
from cityline.db import utcnow
from tests.conftest import make_token
from tests.factories import add_units_and_catalogue, order_body


@pytest.fixture
def window(monkeypatch):
    """Sets CITYLINE_DUPLICATE_WINDOW_HOURS for the rest of the test."""
    def set_hours(hours: int) -> None:
        monkeypatch.setenv("CITYLINE_DUPLICATE_WINDOW_HOURS", str(hours))
        get_settings.cache_clear()

    yield set_hours
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def desk(sessions, vault):
    add_units_and_catalogue(sessions)
    token = make_token(sessions, ROLES)
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def seen_as_duplicate(desk, earlier: str) -> dict[str, bool]:
    """Post the same request again now; where does the earlier order show up as its duplicate?"""
    body = order_body()
    preview = desk.post("/api/intake/preview", json={key: body[key] for key in ("text", "address", "caller_phone",
                                                                               "category")}).json()
    created = desk.post("/api/orders", json=body)
    assert created.status_code == 201, created.text
    order = created.json()
    route = desk.get(f"/api/orders/{order['number']}/duplicates").json()
    queue = {i["order"]["number"]: i for i in desk.get("/api/dispatch/queue").json()}
    return {"preview": earlier in [d["number"] for d in preview["duplicates"]],
            "route": earlier in [d["number"] for d in route],
            "queue": earlier in [d["number"] for d in queue.get(order["number"], {}).get("duplicates", [])],
            "held_from_auto_dispatch": order["status"] == "received"}


def test_every_duplicate_check_honours_the_window_setting(desk, window):
    ten_hours_ago = (utcnow() - timedelta(hours=10)).isoformat()
    earlier = desk.post("/api/orders", json=order_body(received_at=ten_hours_ago)).json()["number"]
    window(5)  # the earlier order is outside the window: nowhere a duplicate, the new one dispatched
    assert seen_as_duplicate(desk, earlier) == {"preview": False, "route": False, "queue": False,
                                                "held_from_auto_dispatch": False}
    window(24)  # inside: everywhere a duplicate, and the new order waits for the dispatcher
    assert seen_as_duplicate(desk, earlier) == {"preview": True, "route": True, "queue": True,
                                                "held_from_auto_dispatch": True}

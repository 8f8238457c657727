"""Every create takes an Idempotency-Key: a retry whose answer was lost gets what the first
request made (200) instead of a second user, token or webhook; the same key with another body
is 409. (Orders and articles: tests/intake/test_idempotency.py; passes: tests/epidemic.)"""

from __future__ import annotations

from fastapi.testclient import TestClient

from cityline.api import create_app
from tests.conftest import make_token
from tests.factories import add_units


def _twice(client: TestClient, path: str, body: dict, key: str):
    headers = {"Idempotency-Key": key}
    return client.post(path, json=body, headers=headers), client.post(path, json=body, headers=headers)


def test_users_tokens_and_webhooks_are_made_once_per_key(sessions, vault):
    add_units(sessions)
    admin = make_token(sessions, ["admin"], name="admin")
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {admin}"}) as client:
        user = {"username": "wang.operator", "password": "long enough pw", "roles": ["operator"], "unit": "SH-JA"}
        first, again = _twice(client, "/api/users", user, "user-1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json() and first.json()["unit"] == "SH-JA"
        assert client.post("/api/users", json=user).status_code == 409  # without the key: the name is taken

        token = {"name": "telephony gateway", "roles": ["operator"]}
        first, again = _twice(client, "/api/tokens", token, "token-1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["token"] and again.json()["token"] is None  # kept only as a hash
        assert again.json()["id"] == first.json()["id"]
        assert [t["name"] for t in client.get("/api/tokens").json()].count("telephony gateway") == 1

        hook = {"unit": "SH-JA", "url": "https://receiver.example/hooks"}
        first, again = _twice(client, "/api/webhooks", hook, "hook-1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json() and first.json()["secret"]  # the lost answer's secret, again
        assert len(client.get("/api/webhooks").json()) == 1

        other = client.post("/api/webhooks", json={**hook, "url": "https://other.example/hooks"},
                            headers={"Idempotency-Key": "hook-1"})
        assert other.status_code == 409 and [e["field"] for e in other.json()["errors"]] == ["url"]
        assert len(client.get("/api/webhooks").json()) == 1

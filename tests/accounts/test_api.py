"""Signing in: cookie sessions with CSRF, lockout, tokens shown once and revocable."""

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cityline.accounts import service
from cityline.accounts.models import ApiToken, User, WebSession
from cityline.accounts.rules import ROLES
from cityline.accounts.units import upsert_unit
from cityline.api import create_app
from cityline.db import read_transaction, transaction, utcnow
from tests.conftest import make_token

PASSWORD = "correct horse battery"


@pytest.fixture
def app(sessions, vault):
    with transaction(sessions) as session:
        service.create_user(session, "li.operator", PASSWORD, ["operator"], unit=None, actor="test")
    return create_app(sessions, vault)


def test_cookie_session_needs_csrf_for_changes(app):
    with TestClient(app) as browser:
        assert browser.get("/api/orders").status_code == 401
        signed_in = browser.post("/api/auth/login", json={"username": "li.operator", "password": PASSWORD})
        assert signed_in.status_code == 200 and "cityline_session" in signed_in.cookies
        csrf = signed_in.json()["csrf_token"]
        assert browser.get("/api/orders").status_code == 200
        body = {"text": "小区垃圾三天没人收", "kind": "complaint", "category": "GEN.ENVIRONMENT", "urgency": "normal"}
        refused = browser.post("/api/orders", json=body)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
        assert browser.post("/api/orders", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        assert browser.get("/api/auth/me").json()["roles"] == ["operator"]
        browser.post("/api/auth/logout")
        assert browser.get("/api/orders").status_code == 401


def test_a_session_past_its_time_or_of_an_inactive_user_lets_no_one_in(app, sessions):
    with transaction(sessions) as session:
        upsert_unit(session, {"code": "SH", "name": "市热线", "kind": "centre"})
        upsert_unit(session, {"code": "SH-JA", "name": "静安区城运中心", "kind": "centre", "parent_code": "SH",
                                      "district": "静安区"})
        service.create_user(session, "zhao.handler", PASSWORD, ["unit_handler"], unit="SH-JA", actor="test")
    with TestClient(app, follow_redirects=False) as browser:
        browser.post("/api/auth/login", json={"username": "zhao.handler", "password": PASSWORD}).raise_for_status()
        assert browser.get("/api/auth/me").json()["unit"] == "SH-JA"
        assert "静安区城运中心" in browser.get("/inbox").text  # the page names the visitor's unit
        for stale in (update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)),
                      update(User).where(User.username == "zhao.handler").values(active=False)):
            with transaction(sessions) as session:
                session.execute(stale)
            assert browser.get("/api/auth/me").status_code == 401
            assert browser.get("/inbox").headers["location"].startswith("/login")
            with transaction(sessions) as session:  # live again, for the next way of being stale
                session.execute(update(WebSession).values(expires_at=utcnow() + timedelta(hours=1)))
                session.execute(update(User).values(active=True))
            assert browser.get("/api/auth/me").status_code == 200


def test_repeated_failures_lock_the_account_and_are_audited(app, sessions):
    with TestClient(app) as browser:
        for _ in range(5):
            assert browser.post("/api/auth/login", json={"username": "li.operator", "password": "nope"}).status_code == 401
        locked = browser.post("/api/auth/login", json={"username": "li.operator", "password": PASSWORD})
        assert locked.status_code == 401 and "too many failed attempts" in locked.json()["detail"]
    with sessions() as session:
        actions = [e.action for e in service.list_audit(session, actor="li.operator")]
        user = service.get_user(session, "li.operator")
    assert actions.count("sign_in_failed") == 5 and "sign_in_refused" in actions
    assert user.locked_until > utcnow() + timedelta(minutes=10)


def test_token_is_shown_once_and_revocation_takes_effect(app, sessions):
    admin_token = make_token(sessions, ["admin"], name="admin")
    with TestClient(app, headers={"Authorization": f"Bearer {admin_token}"}) as admin:
        created = admin.post("/api/tokens", json={"name": "telephony gateway", "roles": ["operator"]}).json()
        token = created["token"]
        assert token.startswith("cl_")
        assert all(t["token"] is None for t in admin.get("/api/tokens").json())
        with sessions() as session:
            assert token not in str([t.token_hash for t in service.list_tokens(session)])
        gateway = {"Authorization": f"Bearer {token}"}
        assert admin.get("/api/orders", headers=gateway).status_code == 200
        admin.post(f"/api/tokens/{created['id']}/revoke")
        refused = admin.get("/api/orders", headers=gateway)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        assert admin.get("/api/orders", headers={"Authorization": "Bearer cl_made-up"}).status_code == 401


def test_a_token_use_is_recorded_now_and_then_in_a_write_of_its_own(app, sessions):
    """Authentication reads; a token's last use is written only when it is older than
    TOKEN_USE_RECORDED_EVERY, so a GET does not wait for the write lock on every request."""
    token = make_token(sessions, ["operator"], name="gateway")

    def last_used():
        with read_transaction(sessions) as session:
            return session.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "gateway"))

    assert last_used() is None
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as gateway:
        assert gateway.get("/api/orders").status_code == 200
        first = last_used()
        assert first is not None
        assert gateway.get("/api/orders").status_code == 200
        assert last_used() == first  # recorded a moment ago: no write
        stale = first - service.TOKEN_USE_RECORDED_EVERY - timedelta(seconds=1)
        with transaction(sessions) as session:
            session.execute(update(ApiToken).where(ApiToken.name == "gateway").values(last_used_at=stale))
        assert gateway.get("/api/orders").status_code == 200
        assert last_used() > stale


def test_disabled_user_is_signed_out(app, sessions):
    with TestClient(app) as browser:
        browser.post("/api/auth/login", json={"username": "li.operator", "password": PASSWORD})
        with transaction(sessions) as session:
            service.disable_user(session, "li.operator", actor="test")
        assert browser.get("/api/orders").status_code == 401
        assert browser.post("/api/auth/login", json={"username": "li.operator", "password": PASSWORD}).status_code == 401


def test_bad_account_input_is_named(app, sessions):
    admin_token = make_token(sessions, ["admin"], name="admin")
    with TestClient(app, headers={"Authorization": f"Bearer {admin_token}"}) as admin:
        short = admin.post("/api/users", json={"username": "wang", "password": "short", "roles": ["operator"]})
        assert short.status_code == 422
        role = admin.post("/api/users", json={"username": "wang", "password": "long enough pw", "roles": ["mayor"]})
        assert role.status_code == 422 and "mayor" in role.json()["detail"]
        unit = admin.post("/api/users", json={"username": "wang", "password": "long enough pw", "roles": ["operator"],
                                              "unit": "NOPE"})
        assert unit.status_code == 422 and [e["field"] for e in unit.json()["errors"]] == ["unit"]
        twice = admin.post("/api/users", json={"username": "li.operator", "password": "long enough pw",
                                               "roles": ["operator"]})
        assert twice.status_code == 409
        assert [u["username"] for u in admin.get("/api/users").json()] == ["li.operator"]


def test_logs_mask_phone_numbers(client, caplog, sessions, vault):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("cityline.test").info("caller %s said 我的电话是13912345678", "13800001234")
    client.post("/api/orders", json={"text": "我的手机号13700001111，请回电", "caller_phone": "13600002222",
                                     "kind": "consult", "category": "GEN.OTHER", "urgency": "normal"})
    client.get("/api/orders", params={"q": "13700001111"})
    text = caplog.text
    for phone in ("13912345678", "13800001234", "13700001111", "13600002222"):
        assert phone not in text
    assert "139****5678" in text


def test_every_role_exists_in_permissions():
    from cityline.accounts.rules import PERMISSIONS

    assert set(PERMISSIONS) == set(ROLES)

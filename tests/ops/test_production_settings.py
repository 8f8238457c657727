"""Production settings on PostgreSQL: the pool the configured database gets, and a statement
over ``CITYLINE_DB_STATEMENT_TIMEOUT_MS`` cancelled by the server and answered 503, not 500."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cityline.api import create_app
from cityline.config import get_settings
from cityline.db import default_sessionmaker, make_engine
from tests.conftest import _clean_postgres, make_token


@pytest.fixture
def configured(postgres_url, monkeypatch):
    """The configured database (``db.default_sessionmaker``) on the test server, with a pool of
    two and a statement timeout of 300 ms."""
    _clean_postgres(postgres_url)
    monkeypatch.setenv("CITYLINE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("CITYLINE_DB_POOL_SIZE", "2")
    monkeypatch.setenv("CITYLINE_DB_MAX_OVERFLOW", "1")
    monkeypatch.setenv("CITYLINE_DB_STATEMENT_TIMEOUT_MS", "300")
    get_settings.cache_clear()
    default_sessionmaker.cache_clear()
    factory = default_sessionmaker()
    yield factory
    factory.kw["bind"].dispose()
    default_sessionmaker.cache_clear()
    get_settings.cache_clear()


@pytest.mark.postgres
def test_a_statement_over_the_timeout_is_cancelled_and_answered_503(configured, postgres_url, vault):
    engine = configured.kw["bind"]
    assert engine.pool.size() == 2 and engine.pool._max_overflow == 1
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "300ms"
    token = make_token(configured, ["supervisor"])
    blocker = make_engine(postgres_url)  # another client, without the timeout
    with TestClient(create_app(configured, vault), headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/orders").status_code == 200
        # An admin's long job holds the orders table: the list waits past the timeout.
        with blocker.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
            began = time.monotonic()
            answer = client.get("/api/orders")
            waited = time.monotonic() - began
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "statement_timeout" and "statement timeout" in answer.json()["detail"]
        assert answer.headers["Retry-After"] and waited < 5
        assert client.get("/api/orders").status_code == 200, "the pool is fine afterwards"
    blocker.dispose()


@pytest.mark.postgres
def test_server_settings_named_in_the_url_are_kept_beside_citylines_own(postgres_url, monkeypatch):
    from cityline.orders.service import _numbering_engine

    url = f"{postgres_url}?options=-c%20lock_timeout%3D1234"
    monkeypatch.setenv("CITYLINE_DATABASE_URL", url)
    monkeypatch.setenv("CITYLINE_DB_STATEMENT_TIMEOUT_MS", "300")
    get_settings.cache_clear()
    default_sessionmaker.cache_clear()
    engine = default_sessionmaker().kw["bind"]
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "1234ms"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "300ms"
            # each run of a prepared statement planned for its values (db._plan_each_run)
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        # The order numbers' own pool: its asynchronous commit, and the URL's settings too.
        with _numbering_engine(engine).connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "1234ms"
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
    finally:
        engine.dispose()
        default_sessionmaker.cache_clear()
        get_settings.cache_clear()

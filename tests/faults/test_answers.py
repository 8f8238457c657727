"""What a request that fails unexpectedly is answered: a problem (application/problem+json), never
the exception's message or a traceback; 503 with Retry-After when the database is unavailable
(unreachable, or another writer held SQLite's lock past the busy timeout), else 500. The failure
is logged once, masked."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from fastapi.testclient import TestClient

from cityline.accounts.rules import ROLES
from cityline.api import create_app
from cityline.db import make_engine, make_sessionmaker
from cityline.schema import create_all
from tests.conftest import make_token
from tests.faults.server import free_port

ORDER = {"text": "楼下餐馆油烟太大，晚上十点还在营业", "address": "静安区曹家渡街道", "caller_phone": "13900001111"}


def test_an_unexpected_error_is_a_500_problem_without_its_message_logged_once(sessions, vault, caplog):
    app = create_app(sessions, vault)

    @app.get("/api/fails")
    def fails() -> None:
        raise RuntimeError(f"could not store {ORDER['text']} for {ORDER['caller_phone']}")

    caplog.set_level(logging.DEBUG)
    with TestClient(app) as client:  # raises what the app did not answer: here nothing
        answer = client.get("/api/fails")
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Internal Server Error" and answer.json()["instance"] == "/api/fails"
    assert "油烟" not in answer.text and "RuntimeError" not in answer.text and "Traceback" not in answer.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "cityline.access", [r.getMessage() for r in errors]
    assert errors[0].getMessage().startswith("GET /api/fails 500 ") and "RuntimeError" in errors[0].getMessage()
    shown = logging.Formatter("%(message)s").format(errors[0])
    assert "油烟" not in shown and "13900001111" not in shown


def test_sqlite_locked_past_the_busy_timeout_is_a_503_with_retry_after(tmp_path, vault, caplog):
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0.3)
    create_all(engine)
    sessions = make_sessionmaker(engine)
    token = make_token(sessions, ROLES)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as client:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            refused = client.post("/api/orders", json=ORDER)
            other.execute("ROLLBACK")
            taken = client.post("/api/orders", json=ORDER)
    finally:
        other.close()
        engine.dispose()
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5", refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "send the request again" in refused.json()["detail"] and "油烟" not in refused.text
    assert taken.status_code == 201


@pytest.mark.postgres
def test_an_unreachable_postgresql_is_a_503_with_retry_after_and_not_ready(vault):
    # A port nothing listens on: the server is down.
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/cityline")
    with TestClient(create_app(make_sessionmaker(engine), vault),
                    headers={"Authorization": "Bearer cl_not_checked_the_database_is_down"}) as client:
        refused = client.post("/api/orders", json=ORDER)
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    engine.dispose()
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5", refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
    assert ready.json()["detail"] == "the database cannot be reached just now"
    assert alive.status_code == 200  # alive, just not ready

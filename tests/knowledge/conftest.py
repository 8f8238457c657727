"""Knowledge-base fixtures: the starter articles loaded into a database (SQLite and PostgreSQL
through the root ``sessions`` fixture), consultations to answer and mine, an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cityline.accounts import rules as access
from cityline.api import create_app
from cityline.db import make_engine, make_sessionmaker, transaction
from cityline.intake.service import create_order
from cityline.knowledge.files import import_records, read_records
from cityline.orders.schemas import OrderCreate
from cityline.schema import create_all
from tests.conftest import make_token

DATA = Path(__file__).parents[2] / "cityline" / "knowledge" / "data"
EVAL = Path(__file__).parents[2] / "eval" / "knowledge" / "questions.jsonl"
NOW = datetime.fromisoformat("2022-04-20T10:00:00+08:00")


def load_starter(sessions) -> None:
    with transaction(sessions) as session:
        report = import_records(session, read_records(DATA), actor="import", now=NOW)
    assert not report.bad, report.bad


@pytest.fixture
def loaded(sessions):
    """The starter knowledge base, published, on each database."""
    load_starter(sessions)
    return sessions


@pytest.fixture(scope="module")
def starter_sqlite(tmp_path_factory):
    """One SQLite database with the starter articles, shared by read-only tests of a module."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}")
    create_all(engine)
    factory = make_sessionmaker(engine)
    load_starter(factory)
    yield factory
    engine.dispose()


def consult(sessions, text: str, *, received_at: str = "2022-04-19T10:00:00", vault=None,
            kind: str = "consult") -> str:
    from cityline.privacy import Vault

    data = OrderCreate(text=text, received_at=datetime.fromisoformat(received_at), kind=kind,
                       category="EPI.POLICY", urgency="normal")
    with transaction(sessions) as session:
        order, _ = create_order(session, data, actor="test", now=NOW, vault=vault or Vault("test-secret"))
        return order.number


@pytest.fixture
def kb_app(sessions, vault):
    return create_app(sessions, vault)


@pytest.fixture
def as_user(kb_app, sessions) -> Iterator:
    """as_user(name, roles) → an HTTP client signed in with an API token of that name and roles."""
    clients = []

    def make(name: str, roles=access.ROLES) -> TestClient:
        token = make_token(sessions, roles, name=name)
        client = TestClient(kb_app, headers={"Authorization": f"Bearer {token}"})
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()

"""A database with the outbox's tables only (SQLite and PostgreSQL), and a real HTTP
receiver on 127.0.0.1 for webhook deliveries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import Base, make_engine, make_sessionmaker
from cityline.outbox.models import Notification, OutboxMessage, Webhook

from ..pg import create_database
from .receiver import Receiver

OUTBOX_TABLES = [OutboxMessage.__table__, Notification.__table__, Webhook.__table__]


@dataclass
class OutboxDatabase:
    url: str
    engine: Engine
    factory: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(scope="session")
def outbox_postgres_url() -> str:
    url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_outbox")  # set by tests/conftest.py
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=OUTBOX_TABLES)
    engine.dispose()
    return url


def _clean_postgres(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox_messages, notifications, webhooks RESTART IDENTITY"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outbox_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[OutboxDatabase]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine, tables=OUTBOX_TABLES)
    else:
        url = request.getfixturevalue("outbox_postgres_url")
        engine = _clean_postgres(url)
    yield OutboxDatabase(url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def outbox_postgres_db(outbox_postgres_url) -> Iterator[OutboxDatabase]:
    """PostgreSQL only: where several workers run at once (SQLite runs a single worker)."""
    engine = _clean_postgres(outbox_postgres_url)
    yield OutboxDatabase(outbox_postgres_url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running

"""A database with the outbox's tables only (SQLite and PostgreSQL), and a real HTTP
receiver on 127.0.0.1 for webhook deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityline.outbox.models import Notification, OutboxMessage, Webhook

from ..tables import TableDatabase, emptied, postgres_with, sqlite_with
from .receiver import Receiver

OUTBOX_TABLES = [OutboxMessage.__table__, Notification.__table__, Webhook.__table__]


@pytest.fixture(scope="session")
def outbox_postgres_url() -> str:
    return postgres_with(OUTBOX_TABLES, "cityline_outbox")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outbox_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[TableDatabase]:
    if request.param == "sqlite":
        db = sqlite_with(OUTBOX_TABLES, tmp_path / "outbox.db")
    else:
        db = emptied(request.getfixturevalue("outbox_postgres_url"), OUTBOX_TABLES)
    yield db
    db.engine.dispose()


@pytest.fixture
def outbox_postgres_db(outbox_postgres_url) -> Iterator[TableDatabase]:
    """PostgreSQL only: where several workers run at once (SQLite runs a single worker)."""
    db = emptied(outbox_postgres_url, OUTBOX_TABLES)
    yield db
    db.engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running

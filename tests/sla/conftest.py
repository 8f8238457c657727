"""A database with the SLA tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityline.outbox.models import OutboxMessage
from cityline.sla.models import Timer

from ..tables import TableDatabase, emptied, postgres_with, sqlite_with

SLA_TABLES = [Timer.__table__, OutboxMessage.__table__]


@pytest.fixture(scope="session")
def sla_postgres_url() -> str:
    return postgres_with(SLA_TABLES, "cityline_sla")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sla_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[TableDatabase]:
    if request.param == "sqlite":
        db = sqlite_with(SLA_TABLES, tmp_path / "sla.db")
    else:
        db = emptied(request.getfixturevalue("sla_postgres_url"), SLA_TABLES)
    yield db
    db.engine.dispose()


@pytest.fixture
def sla_postgres_db(sla_postgres_url) -> Iterator[TableDatabase]:
    """PostgreSQL only: where several workers run at once (SQLite runs a single worker)."""
    db = emptied(sla_postgres_url, SLA_TABLES)
    yield db
    db.engine.dispose()

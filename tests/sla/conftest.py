"""A database with the SLA tables, on SQLite and (when CITYLINE_TEST_POSTGRES_URL
is set) PostgreSQL. The tables are created from the models with create_all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import Base, make_engine, make_sessionmaker
from cityline.outbox.models import OutboxMessage
from cityline.sla.models import Timer

from ..pg import create_database

SLA_TABLES = [Timer.__table__, OutboxMessage.__table__]


@dataclass
class SlaDatabase:
    url: str
    engine: Engine
    factory: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(scope="session")
def sla_postgres_url() -> str:
    url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_sla")  # set by tests/conftest.py
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=SLA_TABLES)
    engine.dispose()
    return url


def _clean_postgres(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE sla_timers, outbox_messages RESTART IDENTITY"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sla_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[SlaDatabase]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sla.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine, tables=SLA_TABLES)
    else:
        url = request.getfixturevalue("sla_postgres_url")
        engine = _clean_postgres(url)
    yield SlaDatabase(url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def sla_postgres_db(sla_postgres_url) -> Iterator[SlaDatabase]:
    """PostgreSQL only: where several workers run at once (SQLite runs a single worker)."""
    engine = _clean_postgres(sla_postgres_url)
    yield SlaDatabase(sla_postgres_url, engine, make_sessionmaker(engine))
    engine.dispose()

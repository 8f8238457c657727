"""A database holding only some tables (created from the models), on SQLite or on the
throwaway PostgreSQL: for packages such as sla/ and outbox/ whose tests need no orders."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine, Table, text
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import Base, make_engine, make_sessionmaker

from .pg import create_database


@dataclass
class TableDatabase:
    url: str
    engine: Engine
    factory: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def postgres_with(tables: list[Table], name: str) -> str:
    """A PostgreSQL database named ``name`` with ``tables`` (once per test session)."""
    url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], name)  # set by tests/conftest.py
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=tables)
    engine.dispose()
    return url


def emptied(url: str, tables: list[Table]) -> TableDatabase:
    """The PostgreSQL database at ``url`` with ``tables`` emptied (for each test)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY"))
    return TableDatabase(url, engine, make_sessionmaker(engine))


def sqlite_with(tables: list[Table], path) -> TableDatabase:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=tables)
    return TableDatabase(url, engine, make_sessionmaker(engine))

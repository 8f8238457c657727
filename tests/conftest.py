"""Fixtures shared by every domain's tests: databases (SQLite and PostgreSQL), app, client."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.rules import ROLES
from cityline.accounts.service import create_token
from cityline.api import create_app
from cityline.db import make_engine, make_sessionmaker, transaction
from cityline.privacy import Vault
from cityline.schema import create_all, metadata
from tests.pg import ThrowawayPostgres, create_database

_server: ThrowawayPostgres | None = None
FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class PhoneLeakWatch(logging.Handler):
    """Sees every log record of the whole run and keeps any that carries a full phone number."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if FULL_PHONE.search(message):
            self.leaks.append(f"{record.name}: {message[:200]}")


_watch = PhoneLeakWatch()


def pytest_configure(config: pytest.Config) -> None:
    global _server
    logging.getLogger().addHandler(_watch)
    logging.getLogger().setLevel(logging.DEBUG)
    if not os.environ.get("CITYLINE_TEST_POSTGRES_URL"):
        _server = ThrowawayPostgres()
        os.environ["CITYLINE_TEST_POSTGRES_URL"] = _server.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The logs of a full test run must not contain a full phone number."""
    if _watch.leaks:
        print("\nfull phone numbers found in the logs of this run:\n  " + "\n  ".join(_watch.leaks[:20]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    if _server:
        _server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A database of our own on the test server, with every table created once."""
    url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_core")
    engine = make_engine(url)
    create_all(engine)
    engine.dispose()
    return url


_engines: dict[str, object] = {}


def _clean_postgres(url: str) -> sessionmaker[Session]:
    engine = _engines.get(url) or _engines.setdefault(url, make_engine(url))
    tables = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return make_sessionmaker(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest, tmp_path) -> Iterator[sessionmaker[Session]]:
    """An empty database with every table, on SQLite and then on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        create_all(engine)
        yield make_sessionmaker(engine)
        engine.dispose()
    else:
        yield _clean_postgres(request.getfixturevalue("postgres_url"))


@pytest.fixture
def vault() -> Vault:
    return Vault("test-secret-not-for-production")


def make_token(sessions, roles, unit: str | None = None, name: str = "tester") -> str:
    with transaction(sessions) as session:
        token, _row = create_token(session, name, list(roles), unit=unit, actor="test")
    return token


@pytest.fixture
def client(sessions, vault) -> Iterator[TestClient]:
    """Real HTTP through the ASGI app, on each database, as a city-wide token holding every role."""
    token = make_token(sessions, ROLES)
    with TestClient(create_app(sessions, vault), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c

"""Fixtures for the console: the app with its pages, people of every role signed in through
the real sign-in route, and (for the browser journeys) a live server over a city of units."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityline.accounts.service import create_user
from cityline.api import create_app
from cityline.db import transaction
from cityline.intake.triage import classify_with
from tests.factories import add_units_and_catalogue

PASSWORD = "a-long-test-password"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")


def console_app(sessions, vault) -> FastAPI:
    """The application as served: API and console, with triage."""
    return create_app(sessions, vault, classifier=classify_with)


def add_user(sessions, name: str, roles: list[str], unit: str | None = None) -> None:
    with transaction(sessions) as session:
        create_user(session, name, PASSWORD, roles, unit=unit, actor="test")


def sign_in(app: FastAPI, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    answer = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["x-csrf-token"] = answer.json()["csrf_token"]
    return client


# Users of the small city in tests/factories.py: the handler works for 曹家渡街道.
PEOPLE = {"operator": ["operator"], "dispatcher": ["dispatcher"], "handler": ["unit_handler"],
          "supervisor": ["supervisor"], "analyst": ["analyst"], "admin": ["admin"], "inspector": ["inspector"]}
UNITS = {"handler": "SH-JA-CJD", "other_handler": "SH-JA-JNL"}


class People(dict):
    """Signed-in clients by person, each created on first use (hashing passwords is slow)."""

    def __init__(self, app: FastAPI, sessions) -> None:
        super().__init__()
        self.app, self.sessions = app, sessions

    def __missing__(self, name: str) -> TestClient:
        roles = PEOPLE.get(name) or ["unit_handler"]
        add_user(self.sessions, name, roles, UNITS.get(name))
        self[name] = sign_in(self.app, name)
        return self[name]


@pytest.fixture
def city(sessions, vault):
    """(app, people): units, the small catalogue, and signed-in users by person (operator,
    dispatcher, handler of 曹家渡街道, other_handler of 江宁路街道, supervisor, analyst, admin)."""
    add_units_and_catalogue(sessions)
    app = console_app(sessions, vault)
    return app, People(app, sessions)

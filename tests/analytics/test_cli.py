"""`cityline brief` and `cityline analytics …` on a migrated SQLite database."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from cityline import runtime
from cityline.analytics.cli import app
from cityline.config import get_settings
from cityline.db import default_sessionmaker, make_engine, make_sessionmaker
from cityline.schema import upgrade
from tests.analytics.conftest import load_store

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch, vault):
    """A database migrated as a deployment's is, with two days of orders, as the default."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_store(make_sessionmaker(engine), vault, date(2020, 1, 27), date(2020, 1, 28))
    engine.dispose()
    monkeypatch.setenv("CITYLINE_DATABASE_URL", url)
    monkeypatch.setenv("CITYLINE_DATA_DIR", str(tmp_path / "data"))
    caches = (get_settings, default_sessionmaker, runtime.sessions)
    for cache in caches:
        cache.cache_clear()
    yield tmp_path
    for cache in caches:
        cache.cache_clear()


def test_brief_prints_json_and_writes_html(database):
    result = runner.invoke(app, ["brief", "--date", "2020-01-28", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["date"] == "2020-01-28" and data["totals"]["received"] > 0
    html = database / "brief.html"
    result = runner.invoke(app, ["brief", "--date", "2020-01-28", "--out", str(html)])
    assert result.exit_code == 0, result.output
    assert "12345 热线快报" in html.read_text(encoding="utf-8") and "2020-01-28" in result.output


def test_brief_store_keeps_it_in_the_archive(database):
    result = runner.invoke(app, ["brief", "--date", "2020-01-28", "--format", "json", "--store"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and listed.stdout.startswith("2020-01-28")


def test_export_command_is_incremental(database):
    first = runner.invoke(app, ["export"])
    assert first.exit_code == 0 and "exported" in first.stdout
    assert (database / "data" / "analytics" / "orders" / "2020-01-27.parquet").exists()


def test_bad_input_says_what_was_wrong(database):
    result = runner.invoke(app, ["brief", "--date", "28/01/2020"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(app, ["brief", "--date", "2020-01-28", "--format", "docx"])
    assert result.exit_code == 2 and "html, pdf, json" in result.output
    result = runner.invoke(app, ["schedule", "--at", "25:00", "--once"])
    assert result.exit_code == 2 and "HH:MM" in result.output

"""``cityline backup`` / ``cityline restore`` on SQLite and PostgreSQL: backup → change →
restore gives back every table's rows and the epidemic facts; a database holding data is
not overwritten without ``force``; a missing, foreign or damaged file is refused clearly."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cityline.accounts.models import Unit
from cityline.backup import backup, restore
from cityline.config import Settings
from cityline.db import transaction
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from cityline.errors import BadFile, Conflict
from cityline.orders import queries, search
from cityline.orders.queries import OrderFilter
from cityline.schema import metadata
from tests.analytics.conftest import load_store
from tests.conftest import make_token
from tests.epidemic.conftest import ORDER
from tests.epidemic.world import write_world


def _url(sessions) -> str:
    return sessions.kw["bind"].url.render_as_string(hide_password=False)


def _rows(sessions) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    found = {}
    with sessions() as session:
        for table in metadata().sorted_tables:
            found[table.name] = [tuple(row) for row in
                                 session.execute(select(table).order_by(*table.primary_key.columns))]
    return found


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_backup_change_restore_gives_back_every_row_and_the_facts(sessions, vault, tmp_path):
    data = tmp_path / "data"
    env = service.env_for(vault, Settings(data_dir=data))
    world = write_world(tmp_path / "world")
    for kind in ORDER:
        assert not import_file(sessions, env, kind, world[kind], actor="test").bad
    load_store(sessions, vault, date(2020, 1, 28), date(2020, 1, 28), scale=0.005)
    make_token(sessions, ["analyst"])
    before, facts = _rows(sessions), _files(data / "epidemic")
    assert sum(map(len, before.values())) > 500 and any(name.endswith(".parquet") for name in facts)

    archive = tmp_path / "backups" / "cityline.tar"
    report = backup(_url(sessions), data, archive)
    assert report.rows["orders"] == len(before["orders"]) and report.files

    # Changes after the backup: a new row, a changed one, facts lost, an export made.
    make_token(sessions, ["operator"], name="later")
    with transaction(sessions) as session:
        session.execute(update(Unit).values(name=Unit.name + "（改）"))
    shutil.rmtree(data / "epidemic" / "tests")
    (data / "analytics").mkdir()
    (data / "analytics" / "state.json").write_text("{}")
    assert _rows(sessions) != before

    with pytest.raises(Conflict, match="--force"):
        restore(_url(sessions), data, archive)
    restore(_url(sessions), data, archive, force=True)
    sessions.kw["bind"].dispose()  # the pool's connections were opened on the old tables
    after = _rows(sessions)
    assert [t for t in before if before[t] != after[t]] == []
    assert _files(data / "epidemic") == facts
    _searches_read_the_index(sessions, after["orders"])
    assert not (data / "analytics").exists(), "an export of the replaced database was left"


def _searches_read_the_index(sessions, orders: list[tuple]) -> None:
    """The orders' text index came back with them: each of a sample is among the candidates of its
    own text's bigrams, and found by a search of its text's start."""
    text_at = [c.name for c in metadata().tables["orders"].columns].index("text")
    with sessions() as session:
        dialect = session.get_bind().dialect.name
        for row in orders[::max(1, len(orders) // 20)]:
            text, order_id = row[text_at], row[0]
            found = set(session.scalars(search.candidates(dialect, search.match_text(dialect, search.terms(text)))))
            assert order_id in found
            rows, _total, _next = queries.list_orders(session, OrderFilter(text=text[:8]), page_size=500)
            assert order_id in {order.id for order, *_ in rows}


def test_a_missing_foreign_or_damaged_file_is_refused(sessions, tmp_path):
    url, data = _url(sessions), tmp_path / "data"
    with pytest.raises(BadFile, match="no backup file"):
        restore(url, data, tmp_path / "none.tar")
    (tmp_path / "notes.tar").write_text("not an archive")
    with pytest.raises(BadFile, match="not a cityline backup"):
        restore(url, data, tmp_path / "notes.tar")
    good = tmp_path / "good.tar"
    backup(url, data, good)
    cut = tmp_path / "cut.tar"
    content = good.read_bytes()
    cut.write_bytes(content[:1024] + content[len(content) // 2:])  # the manifest is last: the middle is gone
    with pytest.raises(BadFile, match="damaged|not a cityline backup"):
        restore(url, data, cut)


def test_backup_and_restore_from_the_command_line(tmp_path, monkeypatch):
    """The commands on the embedded database: an empty data directory gets the backup back."""
    from typer.testing import CliRunner

    from cityline import runtime
    from cityline.cli import app
    from cityline.config import get_settings
    from cityline.db import default_sessionmaker

    def cityline(data: Path, *args: str, ok: bool = True) -> str:
        monkeypatch.setenv("CITYLINE_DATA_DIR", str(data))
        for cached in (get_settings, default_sessionmaker, runtime.sessions):
            cached.cache_clear()
        done = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert (done.exit_code == 0) == ok, done.output
        return done.output

    monkeypatch.delenv("CITYLINE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    cityline(first, "db", "upgrade")
    make_token(runtime.sessions(), ["analyst"], name="kept")
    kept = _rows(runtime.sessions())
    assert "backed up to" in cityline(first, "backup", "all.tar")
    refused = cityline(first, "restore", "all.tar", ok=False)
    assert "not restoring over data" in refused and "--force" in refused
    assert "restored from all.tar" in cityline(second, "restore", "all.tar")
    cityline(second, "db", "upgrade")  # the settings and sessions of the second directory
    assert _rows(runtime.sessions()) == kept and kept["api_tokens"]
    assert "no backup file" in cityline(second, "restore", "missing.tar", ok=False)
    for cached in (get_settings, default_sessionmaker, runtime.sessions):
        cached.cache_clear()

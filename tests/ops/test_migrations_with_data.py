"""Migrations down and up on a database holding data, on SQLite and PostgreSQL.

A database is built at the head and filled through the application (units, simulated orders
with their events and timers, a token, a webhook with its encrypted secret, an idempotency
key, the epidemic world). Then, one revision at a time down to the base: downgrade, check
that every row of every table that survives keeps the values of its surviving columns; upgrade
that one revision again and check the same; downgrade again. At the base, upgrade to the head
and check the schema matches the models."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, table, text

from cityline.accounts.models import Unit
from cityline.config import Settings, get_settings
from cityline.db import make_engine, make_sessionmaker, transaction, utcnow
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from cityline.idempotency.service import claim, complete
from cityline.orders import search
from cityline.outbox import webhooks
from cityline.privacy import default_vault
from cityline.schema import alembic_config, upgrade
from tests.analytics.conftest import load_store
from tests.conftest import make_token
from tests.epidemic.conftest import ORDER
from tests.epidemic.world import write_world
from tests.pg import fresh_database

SECRET = "test-secret-not-for-production"  # the vault fixture's: what 0008 encrypts webhook secrets with


def _fill(url: str, vault, tmp_path) -> None:
    sessions = make_sessionmaker(make_engine(url))
    load_store(sessions, vault, date(2020, 1, 28), date(2020, 1, 28), scale=0.003)
    make_token(sessions, ["analyst"])
    with transaction(sessions) as session:
        unit = session.scalars(select(Unit).order_by(Unit.id)).first()
        webhooks.add(session, vault, unit_id=unit.id, unit_code=unit.code, url="https://example.org/hook")
        claimed = claim(session, scope="key:test", key="k-1", endpoint="POST /api/orders",
                        request={"text": "路灯不亮"}, now=utcnow())
        complete(session, claimed, "order:1", answer={"number": "1"})
    env = service.env_for(vault, Settings(data_dir=tmp_path / "data"))
    world = write_world(tmp_path / "world")
    for kind in ORDER:
        assert not import_file(sessions, env, kind, world[kind], actor="test").bad
    sessions.kw["bind"].dispose()


def _snapshot(url: str, vault) -> dict[str, dict[tuple, dict]]:
    """Every table's rows by primary key, as {column: value}; webhook secrets decrypted
    (encrypting again gives another ciphertext of the same secret)."""
    engine = make_engine(url)
    found: dict[str, dict[tuple, dict]] = {}
    with engine.connect() as conn:
        look = inspect(conn)
        # All tables' columns and keys in one query each (per table, PostgreSQL's catalogue
        # made this the slowest part of the test).
        all_columns = {name: [c["name"] for c in found] for (_, name), found in look.get_multi_columns().items()}
        keys = {name: pk["constrained_columns"] for (_, name), pk in look.get_multi_pk_constraint().items()}
        for name, columns in all_columns.items():
            if name == "alembic_version" or (name == search.TABLE and engine.dialect.name == "sqlite"):
                continue  # the text index's FTS5 table cannot be read whole: its shadow tables are
            key = keys.get(name) or columns
            rows = conn.execute(select(*(text(f'"{c}"') for c in columns)).select_from(table(name))).all()
            found[name] = {}
            for row in rows:
                values = dict(zip(columns, row, strict=True))
                if name == "webhooks" and values.get("secret_enc"):
                    values["secret_enc"] = vault.reveal(values["secret_enc"])
                found[name][tuple(values[k] for k in key)] = values
    engine.dispose()
    return found


def _kept(full: dict, now: dict, when: str) -> None:
    """Every table of ``full`` that ``now`` has holds the same rows, with the same values in the
    columns both have (a table or column made again on the way up starts empty)."""
    for name, rows in now.items():
        if name not in full:
            continue  # made again on the way up: empty
        assert rows.keys() == full[name].keys(), f"{when}: rows of {name} lost or added"
        for pk, values in rows.items():
            wanted = {c: full[name][pk][c] for c in values if c in full[name][pk]}
            shown = {c: values[c] for c in wanted}
            assert shown == wanted, f"{when}: {name} {pk} changed"


@pytest.fixture
def vault_of_this_test():
    """The migrations read secrets with ``default_vault()``, cached per process: made again for this
    test's key, and forgotten after it so later tests get theirs."""
    yield
    default_vault.cache_clear()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_every_revision_down_and_up_keeps_the_data(database, vault, tmp_path, monkeypatch, vault_of_this_test):
    monkeypatch.setenv("CITYLINE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    default_vault.cache_clear()
    url = fresh_database(database, tmp_path, "cityline_migrations_data")
    upgrade(url)
    _fill(url, vault, tmp_path)
    full = _snapshot(url, vault)
    assert all(full[name] for name in ("orders", "order_events", "sla_timers", "units", "api_tokens",
                                       "webhooks", "idempotency_keys", "epidemic_residents", "epidemic_cases"))
    config = alembic_config(url)
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]  # head first
    for above, below in zip(revisions, [*revisions[1:], "base"], strict=True):
        command.downgrade(config, below)
        down = _snapshot(url, vault)
        _kept(full, down, f"down to {below}")
        command.upgrade(config, above)
        _kept(down, _snapshot(url, vault), f"up again to {above}")  # what survived the step down
        command.downgrade(config, below)
    assert _snapshot(url, vault) == {}, "the base has no tables"
    upgrade(url)
    command.check(config)
    get_settings.cache_clear()

"""Migrations of the outbox's tables on databases that already hold rows: timers learn their order's
number (0003), webhook secrets are encrypted (0008)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from cityline.config import get_settings
from cityline.db import UTCDateTime, make_engine, make_sessionmaker, transaction
from cityline.privacy import Vault, default_vault
from cityline.schema import upgrade
from tests.pg import fresh_database

WHEN = datetime(2020, 1, 28, 14, 0, tzinfo=UTC)
# sla_timers as revision 0002 left it (no order_number yet)
OLD_TIMERS = sa.table("sla_timers", sa.column("order_id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("due_at", UTCDateTime), sa.column("state", sa.String),
                      sa.column("attempts", sa.Integer), sa.column("payload", sa.JSON),
                      sa.column("created_at", UTCDateTime))
# orders as revision 0002 left it (the columns a row needs; later revisions add others)
OLD_ORDERS = sa.table("orders", sa.column("id", sa.Integer), sa.column("number", sa.String),
                      sa.column("channel", sa.String), sa.column("text", sa.Text), sa.column("received_at", UTCDateTime),
                      sa.column("status", sa.String), sa.column("special_groups", sa.JSON),
                      sa.column("triage_source", sa.String), sa.column("needs_confirmation", sa.Boolean),
                      sa.column("paused", sa.Boolean), sa.column("returns", sa.Integer), sa.column("reopens", sa.Integer),
                      sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
OLD_OUTBOX = sa.table("outbox_messages", sa.column("created_at", UTCDateTime), sa.column("kind", sa.String),
                      sa.column("recipient", sa.String), sa.column("payload", sa.JSON),
                      sa.column("state", sa.String), sa.column("attempts", sa.Integer),
                      sa.column("next_attempt_at", UTCDateTime))


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_existing_timers_get_their_orders_number_and_messages_stay_notices(database, tmp_path):
    url = fresh_database(database, tmp_path, "cityline_outbox_migration")
    upgrade(url, "0002")
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        # A plain row of the table as it was, not through the ORM, whose flush also writes the text
        # index (0018: not there yet) and whose model has columns added since
        order_id = session.execute(sa.insert(OLD_ORDERS).values(
            number="20200128-00042", channel="phone", text="药快用完了", received_at=WHEN, status="dispatched",
            special_groups=[], triage_source="manual", needs_confirmation=False, paused=False, returns=0, reopens=0,
            created_at=WHEN, updated_at=WHEN,
        ).returning(OLD_ORDERS.c.id)).scalar_one()
        session.execute(sa.insert(OLD_TIMERS).values(order_id=order_id, kind="accept_reminder", due_at=WHEN,
                                                     state="pending", attempts=0, payload={}, created_at=WHEN))
        session.execute(sa.insert(OLD_TIMERS).values(order_id=999, kind="accept_reminder", due_at=WHEN,
                                                     state="pending", attempts=0, payload={}, created_at=WHEN))
        session.execute(sa.insert(OLD_OUTBOX).values(created_at=WHEN, kind="sla.accept_reminder", recipient="U",
                                                     payload={}, state="pending", attempts=0,
                                                     next_attempt_at=WHEN))
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        numbers = conn.execute(sa.text("SELECT order_id, order_number FROM sla_timers ORDER BY id")).all()
        channels = conn.execute(sa.text("SELECT channel FROM outbox_messages")).scalars().all()
    engine.dispose()
    assert [tuple(row) for row in numbers] == [(1, "20200128-00042"), (999, None)]  # no such order: stays empty
    assert channels == ["notice"]


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_webhook_secret_stored_before_0008_is_encrypted_and_still_signs(database, tmp_path, monkeypatch):
    monkeypatch.setenv("CITYLINE_SECRET_KEY", "migration-test-secret")
    get_settings.cache_clear()
    default_vault.cache_clear()  # the migration encrypts with the instance's own vault
    url = fresh_database(database, tmp_path, "cityline_webhook_migration")
    upgrade(url, "0007")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO webhooks (unit_id, unit_code, url, secret, active, created_at) "
                             "VALUES (3, 'SH-JA-CJD', 'https://cjd.example/hook', :secret, true, :at)"),
                     {"secret": "ab" * 32, "at": WHEN})
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT secret_enc FROM webhooks")).scalar_one()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("webhooks")}
    engine.dispose()
    get_settings.cache_clear()
    default_vault.cache_clear()
    assert "secret" not in columns and "ab" * 32 not in stored
    assert Vault("migration-test-secret").reveal(stored) == "ab" * 32

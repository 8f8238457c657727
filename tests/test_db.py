"""Transactions: reads do not wait for writers, and cannot write (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from sqlalchemy import event, func, insert, select, text, update

from cityline.accounts.models import AuditEntry
from cityline.db import (
    ReadOnlyViolation,
    make_engine,
    make_sessionmaker,
    read_transaction,
    transaction,
)
from cityline.schema import create_all


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def test_a_read_does_not_wait_for_a_writer_holding_the_lock(sessions):
    with transaction(sessions) as session:
        session.add(AuditEntry(actor="test", action="seed"))
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(sessions) as session:  # BEGIN IMMEDIATE on SQLite: holds the write lock
            session.add(AuditEntry(actor="test", action="pending"))
            session.flush()
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        began = time.perf_counter()
        with read_transaction(sessions) as session:
            seen = count(session)
        waited = time.perf_counter() - began
    finally:
        release.set()
        thread.join()
    # The writer's row is not committed yet: the read sees the snapshot before it, at once
    # (a read in BEGIN IMMEDIATE would have waited out the writer or the 30 s busy timeout).
    assert seen == 1 and waited < 2
    with read_transaction(sessions) as session:
        assert count(session) == 2


def test_a_second_writer_still_queues_behind_the_first(sessions):
    holding, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with transaction(sessions) as session:
            session.add(AuditEntry(actor="first", action="write"))
            session.flush()
            holding.set()
            release.wait(30)
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    with transaction(sessions) as session:
        session.add(AuditEntry(actor="second", action="write"))
        session.flush()  # PostgreSQL takes no table lock for an insert: nothing to wait for
        order.append("second")
    thread.join()
    with read_transaction(sessions) as session:
        assert count(session) == 2
    if sessions.kw["bind"].dialect.name == "sqlite":
        assert order == ["first", "second"]


@pytest.mark.parametrize("write", [
    lambda s: s.add(AuditEntry(actor="test", action="oops")),
    lambda s: s.execute(insert(AuditEntry).values(actor="test", action="oops", detail={})),
    lambda s: s.execute(update(AuditEntry).values(reason="oops")),
    lambda s: s.execute(text("DELETE FROM audit_log")),
], ids=["orm-add", "core-insert", "core-update", "sql-delete"])
def test_a_write_in_a_read_transaction_raises_and_changes_nothing(sessions, write):
    with transaction(sessions) as session:
        session.add(AuditEntry(actor="test", action="seed"))
    with pytest.raises(ReadOnlyViolation), read_transaction(sessions) as session:
        write(session)
        session.flush()
    with read_transaction(sessions) as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["seed"]
    # The pooled connection that served the read transaction writes again in a write one.
    with transaction(sessions) as session:
        session.add(AuditEntry(actor="test", action="after"))
    with read_transaction(sessions) as session:
        assert count(session) == 2


def test_changing_a_loaded_row_in_a_read_transaction_raises(sessions):
    with transaction(sessions) as session:
        session.add(AuditEntry(actor="test", action="seed"))
    with pytest.raises(ReadOnlyViolation, match="AuditEntry"), read_transaction(sessions) as session:
        session.scalar(select(AuditEntry)).reason = "changed by mistake"
    with read_transaction(sessions) as session:
        assert session.scalar(select(AuditEntry.reason)) is None


def test_a_write_transaction_may_run_while_a_read_one_is_open(sessions):
    """As authentication does: read, then record something in a short write of its own."""
    with read_transaction(sessions) as reading:
        assert count(reading) == 0
        with transaction(sessions) as writing:
            writing.add(AuditEntry(actor="test", action="touch"))
        assert count(reading) in (0, 1)  # SQLite keeps its snapshot; PostgreSQL reads committed
    with read_transaction(sessions) as session:
        assert count(session) == 1


def _sqlite_writer(path, **options):
    """A second engine on the same file: what another process has (its own in-process queue)."""
    engine = make_engine(f"sqlite:///{path}", **options)
    create_all(engine)
    return make_sessionmaker(engine)


def test_writers_of_two_processes_queue_on_the_side_lock_not_in_sqlites_busy_handler(tmp_path):
    """The second writer does not even send BEGIN IMMEDIATE while the first holds the lock: it
    waits on ``<db>.write-lock`` (flock) and is let in when the first ends."""
    one, other = _sqlite_writer(tmp_path / "q.db"), _sqlite_writer(tmp_path / "q.db")
    holding, release, log = threading.Event(), threading.Event(), []

    def first() -> None:
        with transaction(one) as session:
            session.add(AuditEntry(actor="first", action="write"))
            session.flush()
            holding.set()
            release.wait(30)
            log.append("first commits")

    def began(conn) -> None:
        log.append("second begins")

    event.listen(other.kw["bind"], "begin", began)
    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10) and (tmp_path / "q.db.write-lock").exists()
    threading.Timer(0.3, release.set).start()
    with transaction(other) as session:
        session.add(AuditEntry(actor="second", action="write"))
    thread.join()
    assert log == ["first commits", "second begins"]
    with read_transaction(other) as session:
        assert count(session) == 2


def test_a_side_lock_held_past_the_busy_timeout_lets_the_writer_go_on_to_sqlite(tmp_path):
    """Whoever holds ``<db>.write-lock`` without writing does not stop writers for ever: past the
    busy timeout they go ahead, and SQLite's own lock decides (here: free, so the write is made)."""
    sessions = _sqlite_writer(tmp_path / "t.db", busy_timeout=0.3)
    fd = os.open(tmp_path / "t.db.write-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        began = time.perf_counter()
        with transaction(sessions) as session:
            session.add(AuditEntry(actor="late", action="write"))
        assert 0.25 < time.perf_counter() - began < 5
    finally:
        os.close(fd)
    with transaction(sessions) as session:  # and the helper that waited for it let go of it
        session.add(AuditEntry(actor="next", action="write"))
    with read_transaction(sessions) as session:
        assert count(session) == 2

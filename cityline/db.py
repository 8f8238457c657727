"""Engine, sessions and the declarative base shared by every domain's models.

SQLite (WAL) is the embedded default, PostgreSQL (psycopg 3) the production
database. Timestamps are stored in UTC (see :class:`UTCDateTime`).

A use case opens one transaction: :func:`transaction` when it may write,
:func:`read_transaction` when it only reads. On SQLite a write transaction
takes the write lock up front (``BEGIN IMMEDIATE``), so writers queue instead
of deadlocking; a read transaction starts deferred (``BEGIN``) and never waits
for a writer (WAL gives it a snapshot), and ``PRAGMA query_only`` makes any
write in it fail at once. On PostgreSQL a read transaction is ``READ ONLY``.
Either way a write in a read transaction raises :class:`ReadOnlyViolation`.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are the same on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dict: JSON, list: JSON, dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON,
    }


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Execution option (on a session's connection) marking its transaction read-only;
# the engine's "begin" listener reads it to choose how the transaction starts.
READ_ONLY = "cityline_read_only"


class ReadOnlyViolation(RuntimeError):
    """Something tried to write inside a read transaction (a bug: use ``transaction``)."""


# How long a connection attempt to PostgreSQL may take before the request is answered 503
# (a server that is down refuses at once; one that cannot be reached would otherwise hang).
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, *, deferred_reads: bool = True, synchronous: str = "FULL",
                busy_timeout: float = 30, **kwargs) -> Engine:
    """An engine for ``url``. ``deferred_reads=False`` starts read transactions on SQLite
    like write ones (``BEGIN IMMEDIATE``), as before they existed, and ``synchronous="NORMAL"``
    gives up SQLite's flush of every commit to disk: both only for comparison
    (``bench/bench_reads_under_writes.py``, ``bench/bench_durability.py``). A SQLite writer
    waits up to ``busy_timeout`` seconds for another's lock, then fails (answered 503).

    On PostgreSQL a pooled connection is tested before use (``pool_pre_ping``), so after the
    server restarts the pool reconnects by itself; a connection lost mid-request is dropped
    with the rest of the pool (SQLAlchemy invalidates it on the disconnect error)."""
    if url.startswith("sqlite"):
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False}, **kwargs)
        database = engine.url.database
        side = f"{database}.write-lock" if database and database != ":memory:" and not database.startswith(
            "file:") else None
        _writers[engine] = _Writers(threading.RLock(), busy_timeout, side)
        event.listen(engine, "connect", partial(_sqlite_pragmas, synchronous=synchronous,
                                                busy_ms=int(busy_timeout * 1000)))
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so
        # that a write transaction takes the lock up front (no upgrade deadlocks).
        event.listen(engine, "begin", _sqlite_begin if deferred_reads else _sqlite_begin_immediate)
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **kwargs.pop("connect_args", {})}
    given = make_url(url).query.get("options")
    if isinstance(given, str) and "options" in connect_args:
        # Server settings the URL names (``?options=-c search_path=...``) and cityline's own (a
        # statement timeout, the numbering's asynchronous commit): both, not only cityline's.
        connect_args["options"] = f"{given} {connect_args['options']}"
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _plan_each_run)
    event.listen(engine, "begin", _postgres_begin)
    return engine


def _plan_each_run(dbapi_connection, _record) -> None:
    # After five runs of one statement psycopg prepares it on the server, whose plan cache may then
    # keep a generic plan, made without the values: for a text search, the newest orders walked and
    # each tested rather than the word's few orders looked up (10 M: a rare word 2 s where its own
    # plan takes 40 ms). Still prepared (parsed once), each run planned for its values. Said on the
    # connection, not as a startup option, which some poolers refuse.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


# One lock per SQLite engine that its write transactions take in turn (see transaction). SQLite
# lets one writer in at a time; the others, left to its busy handler, poll with sleeps growing
# to 100 ms and are let in in no order, so under 8 concurrent writers some waited seconds.
# Queued here, each is let in as soon as the last one ends. An RLock: a write transaction
# opened inside another on the same thread behaves as before (SQLite makes it wait, then fail).
# Between processes (``serve --workers N``, the command line beside a server) the same holds:
# the one writer a process lets through then takes an exclusive ``flock`` on a side file next
# to the database (``<db>.write-lock``), so the processes' writers wait in the kernel, each woken
# as the last one ends, instead of meeting at SQLite's lock, where one could lose many times in
# a row. The database file itself is left alone (SQLite takes its own POSIX locks on it).
@dataclass
class _Writers:
    lock: threading.RLock
    timeout: float  # seconds: SQLite's busy timeout, and how long a writer queues here at most
    side_file: str | None  # the lock file shared with other processes (None: an in-memory database)
    holder: threading.local = field(default_factory=threading.local)  # .fd: the flock this thread holds


_writers: WeakKeyDictionary[Engine, _Writers] = WeakKeyDictionary()


def _lock_file(path: str, timeout: float) -> int | None:
    """An exclusive ``flock`` on ``path``: its own file descriptor (close it to let the next in),
    or None when it was not granted within ``timeout`` seconds (or the file cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    # flock has no timeout: a helper thread waits in the kernel's queue. If it is granted only
    # after we gave up, the helper closes its descriptor, which lets the next writer in (each
    # wait has a descriptor of its own, so an abandoned one never releases another's lock).
    granted, guard, state = threading.Event(), threading.Lock(), {"abandoned": False}

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            state["abandoned"] = True  # not granted: nobody waits for it
        with guard:
            if state["abandoned"]:
                os.close(fd)
                return
            granted.set()

    threading.Thread(target=wait, name="sqlite-write-queue", daemon=True).start()
    if granted.wait(timeout):
        return fd
    with guard:
        if granted.is_set():
            return fd
        state["abandoned"] = True
    return None


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        # Deferred: no lock is taken, and in WAL mode the first read takes a snapshot
        # that no writer blocks. query_only stops a stray write right away instead of
        # letting it try to upgrade to the write lock, which in WAL mode fails with
        # SQLITE_BUSY_SNAPSHOT as soon as another writer committed meanwhile.
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("PRAGMA query_only = ON")
    else:
        _sqlite_begin_immediate(conn)


def _sqlite_begin_immediate(conn: Connection) -> None:
    # The pooled connection may last have served a read transaction: writable again.
    conn.exec_driver_sql("PRAGMA query_only = OFF")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_begin(conn: Connection) -> None:
    # psycopg opens the transaction with the first statement, as BEGIN READ ONLY when told so
    # beforehand: no statement (round trip) of its own. Said at every begin, so a pooled
    # connection that last served a read transaction opens the next write one as plain BEGIN.
    driver = conn.connection.driver_connection
    wanted = True if conn.get_execution_options().get(READ_ONLY) else None
    if driver.read_only is not wanted:
        driver.read_only = wanted


def _refused_as_read_only(error: DBAPIError) -> bool:
    """Did the database refuse a write because the transaction is read-only?"""
    orig = error.orig
    return (getattr(orig, "sqlite_errorname", None) == "SQLITE_READONLY"  # PRAGMA query_only
            or getattr(orig, "sqlstate", None) == "25006")  # PostgreSQL: read_only_sql_transaction


@event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session: Session, _context, _instances) -> None:
    # The ORM's writes are caught before any SQL, with the objects named, the same on
    # both databases; the databases themselves refuse the rest (see read_transaction).
    if session.info.get(READ_ONLY) and (session.new or session.deleted or any(
            session.is_modified(obj) for obj in session.dirty)):
        changed = [type(obj).__name__ for obj in [*session.new, *session.dirty, *session.deleted]]
        raise ReadOnlyViolation(f"write in a read transaction: {', '.join(sorted(set(changed)))}")


def _sqlite_pragmas(dbapi_connection, _record, *, synchronous: str, busy_ms: int) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is flushed to disk (the WAL fsynced) before it returns, so an
    # acknowledged order survives a power loss, not only a crash of the process (README,
    # "What an acknowledged order survives"; the cost is measured by bench/bench_durability.py).
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One use case, one transaction: commit on success, roll back on any error.

    ``read_only=True`` (or :func:`read_transaction`): the use case only reads; it does not
    wait for writers on SQLite, and any write in it raises :class:`ReadOnlyViolation`."""
    writers = None if read_only else _writers.get(factory.kw.get("bind"))  # type: ignore[arg-type]
    # Past the busy timeout the transaction goes ahead unqueued: SQLite's own wait then decides.
    began = time.monotonic()
    queued = writers is not None and writers.lock.acquire(timeout=writers.timeout)
    side = None  # this transaction's flock on the side file, when it took it (not a nested one)
    if queued and writers.side_file and not getattr(writers.holder, "fd", None):  # type: ignore[union-attr]
        side = _lock_file(writers.side_file, max(0.0, writers.timeout - (time.monotonic() - began)))
        writers.holder.fd = side  # type: ignore[union-attr]
    if read_only:
        session = factory(execution_options={READ_ONLY: True}, info={READ_ONLY: True})
    else:
        session = factory()
    try:
        yield session
        session.commit()
    except DBAPIError as error:
        session.rollback()
        if read_only and _refused_as_read_only(error):
            raise ReadOnlyViolation(f"write in a read transaction: {error.orig}") from error
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if side is not None:
            writers.holder.fd = None  # type: ignore[union-attr]
            os.close(side)  # the next writer of any process is let in
        if queued:
            writers.lock.release()  # type: ignore[union-attr]


def read_transaction(factory: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """A transaction for a use case that only reads (see :func:`transaction`)."""
    return transaction(factory, read_only=True)


def ping(factory: sessionmaker[Session]) -> None:
    """One round trip to the database; raises what the driver raised when it cannot answer.
    A read transaction, so on SQLite it never waits for a writer's lock."""
    with read_transaction(factory) as session:
        session.execute(text("SELECT 1"))


@lru_cache
def default_sessionmaker() -> sessionmaker[Session]:
    """Sessions on the database the settings name (the embedded SQLite file by default)."""
    from cityline.config import get_settings

    settings = get_settings()
    url = settings.resolved_database_url()
    # A failed statement's message would carry its parameters (an order's text, a caller's
    # name) into tracebacks and logs; the configured database never shows them.
    options: dict[str, Any] = {"hide_parameters": True}
    if not url.startswith("sqlite"):
        options.update(pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
                       pool_timeout=settings.db_pool_timeout, pool_recycle=settings.db_pool_recycle)
        if settings.db_statement_timeout_ms:
            options["connect_args"] = statement_timeout(settings.db_statement_timeout_ms)
    return make_sessionmaker(make_engine(url, **options))


def statement_timeout(milliseconds: int) -> dict[str, str]:
    """PostgreSQL connect arguments under which the server cancels any statement running
    longer than ``milliseconds`` (SQLSTATE 57014, answered 503 by ``problems``)."""
    return {"options": f"-c statement_timeout={int(milliseconds)}"}

"""Caches of what changes only on an admin's action (the dispatch catalogue, the units), kept
true in every process by a generation stamp in the database.

A generation is a row in ``cache_generations`` holding a stamp. Every write to a table it
watches — through the ORM (``session.add``, a changed object) or a bulk statement run by a
session (``session.execute(delete(...))``) — gives it a new random stamp in the same
transaction, so the change and the new stamp commit together. A cache reads the stamps (one
small query) and reloads only when they differ from those its value was loaded under: a change
made by one server worker, the command line or another process is seen by all of them at their
next read.

Random rather than counted: a database emptied or restored from a backup never comes back to a
stamp a cache holds for other contents (a counter would count up to it again). A rolled-back
change leaves the stamp as it was; a cache that loaded the uncommitted values under the new
stamp sees it differ at its next read and reloads. Writes outside a session (raw SQL, another
program) are not seen: cityline writes these tables only through sessions.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Integer, String, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from cityline.db import Base

T = TypeVar("T")


class CacheGeneration(Base):
    """The stamp of the tables behind one cache: new at every change."""

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[int] = mapped_column(Integer)


# table name -> the generations that table's writes advance
_watched: dict[str, set[str]] = {}


def watch(generation: str, *tables: str) -> None:
    """Advance ``generation`` whenever a session writes to one of ``tables``."""
    for table in tables:
        _watched.setdefault(table, set()).add(generation)


# session.info key: every stamp, as read once by this transaction (a create asks for several
# caches: the catalogue, the units, the grids, the triage model, the zones; one small read serves all)
_STAMPS = "cityline_generation_stamps"


def current(session: Session, generations: tuple[str, ...]) -> tuple[int, ...]:
    """The stamps of ``generations`` as this transaction sees them (0 before any change). The
    first call in a transaction reads every stamp; later ones reuse them until the transaction
    ends or itself advances one."""
    found = session.info.get(_STAMPS)
    if found is None:
        # On the session's connection: a plain read, not through the ORM's execution (every create asks)
        found = dict(session.connection().execute(_ALL_STAMPS).all())
        session.info[_STAMPS] = found
    return tuple(found.get(name, 0) for name in generations)


_ALL_STAMPS = select(CacheGeneration.__table__.c.name, CacheGeneration.__table__.c.stamp)


@event.listens_for(Session, "after_transaction_end")
def _forget_stamps(session: Session, _transaction) -> None:
    # The next transaction (or what follows a savepoint) reads them afresh.
    session.info.pop(_STAMPS, None)


def advance(session: Session, generations: set[str]) -> None:
    """A new stamp for each generation, in the session's transaction."""
    session.info.pop(_STAMPS, None)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for name in sorted(generations):  # one order, so two writers never lock them crosswise
        stmt = dialect.insert(CacheGeneration).values(name=name, stamp=secrets.randbelow(2**31 - 1) + 1)
        session.execute(stmt.on_conflict_do_update(index_elements=[CacheGeneration.name],
                                                   set_={"stamp": stmt.excluded.stamp}))


@event.listens_for(Session, "before_flush")
def _objects_written(session: Session, _context, _instances) -> None:
    touched: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table in _watched and (obj not in session.dirty or session.is_modified(obj)):
            touched |= _watched[table]
    if touched:
        advance(session, touched)


@event.listens_for(Session, "do_orm_execute")
def _statement_written(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in _watched and table != CacheGeneration.__tablename__:
        advance(state.session, _watched[table])


class Cached(Generic[T]):
    """One value loaded from the database, reloaded when one of ``generations`` has advanced."""

    def __init__(self, load: Callable[[Session], T], *generations: str) -> None:
        self.generations = generations
        self._load = load
        self._lock = threading.Lock()
        self._held: dict[str, tuple[tuple[int, ...], T]] = {}  # database URL -> (stamps, value)

    def get(self, session: Session) -> T:
        database = str(session.get_bind().url)
        stamp = current(session, self.generations)
        held = self._held.get(database)
        if held is not None and held[0] == stamp:
            return held[1]
        with self._lock:  # concurrent first requests load once
            held = self._held.get(database)
            if held is None or held[0] != stamp:
                held = (stamp, self._load(session))
                self._held[database] = held
            return held[1]

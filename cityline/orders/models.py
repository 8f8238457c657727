"""The work order (工单), its event log and the per-day number sequence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event, false, text
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.orders import search
from cityline.orders.rules import OPEN
from cityline.sla.models import Timer
from cityline.sla.rules import OVERDUE_ESCALATION

# The open orders, as partial indexes name them: a few in a hundred of those stored. Queries say
# the same words (``queries.OPEN_STATUSES``, literal values) so both databases match them.
OPEN_ONLY = text("status IN ({})".format(", ".join(f"'{s}'" for s in sorted(OPEN))))


# The orders waiting for a dispatcher (new ones, returned ones): a few in a thousand.
WAITING_ONLY = text("status IN ('received', 'returned')")


# An order with a special group to follow up (the elderly living alone, patients on dialysis …):
# its list stored as JSON text, "[]" when there is none. Queries say these very words too
# (``queries.HAS_SPECIAL_GROUP``), so the partial index below matches them.
WITH_SPECIAL_GROUP = "CAST(special_groups AS VARCHAR) != '[]'"
OPEN_WITH_SPECIAL_GROUP = text(f"{OPEN_ONLY.text} AND {WITH_SPECIAL_GROUP}")

# An order in a language other than Chinese: one or two in a hundred. Queries say these very
# words (``queries.FOREIGN``) so both databases match the partial index below.
FOREIGN_LANGUAGE = text("language != 'zh'")


def open_index(name: str, *columns: str) -> Index:
    """An index of the open orders only: small, and read instead of every order a reach has."""
    return Index(name, *columns, sqlite_where=OPEN_ONLY, postgresql_where=OPEN_ONLY)

# What the board's lanes ask of an open order beside its deadline (queries.board): its clock
# paused, an extension asked for, its special groups, its overdue escalation fired.
LANE_COLUMNS = ("paused", "extension_requested", "special_groups", "escalated")


def lanes_index(name: str, *reach: str) -> tuple[Index, Index]:
    """The open orders of a reach (``reach``: its columns, none for the whole city) by deadline,
    then id (the order of a page by deadline), carrying the lanes' columns: the same index spelt
    for each database, each made only on its own (``ddl_if``; the migrations' check compares
    each database with its own, ``migrations/env.py``). PostgreSQL carries them as INCLUDE
    columns (its JSON has no ordering to be a key); SQLite has no INCLUDE, so they are keys after
    the sort, with the status, which its planner wants in the index to read nothing else."""
    keys = (*reach, "resolve_by", "id")
    return (Index(name, *keys, *LANE_COLUMNS, "status", sqlite_where=OPEN_ONLY).ddl_if(dialect="sqlite"),
            Index(name, *keys, postgresql_include=list(LANE_COLUMNS),
                  postgresql_where=OPEN_ONLY).ddl_if(dialect="postgresql"))


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The longest search whose count is remembered (SearchCount): longer ones are rare, and counted.
SEARCH_COUNT_TEXT = 200


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_received", "status", "received_at"),
        Index("ix_orders_unit_status", "unit_id", "status"),
        # Duplicate search and briefings: same problem, same place, recent.
        Index("ix_orders_category_district_received", "category", "district", "received_at"),
        # The lists' filters, each ending in the time the list is sorted by, so a page of newest
        # first (or the next page after a cursor) and the bounded count read only what they show
        # (migration 0014_read_indexes; tests/orders/test_read_plans.py holds the plans to them).
        Index("ix_orders_category_received", "category", "received_at"),
        Index("ix_orders_urgency_received", "urgency", "received_at"),
        Index("ix_orders_channel_received", "channel", "received_at"),
        Index("ix_orders_language_received", "language", "received_at"),
        Index("ix_orders_unit_received", "unit_id", "received_at"),
        # A reach of places (a district or one street of it), newest first.
        Index("ix_orders_place_received", "district", "street", "received_at"),
        # The dispatcher's queue counted from the index alone: new orders but consultations, returns.
        Index("ix_orders_status_kind", "status", "kind"),
        # The board's open orders by deadline (overdue, due soon, nearest first), city-wide, by
        # unit and by place (a supervisor's reach is its units or its area), each carrying what
        # sorts an order into the board's lanes, so that the board reads these indexes alone.
        *lanes_index("ix_orders_open_lanes"),
        *lanes_index("ix_orders_open_unit_lanes", "unit_id"),
        *lanes_index("ix_orders_open_place_lanes", "district", "street"),
        # The city-wide open lists newest first, by urgency or any filter of the row (special groups):
        # the open orders read and counted, not every urgent order or every open one sorted.
        open_index("ix_orders_open_received", "received_at"),
        open_index("ix_orders_open_urgency_received", "urgency", "received_at"),
        # The open orders with a special group, newest first: the epidemic's follow-up list, a few in
        # a hundred of the open ones (read through the open orders by time, 146 ms at 10 M; 1 ms).
        Index("ix_orders_open_special_received", "received_at", sqlite_where=OPEN_WITH_SPECIAL_GROUP,
              postgresql_where=OPEN_WITH_SPECIAL_GROUP),
        # The foreign-language orders newest first, and their count: read from this small index
        # alone, where the language index's two ranges either side of "zh" were walked as one,
        # every Chinese order tested (PostgreSQL, 1 M: 11 ms for the count).
        Index("ix_orders_foreign_received", "received_at", sqlite_where=FOREIGN_LANGUAGE,
              postgresql_where=FOREIGN_LANGUAGE),
        # The dispatcher's queue, most urgent first, and its count, from this index alone: the
        # waiting orders' every column the queue filters and sorts by, and the id it reads (the open
        # orders by time read every open order for it on PostgreSQL).
        Index("ix_orders_waiting", "status", "kind", "urgency", "received_at", "id", sqlite_where=WAITING_ONLY,
              postgresql_where=WAITING_ONLY),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    caller_name: Mapped[str | None] = mapped_column(String(100))
    # Personal data: the phone is stored encrypted, with a masked form for display
    # and a keyed digest so repeat callers can be found without decrypting.
    caller_phone_enc: Mapped[str | None] = mapped_column(Text)
    caller_phone_masked: Mapped[str | None] = mapped_column(String(32))
    caller_phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)

    address: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()
    grid: Mapped[str | None] = mapped_column(String(64), index=True)  # code of the grid (网格) it falls in
    language: Mapped[str | None] = mapped_column(String(8))

    kind: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    special_groups: Mapped[list[str]] = mapped_column(default=list)
    # Where the labels came from: manual (operator), import (historical),
    # corrected (operator corrected a prediction) or model (predicted, unconfirmed).
    triage_source: Mapped[str] = mapped_column(String(16), default="manual")
    # Triage was unsure of some label: the operator is asked to confirm it.
    needs_confirmation: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)

    status: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    returns: Mapped[int] = mapped_column(default=0)
    reopens: Mapped[int] = mapped_column(default=0)
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    extension_requested: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # 延期 asked, undecided
    extended_to: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 延期 granted
    # Its overdue escalation (督办) has fired: kept by the database itself from the order's timers
    # (``escalation_statements``), so the board's lanes index carries it.
    escalated: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Deadlines of the current handling cycle (from the SLA policy; recomputable from events).
    sla_policy: Mapped[str | None] = mapped_column(String(64))
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# The text index beside orders (orders/search.py): a side table SQLAlchemy's models cannot say (an
# FTS5 table on SQLite), made and dropped with the orders table; migration 0018 makes it in real
# databases. An order the ORM inserts (the code's own paths write plain rows and index them in the
# same statement's batch) is indexed as it is flushed, in its transaction.
@event.listens_for(Order.__table__, "after_create")
def _create_search(target, connection, **_) -> None:
    for statement in search.create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Order.__table__, "before_drop")
def _drop_search(target, connection, **_) -> None:
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {search.TABLE}")


def escalation_statements(dialect: str) -> list[str]:
    """The trigger that marks an order ``escalated`` when a timer of its overdue escalation fires
    (is updated to "fired", or stored so). The SLA worker fires timers and knows nothing of orders
    (it sits below them); a trigger keeps the mark on every path that fires one, in the same
    transaction, and the board reads it from its lanes index instead of asking each open order's
    timers (2.5–4 ms a district's board at 1 M, ten times that at 10 M). The mark is never taken
    back: once fired, an escalation stays fired, as its timer does."""
    fired = f"NEW.state = 'fired' AND NEW.kind = '{OVERDUE_ESCALATION}'"
    mark = "UPDATE orders SET escalated = {true} WHERE id = NEW.order_id AND NOT escalated"
    if dialect == "postgresql":
        return ["CREATE OR REPLACE FUNCTION orders_mark_escalated() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {mark.format(true='true')}; RETURN NULL; END $$",
                "CREATE OR REPLACE TRIGGER orders_escalated AFTER INSERT OR UPDATE OF state ON sla_timers "
                f"FOR EACH ROW WHEN ({fired}) EXECUTE FUNCTION orders_mark_escalated()"]
    return [f"CREATE TRIGGER IF NOT EXISTS orders_escalated_{when} AFTER {event_} ON sla_timers FOR EACH ROW WHEN {fired} "
            f"BEGIN {mark.format(true='1')}; END" for when, event_ in (("stored", "INSERT"), ("fired", "UPDATE OF state"))]


def escalation_drop_statements(dialect: str) -> list[str]:
    """What ``escalation_statements`` made, dropped (PostgreSQL's function outlives the tables)."""
    if dialect == "postgresql":
        return ["DROP FUNCTION IF EXISTS orders_mark_escalated() CASCADE"]  # its trigger with it
    return ["DROP TRIGGER IF EXISTS orders_escalated_stored", "DROP TRIGGER IF EXISTS orders_escalated_fired"]


@event.listens_for(Base.metadata, "after_create")
def _create_escalation_trigger(target, connection, **_) -> None:
    # After all tables, and only where both are (some tests make a few tables alone); migration
    # 0021 makes it in real databases.
    if all(connection.dialect.has_table(connection, name) for name in ("orders", Timer.__tablename__)):
        for statement in escalation_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)


@event.listens_for(Order, "after_insert")
def _index_flushed(mapper, connection, order: Order) -> None:
    search.index_orders(connection, [(order.id, order.text, order.address)])


class OrderEvent(Base):
    """One change of an order: who, when, what, why. Written in the same transaction."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class OrderSequence(Base):
    """Last order number handed out per local day, so numbers read like 20200128-00042."""

    __tablename__ = "order_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class SearchCount(Base):
    """How many orders a search of the whole order list (its text alone, city-wide) is known to find
    at least: what a count that stopped at its limit found (orders/queries.py). Orders are never
    deleted and their text, address and number never change, so a search finds at least as many
    orders later as it found once, and a common word's "10000+" need not be counted again."""

    __tablename__ = "search_counts"

    text: Mapped[str] = mapped_column(String(SEARCH_COUNT_TEXT), primary_key=True)
    at_least: Mapped[int] = mapped_column(BigInteger)

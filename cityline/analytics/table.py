"""The plain table of orders every analysis reads (one row an order, Arrow columns).

Analytics never reads the order store's tables directly: it reads this flat
table, written to Parquet by ``export.py``, so the same SQL runs on DuckDB here
and on a distributed engine over the same files. Three things are computed once
per order when it enters the table, so no briefing has to:

- ``day``: the local (Asia/Shanghai by default) day the order was received;
- ``terms``: the content words of its text (``text.py``), for problem discovery
  and emerging-issue detection;
- ``deadline``: when it had to be resolved: the stored ``resolve_by``, or, for
  historical orders imported without one, the deadline the centre's SLA policy
  gives its urgency (``cityline.sla``), computed from the time it was received.

The table comes from the order store (:func:`orders_from_store`) or straight from
rows in the import format (:func:`orders_from_rows`: a history file, or the
simulator), which follow the importer's own rules for status and timings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.analytics.text import terms
from cityline.orders.models import Order
from cityline.timeutil import local_zone

TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("number", pa.string()),
    ("external_id", pa.string()),
    ("day", pa.date32()),
    ("received_at", TS),
    ("channel", pa.string()),
    ("language", pa.string()),
    ("kind", pa.string()),
    ("category", pa.string()),
    ("urgency", pa.string()),
    ("district", pa.string()),
    ("street", pa.string()),
    ("status", pa.string()),
    ("unit", pa.string()),
    ("dispatched_at", TS),
    ("replied_at", TS),
    ("closed_at", TS),
    ("deadline", TS),
    ("satisfaction", pa.string()),
    ("returns", pa.int32()),
    ("reopens", pa.int32()),
    ("answered_directly", pa.bool_()),
    ("text", pa.string()),
    ("terms", pa.list_(pa.string())),
    ("updated_at", TS),
])
COLUMNS = tuple(SCHEMA.names)
UNITS_SCHEMA = pa.schema([("code", pa.string()), ("name", pa.string()), ("kind", pa.string()),
                          ("district", pa.string()), ("street", pa.string())])


def local_day(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


def build_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    """Records holding the store's fields -> the analytics table (adds day, terms, deadline)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for record in records:
        record = dict(record)
        received = record["received_at"]
        direct = record["dispatched_at"] is None and record["closed_at"] is not None
        record["day"] = local_day(received)
        record["answered_directly"] = direct
        record["terms"] = terms(record["text"], (record["district"], record["street"]))
        if record.get("deadline") is None and not direct:
            record["deadline"] = policy_deadline(record["urgency"], record["category"],
                                                 tuple(record.get("special_groups") or ()), received)
        for name in COLUMNS:
            columns[name].append(record.get(name))
    return pa.table(columns, schema=SCHEMA)


def policy_deadline(urgency: str | None, category: str | None, groups: tuple[str, ...],
                    received_at: datetime) -> datetime | None:
    """The resolution deadline the SLA policy gives an order received at ``received_at``.

    Computed for the received minute and cached, because a history of millions of
    orders shares few (policy, minute) pairs; on a 24x7 policy the seconds are
    added back, on a working calendar a deadline is a working-day end or a
    working-minute count and the minute is as fine as the policy itself.
    """
    if not urgency:
        return None
    from cityline.sla.policy import PolicyError

    minute = received_at.replace(second=0, microsecond=0)
    try:
        deadline, exact_clock = _deadline_at(urgency, category, groups, minute)
    except PolicyError:
        return None
    return deadline + (received_at - minute) if exact_clock else deadline


@lru_cache(maxsize=200_000)
def _deadline_at(urgency: str, category: str | None, groups: tuple[str, ...],
                 start: datetime) -> tuple[datetime | None, bool]:
    from cityline.sla.rules import add_duration

    rules = _policies()
    policy = rules.policy_for(urgency, category, groups)
    calendar = rules.calendar_for(policy)
    return add_duration(start, policy.resolve_within, calendar), calendar.always_open


@lru_cache(maxsize=1)
def _policies():
    from cityline.config import get_settings
    from cityline.sla.policy import load_policies

    return load_policies(get_settings().sla_policy_file)


# --- from the order store -------------------------------------------------------------

STORE_FIELDS = (
    Order.id, Order.number, Order.external_id, Order.received_at, Order.channel, Order.language,
    Order.kind, Order.category, Order.urgency, Order.special_groups, Order.district, Order.street,
    Order.status, Unit.code.label("unit"), Order.dispatched_at, Order.replied_at, Order.closed_at,
    Order.resolve_by.label("deadline"), Order.satisfaction, Order.returns, Order.reopens,
    Order.text, Order.updated_at,
)


def store_query() -> Select:
    return select(*STORE_FIELDS).outerjoin(Unit, Unit.id == Order.unit_id)


def orders_from_store(session: Session, received_from: datetime, received_to: datetime,
                      chunk: int = 20_000) -> Iterable[pa.Table]:
    """Orders received in [from, to), as analytics tables of at most ``chunk`` rows."""
    query = (store_query().where(Order.received_at >= received_from, Order.received_at < received_to)
             .order_by(Order.received_at, Order.id))
    result = session.execute(query.execution_options(yield_per=chunk))
    for part in result.partitions(chunk):
        yield build_table([row._asdict() for row in part])


def units_from_store(session: Session) -> pa.Table:
    rows = session.execute(select(Unit.code, Unit.name, Unit.kind, Unit.district, Unit.street)).all()
    return pa.Table.from_pylist([row._asdict() for row in rows], schema=UNITS_SCHEMA)


# --- from rows in the import format ----------------------------------------------------

def orders_from_rows(rows: Iterable[tuple[int, dict[str, Any]]], chunk: int = 50_000,
                     first_id: int = 1) -> Iterable[pa.Table]:
    """Import-format rows (formats.md §1) -> analytics tables, without an order store.

    Status and timings follow the importer's own rules (``history_events``); a
    row the importer would refuse raises ValueError naming its row number. The
    order number is the row's ``external_id`` (no store has numbered it), and
    places are taken as given (no address parsing).
    """
    from cityline.intake.importer import history_events
    from cityline.intake.rows import parse_row
    from cityline.orders.rules import OrderState, apply_move

    records: list[dict[str, Any]] = []
    next_id = first_id
    for n, raw in rows:
        row, problems = parse_row(n, raw)
        if row is None or problems:
            raise ValueError(f"row {n}: {'; '.join(problems)}")
        state = OrderState(received_at=row.received_at)
        for action, data, at in history_events(row):
            state = apply_move(state, action, data, at)
        records.append({
            "id": next_id, "number": row.external_id, "external_id": row.external_id,
            "received_at": row.received_at, "channel": row.channel, "language": row.language,
            "kind": row.kind, "category": row.category, "urgency": row.urgency,
            "special_groups": row.special_groups, "district": row.district, "street": row.street,
            "status": state.status.value, "unit": state.unit, "dispatched_at": state.dispatched_at,
            "replied_at": state.replied_at, "closed_at": state.closed_at, "deadline": None,
            "satisfaction": state.satisfaction, "returns": state.returns, "reopens": state.reopens,
            "text": row.text, "updated_at": state.closed_at or state.replied_at or row.received_at,
        })
        next_id += 1
        if len(records) >= chunk:
            yield build_table(records)
            records = []
    if records:
        yield build_table(records)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where a local day starts and ends."""
    from cityline.timeutil import local_day_start

    start = local_day_start(day)
    return start, local_day_start(day + timedelta(days=1))

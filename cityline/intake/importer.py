"""Bulk import of orders (``cityline orders import FILE``), formats.md §1.

Rows are checked one by one; good rows go in by batches, each batch in its own
transaction, each row's order and events together, so an interrupted import
leaves only whole orders and running it again finishes the job (idempotent by
``external_id``). Bad rows are reported with their row number and reason.

Orders are built by the same functions as a live order (``intake.service``); a
historical order keeps its recorded times, and one that is still open gets its
deadlines and reminder timers exactly like a live one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.models import Unit
from cityline.db import transaction, utcnow
from cityline.errors import RowError
from cityline.intake.rows import ImportRow, parse_row, read_rows
from cityline.intake.service import Classify, fill_labels, locate, order_columns
from cityline.orders.models import Order, OrderEvent
from cityline.orders.rules import FINAL, OrderState, apply_move
from cityline.orders.service import allocate_numbers, format_number, track_deadlines
from cityline.privacy import Vault
from cityline.timeutil import local_day

IMPORT_ACTOR = "import"


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    already_present: int = 0
    repeated_in_file: int = 0
    bad: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read, "imported": self.imported, "already_present": self.already_present,
            "repeated_in_file": self.repeated_in_file, "bad": len(self.bad),
            "bad_rows": [{"row": e.row, "reason": e.message} for e in self.bad],
        }


def history_events(row: ImportRow) -> list[tuple[str, dict[str, Any], datetime]]:
    """The loop steps a historical order went through, in order, as (action, data, at).

    The source format has no acceptance or visit time: a unit that replied had
    accepted by then, and a satisfaction score was taken at closing; such implied
    steps are marked ``implied`` so reports can leave them out of timings.
    """
    steps: list[tuple[str, dict[str, Any], datetime]] = []
    if row.dispatched_at:
        steps.append(("dispatch", {"unit": row.unit}, row.dispatched_at))
        if row.replied_at:
            steps.append(("accept", {"implied": True}, row.replied_at))
            steps.append(("reply", {"text": "（历史工单导入，答复内容见来源系统）"}, row.replied_at))
            if row.satisfaction:
                steps.append(("visit", {"satisfaction": row.satisfaction, "implied": True},
                              row.closed_at or row.replied_at))
            if row.closed_at:
                close = {} if row.satisfaction else {"reason": "imported: closed in the source system"}
                steps.append(("close", close, row.closed_at))
    elif row.closed_at:
        steps.append(("answer", {"text": "（历史工单导入：受理时直接答复）"}, row.closed_at))
    return steps


def _final_state(row: ImportRow, steps: list[tuple[str, dict[str, Any], datetime]]) -> OrderState:
    state = OrderState(received_at=row.received_at)
    for action, data, at in steps:
        state = apply_move(state, action, data, at)
    return state


class _Batch:
    """Good rows waiting to be written together."""

    def __init__(self) -> None:
        self.rows: list[ImportRow] = []
        self.steps: list[list[tuple[str, dict[str, Any], datetime]]] = []
        self.states: list[OrderState] = []


def import_file(factory: sessionmaker[Session], path: Path, **options) -> ImportReport:
    """Import every good row of ``path``; see the module docstring for the guarantees."""
    return import_rows(factory, read_rows(path), **options)


def import_rows(
    factory: sessionmaker[Session],
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    vault: Vault,
    classify: Classify | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import numbered rows in the import format (a file's, or a generator's)."""
    report = ImportReport()
    seen: set[str] = set()
    units = _unit_ids(factory)
    batch = _Batch()
    for n, raw in rows:
        report.read += 1
        row, problems = parse_row(n, raw)
        if row is not None and row.unit and row.unit not in units:
            problems.append(f"unknown unit '{row.unit}' (import units first: cityline units import)")
        if row is not None and not problems:
            try:
                steps = history_events(row)
                state = _final_state(row, steps)
            except Exception as exc:  # a rule refused the history: report, don't guess
                problems.append(str(exc))
        if problems:
            report.bad.append(RowError(n, "; ".join(problems)))
        elif row.external_id in seen:
            report.repeated_in_file += 1
        else:
            seen.add(row.external_id)
            batch.rows.append(row)
            batch.steps.append(steps)
            batch.states.append(state)
        if len(batch.rows) >= batch_size:
            _write(factory, batch, report, units, vault, classify)
            batch = _Batch()
        if progress and report.read % 500 == 0:
            progress(report.read)
    if batch.rows:
        _write(factory, batch, report, units, vault, classify)
    if progress:
        progress(report.read)
    return report


def _unit_ids(factory: sessionmaker[Session]) -> dict[str, int]:
    """Units by code and by name (the format allows either)."""
    with factory() as session:
        found: dict[str, int] = {}
        for unit_id, code, name in session.execute(select(Unit.id, Unit.code, Unit.name)):
            found[code] = unit_id
            found.setdefault(name, unit_id)
        return found


def _write(factory, batch: _Batch, report: ImportReport, units: dict[str, int], vault: Vault,
           classify: Classify | None) -> None:
    with transaction(factory) as session:
        ids = [r.external_id for r in batch.rows]
        present = set(session.scalars(select(Order.external_id).where(Order.external_id.in_(ids))))
        keep = [i for i, r in enumerate(batch.rows) if r.external_id not in present]
        report.already_present += len(batch.rows) - len(keep)
        if not keep:
            return
        numbers = _numbers(session, [batch.rows[i] for i in keep])
        values, predictions = [], []
        for i in keep:
            row = batch.rows[i]
            order_values, prediction = _order_values(
                row, batch.states[i], numbers[row.external_id], units, vault, classify
            )
            values.append(order_values)
            predictions.append(prediction)
        # A plain executemany, then the ids by the (unique) numbers: sorted RETURNING
        # through insertmanyvalues costs far more on large batches.
        connection = session.connection()  # Core executemany: no per-row ORM bookkeeping
        connection.execute(insert(Order.__table__), values)
        ids = dict(session.execute(select(Order.number, Order.id).where(Order.number.in_([v["number"] for v in values]))).all())
        order_ids = [ids[v["number"]] for v in values]
        events = []
        for order_id, i, prediction in zip(order_ids, keep, predictions, strict=True):
            events.extend(_event_values(order_id, batch.rows[i], batch.steps[i], prediction))
        connection.execute(insert(OrderEvent.__table__), events)
        still_open = [oid for oid, i in zip(order_ids, keep, strict=True) if batch.states[i].status not in FINAL]
        for order in session.scalars(select(Order).where(Order.id.in_(still_open))):
            track_deadlines(session, order)
        report.imported += len(keep)


def _numbers(session: Session, rows: Iterable[ImportRow]) -> dict[str, str]:
    by_day: dict[str, list[ImportRow]] = {}
    for row in rows:
        by_day.setdefault(local_day(row.received_at), []).append(row)
    numbers = {}
    for day, day_rows in by_day.items():
        first = allocate_numbers(session, day, len(day_rows))
        for offset, row in enumerate(day_rows):
            numbers[row.external_id] = format_number(day, first + offset)
    return numbers


def _order_values(row: ImportRow, state: OrderState, number: str, units: dict[str, int], vault: Vault,
                  classify: Classify | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    given = {"kind": row.kind, "category": row.category, "urgency": row.urgency,
             "special_groups": row.special_groups, "language": row.language}
    labels, prediction = fill_labels(row.text, given, classify, source="import")
    place = locate(row.address, row.text) if not row.district else None
    now = utcnow()
    values = order_columns(
        number=number, text=row.text, received_at=row.received_at, channel=row.channel, labels=labels,
        prediction=prediction, vault=vault, external_id=row.external_id, caller_phone=row.caller_phone,
        address=row.address, district=row.district or (place or {}).get("district"),
        street=row.street if row.district else (row.street or (place or {}).get("street")),
    )
    return values | {  # where the recorded history left it
        "status": state.status.value, "unit_id": units[state.unit] if state.unit else None,
        "dispatched_at": state.dispatched_at, "accepted_at": state.accepted_at,
        "replied_at": state.replied_at, "visited_at": state.visited_at, "closed_at": state.closed_at,
        "reply": state.reply, "satisfaction": state.satisfaction, "merged_into_id": None,
        "returns": state.returns, "reopens": state.reopens, "created_at": now, "updated_at": now,
    }, prediction


def _event_values(order_id: int, row: ImportRow, steps, prediction: dict[str, Any] | None) -> list[dict[str, Any]]:
    received: dict[str, Any] = {"channel": row.channel, "external_id": row.external_id}
    if prediction:
        received["triage"] = prediction
    events = [{"order_id": order_id, "at": row.received_at, "actor": IMPORT_ACTOR, "action": "received",
               "from_status": None, "to_status": "received", "data": received, "note": None}]
    state = OrderState(received_at=row.received_at)
    for action, data, at in steps:
        after = apply_move(state, action, data, at)
        events.append({"order_id": order_id, "at": at, "actor": IMPORT_ACTOR, "action": action,
                       "from_status": state.status.value, "to_status": after.status.value,
                       "data": data, "note": None})
        state = after
    return events


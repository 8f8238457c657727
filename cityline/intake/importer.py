"""Bulk import of orders (``cityline orders import FILE``), formats.md §1.

Rows are checked one by one; good rows go in by batches, each batch in its own
transaction, each row's order and events together, so an interrupted import
leaves only whole orders and running it again finishes the job (idempotent by
``external_id``). Bad rows are reported with their row number and reason.

An import always finishes, whatever the rows hold:

- a row the database refuses (a constraint, a trigger, a value it cannot store)
  does not take its batch with it: the batch is written again row by row, and that
  row is named with the database's reason (its first line, numbers masked; never
  the row's values);
- a row that an import running at the same time has just stored (overlapping
  files) is skipped by the insert itself (``ON CONFLICT (external_id) DO NOTHING``),
  not by a check before it, so two imports never fail on the unique constraint;
  each is counted as already present (its reserved order number stays unused);
- when the database itself fails (unreachable, out of space, locked) no row is to
  blame: the import stops with :class:`ImportStopped`, keeping every batch stored
  before; running it again finishes it.

Orders are built by the same functions as a live order (``intake.service``); a
historical order keeps its recorded times, and one that is still open gets its
deadlines and reminder timers exactly like a live one. Triage labels a batch's
unlabelled rows at once. The rows of a batch are checked and their orders built
(``_prepare_part``) into plain rows as the database stores them, each with its
text index entry (its bigrams, ``search.indexed_terms``); with ``workers`` that
is done for the next batch in worker processes while this process writes the
last (it only reads the file, sets repeated and stored rows aside, numbers the
orders and writes them), and the same is stored.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache, partial
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.models import Unit
from cityline.db import UTCDateTime, read_transaction, transaction, utcnow
from cityline.errors import DomainError, RowError
from cityline.intake.rows import ImportRow, external_id_of, parse_row, read_rows
from cityline.intake.service import fill_labels, locate, order_columns
from cityline.intake.triage import ClassifyMany
from cityline.orders import search
from cityline.orders.models import Order, OrderEvent
from cityline.orders.rules import FINAL, OrderState, apply_move
from cityline.orders.service import allocate_numbers, format_number
from cityline.privacy import Vault, mask_text
from cityline.sla.rules import Deadlines
from cityline.sla.tracking import track_new
from cityline.timeutil import local_day
from cityline.triage.classifier import no_cycle_collection

IMPORT_ACTOR = "import"
REMEMBERED = 50_000  # texts whose predictions an import keeps, per process (each a few kB)
COLLECT_EVERY = 20  # batches written between two passes of the cycle collector


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


class ImportStopped(DomainError):
    """The database failed with no row to blame; what was stored before stays, and running
    the import again finishes it."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str, report: ImportReport) -> None:
        super().__init__(detail)
        self.report = report  # what was done before it stopped


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


def _replay(row: ImportRow, steps: list[tuple[str, dict[str, Any], datetime]]) -> tuple[OrderState, list[tuple]]:
    """Where the history leaves the order, and its steps as (action, data, at, from status, to
    status): replayed once (by the order rules, which refuse an impossible history)."""
    state = OrderState(received_at=row.received_at)
    replayed = []
    for action, data, at in steps:
        after = apply_move(state, action, data, at)
        replayed.append((action, data, at, state.status.value, after.status.value))
        state = after
    return state, replayed


# What a worker says of each row it was given, with what goes with it:
BAD = 0  # the row is wrong: why ("; "-joined problems)
PRESENT = 1  # stored by an earlier run (checked before the row was sent): nothing to build
FAILED = 2  # triage or place parsing failed on its text: the error's type (its message may quote the text)
BUILT = 3  # (local day, the order's row, its events' rows, what deadlines need if it is open, its
#             text index entry: search.indexed_terms)

# The rows a worker is sent: (row number, the file's values, whether an order with its external_id
# is stored already), and what it sends back: the order columns, then (status, row number,
# external_id, what goes with the status) per row. Plain strings, numbers and lists (cheap to
# pickle across processes, no objects), every value already in the form the database stores, so
# the writer converts nothing.
Part = list[tuple[int, Any, bool]]
Prepared = tuple[tuple[str, ...], list[tuple[int, int, str | None, Any]]]


_ROW_NUMBER = itemgetter(1)  # of an outcome

# A batch of the file's rows whose orders are being built (in this process, or by the pool): the
# future of each of its parts, in file order.
_Preparing = list[Future[Prepared]]


def import_file(factory: sessionmaker[Session], path: Path, **options) -> ImportReport:
    """Import every good row of ``path``; see the module docstring for the guarantees."""
    return import_rows(factory, read_rows(path), **options)


def import_rows(
    factory: sessionmaker[Session],
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    vault: Vault,
    classify_many: ClassifyMany | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> ImportReport:
    """Import numbered rows in the import format (a file's, or a generator's).

    With ``workers`` > 1 the rows are checked and their orders built (triage, places, protected
    phones, the history replayed: most of an import's processor time) by that many processes
    while this one reads the rows and writes the batches; what is stored is the same either way."""
    report = ImportReport()
    seen: set[str] = set()
    units, dialect = _unit_ids(factory)
    prepare = partial(_prepare_part, units=units, dialect=dialect, vault=vault, classify_many=classify_many,
                      remembered={})

    written = 0

    def write(batch: _Preparing) -> None:
        nonlocal written
        _write(factory, batch, report, seen)
        written += 1
        if written % COLLECT_EVERY == 0:
            # The batches' few reference cycles (their sessions': some twenty objects a batch).
            # A pass scans what is alive and young, the next batches' rows mostly, whatever
            # was written since the last: so not after every batch.
            gc.collect(1)

    # Without the cycle collector's own passes: the built rows arrive by the ten thousand a batch,
    # unpickled, and every pass they set off scanned them again with all this process holds (the
    # classifier, the places): ~18 µs a row in the unpickling alone, a tenth of the writer's time.
    with no_cycle_collection(), _preparers(workers, prepare) as submit:
        waiting: deque[_Preparing] = deque()  # batches being prepared, oldest first
        for batch in _batches(rows, report, batch_size, progress):
            waiting.append(_start(factory, batch, submit, workers))
            if len(waiting) > 1:  # the next batch is prepared while this one is written
                write(waiting.popleft())
        while waiting:
            write(waiting.popleft())
    if progress:
        progress(report.read)
    report.bad.sort(key=lambda e: e.row)  # a row the database refused is found after later rows' checks
    return report


def _batches(rows: Iterable[tuple[int, dict[str, Any]]], report: ImportReport, batch_size: int,
             progress: Callable[[int], None] | None) -> Iterator[list[tuple[int, Any]]]:
    """The file's rows, ``batch_size`` at a time, as read (checked where they are built)."""
    batch: list[tuple[int, Any]] = []
    for n, raw in rows:
        report.read += 1
        batch.append((n, raw))
        if len(batch) >= batch_size:
            yield batch
            batch = []
        if progress and report.read % 500 == 0:
            progress(report.read)
    if batch:
        yield batch


Submit = Callable[[Part], Future[Prepared]]


@contextmanager
def _preparers(workers: int, prepare: Callable[[Part], Prepared]) -> Iterator[Submit]:
    """submit(part) -> the future of what ``prepare`` makes of it: a process pool's with
    ``workers`` > 1, else done at once in this process."""
    if workers <= 1:
        def at_once(part: Part) -> Future[Prepared]:
            done: Future[Prepared] = Future()
            done.set_result(prepare(part))
            return done

        yield at_once
        return
    # Forked, so the workers start with the classifier already loaded (it is not pickled);
    # they never touch the database, whose connections stay this process's.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_use_preparer, initargs=(prepare,)) as pool:
        yield partial(pool.submit, _prepare_in_worker)


_worker_prepare: Callable[[Part], Prepared] | None = None
_worker_parts = 0  # parts this worker has prepared


def _use_preparer(prepare: Callable[[Part], Prepared]) -> None:
    global _worker_prepare
    _worker_prepare = prepare
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose import was killed (SIGKILL: no pool shutdown) would wait for work forever,
    the pool's pipes held open by its own forked copies: it leaves once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _prepare_in_worker(part: Part) -> Prepared:
    global _worker_parts
    assert _worker_prepare is not None, "the pool's initializer sets it"
    # Forked with the cycle collector off, as the writer runs. Building makes no cycles (a pass
    # after each part found none, and scanned the part's rows for 5 µs a row): a rare pass.
    _worker_parts += 1
    if _worker_parts % COLLECT_EVERY == 0:
        gc.collect(1)
    return _worker_prepare(part)


def _unit_ids(factory: sessionmaker[Session]) -> tuple[dict[str, int], str]:
    """Units by code and by name (the format allows either), and the database's dialect."""
    with factory() as session:
        found: dict[str, int] = {}
        for unit_id, code, name in session.execute(select(Unit.id, Unit.code, Unit.name)):
            found[code] = unit_id
            found.setdefault(name, unit_id)
        return found, session.get_bind().dialect.name


def _start(factory, batch: list[tuple[int, Any]], submit: Submit, workers: int) -> _Preparing:
    """Mark the rows an earlier run (or another import) stored, so they are only checked, and
    start building the batch's orders: in ``workers`` parts, one per worker, each text's rows in
    one part (by the text's hash), so that a text is classified once, by the worker that then
    remembers it, and each worker remembers texts of its own."""
    of_rows = [external_id_of(raw) for _, raw in batch]
    ids = set(of_rows)
    ids.discard(None)
    with read_transaction(factory) as session:
        present = set(session.scalars(select(Order.external_id).where(Order.external_id.in_(ids)))) if ids else set()
    rows = [(n, raw, external_id in present) for (n, raw), external_id in zip(batch, of_rows, strict=True)]
    if workers <= 1:
        return [submit(rows)]
    parts: list[Part] = [[] for _ in range(workers)]
    for row in rows:
        raw = row[1]
        parts[hash(raw.get("text") if isinstance(raw, dict) else None) % workers].append(row)
    return [submit(part) for part in parts if part]


def _write(factory, batch: _Preparing, report: ImportReport, seen: set[str]) -> None:
    """Report the batch's bad, repeated and present rows, in file order, and write the others."""
    columns: tuple[str, ...] = ()
    outcomes: list[tuple[int, int, str | None, Any]] = []
    for future in batch:
        built_columns, part_outcomes = future.result()
        columns = built_columns or columns  # a share with no row built (all bad, say) names none
        outcomes.extend(part_outcomes)
    outcomes.sort(key=_ROW_NUMBER)  # back in file order (the parts were split by text)
    ready: list[tuple[int, str, Any]] = []
    for status, n, external_id, payload in outcomes:
        if status == BAD:
            report.bad.append(RowError(n, payload))
        elif external_id in seen:  # a good row met before in the file: the first one counts
            report.repeated_in_file += 1
        else:
            seen.add(external_id)
            if status == PRESENT:
                report.already_present += 1
            elif status == FAILED:
                report.bad.append(RowError(n, f"could not be prepared ({payload})"))
            else:
                ready.append((n, external_id, payload))
    if not ready:
        return
    try:
        _commit(factory, columns, ready, report)
    except DBAPIError as exc:
        _stop_if_unavailable(exc, ready[0][0], report)
        for one in ready:  # the database refused something in the batch: find which row, keep the rest
            try:
                _commit(factory, columns, [one], report)
            except DBAPIError as row_exc:
                _stop_if_unavailable(row_exc, one[0], report)
                report.bad.append(RowError(one[0], f"the database refused the row ({refusal_reason(row_exc)})"))


def _prepare_part(part: Part, *, units: dict[str, int], dialect: str, vault: Vault,
                  classify_many: ClassifyMany | None,
                  remembered: dict[tuple[str, str | None], dict[str, Any]]) -> Prepared:
    """Check each row of ``part``, and build the order of each good one not stored already: its row
    and its events' rows as the database stores them (all but the number and the order's id).

    Without the cycle collector: building makes many small objects and no reference cycles, and
    each of its full passes would scan the classifier and the remembered predictions again (a
    tenth of an import's time)."""
    with no_cycle_collection():
        return _prepare(part, units, dialect, vault, classify_many, remembered)


def _prepare(part: Part, units: dict[str, int], dialect: str, vault: Vault, classify_many: ClassifyMany | None,
             remembered: dict[tuple[str, str | None], dict[str, Any]]) -> Prepared:
    outcomes: list[tuple[int, int, str | None, Any]] = []
    building: list[tuple[int, ImportRow, OrderState, list[tuple]]] = []
    for n, raw, present in part:
        row, problems = parse_row(n, raw)
        if row is not None and row.unit and row.unit not in units:
            problems.append(f"unknown unit '{row.unit}' (import units first: cityline units import)")
        if row is not None and not problems and not present:
            try:
                state, steps = _replay(row, history_events(row))
            except Exception as exc:  # a rule refused the history: report, don't guess
                problems.append(str(exc))
        if problems:
            outcomes.append((BAD, n, None, "; ".join(problems)))
        elif present:
            outcomes.append((PRESENT, n, row.external_id, None))
        else:
            building.append((len(outcomes), row, state, steps))
            outcomes.append((BUILT, n, row.external_id, None))
    predictions = _predictions([row for _, row, _, _ in building], classify_many, remembered)
    now = utcnow()
    now_stored = {id(now): _converters(Order.__table__, ("created_at",), dialect)[0][1](now)}
    columns: tuple[str, ...] = ()
    for (place, row, state, steps), prediction in zip(building, predictions, strict=True):
        try:
            values, prediction_json = _order_values(row, vault, prediction)
        except Exception as exc:  # only the error's type: its message may quote the text
            outcomes[place] = (FAILED, row.row, row.external_id, type(exc).__name__)
            continue
        values.update(_history_values(state, units, now))
        columns = tuple(values)
        still_open = None
        if state.status not in FINAL:  # an open order is chased like a live one: what its deadlines need
            still_open = [values["urgency"], values["category"], values["special_groups"], values["channel"]]
        times = dict(now_stored)  # the order's times converted so far
        order = _stored(Order.__table__, columns, dialect, list(values.values()), times)
        events = [_stored(OrderEvent.__table__, _EVENT_COLUMNS[1:], dialect, event, times)
                  for event in _event_rows(row, steps, prediction_json)]
        terms = search.indexed_terms(values["text"], values["address"])
        outcomes[place] = (BUILT, row.row, row.external_id,
                           (local_day(row.received_at), order, events, still_open, terms))
    return columns, outcomes


def _predictions(rows: list[ImportRow], classify_many: ClassifyMany | None,
                 remembered: dict[tuple[str, str | None], dict[str, Any]]) -> list[dict[str, Any] | Exception | None]:
    """Triage of the rows whose labels are not all given (those ``fill_labels`` would
    classify), a batch per given language; the error instead for a text triage fails on.

    A history repeats its short texts (a simulated winter: three in ten), and triage gives a
    text the same prediction every time: those met before (up to ``REMEMBERED`` texts per
    process) are not classified again."""
    found: list[dict[str, Any] | Exception | None] = [None] * len(rows)
    if classify_many is None:
        return found
    by_language: dict[str | None, dict[str, list[int]]] = {}
    for i, row in enumerate(rows):
        if not (row.kind and row.category and row.urgency):
            known = remembered.get((row.text, row.language))
            if known is None:
                by_language.setdefault(row.language, {}).setdefault(row.text, []).append(i)
            else:
                found[i] = known
    if len(remembered) > REMEMBERED:
        remembered.clear()
    for language, by_text in by_language.items():
        texts = list(by_text)
        try:
            predictions = classify_many(texts, language)
        except Exception:  # one text it cannot read: classify one by one, so only its rows fail
            predictions = []
            for text in texts:
                try:
                    predictions.append(classify_many([text], language)[0])
                except Exception as exc:
                    predictions.append(exc)
        for text, prediction in zip(texts, predictions, strict=True):
            if not isinstance(prediction, Exception):
                remembered[(text, language)] = prediction
            for i in by_text[text]:
                found[i] = prediction
    return found


def _commit(factory, columns: tuple[str, ...], ready: list[tuple[int, str, Any]], report: ImportReport) -> None:
    """Write ``ready`` rows (row number, external_id, what the worker built) in one transaction;
    the report counts them once it has committed."""
    numbered = columns.index("number")
    with transaction(factory) as session:
        numbers = _numbers(session, [(external_id, built[0]) for _, external_id, built in ready])
        orders = []
        for _, external_id, built in ready:  # set (not copied): the rows are this batch's own
            built[1][numbered] = numbers[external_id]
            orders.append(built[1])
        # Sorted by external_id: two imports of overlapping files take the rows' locks in the
        # same order, so one waits for the other instead of the two deadlocking.
        orders.sort(key=itemgetter(columns.index("external_id")))
        connection = session.connection()
        _insert_orders(connection, columns, orders)
        # The ids by the (unique, just reserved) numbers: only the rows inserted have one. A
        # sorted RETURNING through insertmanyvalues costs far more on large batches.
        ids = dict(session.execute(select(Order.number, Order.id).where(Order.number.in_([o[numbered] for o in orders]))).all())
        written = [(ids[numbers[external_id]], external_id, built) for _, external_id, built in ready
                   if numbers[external_id] in ids]
        search.write_terms(connection, [(order_id, built[4]) for order_id, _, built in written])
        events, still_open = [], []
        for order_id, external_id, (_, _, own, open_labels, _) in written:
            events.extend([order_id, *event] for event in own)
            if open_labels is not None:
                urgency, category, groups, channel = open_labels
                still_open.append({
                    "id": order_id, "number": numbers[external_id], "urgency": urgency, "category": category,
                    "special_groups": groups, "channel": channel,
                    "events": [(e[_ACTION - 1], _from_stored(e[_AT - 1]), json.loads(e[_DATA - 1])) for e in own]})
        if events:
            _write_rows(connection, OrderEvent.__table__, _EVENT_COLUMNS, events)
        _track_deadlines(connection, track_new(session, still_open))
    report.imported += len(written)
    report.already_present += len(ready) - len(written)


# The bulk writer. An import writes plain rows of values it built itself, so SQLAlchemy's
# per-value processing (a few µs per value, a third of the writer's time) is done where the rows
# are built instead, once per column kind (``_stored``): PostgreSQL takes the rows by COPY,
# SQLite by one prepared executemany.
_EVENT_COLUMNS = ("order_id", "at", "actor", "action", "from_status", "to_status", "data", "note")
_AT, _ACTION, _DATA = (_EVENT_COLUMNS.index(name) for name in ("at", "action", "data"))


def _insert_orders(connection, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    """Insert the orders, skipping any whose external_id another import stored meanwhile (by the
    unique index, never by the check in _start alone, which a concurrent import may pass too)."""
    table = Order.__table__
    skip = " ON CONFLICT (external_id) DO NOTHING"
    if connection.dialect.name == "postgresql":
        # COPY has no ON CONFLICT: a row stored meanwhile fails it, and the batch goes in by the
        # INSERT that skips such rows instead (rare: only overlapping imports meet it).
        try:
            with connection.begin_nested():
                _write_rows(connection, table, columns, rows)
            return
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != "23505":  # not a unique violation: the row's fault
                raise
        marks = ", ".join(["%s"] * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks}){skip}",
                                   list(map(tuple, rows)))
        return
    _write_rows(connection, table, columns, rows, tail=skip)


def _write_rows(connection, table, columns: Sequence[str], rows: list[list[Any]], tail: str = "") -> None:
    """Insert ``rows`` (lists of ``columns``' values as the database stores them) into ``table``."""
    names = ", ".join(columns)
    if connection.dialect.name != "postgresql":
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks}){tail}",
                                   list(map(tuple, rows)))  # SQLAlchemy takes a row as a tuple
        return
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    raw = connection.connection.driver_connection
    dbapi = connection.dialect.loaded_dbapi
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:  # raised as SQLAlchemy raises a driver's errors, for _write to judge
        lost = connection.dialect.is_disconnect(exc, raw, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, dbapi.Error, connection_invalidated=lost,
                                  dialect=connection.dialect) from exc


def _stored(table, columns: tuple[str, ...], dialect: str, row: list[Any], times: dict[int, str]) -> list[Any]:
    """``row`` (``columns``' Python values) as the database stores them, converted in place.

    ``times`` holds the stored form of the times converted so far, by the datetime's id: an
    order's history names the same instants again and again (replied_at is also the accepted
    time and the accept and reply events' time; every order of a part has the same created_at),
    and each is converted once. (The caller keeps every such datetime alive while it builds.)"""
    for column, to_stored, is_time in _converters(table, columns, dialect):
        value = row[column]
        if value is None:
            continue
        if is_time:
            text = times.get(id(value))
            if text is None:
                text = times[id(value)] = to_stored(value)
            row[column] = text
        else:
            row[column] = to_stored(value)
    return row


@cache
def _converters(table, columns: tuple[str, ...], dialect: str) -> tuple[tuple[int, Callable[[Any], Any], bool], ...]:
    """(column's place, what turns its Python value into what the database stores, whether it is
    a time) for the columns whose values are not stored as they are."""
    found: list[tuple[int, Callable[[Any], Any], bool]] = []
    for place, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, JSON):
            found.append((place, _json, False))
        elif isinstance(kind, UTCDateTime):
            found.append((place, _utc_text if dialect == "postgresql" else _sqlite_utc, True))
    return tuple(found)


class _JSONText(str):
    """A JSON column's value written as JSON already."""


def _json(value: Any) -> str:
    """As SQLAlchemy stores JSON on both databases (``json.dumps``)."""
    # A plain str: a worker sends it back, and a str subclass would be pickled as an object.
    return str(value) if isinstance(value, _JSONText) else json.dumps(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column; attach a timezone first")
    return value.astimezone(UTC)


def _utc_text(value: datetime) -> str:
    """A UTC time as PostgreSQL reads it into a timestamptz (ISO 8601 with its offset)."""
    return _utc(value).isoformat()


def _sqlite_utc(value: datetime) -> str:
    """As SQLAlchemy stores a UTC time on SQLite: naive UTC, microseconds always written (the
    first 26 characters of the aware time's ISO form, which ends "+00:00")."""
    return _utc(value).isoformat(" ", "microseconds")[:26]


def _from_stored(value: str) -> datetime:
    """A time as ``_stored`` wrote it, back as an aware UTC datetime."""
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _track_deadlines(connection, tracked: dict[int, tuple[str, Deadlines | None]]) -> None:
    """The imported open orders' policies and deadlines, in one statement."""
    if not tracked:
        return
    table = Order.__table__
    connection.execute(
        update(table).where(table.c.id == bindparam("order_id")).values(
            sla_policy=bindparam("policy"), accept_by=bindparam("accept"), respond_by=bindparam("respond"),
            resolve_by=bindparam("resolve")),
        [{"order_id": order_id, "policy": policy, "accept": d.accept_by if d else None,
          "respond": d.respond_by if d else None, "resolve": d.resolve_by if d else None}
         for order_id, (policy, d) in tracked.items()])


def _stop_if_unavailable(exc: DBAPIError, row: int, report: ImportReport) -> None:
    if database_unavailable(exc):
        raise ImportStopped(
            f"the database failed at row {row} ({refusal_reason(exc)}); every batch before it is stored: "
            f"run the import again to finish", report) from exc


def database_unavailable(exc: DBAPIError) -> bool:
    """A database that cannot be reached (or is out of space, or locked) refuses every row
    alike: an import stops, rather than name each row for it. A deadlock or serialization
    failure (PostgreSQL's class 40) is another writer's doing, not the database's: the
    batch is retried row by row."""
    if exc.connection_invalidated:
        return True
    if (getattr(exc.orig, "sqlstate", None) or "").startswith("40"):
        return False
    return isinstance(exc, OperationalError | InterfaceError)


def refusal_reason(exc: BaseException) -> str:
    """What went wrong, for a report: the error's first line (PostgreSQL's detail, which may
    quote the row's values, is left out), numbers masked, at most 200 characters."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(orig) or type(orig).__name__).strip()
    first = mask_text(message.splitlines()[0] if message else type(orig).__name__)
    return first if len(first) <= 200 else first[:199] + "…"


def _numbers(session: Session, rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Order numbers by external_id, for (external_id, local day received) pairs."""
    by_day: dict[str, list[str]] = {}
    for external_id, day in rows:
        by_day.setdefault(day, []).append(external_id)
    numbers = {}
    # Days in order: concurrent imports lock the days' counters in the same order (no deadlock).
    for day, day_ids in sorted(by_day.items()):
        first = allocate_numbers(session, day, len(day_ids))
        for offset, external_id in enumerate(day_ids):
            numbers[external_id] = format_number(day, first + offset)
    return numbers


def _order_values(row: ImportRow, vault: Vault, predicted: dict[str, Any] | Exception | None,
                  ) -> tuple[dict[str, Any], str | None]:
    """The order's stored values as received, but its number (reserved when it is written),
    with the labels ``predicted`` for it by the batch's triage."""
    if isinstance(predicted, Exception):
        raise predicted
    given = {"kind": row.kind, "category": row.category, "urgency": row.urgency,
             "special_groups": row.special_groups, "language": row.language}
    labels, prediction = fill_labels(row.text, given, predicted and (lambda _text, _language: predicted),
                                     source="import")
    place = _place(row.address, row.text) if not row.district else None
    values = order_columns(
        number="", text=row.text, received_at=row.received_at, channel=row.channel, labels=labels,
        prediction=prediction, vault=vault, external_id=row.external_id, caller_phone=row.caller_phone,
        address=row.address, district=row.district or (place or {}).get("district"),
        street=row.street if row.district else (row.street or (place or {}).get("street")),
    )
    return values, json.dumps(prediction) if prediction else None


def _history_values(state: OrderState, units: dict[str, int], now: datetime) -> dict[str, Any]:
    """The order's stored values where its recorded history left it."""
    return {
        "status": state.status.value, "unit_id": units[state.unit] if state.unit else None,
        "dispatched_at": state.dispatched_at, "accepted_at": state.accepted_at,
        "replied_at": state.replied_at, "visited_at": state.visited_at, "closed_at": state.closed_at,
        "reply": state.reply, "satisfaction": state.satisfaction, "merged_into_id": None,
        "returns": state.returns, "reopens": state.reopens, "created_at": now, "updated_at": now,
    }


def _place(address: str | None, text: str) -> dict[str, Any] | None:
    """``locate``, with the places of addresses met before remembered (a history repeats its
    estates and streets)."""
    if address:
        place = _address_place(address)
        if place is not None:
            return place
    return locate(None, text)


@lru_cache(maxsize=100_000)
def _address_place(address: str) -> dict[str, Any] | None:
    return locate(address, "")


def _event_rows(row: ImportRow, steps: list[tuple], prediction: str | None) -> list[list[Any]]:
    """The order's events as rows of ``_EVENT_COLUMNS`` but the order's id: received, then its
    recorded history."""
    # The JSON that json.dumps gives {"channel", "external_id", "triage": the prediction}.
    received = _JSONText(f'{{"channel": {json.dumps(row.channel)}, "external_id": {json.dumps(row.external_id)}'
                         + (f', "triage": {prediction}}}' if prediction else "}"))
    events = [[row.received_at, IMPORT_ACTOR, "received", None, "received", received, None]]
    events.extend([at, IMPORT_ACTOR, action, from_status, to_status, _step_json(data), None]
                  for action, data, at, from_status, to_status in steps)
    return events


_STEP_JSON: dict[tuple, _JSONText] = {}


def _step_json(data: dict[str, Any]) -> _JSONText:
    """A history step's data as JSON, each different one written once: a history's steps say the
    same few things (a unit, "implied", the imported reply, a score) again and again, and
    ``json.dumps`` of each was a tenth of building an order's rows."""
    key = tuple(data.items())  # the values are strings, numbers and booleans
    found = _STEP_JSON.get(key)
    if found is None:
        if len(_STEP_JSON) >= REMEMBERED:
            _STEP_JSON.clear()
        found = _STEP_JSON[key] = _JSONText(json.dumps(data))
    return found

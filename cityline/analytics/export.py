"""Keeping the analytics export (``dataset.py``) up to date with the order store.

:func:`export_store` is incremental: it asks the store which orders changed
(``updated_at``) since the watermark, less a margin that covers transactions
still open while it read, and rewrites only the days those orders were received
on — and of those only the days whose file does not already hold that version of
the order, so the margin does not make every refresh soon after a large import
rewrite the whole import again. :func:`export_tables` writes tables made
elsewhere (an import-format history, the simulator). A day is the unit of work on purpose: the same files read as a
table partitioned by day by DuckDB here, or by a distributed engine
(``spark.read.parquet``) elsewhere.

Why an export at all rather than reading the store for every briefing: the
briefing needs five weeks of orders with the words of their texts, and
segmenting those texts again for every briefing costs more than the whole
briefing may take (``bench/bench_brief.py`` prints both); the export segments
each order once, when it is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.analytics.dataset import Dataset
from cityline.analytics.table import day_bounds, local_day, orders_from_store, units_from_store
from cityline.db import read_transaction, utcnow
from cityline.orders.models import Order

LATE_COMMIT_MARGIN = timedelta(minutes=10)
DAYS_PER_READ = 7  # days read from the store at a time on a first export


@dataclass
class ExportReport:
    days_written: list[date] = field(default_factory=list)
    orders: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.days_written:
            return f"analytics export is up to date ({self.seconds:.2f} s)"
        first, last = min(self.days_written), max(self.days_written)
        return (f"exported {self.orders:,} orders of {len(self.days_written)} days "
                f"({first} .. {last}) in {self.seconds:.1f} s")


def export_store(factory: sessionmaker[Session], folder: str | Path, *, full: bool = False) -> ExportReport:
    """Bring the export in ``folder`` up to date with the order store (see the module doc),
    after any export at work on it (in this process or another) has finished."""
    began = time.perf_counter()
    dataset = Dataset(folder)
    report = ExportReport()
    with dataset.locked():
        _export(factory, dataset, report, full)
    report.seconds = time.perf_counter() - began
    return report


def export_unless_busy(factory: sessionmaker[Session], folder: str | Path) -> ExportReport | None:
    """Like :func:`export_store`, but None at once when another export is at work on the
    folder: the background exporters of several server processes never queue up behind
    each other, and one export runs at a time."""
    began = time.perf_counter()
    dataset = Dataset(folder)
    report = ExportReport()
    with dataset.locked(wait=False) as mine:
        if not mine:
            return None
        _export(factory, dataset, report, full=False)
    report.seconds = time.perf_counter() - began
    return report


def _export(factory: sessionmaker[Session], dataset: Dataset, report: ExportReport, full: bool) -> None:
    # A read transaction: on SQLite the export, however long, holds no lock writers wait for.
    with read_transaction(factory) as session:
        mark = None if full else dataset.watermark()
        began_reading = utcnow()
        days = _touched_days(session, dataset, mark)
        for first, last in _runs(days):
            start, _ = day_bounds(first)
            _, end = day_bounds(last)
            for day, table in _by_day(orders_from_store(session, start, end)):
                if day in days:
                    dataset.write_day(day, table)
                    report.days_written.append(day)
                    report.orders += table.num_rows
        dataset.write_units(units_from_store(session))
        dataset.save_watermark(began_reading)


def _touched_days(session: Session, dataset: Dataset, mark: datetime | None) -> set[date]:
    """Days holding an order whose stored version the export does not have yet."""
    if mark is None:
        return {local_day(moment) for moment in session.scalars(select(Order.received_at))}
    since = mark - LATE_COMMIT_MARGIN
    changed: dict[date, set[tuple[int, datetime]]] = {}
    query = select(Order.received_at, Order.id, Order.updated_at).where(Order.updated_at > since)
    for received, order_id, updated in session.execute(query):
        changed.setdefault(local_day(received), set()).add((order_id, _utc(updated)))
    return {day for day, versions in changed.items()
            if not versions <= _exported_versions(dataset, day, since)}


def _exported_versions(dataset: Dataset, day: date, since: datetime) -> set[tuple[int, datetime]]:
    """(id, updated_at) of the orders in the day's file changed after ``since``."""
    path = dataset.day_file(day)
    if not path.exists():
        return set()
    table = pq.read_table(path, columns=["id", "updated_at"])
    recent = table.filter(pc.greater(table["updated_at"], pa.scalar(since, pa.timestamp("us", "UTC"))))
    return {(order_id, _utc(updated)) for order_id, updated
            in zip(recent["id"].to_pylist(), recent["updated_at"].to_pylist(), strict=True)}


def _utc(moment: datetime) -> datetime:
    """Microsecond UTC, as both the store and the Parquet file can hold it."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs of at most DAYS_PER_READ days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][1]).days == 1 and (day - runs[-1][0]).days < DAYS_PER_READ:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _by_day(tables: Iterable[pa.Table]) -> Iterator[tuple[date, pa.Table]]:
    """Whole days from tables sorted by receipt (a day may span several tables)."""
    pending: list[pa.Table] = []
    pending_day: date | None = None
    for table in tables:
        for day in _distinct_days(table):
            part = table.filter(pc.equal(table["day"], pa.scalar(day, pa.date32())))
            if pending_day is not None and day != pending_day:
                yield pending_day, pa.concat_tables(pending)
                pending = []
            pending_day = day
            pending.append(part)
    if pending_day is not None:
        yield pending_day, pa.concat_tables(pending)


def _distinct_days(table: pa.Table) -> list[date]:
    return sorted(pc.unique(table["day"]).to_pylist())


def export_tables(tables: Iterable[pa.Table], folder: str | Path,
                  units: pa.Table | None = None) -> ExportReport:
    """Write analytics tables (e.g. from :func:`~cityline.analytics.table.orders_from_rows`)
    into an export folder; a day met again later in the stream is merged with what
    this call already wrote for it."""
    began = time.perf_counter()
    dataset = Dataset(folder)
    report = ExportReport()
    recent: dict[date, list[pa.Table]] = {}
    with dataset.locked():
        for table in tables:
            for day in _distinct_days(table):
                part = table.filter(pc.equal(table["day"], pa.scalar(day, pa.date32())))
                if day in recent:
                    recent[day].append(part)
                elif day in report.days_written:  # met again after it was set aside
                    recent[day] = [pq.read_table(dataset.day_file(day)), part]
                else:
                    recent[day] = [part]
                    report.days_written.append(day)
                dataset.write_day(day, pa.concat_tables(recent[day]))
                report.orders += part.num_rows
                if len(recent) > 3:  # rows come mostly in time order: set finished days aside
                    recent.pop(min(recent))
        if units is not None:
            dataset.write_units(units)
    report.seconds = time.perf_counter() - began
    return report

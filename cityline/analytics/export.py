"""The Parquet export analytics reads: one file of orders a local day, kept up to date.

Layout of an export folder (``<data_dir>/analytics`` by default)::

    orders/2020-01-28.parquet   every order received that day (the table of table.py)
    units.parquet               the handling units (code, name, kind, district, street)
    state.json                  the watermark: when the last export began reading

:func:`export_store` is incremental: it asks the store which orders changed
(``updated_at``) since the watermark, less a margin that covers transactions
still open while it read, and rewrites only the days those orders were
received on. Each day file is
written beside its final name and renamed into place, and a lock file keeps two
exports from running at once, so a reader never sees half a day. A day is the
unit of work on purpose: the same files read as a table partitioned by day by
DuckDB here or by a distributed engine (``spark.read.parquet``) elsewhere.

Measured on the 24,000-order demo store: re-reading the store for every
briefing costs the SQL read plus segmenting every text again, while after the
first export an incremental export that finds nothing changed is a single
indexed query (see ``bench/bench_brief.py`` for the figures).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.analytics.table import (
    SCHEMA,
    UNITS_SCHEMA,
    day_bounds,
    local_day,
    orders_from_store,
    units_from_store,
)
from cityline.db import utcnow
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


class Dataset:
    """An export folder: day files of orders, the units, the watermark."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.orders_dir = self.folder / "orders"

    def day_file(self, day: date) -> Path:
        return self.orders_dir / f"{day.isoformat()}.parquet"

    def days(self) -> list[date]:
        if not self.orders_dir.exists():
            return []
        return sorted(date.fromisoformat(p.stem) for p in self.orders_dir.glob("*.parquet"))

    def files(self, first: date, last: date) -> list[str]:
        """The day files that exist between two days (inclusive)."""
        found = []
        day = first
        while day <= last:
            path = self.day_file(day)
            if path.exists():
                found.append(str(path))
            day += timedelta(days=1)
        return found

    @property
    def units_file(self) -> Path:
        return self.folder / "units.parquet"

    def write_day(self, day: date, table: pa.Table) -> None:
        _write_atomically(table.cast(SCHEMA), self.day_file(day))

    def write_units(self, table: pa.Table) -> None:
        _write_atomically(table.cast(UNITS_SCHEMA), self.units_file)

    def watermark(self) -> datetime | None:
        path = self.folder / "state.json"
        if not path.exists():
            return None
        value = json.loads(path.read_text()).get("watermark")
        return datetime.fromisoformat(value) if value else None

    def save_watermark(self, value: datetime | None) -> None:
        state = {"watermark": value.isoformat() if value else None,
                 "exported_at": datetime.now().astimezone().isoformat()}
        _write_text_atomically(self.folder / "state.json", json.dumps(state))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One export at a time per folder (readers need no lock: files are renamed into place)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, path)


def _write_text_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def export_store(factory: sessionmaker[Session], folder: str | Path, *, full: bool = False) -> ExportReport:
    """Bring the export in ``folder`` up to date with the order store (see the module doc)."""
    began = time.perf_counter()
    dataset = Dataset(folder)
    report = ExportReport()
    with dataset.locked(), factory() as session:
        mark = None if full else dataset.watermark()
        began_reading = utcnow()
        days = _touched_days(session, mark)
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
    report.seconds = time.perf_counter() - began
    return report


def _touched_days(session: Session, mark: datetime | None) -> set[date]:
    query = select(Order.received_at)
    if mark is not None:
        query = query.where(Order.updated_at > mark - LATE_COMMIT_MARGIN)
    return {local_day(moment) for moment in session.scalars(query)}


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

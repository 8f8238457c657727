"""An analytics export folder: the day files of orders, the units, and what is known about them.

Layout::

    orders/2020-01-28.parquet   every order received that day (the table of table.py)
    open/2020-01-28.parquet     those of them not yet closed, merged or cancelled (if any)
    units.parquet               the handling units (code, name, kind, district, street)
    days.json                   per day: the time of the last event of any of its orders
    state.json                  the watermark of the store export

Files are written beside their final name and renamed into place, so a reader
never sees half a file; writers hold the folder's lock (:meth:`Dataset.locked`).

An export copied to an object store or a cluster's file system is read where it
lies (``Dataset("s3a://bucket/analytics")``, ``cityline.locations``): Spark is handed
its URIs, DuckDB pyarrow datasets over them. Such an export is read-only: it is
written here, on the hotline's own disk, and copied there (``aws s3 sync``, …).

Why ``open/`` and ``days.json``: the service figures of a day (overdue, on time,
closed) concern orders received long before it, so their query cannot stop at
the briefing's five weeks. But an old day whose orders' last event came before
the briefing's day can only count through its orders still open, so
:meth:`Dataset.service_files` gives the whole file of the days with recent events
and only the open orders of the others. Over years of history that query reads
a few weeks of orders, not all of them.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from cityline.analytics.table import SCHEMA, UNITS_SCHEMA, day_bounds
from cityline.locations import Location
from cityline.orders.rules import FINAL

EVENT_COLUMNS = ("received_at", "dispatched_at", "replied_at", "closed_at")


class Dataset:
    """An export folder (see the module doc): a local folder, or a URI to read one copied
    elsewhere (``cityline.locations``)."""

    def __init__(self, folder: str | Path) -> None:
        self.location = Location(folder)
        self.fs = self.location.fs
        self.folder = self.location.root
        self.orders_dir = self.folder / "orders"
        self.open_dir = self.folder / "open"

    @property
    def remote(self) -> bool:
        return self.location.remote

    def uri(self, path: str | Path) -> str:
        """What an engine reading by itself (Spark's executors) is given for a file of the export."""
        return self.location.uri(path)

    def day_file(self, day: date) -> Path:
        return self.orders_dir / f"{day.isoformat()}.parquet"

    def open_file(self, day: date) -> Path:
        return self.open_dir / f"{day.isoformat()}.parquet"

    def days(self) -> list[date]:
        return sorted(self._parquet_days(self.orders_dir))

    def _parquet_days(self, folder: Path) -> set[date]:
        """The days of the ``<day>.parquet`` files in ``folder``."""
        found = set()
        for name in self.location.file_names(folder):
            if name.endswith(".parquet"):
                try:
                    found.add(date.fromisoformat(name.removesuffix(".parquet")))
                except ValueError:
                    continue  # not a day file
        return found

    def files(self, first: date, last: date) -> list[str]:
        """The day files that exist between two days (inclusive)."""
        return [str(self.day_file(day)) for day in self.days() if first <= day <= last]

    def day_files(self, days: Iterable[date]) -> list[str]:
        """The files of those of ``days`` that have one."""
        present = set(self.days())
        return [str(self.day_file(day)) for day in days if day in present]

    def units_files(self) -> list[str]:
        """The units' file, when there is one."""
        return [str(self.units_file)] if self.location.exists(self.units_file) else []

    @property
    def units_file(self) -> Path:
        return self.folder / "units.parquet"

    def write_day(self, day: date, table: pa.Table) -> None:
        """Write a day's orders and its open orders (the caller holds the lock)."""
        self.location.writable()
        table = table.cast(SCHEMA)
        _write_atomically(table, self.day_file(day))
        index = self._read_index()
        index[day.isoformat()] = self._note_open(day, table)
        self._write_index(index)

    def _note_open(self, day: date, table: pa.Table) -> str | None:
        """Write (or remove) the day's open orders; the time of its last event."""
        still_open = table.filter(pc.invert(pc.is_in(table["status"], pa.array(sorted(s.value for s in FINAL)))))
        if still_open.num_rows:
            _write_atomically(still_open, self.open_file(day))
        else:
            self.open_file(day).unlink(missing_ok=True)
        latest = [pc.max(table[name]).as_py() for name in EVENT_COLUMNS]
        known = [t for t in latest if t is not None]
        return max(known).isoformat() if known else None

    def service_files(self, day: date) -> list[str]:
        """What the service figures of ``day`` read: the whole file of days up to it whose
        orders had an event on or after its start, the open orders of the older ones."""
        start = day_bounds(day)[0]
        last_events = self.last_events()
        open_days = self._parquet_days(self.open_dir)
        found = []
        for each in self.days():
            if each > day:
                break
            moment = last_events.get(each)
            if moment is None or datetime.fromisoformat(moment) >= start:
                found.append(str(self.day_file(each)))
            elif each in open_days:
                found.append(str(self.open_file(each)))
        return found

    def last_events(self) -> dict[date, str | None]:
        """Day -> ISO time of the last event of its orders; days written before this index
        existed are filled in once (in a read-only export they stay unknown, so their whole
        file is read)."""
        index = self._read_index()
        missing = [d for d in self.days() if d.isoformat() not in index]
        if missing and not self.remote:
            with self.locked():
                index = self._read_index()
                for day in missing:
                    index[day.isoformat()] = self._note_open(day, pq.read_table(self.day_file(day)))
                self._write_index(index)
        return {date.fromisoformat(k): v for k, v in index.items()}

    def _read_index(self) -> dict[str, str | None]:
        text = self.location.read_text(self.folder / "days.json")
        return json.loads(text) if text else {}

    def _write_index(self, index: dict[str, str | None]) -> None:
        _write_text_atomically(self.folder / "days.json", json.dumps(index, sort_keys=True))

    def write_units(self, table: pa.Table) -> None:
        """Write the units, unless the file already holds them (so :meth:`version` changes
        only when what the export holds does)."""
        self.location.writable()
        table = table.cast(UNITS_SCHEMA)
        if self.units_file.exists() and pq.read_table(self.units_file).equals(table):
            return
        _write_atomically(table, self.units_file)

    def version(self) -> tuple[int, ...]:
        """Changes whenever a day file or the units are written (for caches of what is read
        from the export): the modification times and sizes of the day index and the units."""
        found: list[int] = []
        for info in self.fs.get_file_info([str(self.folder / "days.json"), str(self.units_file)]):
            present = info.type == pafs.FileType.File
            found += [info.mtime_ns or 0, info.size or 0] if present else [0, 0]
        return tuple(found)

    def _state(self) -> dict:
        text = self.location.read_text(self.folder / "state.json")
        return json.loads(text) if text else {}

    def watermark(self) -> datetime | None:
        value = self._state().get("watermark")
        return datetime.fromisoformat(value) if value else None

    def save_watermark(self, value: datetime | None) -> None:
        self.location.writable()
        state = {"watermark": value.isoformat() if value else None,
                 "exported_at": datetime.now().astimezone().isoformat()}
        _write_text_atomically(self.folder / "state.json", json.dumps(state))

    def exported_at(self) -> datetime | None:
        """When the store export last finished (None before the first)."""
        value = self._state().get("exported_at")
        return datetime.fromisoformat(value) if value else None

    @contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[bool]:
        """One writer at a time per folder, across processes (readers need no lock: files are
        renamed into place). With ``wait=False`` it does not queue: it yields False at once
        when another writer holds the folder (the caller then leaves the work to that one)."""
        folder = self.location.writable()
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
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

"""The fact store: tests, scans and trips as append-only Parquet partitions.

Layout under ``<data_dir>/epidemic/`` (readable as Hive-partitioned tables by
DuckDB here and by Spark elsewhere)::

    tests/manifest.json                        the committed files, with day, seq, rows, updates
    tests/day=2022-04-01/part-000000000007-0.parquet
    scans/…  trips/…                           (day = local date of sampled_at / scanned_at / arrived_at)
    ledger/residents.parquet                   the residents' places (no personal data), for queries

**Idempotent by key, deduplicated on write.** Each write (one chunk of an import,
under the kind's lock) gets the next ingest sequence ``_seq`` (a column in its
files). Before writing, the chunk is compared with the latest stored version of
the same keys in the same days: rows whose key is new are written ("added"),
rows whose key is known with other values are written again ("updated": the
higher ``_seq`` wins), identical rows are not written at all ("unchanged"). So
importing a file twice writes nothing the second time, and a reader that wants
the current version keeps the row with the highest ``_seq`` per key
(``QUALIFY row_number() OVER (PARTITION BY key ORDER BY _seq DESC) = 1``), which
it can skip when no selected file holds an update (the manifest counts them).
:meth:`FactStore.compact` rewrites each day as one file with one row per key.

**Nothing half-written.** Files are written into a staging folder and moved into
place; only files named in ``manifest.json`` count, and the manifest is replaced
atomically after the files are in place. A write that dies leaves at most
unlisted files, which the next writer deletes; running the import again writes
what is missing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from cityline.epidemic.kinds import KINDS, Kind
from cityline.locations import Location, LocationError

SQL_TYPES = {"time": "TIMESTAMPTZ", "date": "DATE", "groups": "VARCHAR[]"}
MANIFEST = "manifest.json"


@dataclass
class Written:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def column_types(kind: Kind) -> dict[str, str]:
    return {c.name: SQL_TYPES.get(c.parse, "VARCHAR") for c in kind.columns}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class FactStore:
    """The Parquet facts under ``root`` (``<data_dir>/epidemic``) in the hotline's time zone."""

    def __init__(self, root: Path | str, timezone: str) -> None:
        # A folder here, or a copy of one at a URI (an object store, the cluster's file
        # system) that the spark engine reads where it lies (``cityline.locations``).
        self.location = Location(root)
        self.root = self.location.root
        self.timezone = timezone

    # -- reading --------------------------------------------------------------------------

    def manifest(self, kind: str) -> dict:
        text = self.location.read_text(self.root / kind / MANIFEST)
        if text is None:
            return {"kind": kind, "format": 1, "next_seq": 1, "files": []}
        return json.loads(text)

    def entries(self, kind: str, since: date | None = None, until: date | None = None) -> list[dict]:
        """The committed files of ``kind`` whose day lies in ``since..until`` (inclusive)."""
        found = []
        for entry in self.manifest(kind)["files"]:
            day = date.fromisoformat(entry["day"])
            if (since is None or day >= since) and (until is None or day <= until):
                found.append(entry)
        return found

    def source(self, kind: str, since: date | None = None, until: date | None = None,
               *, latest: bool = True, scan: Callable[[list[str], str], str] | None = None,
               types: Mapping[str, str] | None = None) -> str:
        """SQL for the rows of ``kind`` in days ``since..until``, one per key when ``latest``
        (the newest version); a typed empty relation when there is nothing stored. Another
        engine than DuckDB gives ``scan`` (the files and their kind's folder → a relation
        with the partition column ``day``) and its names of ``column_types``' types."""
        entries = self.entries(kind, since, until)
        spec = KINDS[kind]
        if not entries:
            names = ", ".join(f"CAST(NULL AS {(types or {}).get(t, t)}) AS {_q(n)}"
                              for n, t in column_types(spec).items())
            return f"(SELECT {names}, CAST(NULL AS BIGINT) AS _seq, CAST(NULL AS DATE) AS day WHERE false)"
        paths = [self.location.uri(self.root / kind / e["file"]) for e in entries]
        if scan is not None:
            rows = scan(paths, self.location.uri(self.root / kind))
        elif self.location.remote:
            raise LocationError(f"the facts at {self.location.uri(self.root)} are read by the spark engine "
                                "(--engine spark); DuckDB reads a fact store on this machine")
        else:
            files = ", ".join(_literal(path) for path in paths)
            rows = f"read_parquet([{files}], hive_partitioning = true, hive_types = {{'day': DATE}})"
        if not latest or not any(e["updates"] for e in entries):
            return f"(SELECT * FROM {rows})"
        key = ", ".join(_q(k) for k in spec.key)
        return f"(SELECT * FROM {rows} QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _seq DESC) = 1)"

    def ledger_path(self) -> Path:
        return self.root / "ledger" / "residents.parquet"

    # -- writing --------------------------------------------------------------------------

    @contextmanager
    def locked(self, kind: str) -> Iterator[Path]:
        """The kind's folder, held by this writer alone; leftovers of a dead writer are removed."""
        folder = self.location.writable() / kind
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._remove_leftovers(kind)
                yield folder
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _remove_leftovers(self, kind: str) -> None:
        folder = self.root / kind
        shutil.rmtree(folder / "_staging", ignore_errors=True)
        listed = {e["file"] for e in self.manifest(kind)["files"]}
        for path in folder.glob("day=*/*.parquet"):
            if str(path.relative_to(folder)) not in listed:
                path.unlink()

    def _commit(self, kind: str, manifest: dict) -> None:
        folder = self.root / kind
        temporary = folder / f".{MANIFEST}.tmp"
        temporary.write_text(json.dumps(manifest, ensure_ascii=False, indent=0), encoding="utf-8")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, folder / MANIFEST)

    def append(self, con: duckdb.DuckDBPyConnection, kind: str, rows: pa.Table) -> Written:
        """Write the checked rows of one chunk (typed columns, one per key); see the module doc."""
        spec = KINDS[kind]
        names = list(column_types(spec))
        day = f"CAST(timezone({_literal(self.timezone)}, {_q(spec.day_of)}) AS DATE)"
        con.register("incoming_rows", rows.select(names))
        try:
            with self.locked(kind) as folder:
                manifest = self.manifest(kind)
                seq = manifest["next_seq"]
                days = [d for (d,) in con.execute(f"SELECT DISTINCT {day} FROM incoming_rows").fetchall()]
                # days with nothing stored yet need no comparison (the common case of new data)
                source = f"(SELECT *, {day} AS day, false AS known, false AS same FROM incoming_rows)"
                written = Written(added=rows.num_rows)
                if days and self.entries(kind, min(days), max(days)):
                    written = self._compare(con, kind, day, min(days), max(days))
                    source = "incoming"
                staging = folder / "_staging"
                if written.added + written.updated:
                    columns = ", ".join(_q(n) for n in names)
                    con.execute(
                        f"COPY (SELECT {columns}, {seq}::BIGINT AS _seq, day FROM {source} WHERE NOT same) "
                        f"TO {_literal(str(staging))} (FORMAT parquet, PARTITION_BY (day), "
                        f"FILENAME_PATTERN 'part-{seq:012d}-{{i}}')")
                    updates = dict(con.execute(
                        f"SELECT day, count(*) FROM {source} WHERE known AND NOT same GROUP BY day").fetchall()
                    ) if written.updated else {}
                    manifest["files"] += self._move_into_place(staging, folder, seq, updates)
                manifest["next_seq"] = seq + 1
                self._commit(kind, manifest)
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            con.unregister("incoming_rows")
            con.execute("DROP TABLE IF EXISTS incoming")
        return written

    def _compare(self, con: duckdb.DuckDBPyConnection, kind: str, day: str, first: date, last: date) -> Written:
        """The temporary table ``incoming``: each row, its day, ``known`` (its key is stored) and
        ``same`` (stored with these values)."""
        spec = KINDS[kind]
        stored = self.source(kind, first, last)
        on = " AND ".join(f"i.{_q(k)} IS NOT DISTINCT FROM s.{_q(k)}" for k in spec.key)
        values = [n for n in column_types(spec) if n not in spec.key]
        equal = " AND ".join(f"i.{_q(n)} IS NOT DISTINCT FROM s.{_q(n)}" for n in values) or "true"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT i.*, s._seq IS NOT NULL AS known, "
            f"coalesce(s._seq IS NOT NULL AND {equal}, false) AS same "
            f"FROM (SELECT *, {day} AS day FROM incoming_rows) i LEFT JOIN (SELECT * FROM {stored} WHERE day BETWEEN "
            f"{_literal(first.isoformat())} AND {_literal(last.isoformat())}) s ON {on}")
        ((added, updated, unchanged),) = con.execute(
            "SELECT count(*) FILTER (WHERE NOT known), count(*) FILTER (WHERE known AND NOT same), "
            "count(*) FILTER (WHERE same) FROM incoming").fetchall()
        return Written(added, updated, unchanged)

    @staticmethod
    def _move_into_place(staging: Path, folder: Path, seq: int, updates: dict[date, int]) -> list[dict]:
        import pyarrow.parquet as pq

        entries = []
        for part in sorted(staging.glob("day=*/*.parquet")):
            day = date.fromisoformat(part.parent.name.removeprefix("day="))
            rows = pq.read_metadata(part).num_rows
            target = folder / part.parent.name / part.name
            target.parent.mkdir(exist_ok=True)
            os.replace(part, target)
            # a day written as several files: its updates are counted on the first
            entries.append({"file": f"{part.parent.name}/{part.name}", "day": day.isoformat(), "seq": seq,
                            "rows": rows, "updates": updates.pop(day, 0)})
        return entries

    def compact(self, kind: str, con: duckdb.DuckDBPyConnection) -> int:
        """Rewrite every day that has several files (or updates) as one file with one row per
        key. Returns the number of days rewritten. Readers that listed the old files before
        this commit may fail once; run it when imports and queries are quiet."""
        with self.locked(kind) as folder:
            manifest = self.manifest(kind)
            by_day: dict[str, list[dict]] = {}
            for entry in manifest["files"]:
                by_day.setdefault(entry["day"], []).append(entry)
            seq, rewritten, old_files = manifest["next_seq"], 0, []
            kept = []
            for day, entries in sorted(by_day.items()):
                if len(entries) == 1 and not entries[0]["updates"]:
                    kept += entries
                    continue
                kept.append(self._compact_day(con, kind, folder, day, seq))
                old_files += [folder / e["file"] for e in entries]
                rewritten += 1
            manifest.update(files=kept, next_seq=seq + 1)
            self._commit(kind, manifest)
            for path in old_files:
                path.unlink(missing_ok=True)
        return rewritten

    def _compact_day(self, con, kind: str, folder: Path, day: str, seq: int) -> dict:
        stored = self.source(kind, date.fromisoformat(day), date.fromisoformat(day))
        staging = folder / "_staging" / f"day={day}"
        staging.mkdir(parents=True, exist_ok=True)
        name = f"part-{seq:012d}-c.parquet"
        con.execute(f"COPY (SELECT * EXCLUDE (day) FROM {stored}) TO {_literal(str(staging / name))} "
                    f"(FORMAT parquet, COMPRESSION zstd)")  # compaction is for keeps: the smaller files
        ((rows,),) = con.execute(f"SELECT count(*) FROM read_parquet({_literal(str(staging / name))})").fetchall()
        (folder / f"day={day}").mkdir(exist_ok=True)
        os.replace(staging / name, folder / f"day={day}" / name)
        return {"file": f"day={day}/{name}", "day": day, "seq": seq, "rows": rows, "updates": 0}

    def write_table(self, path: Path, table: pa.Table) -> None:
        """A single Parquet file replaced atomically (the ledger snapshot). In a store at a URI
        it is the one file written (by the analysis that needs it: the ledger lives in the
        database), as one object."""
        import pyarrow.parquet as pq

        if self.location.remote:
            self.location.fs.create_dir(str(path.parent), recursive=True)  # a file system's; nothing on a store
            pq.write_table(table, str(path), compression="zstd", filesystem=self.location.fs)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, path)


def day_files(entries: Sequence[dict]) -> dict[str, int]:
    """Rows per day in a list of manifest entries (for reports)."""
    found: dict[str, int] = {}
    for entry in entries:
        found[entry["day"]] = found.get(entry["day"], 0) + entry["rows"]
    return found

"""``cityline epidemic import KIND FILE`` and ``POST /api/epidemic/{kind}``: formats.md §6.

A file is read in chunks (``reading.py``), each chunk checked at once (``checks.py``):
bad rows are named with their row number and reason, good rows go on, the last
row of a key in the file winning. Then, by kind:

- tests, scans, trips: one write to the fact store per chunk (``facts.py``:
  deduplicated against what is stored, committed by its manifest);
- residents, cases, risk areas: upserts by key in the database, one transaction
  per batch of ``batch_size`` rows.

So a second import of the same file adds nothing, a known key with other values
updates its record, and an import that is interrupted leaves whole chunks or
batches only; running it again finishes it. A row the database refuses (a
constraint, a trigger) does not take its batch with it: the batch is written again
row by row and that row is named with the database's reason, as orders' import
does (``intake.importer``); a database that cannot be reached stops the import.
A positive test or a new case revokes the holder's passes still in force (audited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction, utcnow
from cityline.epidemic import checks, ledger, service
from cityline.epidemic.facts import Written
from cityline.epidemic.kinds import Kind, kind_named
from cityline.epidemic.reading import read_chunks
from cityline.errors import RowError
from cityline.intake.importer import database_unavailable, refusal_reason


@dataclass
class ImportReport:
    kind: str
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated_in_file: int = 0
    revoked_passes: int = 0
    bad: list[RowError] = field(default_factory=list)

    def count(self, written: Written) -> None:
        self.added += written.added
        self.updated += written.updated
        self.unchanged += written.unchanged

    def add(self, other: ImportReport) -> None:
        """Count what ``other`` (one batch's report) wrote."""
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.revoked_passes += other.revoked_passes
        self.bad += other.bad

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "read": self.read, "added": self.added, "updated": self.updated,
                "unchanged": self.unchanged, "repeated_in_file": self.repeated_in_file,
                "revoked_passes": self.revoked_passes, "bad": len(self.bad),
                "bad_rows": [{"row": e.row, "reason": e.message} for e in sorted(self.bad, key=lambda e: e.row)]}

    def summary(self) -> str:
        return (f"{self.kind}: read {self.read}, added {self.added}, updated {self.updated}, "
                f"unchanged {self.unchanged}, repeated in file {self.repeated_in_file}, bad {len(self.bad)}")


def import_file(factory: sessionmaker[Session], env: service.Env, kind: str, path: Path, *, actor: str,
                progress: Callable[[int], None] | None = None, chunk_rows: int = 200_000,
                batch_size: int = 2000) -> ImportReport:
    """Import every good row of ``path`` as ``kind``; see the module doc for the guarantees."""
    spec = kind_named(kind)
    report = ImportReport(spec.name)
    con = checks.connect(env.params.timezone)
    for chunk in read_chunks(path, spec.names, spec.required, chunk_rows):
        report.bad += chunk.unreadable
        checked = checks.check_chunk(con, spec, chunk.table)
        report.read += chunk.rows - checked.blank
        report.bad += checked.bad
        report.repeated_in_file += checked.repeated
        if spec.store == "facts":
            report.count(env.store.append(con, spec.name, checked.good))
            if spec.name == "tests":
                _revoke_for_positives(factory, checked.good, report, actor)
            if progress:
                progress(report.read)
        else:
            _write_rows(factory, env, spec, checked.good, report, actor, batch_size,
                        lambda: progress(report.read) if progress else None)
    report.bad.sort(key=lambda e: e.row)
    return report


def _write_rows(factory: sessionmaker[Session], env: service.Env, spec: Kind, good: pa.Table,
                report: ImportReport, actor: str, batch_size: int, progress: Callable[[], None]) -> None:
    protector = ledger.Protector(env.vault)
    rows = good.to_pylist()
    for first in range(0, len(rows), batch_size):
        batch = rows[first:first + batch_size]
        try:
            report.add(_write_batch(factory, spec, batch, protector, actor))
        except DBAPIError as exc:
            if database_unavailable(exc):
                raise
            for row in batch:  # the database refused something: find which row, keep the rest
                try:
                    report.add(_write_batch(factory, spec, [row], protector, actor))
                except DBAPIError as row_exc:
                    if database_unavailable(row_exc):
                        raise
                    report.bad.append(RowError(row["_row"], f"the database refused the row ({refusal_reason(row_exc)})"))
        progress()


def _write_batch(factory: sessionmaker[Session], spec: Kind, batch: list[dict[str, Any]],
                 protector: ledger.Protector, actor: str) -> ImportReport:
    """Write ``batch`` in one transaction; returns what it wrote, to be counted once it committed."""
    done = ImportReport(spec.name)
    now = utcnow()
    with transaction(factory) as session:
        if spec.name == "residents":
            done.count(ledger.upsert_residents(session, batch, protector, now))
        elif spec.name == "cases":
            done.count(service.upsert_cases(session, batch, now))
            since = {r["person_id"]: r["reported_at"] for r in batch}
            done.revoked_passes += service.revoke_passes(session, since, "case", actor=actor, now=now)
        else:
            written, bad = service.upsert_risk_areas(session, batch, now)
            done.count(written)
            done.bad += bad
    return done


def _revoke_for_positives(factory: sessionmaker[Session], good: pa.Table, report: ImportReport, actor: str) -> None:
    """Positives in this chunk revoke the passes in force when they were sampled (idempotent, so
    a resumed import revokes what an interrupted one did not get to)."""
    positive = good.filter(pc.equal(good["result"], "positive"))
    if positive.num_rows == 0:
        return
    first: dict[str, datetime] = {}
    for person, sampled in zip(positive["person_id"].to_pylist(), positive["sampled_at"].to_pylist(), strict=True):
        if person not in first or sampled < first[person]:
            first[person] = sampled
    with transaction(factory) as session:
        report.revoked_passes += service.revoke_passes(session, first, "positive", actor=actor, now=utcnow())

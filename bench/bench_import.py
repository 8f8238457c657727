"""Bulk import of simulated history at scale (``cityline orders import``), SQLite and PostgreSQL.

The file: the 2020 scenario's orders (cityline.sim: texts in every register, places,
callers, histories dispatched, replied, closed or still open), as JSON Lines, with the
labels left out, so triage classifies every row as it would an unlabelled history (each
further 1.27 M rows another seed, external ids prefixed). Written once into ``--data``.

Prints, per database (a fresh one for every import):

* where one row's processor time goes, on the first ``--sample`` rows in this process:
  reading and checking, the history replayed, triage one text at a time and by batches,
  places, protected phones, and the rest (numbers, inserts, deadlines, commits);
* the whole file imported with ``--workers`` processes building the orders: rows/s, minutes,
  the processor seconds of this process and its workers (and this process's own share: reading,
  numbering, writing — the writer), on PostgreSQL also its server's (which shares the cores),
  and the 10 M time projected;
* the same run's baselines on the sample: one process with triage, and the same rows with
  their labels given (no triage) — ratios against the full import's rows/s;
* the load average beside every wall-clock figure (the machine may be shared).

Run: ``.venv/bin/python bench/bench_import.py [--rows 1000000] [--workers 2] [--backends sqlite,postgresql]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityline.accounts.units import import_units  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from cityline.intake.importer import history_events, import_file  # noqa: E402
from cityline.intake.rows import parse_row, read_rows  # noqa: E402
from cityline.intake.service import locate  # noqa: E402
from cityline.intake.triage import classify_many_with, classify_with  # noqa: E402
from cityline.orders.rules import OrderState, apply_move  # noqa: E402
from cityline.privacy import Vault  # noqa: E402
from cityline.schema import create_all  # noqa: E402
from cityline.sim import generate, units_rows, write_orders  # noqa: E402
from tests.pg import ThrowawayPostgres, create_database  # noqa: E402

LABELS = ("kind", "category", "urgency", "special_groups", "language")
SIM_ONLY = ("returned", "returned_from")  # the simulator's truth, not the import format
SCENARIO_ROWS = 1_265_787  # the 2020 scenario at scale 1.0


def history(rows: int, labelled: bool) -> Iterator[dict]:
    """``rows`` simulated orders, labels left out unless ``labelled``."""
    dropped = SIM_ONLY if labelled else SIM_ONLY + LABELS
    for seed in itertools.count(1):
        for row in generate("2020", scale=1.0, seed=seed):
            if rows == 0:
                return
            rows -= 1
            row = {k: v for k, v in row.items() if k not in dropped}
            row["external_id"] = f"K{seed}-{row['external_id']}"
            yield row


def ensure_file(folder: Path, rows: int, labelled: bool) -> Path:
    path = folder / f"orders-{rows}{'-labelled' if labelled else ''}.jsonl"
    if not path.exists():
        began = time.perf_counter()
        part = path.with_name(f"part-{path.name}")  # a file cut short by a stop is not taken for whole
        write_orders(history(rows, labelled), part)
        part.rename(path)
        print(f"  wrote {path.name}: {rows:,} rows in {time.perf_counter() - began:.0f} s", flush=True)
    return path


def cpu() -> tuple[float, float]:
    """Processor seconds of this process (reading, numbering, writing) and of its finished
    children (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def server_cpu(database: Database) -> float:
    """Processor seconds the PostgreSQL server has used so far (0 on SQLite): its postmaster,
    with the backends it has reaped, and the processes still running under it (Linux's /proc)."""
    if database.server is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    master = int((database.server.dir / "data" / "postmaster.pid").read_text().split()[0])
    seconds = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:  # after the command's name: state, ppid, …, utime, stime, cutime, cstime (fields 14-17)
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(entry.name) == master:
            seconds += sum(map(int, fields[11:15])) / tick
        elif int(fields[1]) == master:
            seconds += (int(fields[11]) + int(fields[12])) / tick
    return seconds


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


class Database:
    """A fresh database for each import, on one backend."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder, self.count, self.server = backend, folder, 0, None
        if backend == "postgresql":
            self.server = ThrowawayPostgres(durable=True)  # PostgreSQL's own defaults: fsync, synchronous commit
            self.server_url = self.server.start()

    def fresh(self):
        self.count += 1
        if self.backend == "sqlite":
            path = self.folder / f"import-{self.count}.db"
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            url = create_database(self.server_url, f"import{self.count}")
        engine = make_engine(url)
        create_all(engine)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            import_units(session, enumerate(units_rows(), 2))
        return engine, sessions

    def close(self) -> None:
        if self.server:
            self.server.stop()


def timed_import(database: Database, path: Path, vault: Vault, *, triage: bool, workers: int,
                 ) -> tuple[int, float, float, float, str, float]:
    """(rows imported, wall seconds, processor seconds of all, of this process alone, load when
    done, processor seconds of the PostgreSQL server) of one import into a fresh database."""
    engine, sessions = database.fresh()
    classify_many = None
    if triage:
        with sessions() as session:
            classify_many = classify_many_with(session)
        classify_many(["预热：加载模型"], None)
    began, began_cpu, began_server = time.perf_counter(), cpu(), server_cpu(database)
    report = import_file(sessions, path, vault=vault, classify_many=classify_many, workers=workers)
    wall, (own, children), server = time.perf_counter() - began, cpu(), server_cpu(database) - began_server
    used, own = own + children - sum(began_cpu), own - began_cpu[0]
    assert not report.bad and report.imported == report.read, report.as_dict()
    engine.dispose()
    return report.imported, wall, used, own, load(), server


def breakdown(path: Path, vault: Vault, classify, classify_many) -> tuple[int, dict[str, float]]:
    """Processor µs per row of each stage an import goes through, on the rows of ``path``."""
    stages: dict[str, float] = {}

    def clock(name: str, began: float) -> None:
        stages[name] = stages.get(name, 0.0) + time.process_time() - began

    began = time.process_time()
    raws = list(read_rows(path))
    clock("read the file", began)
    began = time.process_time()
    rows = [parse_row(n, raw)[0] for n, raw in raws]
    clock("check the rows", began)
    began = time.process_time()
    for row in rows:
        state = OrderState(received_at=row.received_at)
        for action, data, at in history_events(row):
            state = apply_move(state, action, data, at)
    clock("replay the histories", began)
    texts = [row.text for row in rows]
    began = time.process_time()
    for text in texts:
        classify(text, None)
    clock("triage, one text at a time", began)
    began = time.process_time()
    for first in range(0, len(texts), 2000):
        classify_many(texts[first:first + 2000], None)
    clock("triage, by batches of 2,000", began)
    began = time.process_time()
    for row in rows:
        if not row.district:
            locate(row.address, row.text)
    clock("places (rows without a district)", began)
    began = time.process_time()
    for row in rows:
        if row.caller_phone:
            vault.protect_phone(row.caller_phone)
    clock("protect the phones", began)
    return len(rows), {name: seconds / len(rows) * 1e6 for name, seconds in stages.items()}


def sample_file(folder: Path, rows: int, labelled: bool) -> Path:
    """The first ``rows`` rows of the history (with their labels when ``labelled``)."""
    path = folder / f"sample-{rows}{'-labelled' if labelled else ''}.jsonl"
    if not path.exists():
        write_orders(history(rows, labelled), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the file imported whole")
    parser.add_argument("--sample", type=int, default=20_000, help="rows for the breakdown and the baselines")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "cityline-bench-import")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; {load()}", flush=True)
    full = ensure_file(args.data, args.rows, labelled=False)
    sample = sample_file(args.data, args.sample, labelled=False)
    labelled = sample_file(args.data, args.sample, labelled=True)
    vault = Vault("bench")
    for backend in args.backends.split(","):
        database = Database(backend, args.data)
        try:
            _, sessions = database.fresh()
            with sessions() as session:
                classify, classify_many = classify_with(session), classify_many_with(session)
            classify("预热：加载模型", None)
            locate("静安区曹家渡街道", "")  # the gazetteer, loaded once per process
            locate(None, "Hi, I live in Minhang")  # and the foreign place names a text is searched for
            n, stages = breakdown(sample, vault, classify, classify_many)
            _, wall, used, _, when, _ = timed_import(database, sample, vault, triage=True, workers=1)
            written = used / n * 1e6 - sum(v for k, v in stages.items() if k != "triage, one text at a time")
            print(f"\n[{backend}] processor µs per row over {n:,} rows (one process, {when}):")
            for name, micros in stages.items():
                print(f"  {name:<40}{micros:>8.0f}")
            print(f"  {'the rest: numbers, inserts, deadlines, commits':<40}{written:>8.0f}")
            print(f"  {'the whole import, one process':<40}{used / n * 1e6:>8.0f}")
            one = n / wall
            _, base_wall, base_cpu, _, base_when, _ = timed_import(database, labelled, vault, triage=False, workers=1)
            baseline = n / base_wall
            print(f"  baseline, the same rows with their labels (no triage): {baseline:,.0f} rows/s "
                  f"({base_cpu / n * 1e6:,.0f} µs processor per row; {base_when})")
            print(f"  one process with triage: {one:,.0f} rows/s ({when})", flush=True)
            count, wall, used, own, when, server = timed_import(database, full, vault, triage=True,
                                                                workers=args.workers)
            rate = count / wall
            print(f"[{backend}] {count:,} rows with triage, {args.workers} worker processes: {rate:,.0f} rows/s, "
                  f"{wall / 60:.1f} min ({when}); processor {used:,.0f} s ({used / count * 1e6:,.0f} µs per row, "
                  f"of which this process, reading and writing, {own / count * 1e6:,.0f}"
                  + (f"; the server beside it {server / count * 1e6:,.0f}" if database.server else "") + "); "
                  f"10 M projected {10_000_000 / rate / 60:.0f} min; vs one process {rate / one:.2f}x, "
                  f"vs no triage {rate / baseline:.2f}x", flush=True)
        finally:
            database.close()


if __name__ == "__main__":
    main()

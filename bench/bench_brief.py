"""Benchmark the daily briefing over 10 million stored orders.

The store: the 2020 scenario at full scale (its default period, about 1.2 M orders:
winter 2019/20 and the winter before) exported for analytics, plus copies of it
moved back by 2, 4, … 14 years (order numbers made unique), so the export holds
the history of eight years of winters: about 10 M orders in ~1,450 day files.
Building it takes several minutes; it is kept in ``--data`` and reused.

Prints, for the briefing of 2020-01-28 (the mask queues) and of 2020-02-10 (the
sub-landlord problem's second day):

* the seconds to build the whole briefing (totals, categories, problems discovered
  from the texts, emerging issues, hotspots, service figures, unit scorecards),
  best of ``--runs``, and the first run;
* the baseline measured in the same run: one DuckDB scan of every stored order
  (``SELECT day, COUNT(*) … GROUP BY day``), and the ratio of the two;
* why the export exists: what segmenting the texts of the briefing's 36-day
  window would cost if the briefing read the order store directly (measured
  on a sample of those texts and scaled to the window).

Run: ``.venv/bin/python bench/bench_brief.py [--data DIR] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.emerging import LOOKBACK
from cityline.analytics.export import export_tables
from cityline.analytics.table import orders_from_rows
from cityline.analytics.text import terms
from cityline.sim import generate, units_rows

DAYS = (date(2020, 1, 28), date(2020, 2, 10))
SHIFT_YEARS = (2, 4, 6, 8, 10, 12, 14)


def build_base(folder: Path, scale: float) -> None:
    began = time.perf_counter()
    units = pa.Table.from_pylist([{k: u.get(k) for k in ("code", "name", "kind", "district", "street")}
                                  for u in units_rows()])
    rows = generate("2020", scale=scale, seed=1)
    report = export_tables(orders_from_rows(enumerate(rows, 1), chunk=100_000), folder, units=units)
    print(f"  base: {report.orders:,} orders of {len(report.days_written)} days "
          f"in {time.perf_counter() - began:.0f} s", flush=True)


def shifted(day: date, years: int) -> date:
    return day.replace(year=day.year - years) if (day.month, day.day) != (2, 29) else date(day.year - years, 2, 28)


def add_copies(dataset: Dataset) -> None:
    """Copies of every base day moved back by whole years (same calendar day)."""
    began = time.perf_counter()
    base_days = dataset.days()
    for years in SHIFT_YEARS:
        for day in base_days:
            target = shifted(day, years)
            table = pq.read_table(dataset.day_file(day))
            delta = pa.scalar(int((day - target).total_seconds() * 1_000_000), pa.duration("us"))
            columns = {}
            for name in table.column_names:
                column = table[name]
                if name == "day":
                    column = pa.array([target] * table.num_rows, pa.date32())
                elif pa.types.is_timestamp(column.type):
                    column = pc.subtract(column, delta)
                elif name in ("number", "external_id"):
                    column = pc.binary_join_element_wise(pa.scalar(f"Y{years}-"), column, "")
                elif name == "id":
                    column = pc.add(column, pa.scalar(years * 10_000_000, pa.int64()))
                columns[name] = column
            dataset.write_day(target, pa.table(columns))
        print(f"  copy {years} years back done ({time.perf_counter() - began:.0f} s)", flush=True)


def ensure_data(folder: Path, scale: float) -> Dataset:
    dataset = Dataset(folder)
    if (folder / "complete").exists():
        return dataset
    print(f"building the benchmark export in {folder} (once) …", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    build_base(folder, scale)
    add_copies(dataset)
    (folder / "complete").write_text("ok")
    return dataset


def count_orders(dataset: Dataset) -> tuple[int, float]:
    """The baseline: one scan of every stored order."""
    files = [str(dataset.day_file(d)) for d in dataset.days()]
    began = time.perf_counter()
    connection = duckdb.connect()
    rows = connection.execute("SELECT day, COUNT(*) FROM read_parquet($files) GROUP BY day",
                              {"files": files}).fetchall()
    seconds = time.perf_counter() - began
    connection.close()
    return sum(n for _, n in rows), seconds


def briefing_seconds(dataset: Dataset, day: date, runs: int) -> tuple[float, float, float, object]:
    """First run, best run (wall clock), and the processor time of the best run."""
    times, briefing = [], None
    for _ in range(runs):
        began, cpu = time.perf_counter(), time.process_time()
        briefing = build_briefing(dataset, day)
        times.append((time.perf_counter() - began, time.process_time() - cpu))
    best = min(times)
    return times[0][0], best[0], best[1], briefing


def segmenting_cost(dataset: Dataset, day: date) -> tuple[int, float]:
    """Seconds to segment the texts of the briefing's window, were they read from the store."""
    files = dataset.files(day - timedelta(days=LOOKBACK), day)
    connection = duckdb.connect()
    window = connection.execute("SELECT COUNT(*) FROM read_parquet($f)", {"f": files}).fetchone()[0]
    sample = [r[0] for r in connection.execute("SELECT text FROM read_parquet($f) USING SAMPLE 20000",
                                               {"f": files}).fetchall()]
    began = time.perf_counter()
    for text in sample:
        terms(text)
    per_text = (time.perf_counter() - began) / max(len(sample), 1)
    return window, per_text * window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "cityline-bench-brief")
    parser.add_argument("--scale", type=float, default=1.04, help="of the base scenario (1.04: ~10 M in all)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dataset = ensure_data(args.data, args.scale)
    dataset.last_events()  # an export made before the index existed gets it once
    total, scan = count_orders(dataset)
    print(f"stored orders: {total:,} in {len(dataset.days()):,} day files; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"baseline, one DuckDB scan of every order: {scan:.2f} s")
    for day in DAYS:
        first, best, cpu, briefing = briefing_seconds(dataset, day, args.runs)
        emerging = "; ".join(e.title for e in briefing.emerging[:3])
        print(f"briefing of {day}: {best:.2f} s best of {args.runs} (first {first:.2f} s; processor "
              f"{cpu:.2f} s), "
              f"{best / scan:.1f}x the full scan; {briefing.totals['received']:,} orders that day, "
              f"{len(briefing.issues)} problems, {len(briefing.emerging)} emerging ({emerging})")
    window, seconds = segmenting_cost(dataset, DAYS[0])
    print(f"without the export: segmenting the {window:,} texts of the 36-day window would take "
          f"{seconds:.1f} s per briefing (the export does it once per order)")


if __name__ == "__main__":
    main()

"""The same analyses on DuckDB and on Spark local[2]: one day's briefing over N orders, and
the contacts of a set of cases over a generated fact store.

* briefing: the 2020 scenario at ``--scale`` from 35 days before 2020-01-28 (the
  briefing's history window) to that day, exported as the day files analytics reads
  (about 10,000 orders a day at scale 1); the briefing of 2020-01-28 built on each
  engine, first run and best of ``--runs``, and whether the two JSONs are equal;
* contacts: ``bench_contacts``' generated scans and trips (``--scans``, ``--trips``
  over ``--days``), tier-1 venue and trip contacts of ``--cases`` cases on each engine;
* Spark's start (the JVM and the session) on its own line; the machine's load average
  (1 minute) beside every figure, since other work on the machine moves them.

Run: ``.venv/bin/python bench/bench_spark.py [--scale 0.2] [--scans 2000000] [--runs 2]``
(the ``spark`` extra and a Java runtime installed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from bench.bench_contacts import FIRST_DAY, ZONE, pick_cases
from bench.bench_contacts import generate as generate_facts
from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.emerging import LOOKBACK
from cityline.analytics.export import export_tables
from cityline.analytics.table import orders_from_rows
from cityline.epidemic import queries
from cityline.epidemic.facts import FactStore
from cityline.epidemic.rules import Params
from cityline.sim import generate, units_rows
from cityline.spark import spark_session

DAY = date(2020, 1, 28)


def load() -> float:
    return os.getloadavg()[0]


def timed(what, runs: int) -> tuple[float, float, object]:
    """First and best wall-clock seconds of ``runs`` calls of ``what``, and its last result."""
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = what()
        times.append(time.perf_counter() - began)
    return times[0], min(times), result


def export(folder: Path, scale: float) -> int:
    units = pa.Table.from_pylist([{k: u.get(k) for k in ("code", "name", "kind", "district", "street")}
                                  for u in units_rows()])
    rows = generate("2020", scale=scale, seed=1, start=DAY - timedelta(days=LOOKBACK), end=DAY)
    return export_tables(orders_from_rows(enumerate(rows, 1), chunk=100_000), folder, units=units).orders


def line(label: str, first: float, best: float, at: float) -> None:
    print(f"{label:<44}{first:>10.1f}{best:>10.1f}{at:>7.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.2, help="the scenario's scale (1: ~10,000 orders a day)")
    parser.add_argument("--scans", type=int, default=2_000_000)
    parser.add_argument("--trips", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        orders = export(Path(tmp) / "analytics", args.scale)
        facts = generate_facts(Path(tmp) / "epidemic", args.scans, args.trips, args.days)
        dataset = Dataset(Path(tmp) / "analytics")
        print(f"{orders:,} orders over {LOOKBACK + 1} days; {facts['scans']:,} scans, {facts['trips']:,} trips; "
              f"{args.cases} cases\n", flush=True)
        print(f"{'seconds':<44}{'first':>10}{'best':>10}{'load':>7}")
        began = time.perf_counter()
        spark_session(args.master)
        line(f"Spark start ({args.master})", time.perf_counter() - began, time.perf_counter() - began, load())
        briefings = {}
        for engine in ("duckdb", "spark"):
            first, best, briefing = timed(lambda e=engine: build_briefing(dataset, DAY, engine=e), args.runs)
            briefings[engine] = (best, briefing)
            line(f"briefing of {DAY}, {engine}", first, best, load())
        store = FactStore(Path(tmp) / "epidemic", ZONE)
        cases = pick_cases(Path(tmp) / "epidemic", args.cases, args.days)
        last = FIRST_DAY + timedelta(days=args.days - 1)
        since = last - timedelta(days=5)  # the days the cases' windows touch (reported in the last five)
        contacts = {}
        for engine in ("duckdb", "spark"):
            params = replace(Params(), engine=engine)

            def both(p: Params = params) -> tuple[dict, dict]:
                return (queries.venue_contacts(store, cases, since, last, p),
                        queries.trip_contacts(store, cases, since, last, p))

            first, best, found = timed(both, args.runs)
            contacts[engine] = (best, found)
            line(f"contacts of {len(cases)} cases, {engine}", first, best, load())
    same_briefing = briefings["duckdb"][1].as_json() == briefings["spark"][1].as_json()
    same_contacts = contacts["duckdb"][1] == contacts["spark"][1]
    found = sum(len(c) for side in contacts["duckdb"][1] for c in side.values())
    print(f"\nSpark / DuckDB (best): briefing {briefings['spark'][0] / briefings['duckdb'][0]:.1f}x "
          f"(same JSON: {same_briefing}), contacts {contacts['spark'][0] / contacts['duckdb'][0]:.1f}x "
          f"({found:,} contacts, same: {same_contacts}); {os.cpu_count()} cores, load {load():.1f}")


if __name__ == "__main__":
    main()

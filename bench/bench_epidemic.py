"""Epidemic data at scale: scan rows imported per second, and a day's test coverage over 1 M
residents and 10 M tests. Each figure is printed beside a baseline measured in the same run.

- **Import** (target ≥ 100,000 rows/s): ``cityline epidemic import scans FILE`` on a generated
  CSV (reading, checking every row, deduplicating against the store, writing day partitions)
  vs. the plainest possible copy of the same file: pyarrow's CSV reader straight into one
  Parquet file (no checks, no keys, no partitions). A second import of the same file (which
  must add nothing) is timed too.
- **Coverage** (target ≤ 5 s): ``cityline epidemic coverage`` for one day (present residents
  with a test that day, by building) vs. a naive DuckDB query over the same files (every test
  file scanned, each sample's local date computed row by row).

Data are generated in the script, vectorised (DuckDB ``range``), on the embedded SQLite.

    .venv/bin/python bench/bench_epidemic.py [--scan-rows 1000000] [--residents 1000000] [--tests 10000000] [--days 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityline.config import Settings  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from cityline.epidemic import ledger, service  # noqa: E402
from cityline.epidemic.importer import import_file  # noqa: E402
from cityline.privacy import Vault  # noqa: E402
from cityline.schema import create_all  # noqa: E402

FIRST_DAY = date(2022, 4, 1)
KINDS = "['restaurant', 'workplace', 'shop', 'transport', 'other']"


def generate_scans(path: Path, rows: int) -> None:
    """A scan export as venue systems send it: ISO times with offset, a third with a check-out."""
    duckdb.execute(f"""
        COPY (SELECT 'P' || lpad((i * 7919 % 2000000)::VARCHAR, 7, '0') AS person_id,
                     'V' || lpad((i % 50000)::VARCHAR, 5, '0') AS venue_code,
                     strftime(TIMESTAMP '{FIRST_DAY}' + to_seconds(i * 86400 * 10 // {rows}), '%Y-%m-%dT%H:%M:%S+08:00')
                         AS scanned_at,
                     CASE WHEN i % 3 = 0 THEN strftime(TIMESTAMP '{FIRST_DAY}' + to_seconds(i * 86400 * 10 // {rows} + 1800),
                                                       '%Y-%m-%dT%H:%M:%S+08:00') END AS left_at,
                     '场所' || (i % 50000)::VARCHAR AS venue_name,
                     {KINDS}[1 + i % 5] AS venue_kind
              FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')""")


def bench_import(folder: Path, rows: int) -> list[tuple[str, float, float]]:
    path = folder / "scans.csv"
    generate_scans(path, rows)
    began = time.perf_counter()
    pq.write_table(pacsv.read_csv(path), folder / "baseline.parquet")
    baseline = rows / (time.perf_counter() - began)
    engine = make_engine(f"sqlite:///{folder / 'import.db'}")
    create_all(engine)
    env = service.env_for(Vault("bench"), Settings(data_dir=folder / "import"))
    sessions = make_sessionmaker(engine)
    began = time.perf_counter()
    report = import_file(sessions, env, "scans", path, actor="bench")
    first = rows / (time.perf_counter() - began)
    assert report.added == rows and not report.bad, report.summary()
    began = time.perf_counter()
    report = import_file(sessions, env, "scans", path, actor="bench")
    second = rows / (time.perf_counter() - began)
    assert report.unchanged == rows and report.added == 0, report.summary()
    engine.dispose()
    return [("import scans (rows/s)", first, baseline), ("import again, adds nothing (rows/s)", second, baseline)]


def load_residents(engine, residents: int) -> None:
    """Residents straight into the table (no personal data: the bench is about places)."""
    table = duckdb.sql(f"""
        SELECT 'P' || lpad(i::VARCHAR, 7, '0') AS person_id, '区' || (i % 16)::VARCHAR AS district,
               '街道' || (i % 200)::VARCHAR AS street, '小区' || (i % 5000)::VARCHAR AS compound,
               (i % 12)::VARCHAR || '号楼' AS building, (i % 300)::VARCHAR AS room,
               CASE WHEN i % 20 = 0 THEN 'away' WHEN i % 50 = 1 THEN 'moved_out' ELSE 'present' END AS status
        FROM range({residents}) t(i)""").fetchall()
    now = utcnow().replace(tzinfo=None).isoformat(sep=" ")
    raw = engine.raw_connection()
    try:
        raw.execute("BEGIN")  # one transaction (the driver is in autocommit mode: see db.py)
        raw.executemany(
            "INSERT INTO epidemic_residents (person_id, district, street, compound, building, room, status, "
            "special_groups, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?)",
            [(*row, now, now) for row in table])
        raw.commit()
    finally:
        raw.close()


def load_tests(env: service.Env, tests: int, days: int, residents: int) -> None:
    """``tests`` tests over ``days`` days, through the store's own write path (one day a write)."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{env.params.timezone}'")
    per_day = tests // days
    for day in range(days):
        table = con.sql(f"""
            SELECT 'P' || lpad(((i * 104729 + {day} * 7) % {int(residents * 1.05)})::VARCHAR, 7, '0') AS person_id,
                   TIMESTAMPTZ '{FIRST_DAY + timedelta(days=day)} 00:00:00+08' + to_seconds(i % 86400) AS sampled_at,
                   CASE WHEN i % 997 = 0 THEN 'positive' WHEN i % 13 = 0 THEN 'pending' ELSE 'negative' END AS result,
                   CASE WHEN i % 4 = 0 THEN 'antigen' ELSE 'pcr' END AS kind, NULL::VARCHAR AS site
            FROM range({per_day}) t(i)""").to_arrow_table()
        env.store.append(con, "tests", table)


NAIVE = """
    WITH present AS (SELECT * FROM read_parquet('{ledger}') WHERE status = 'present'),
         tested AS (SELECT DISTINCT person_id FROM read_parquet('{tests}/day=*/*.parquet')
                    WHERE CAST(timezone('{zone}', sampled_at) AS DATE) BETWEEN '{day}' AND '{day}')
    SELECT district, street, compound, building, count(*) AS present, count(t.person_id) AS tested
    FROM present p LEFT JOIN tested t USING (person_id) GROUP BY ALL ORDER BY ALL"""


def bench_coverage(folder: Path, residents: int, tests: int, days: int) -> list[tuple[str, float, float]]:
    engine = make_engine(f"sqlite:///{folder / 'coverage.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    env = service.env_for(Vault("bench"), Settings(data_dir=folder / "coverage"))
    began = time.perf_counter()
    load_residents(engine, residents)
    load_tests(env, tests, days, residents)
    print(f"  loaded {residents:,} residents and {tests:,} tests in {time.perf_counter() - began:.0f} s", flush=True)
    day = FIRST_DAY + timedelta(days=days // 2)
    with sessions() as session:
        began = time.perf_counter()
        path = ledger.snapshot(session, env.store)
        snapshot = time.perf_counter() - began
        timings = []
        for untested in (False, True):
            began = time.perf_counter()
            found = service.coverage(session, env, day, day, untested=untested)
            timings.append(time.perf_counter() - began)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{env.params.timezone}'")
    began = time.perf_counter()
    naive = con.execute(NAIVE.format(ledger=path, tests=env.store.root / "tests", zone=env.params.timezone,
                                     day=day)).fetchall()
    baseline = time.perf_counter() - began
    assert [tuple(r) for r in naive] == [(r.district, r.street, r.compound, r.building, r.present, r.tested)
                                         for r in found.rows]
    print(f"  {len(found.rows):,} buildings, {len(found.untested):,} untested; ledger snapshot written in "
          f"{snapshot:.1f} s (once, after the ledger changes)", flush=True)
    engine.dispose()
    return [("coverage of a day (s)", timings[0], baseline), ("coverage + untested list (s)", timings[1], baseline)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scan-rows", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--tests", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--only", choices=("import", "coverage"), default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "import"):
            results += bench_import(folder, args.scan_rows)
        if args.only in (None, "coverage"):
            results += bench_coverage(folder, args.residents, args.tests, args.days)
    print(f"\n{'measure':<40}{'cityline':>12}{'baseline':>12}{'ratio':>10}")
    for label, ours, baseline in results:
        ratio = ours / baseline if "rows/s" in label else baseline / ours
        print(f"{label:<40}{ours:>12,.1f}{baseline:>12,.1f}{ratio:>10.2f}")
    print("ratio: cityline's speed as a share of the baseline's (above 1: faster than the baseline)")


if __name__ == "__main__":
    main()

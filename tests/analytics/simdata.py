"""Simulated hotline data as an analytics export, with the simulator's truth, cached on disk.

The simulator's rows go through ``orders_from_rows`` (the importer's rules for
status and timings) straight into Parquet, which is 10x faster than importing
them into a store first; the store path itself is tested on its own
(``test_export.py``). A build is cached under the system temp folder, keyed by
its parameters and by the source of everything that shapes it (the simulator,
its data, analytics' table and text code and the shared segmenter), so a changed term rule or
scenario rebuilds instead of serving stale files.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from cityline.analytics.dataset import Dataset
from cityline.analytics.export import export_tables
from cityline.analytics.table import orders_from_rows
from cityline.sim import generate, units_rows, write_truth
from tests.analytics.truth import Truth

ROOT = Path(__file__).parents[2]
CACHE = Path(tempfile.gettempdir()) / "cityline-analytics-sim"
SHAPING = ("cityline/sim", "cityline/analytics/table.py", "cityline/analytics/text.py", "cityline/text.py",
           "cityline/analytics/export.py", "cityline/intake/rows.py", "cityline/intake/importer.py")


@dataclass(frozen=True)
class SimData:
    dataset: Dataset
    truth: Truth

    def numbers_of(self, problem: str, day: date) -> set[str]:
        """Order numbers (external ids here) of one truth problem on a day."""
        stamp = f"-{day:%Y%m%d}-"
        return {e for e, p in self.truth.orders.items() if p == problem and stamp in e}


def fingerprint(*parameters: object) -> str:
    digest = hashlib.sha256(repr(parameters).encode())
    for part in SHAPING:
        path = ROOT / part
        for file in sorted(path.rglob("*") if path.is_dir() else [path]):
            if file.is_file() and file.suffix in (".py", ".toml"):
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def sim_export(scale: float, seed: int, ranges: tuple[tuple[date, date], ...]) -> SimData:
    """The 2020 scenario over ``ranges`` (inclusive) at ``scale``, built once and cached."""
    folder = CACHE / f"s{scale}-seed{seed}-{fingerprint(scale, seed, ranges)}"
    if not (folder / "done").exists():
        partial = folder.with_name(folder.name + f".{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        rows = itertools.chain.from_iterable(
            generate("2020", scale=scale, seed=seed, start=first, end=last) for first, last in ranges)
        units = pa.Table.from_pylist([{k: u.get(k) for k in ("code", "name", "kind", "district", "street")}
                                      for u in units_rows()])
        export_tables(orders_from_rows(enumerate(rows, 1)), partial, units=units)
        for n, (first, last) in enumerate(ranges):
            write_truth(partial / f"truth-{n}.json", "2020", scale, seed, start=first, end=last)
        (partial / "done").write_text("ok")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
    orders: dict[str, str] = {}
    for n in range(len(ranges)):
        orders.update(Truth.load(folder / f"truth-{n}.json", "2020", scale, seed).orders)
    return SimData(Dataset(folder), Truth("2020", scale, seed, orders))

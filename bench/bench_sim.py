"""Benchmark the workload simulator.

Prints orders per second for ``cityline.sim.generate`` and for writing JSON Lines,
each next to a baseline measured in the same run:

* generation vs a straightforward per-order implementation of the same distribution
  with Python's ``random`` (same daily plan, problems, pieces, places and delays);
* writing vs ``json.dumps`` of each row and one ``write`` per row;
* the epidemic files of the 2022 wave (``write_epidemic``, all six kinds) vs the mass testing
  rounds alone written the obvious way: one ``random`` draw and one ``csv`` row per person and round.

Run: ``.venv/bin/python bench/bench_sim.py [--scale 0.1] [--scenario 2020] [--epidemic-scale 0.05]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import tempfile
import time
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

from cityline.sim import daily_plan, generate, write_orders
from cityline.sim.calendar import HOURLY_WEIGHTS
from cityline.sim.catalogue import phrases, problems
from cityline.sim.epidemic import load_epidemic, write_epidemic
from cityline.sim.places import street_table


def naive_generate(scenario: str, scale: float, seed: int):
    """One order at a time with ``random``: the obvious way to write the simulator."""
    rng = random.Random(seed)
    plan = daily_plan(scenario, scale, seed)
    catalogue = problems()
    frames = phrases()
    table = street_table()
    street_cum = list(accumulate(table.probabilities))
    hour_cum = list(accumulate(HOURLY_WEIGHTS))
    for day, counts in zip(plan.days, plan.counts, strict=True):
        midnight = datetime(day.year, day.month, day.day)
        day_rows = []
        for index, count in enumerate(counts.tolist()):
            item = catalogue[index]
            kinds, kind_w = list(item.kinds), list(item.kinds.values())
            urgencies, urgency_w = list(item.urgencies), list(item.urgencies.values())
            for _ in range(count):
                hour = rng.choices(range(24), cum_weights=hour_cum)[0]
                received = midnight + timedelta(hours=hour, seconds=rng.randrange(3600))
                kind = rng.choices(kinds, weights=kind_w)[0]
                urgency = rng.choices(urgencies, weights=urgency_w)[0]
                groups = [g for g, p in item.groups.items() if rng.random() < p]
                street = rng.choices(range(len(table.streets)), cum_weights=street_cum)[0]
                district = table.districts[table.district_of[street]]
                compound = rng.choice(table.compounds[street])
                place = rng.choice([compound, table.streets[street]])
                ask = rng.choice(item.asks.get(kind) or frames["asks"][kind])
                if rng.random() < 0.55:
                    text = (rng.choice(frames["operator_openers"])
                            + rng.choice(item.summary).replace("{place}", place) + "。"
                            + rng.choice(frames["operator_asks"]) + ask + "。")
                else:
                    text = (rng.choice(frames["greetings"])
                            + rng.choice(item.caller).replace("{place}", place) + "，"
                            + ask + "。" + rng.choice(frames["closers"]))
                dispatched = received + timedelta(minutes=rng.lognormvariate(3, 0.8))
                replied = dispatched + timedelta(minutes=rng.lognormvariate(6.5, 0.85))
                closed = replied + timedelta(minutes=rng.lognormvariate(5.7, 1.0))
                day_rows.append({
                    "external_id": f"N{day:%Y%m%d}-{len(day_rows) + 1:06d}",
                    "received_at": received.isoformat() + "+08:00",
                    "channel": "phone", "text": text,
                    "address": f"上海市{district}{table.streets[street]}{compound}",
                    "caller_phone": f"1380000{rng.randrange(10000):04d}", "language": "zh",
                    "kind": kind, "category": item.category, "urgency": urgency,
                    "special_groups": groups, "district": district,
                    "street": table.streets[street], "unit": item.department,
                    "dispatched_at": dispatched.isoformat() + "+08:00",
                    "replied_at": replied.isoformat() + "+08:00",
                    "closed_at": closed.isoformat() + "+08:00",
                    "satisfaction": rng.choice(["satisfied", "basic", "unsatisfied"]),
                })
        day_rows.sort(key=lambda row: row["received_at"])
        yield from day_rows


def naive_tests(residents: int, seed: int, target: Path) -> int:
    """The 2022 testing rounds, one person at a time: a draw, a formatted time, a csv row."""
    rng = random.Random(seed)
    spec = load_epidemic("2022")
    written = 0
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["person_id", "sampled_at", "result", "kind", "site"])
        for round_ in spec.rounds:
            for day in round_.days():
                midnight = datetime(day.year, day.month, day.day, 7)
                for person in range(residents):
                    if rng.random() < round_.coverage:
                        at = midnight + timedelta(seconds=rng.randrange(5 * 3600))
                        writer.writerow([f"R{person + 1:07d}", at.isoformat() + "+08:00", "negative",
                                         round_.kind, "采样点"])
                        written += 1
    return written


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed_count(rows) -> tuple[int, float]:
    began = time.perf_counter()
    count = sum(1 for _ in rows)
    return count, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="2020")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epidemic-scale", type=float, default=0.05)
    parser.add_argument("--only-epidemic", action="store_true", help="skip the orders' measures")
    args = parser.parse_args()
    if not args.only_epidemic:
        bench_orders(args)
    bench_epidemic(args.epidemic_scale, args.seed)


def bench_epidemic(scale: float, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        write_epidemic(Path(folder) / "warm", "2022", 0.0005, seed)  # load data once (not timed)
        began = time.perf_counter()
        written = write_epidemic(Path(folder) / "files", "2022", scale, seed)
        seconds = time.perf_counter() - began
        rows = sum(count for _, count in written.values())
        residents = written["residents"][1]
        began = time.perf_counter()
        naive = naive_tests(residents, seed, Path(folder) / "naive.csv")
        naive_seconds = time.perf_counter() - began
    counts = ", ".join(f"{count:,} {kind}" for kind, (_, count) in written.items())
    print(f"write_epidemic 2022 scale {scale}: {rows:,} rows in {seconds:.2f} s = {rate(rows, seconds):,.0f} "
          f"rows/s ({counts})")
    print(f"naive per-person testing rounds baseline: {naive:,} rows in {naive_seconds:.2f} s = "
          f"{rate(naive, naive_seconds):,.0f} rows/s")
    print(f"ratio write_epidemic / baseline: {rate(rows, seconds) / rate(naive, naive_seconds):.1f}x")


def bench_orders(args: argparse.Namespace) -> None:
    sum(1 for _ in generate(args.scenario, 0.001, args.seed))  # load data once (not timed)
    count, seconds = timed_count(generate(args.scenario, args.scale, args.seed))
    naive_count, naive_seconds = timed_count(naive_generate(args.scenario, args.scale, args.seed))
    print(f"generate  scenario {args.scenario} scale {args.scale}: {count:,} orders in "
          f"{seconds:.2f} s = {rate(count, seconds):,.0f} orders/s")
    print(f"naive per-order random baseline: {naive_count:,} orders in {naive_seconds:.2f} s = "
          f"{rate(naive_count, naive_seconds):,.0f} orders/s")
    print(f"ratio generate / baseline: {rate(count, seconds) / rate(naive_count, naive_seconds):.1f}x")

    rows = list(generate(args.scenario, args.scale, args.seed))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "orders.jsonl"
        began = time.perf_counter()
        write_orders(rows, target)
        write_seconds = time.perf_counter() - began
        size = os.path.getsize(target)
        began = time.perf_counter()
        with (Path(folder) / "plain.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        plain_seconds = time.perf_counter() - began
        began = time.perf_counter()
        write_orders(generate(args.scenario, args.scale, args.seed), target)
        both_seconds = time.perf_counter() - began
    print(f"write_orders JSONL: {rate(len(rows), write_seconds):,.0f} orders/s "
          f"({size / 2**20:.0f} MiB); json.dumps per row: {rate(len(rows), plain_seconds):,.0f} "
          f"orders/s; ratio {plain_seconds / write_seconds:.2f}x")
    print(f"generate + write JSONL end to end: {rate(len(rows), both_seconds):,.0f} orders/s")


if __name__ == "__main__":
    main()

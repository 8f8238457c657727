"""The simulator's own truth, for checking analytics against it.

``write_truth("truth.json", "2020", scale, seed)`` writes a JSON file with the
scenario, seed and scale, the problem catalogue (problem id -> category, Chinese
title, keywords), the injected signals (problem, start date, places), the daily
counts per problem, and beside it ``truth.orders.jsonl`` mapping every order's
``external_id`` to its problem. It recomputes the assignment from the seed (the
problem and time of each order have their own random stream), so it matches
``generate`` with the same arguments without assembling any text.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from cityline.sim.catalogue import problems
from cityline.sim.context import build_context, unit_speed
from cityline.sim.draws import day_core
from cityline.sim.places import signal_places
from cityline.sim.units import units_rows


def orders_path(path: str | Path) -> Path:
    """Where the order -> problem mapping goes, beside the truth file."""
    target = Path(path)
    return target.with_name(target.stem + ".orders.jsonl")


def write_truth(path: str | Path, scenario: str = "2020", scale: float = 1.0, seed: int = 1,
                start: date | None = None, end: date | None = None) -> Path:
    """Write the truth file and the order mapping beside it; returns the mapping's path."""
    ctx = build_context(scenario, scale, seed, start, end)
    plan = ctx.plan
    catalogue = problems()
    places = signal_places(ctx.spec, seed)
    mapping = orders_path(path)
    with mapping.open("w", encoding="utf-8") as handle:
        for row, day in enumerate(plan.days):
            ids = catalogue_ids(day_core(ctx, row).problem)
            prefix = f"S{scenario}-{day:%Y%m%d}-"
            handle.writelines(
                f'{{"external_id": "{prefix}{seq:06d}", "problem": "{problem_id}"}}\n'
                for seq, problem_id in enumerate(ids, start=1)
            )
    epidemic = np.array([p.epidemic for p in catalogue])
    truth = {
        "scenario": scenario,
        "title": ctx.spec.title,
        "seed": seed,
        "scale": scale,
        "periods": [[a.isoformat(), b.isoformat()] for a, b in _runs(plan.days)],
        "problems": {
            p.id: {"category": p.category, "title": p.title, "keywords": list(p.keywords)}
            for p in catalogue
        },
        "signals": [
            {"problem": s.problem, "start": s.start.isoformat(), "places": places.get(s.problem, []),
             "category": _category(s.problem), "note": s.note}
            for s in ctx.spec.signals
        ],
        "daily_totals": {
            day.isoformat(): {"received": int(counts.sum()), "epidemic": int(counts[epidemic].sum())}
            for day, counts in zip(plan.days, plan.counts, strict=True)
        },
        "daily": {
            day.isoformat(): {catalogue[i].id: int(counts[i]) for i in np.flatnonzero(counts)}
            for day, counts in zip(plan.days, plan.counts, strict=True)
        },
        "unit_speed": {unit["code"]: round(unit_speed(unit["code"]), 3) for unit in units_rows()},
        "orders": mapping.name,
    }
    Path(path).write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return mapping


def _runs(days: tuple[date, ...]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def catalogue_ids(indexes: np.ndarray) -> list[str]:
    ids = [p.id for p in problems()]
    return [ids[i] for i in indexes.tolist()]


def _category(problem_id: str) -> str:
    return next(p.category for p in problems() if p.id == problem_id)


def read_truth_orders(path: str | Path) -> dict[str, str]:
    """The order mapping written by :func:`write_truth`: external_id -> problem id."""
    mapping: dict[str, str] = {}
    with orders_path(path).open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            mapping[item["external_id"]] = item["problem"]
    return mapping

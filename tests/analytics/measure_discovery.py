"""Measure problem discovery against the simulator's truth.

    .venv/bin/python -m tests.analytics.measure_discovery --scale 0.02 --seeds 1,2,3

For the briefing of each day given, every truth problem with at least five orders
in a large category is matched to the discovered problem sharing most orders with
it; printed: that match's F1 (mean over problems), and for the mask queues of
2020-01-28 the truth's count, the discovered count, purity and recall.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date

from cityline.analytics.brief import build_briefing
from tests.analytics.simdata import SimData, sim_export

DAYS = (date(2020, 1, 24), date(2020, 1, 28), date(2020, 2, 3), date(2020, 2, 10), date(2020, 2, 17))


def problem_scores(data: SimData, day: date) -> tuple[list[float], dict | None]:
    briefing = build_briefing(data.dataset, day)
    stamp = f"-{day:%Y%m%d}-"
    truth = Counter(p for e, p in data.truth.orders.items() if stamp in e)
    scores, queue = [], None
    for problem, count in truth.items():
        issues = [i for i in briefing.issues if i.category == _category(problem)]
        if count < 5 or not issues:
            continue
        members = data.numbers_of(problem, day)
        best = max(issues, key=lambda i: len(members & set(i.members)))
        overlap = len(members & set(best.members))
        scores.append(2 * overlap / (len(best.members) + count))
        if problem == "mask.queue" and day == date(2020, 1, 28):
            queue = {"truth": count, "found": len(best.members), "purity": overlap / len(best.members),
                     "recall": overlap / count, "keywords": best.keywords}
    return scores, queue


def _category(problem: str) -> str:
    from cityline.sim.catalogue import problem as lookup

    return lookup(problem).category


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        data = sim_export(args.scale, seed, ((date(2020, 1, 10), date(2020, 2, 17)),))
        all_scores, queue = [], None
        for day in DAYS:
            scores, found = problem_scores(data, day)
            all_scores += scores
            queue = found or queue
        mean = sum(all_scores) / len(all_scores)
        print(f"scale {args.scale} seed {seed}: mean F1 {mean:.3f} over {len(all_scores)} problem-days; "
              f"mask queues 2020-01-28: truth {queue['truth']}, found {queue['found']}, "
              f"purity {queue['purity']:.2f}, recall {queue['recall']:.2f}, keywords {queue['keywords']}",
              flush=True)


if __name__ == "__main__":
    main()

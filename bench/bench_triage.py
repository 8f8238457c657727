"""Triage speed: orders classified per second on one core, rules alone and with trained models.

Run: .venv/bin/python bench/bench_triage.py [--orders 5000] [--train 5000] [--rounds 3]

The texts are simulated orders (cityline.sim, the 2020 scenario, mixed registers,
dialect, typos, foreign languages); the model is trained on other simulated
orders (a different seed), so it never sees the texts it is timed on; the
shipped model (the default triager's, learnt from the seed and centre history)
is timed too. Each figure is the best of --rounds passes over the same texts. The baseline,
measured in the same run on the same texts, is plain jieba segmentation
(``jieba.lcut``), which is what a classifier built the usual way spends before
it has even looked at a word; the ratio says how many times faster than that
baseline cityline classifies a whole order (all fields, confidences and
evidence). rjieba segmentation alone is shown for reference.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityline.sim.generate import generate  # noqa: E402
from cityline.text import segmenter  # noqa: E402
from cityline.triage.classifier import Triager  # noqa: E402
from cityline.triage.history import SHIPPED_VERSION, shipped_model  # noqa: E402
from cityline.triage.model import LabelledText, train  # noqa: E402


def simulated(count: int, seed: int) -> list[dict]:
    rows = generate("2020", scale=0.05, seed=seed)
    return list(itertools.islice(rows, 0, count * 3, 3))[:count]


def per_second(work: Callable[[list[str]], object], texts: list[str], rounds: int) -> tuple[float, float]:
    """Texts per second by the wall clock and by the CPU time of this process (best round each)."""
    wall = cpu = float("inf")
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        work(texts)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return len(texts) / wall, len(texts) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="texts to classify")
    parser.add_argument("--train", type=int, default=5000, help="simulated orders to train on")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    texts = [row["text"] for row in simulated(args.orders, seed=101)]
    history = [
        LabelledText(r["text"], r["kind"], r["category"], r["urgency"], tuple(r["special_groups"]))
        for r in simulated(args.train, seed=202)
    ]
    started = time.perf_counter()
    model = train(history)
    trained_in = time.perf_counter() - started

    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    started = time.perf_counter()
    seeded = Triager(model=shipped_model(), model_version=SHIPPED_VERSION)
    shipped_in = time.perf_counter() - started
    rules, learnt = Triager(), Triager(model=model, model_version="model-bench")
    for triager in (rules, learnt, seeded):
        triager.classify_many(texts[:100])  # build lexicon, segmenter and caches outside the timing
    rust_segmenter = segmenter()

    def jieba_baseline(batch):
        return [jieba.lcut(text) for text in batch]

    def rjieba_only(batch):
        return [rust_segmenter.cut(text, False) for text in batch]

    baseline = per_second(jieba_baseline, texts, args.rounds)
    figures = {
        "jieba.lcut (baseline)": baseline,
        "rjieba segmentation": per_second(rjieba_only, texts, args.rounds),
        "Triager, rules only": per_second(rules.classify_many, texts, args.rounds),
        "Triager, trained model": per_second(learnt.classify_many, texts, args.rounds),
        "Triager, shipped model": per_second(seeded.classify_many, texts, args.rounds),
    }
    average = sum(len(t) for t in texts) / len(texts)
    print(f"{len(texts)} simulated orders, {average:.0f} characters on average, one core")
    print(f"model trained on {len(history)} other simulated orders in {trained_in:.1f} s")
    print(f"shipped model learnt from {seeded.model.trained_on} seed and centre orders in {shipped_in:.1f} s")
    print(f"load average {os.getloadavg()[0]:.1f} (CPU-time figures are less disturbed by other work)")
    print(f"{'':28s} {'wall texts/s':>13s} {'CPU texts/s':>12s}   ratio to baseline (wall, CPU)")
    for name, (wall, cpu) in figures.items():
        print(
            f"{name:28s} {wall:13,.0f} {cpu:12,.0f}   {wall / baseline[0]:5.2f}, {cpu / baseline[1]:5.2f}"
        )


if __name__ == "__main__":
    main()

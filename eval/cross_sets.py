"""How far triage carries to text nobody here wrote: leave one outsider's set out at a time.

The shipped history (``cityline/triage/data/centre_history.jsonl``) holds the retired sets
that outsiders wrote from the guidelines alone; each writer's set has its own id prefix
(``A…``, ``B…``, ``F…``, ``F2-…``, ``G2-…``) and is also a file of ``eval/fresh/``. For each
such set X a model is trained on the seed and the history less X (never a text of X) and
the default blend with the lexicon classifies X. The sets still held out (whose prefixes
are not in the history) are not read beyond their ids.

This is cross-validation over retired sets, not a held-out figure. A change to triage is
kept only if the MEAN over the sets rises and no target on the mean falls below its bar:

    .venv/bin/python eval/cross_sets.py [--json] [--only g --only f]

Training runs once per set (a few seconds each, one core).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cityline.triage.crossval import leave_one_set_out
from cityline.triage.evaluation import read_eval_file
from cityline.triage.history import CENTRE_HISTORY_FILE, shipped_records
from cityline.triage.model import LabelledText

FRESH = Path(__file__).with_name("fresh")
# The targets of issue 20 that must hold on the mean.
BARS = {"category": 0.85, "kind": 0.85, "urgent_recall": 0.95, "urgent_precision": 0.70, "groups": 0.85}
_PREFIX = re.compile(r"^(.*?)\d+$")


def prefix(identifier: str) -> str:
    """The writer's part of an id: "F2-0017" → "F2-", "A0001" → "A"."""
    found = _PREFIX.match(identifier)
    return found.group(1) if found else identifier


def outsider_sets(history: Path = CENTRE_HISTORY_FILE, fresh: Path = FRESH) -> dict[str, list[LabelledText]]:
    """The history's lines by writer's set, for the sets that are also files of ``fresh``
    (named by that file: "a", "e", "g" …); only the fresh files' ids are read."""
    named = {}
    for path in sorted(fresh.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                named.setdefault(prefix(json.loads(line)["id"]), path.stem)
    sets: dict[str, list[LabelledText]] = {}
    for line in read_eval_file(history):
        name = named.get(prefix(line.id))
        if name is not None:
            sets.setdefault(name, []).append(LabelledText(
                line.text, line.kind, line.category, line.urgency, tuple(line.special_groups), line.language))
    return dict(sorted(sets.items()))


def figures(report: dict) -> dict[str, float]:
    """The figures of issue 20 from an evaluation report."""
    urgent = report["urgency"]["per_label"].get("urgent", {"recall": 0.0, "precision": 0.0})
    return {
        "n": report["n"],
        "category": report["category"]["macro_f1"],
        "kind": report["kind"]["accuracy"],
        "urgent_recall": urgent["recall"],
        "urgent_precision": urgent["precision"],
        "groups": report["special_groups"]["micro_f1"],
    }


def mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: round(sum(row[name] for row in rows) / len(rows), 4) for name in BARS}


def weakest_categories(reports: dict[str, dict], count: int = 8) -> list[tuple[str, float]]:
    """The categories with the lowest F1 averaged over the sets that hold them."""
    scores: dict[str, list[float]] = {}
    for report in reports.values():
        for label, found in report["category"]["per_label"].items():
            if found["support"]:
                scores.setdefault(label, []).append(found["f1"])
    averaged = {label: sum(values) / len(values) for label, values in scores.items()}
    return sorted(averaged.items(), key=lambda item: item[1])[:count]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", action="append", default=[], help="leave out only this set (repeatable)")
    args = parser.parse_args(argv)
    sets = outsider_sets()
    if args.only:
        unknown = sorted(set(args.only) - set(sets))
        if unknown:
            parser.error(f"no outsider set {', '.join(unknown)} in the history (there are {', '.join(sets)})")
        sets = {name: sets[name] for name in args.only}
    started = time.process_time()
    reports = leave_one_set_out(sets, shipped_records())
    rows = {name: figures(report) for name, report in reports.items()}
    result = {"sets": rows, "mean": mean(list(rows.values())),
              "weakest_categories": weakest_categories(reports), "cpu_seconds": round(time.process_time() - started, 1)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{'set':<6}{'n':>5}" + "".join(f"{name:>18}" for name in BARS))
    for name, row in rows.items():
        print(f"{name:<6}{row['n']:>5}" + "".join(f"{row[field]:>18.4f}" for field in BARS))
    print(f"{'mean':<11}" + "".join(f"{result['mean'][field]:>18.4f}" for field in BARS))
    print("below the bar on the mean:",
          ", ".join(field for field, bar in BARS.items() if result["mean"][field] < bar) or "none")
    print("weakest categories (F1 averaged over the sets):",
          ", ".join(f"{label} {score:.2f}" for label, score in result["weakest_categories"]))
    print(f"CPU seconds: {result['cpu_seconds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

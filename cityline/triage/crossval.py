"""Cross-validation of the trained triage on labelled history: how the blend was tuned.

The labelled orders are cut into k folds; for each fold a model is trained on
the others and the blended Triager classifies the fold it has not seen. The
predictions of all folds are pooled and scored like ``evaluate`` scores a file.
Pure apart from the training it runs: records in, report out.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from cityline.triage import calibration
from cityline.triage.classifier import DEFAULT_THRESHOLD, Blend, Triager
from cityline.triage.evaluation import multi_label_metrics, single_label_metrics
from cityline.triage.model import LabelledText, train


def folds(records: Sequence[LabelledText], k: int, seed: int) -> list[list[int]]:
    """k disjoint lists of record positions, drawn at random (reproducibly from ``seed``)."""
    if not 2 <= k <= len(records):
        raise ValueError(f"need between 2 and {len(records)} folds, got {k}")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def cross_validate(
    records: Sequence[LabelledText], k: int = 5, seed: int = 7, blend: Blend | None = None
) -> dict:
    """Pooled held-out metrics of a model trained on k-1 folds and blended with the lexicon."""
    complete = [r for r in records if r.kind and r.category and r.urgency]
    gold: list[LabelledText] = []
    results = []
    for held in folds(complete, k, seed):
        kept_aside = set(held)
        model = train([r for number, r in enumerate(complete) if number not in kept_aside])
        # Raw confidences: the calibration is fitted on them below.
        triager = Triager(model=model, model_version="cross-validation", blend=blend,
                          calibration=calibration.Calibration({}))
        gold += [complete[number] for number in held]
        results += triager.classify_many([complete[number].text for number in held])
    report: dict = {"n": len(gold), "folds": k}
    for name in ("category", "kind", "urgency"):
        report[name] = single_label_metrics(
            [getattr(r, name) for r in gold], [getattr(result, name).value for result in results]
        )
    report["special_groups"] = multi_label_metrics(
        [list(r.special_groups or ()) for r in gold], [result.special_groups for result in results]
    )
    languages = [(r.language, result.language) for r, result in zip(gold, results, strict=True) if r.language]
    report["language"] = {
        "accuracy": round(sum(a == b for a, b in languages) / len(languages), 4) if languages else 0.0
    }
    report["confirmation"] = confirmation_report(gold, results)
    return report


def confirmation_report(gold: Sequence[LabelledText], results: Sequence) -> dict:
    """The calibration curves these pooled folds give, and what asking for confirmation below
    ``DEFAULT_THRESHOLD`` costs: the share of orders asked, and the share of the orders not
    asked with at least one of kind, category and urgency wrong, raw and calibrated."""
    fields = calibration.FIELDS
    raw = {name: [getattr(result, name).confidence for result in results] for name in fields}
    right = {
        name: [getattr(record, name) == getattr(result, name).value for record, result in zip(gold, results, strict=True)]
        for name in fields
    }
    fitted = calibration.fit(raw, right)
    all_right = [all(right[name][i] for name in fields) for i in range(len(gold))]

    def cost(confidence) -> dict:
        asked = [min(confidence(name, raw[name][i]) for name in fields) < DEFAULT_THRESHOLD for i in range(len(gold))]
        kept = [ok for ok, ask in zip(all_right, asked, strict=True) if not ask]
        return {
            "share_asked": round(sum(asked) / len(asked), 4) if asked else 0.0,
            "wrong_among_not_asked": round(1 - sum(kept) / len(kept), 4) if kept else 0.0,
        }

    return {
        "threshold": DEFAULT_THRESHOLD,
        "raw": cost(lambda name, value: value),
        "calibrated": cost(fitted),
        "curves": {name: [list(point) for point in curve] for name, curve in fitted.curves.items()},
    }


def leave_one_set_out(sets: dict[str, Sequence[LabelledText]], history: Sequence[LabelledText]) -> dict[str, dict]:
    """Per labelled set (one writer's orders): a model learnt from ``history`` and the other
    sets — never from a text of the set itself, even where the history holds it — blended with
    the lexicon, evaluated on the set (how far what one writer taught carries to another)."""
    from cityline.triage.evaluation import evaluate
    from cityline.triage.gate import as_eval_lines

    reports = {}
    for name, held in sets.items():
        triager = Triager(model=train(learnt_without(name, sets, history)), model_version=f"without {name}")
        reports[name] = evaluate(as_eval_lines(held), triager, places=False)
    return reports


def learnt_without(name: str, sets: dict[str, Sequence[LabelledText]],
                   history: Sequence[LabelledText]) -> list[LabelledText]:
    """The history and every set but ``name``, without any text of set ``name``, each text once."""
    texts = {r.text for r in sets[name]}
    learn, seen = [], set()
    for record in [*history, *(r for other, rs in sets.items() if other != name for r in rs)]:
        if record.text not in texts and record.text not in seen:
            seen.add(record.text)
            learn.append(record)
    return learn

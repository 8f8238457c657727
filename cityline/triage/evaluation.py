"""Quality of triage on a labelled JSON Lines file (formats.md §2).

Every text is classified without looking at its labels; the labels are only
compared afterwards. The place fields use ``cityline.geo.parse_address`` when
that package is installed; without it every place prediction counts as null.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cityline.triage.classifier import Triager

REQUIRED = ("text", "kind", "category", "urgency", "special_groups", "language")


@dataclass(frozen=True)
class EvalLine:
    id: str
    text: str
    kind: str
    category: str
    urgency: str
    special_groups: list[str]
    language: str
    district: str | None
    street: str | None


def read_eval_file(path: Path) -> list[EvalLine]:
    """The labelled lines of ``path``; a bad line is reported by its number and reason."""
    try:
        raw_lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise ValueError(f"evaluation file not found: {path}") from None
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {number}: not JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}, line {number}: expected a JSON object")
        missing = [name for name in REQUIRED if name not in data]
        if missing:
            raise ValueError(f"{path}, line {number}: missing {', '.join(missing)}")
        if not isinstance(data["special_groups"], list):
            raise ValueError(f"{path}, line {number}: special_groups must be a list")
        lines.append(
            EvalLine(
                str(data.get("id", number)), data["text"], data["kind"], data["category"],
                data["urgency"], list(data["special_groups"]), data["language"],
                data.get("district"), data.get("street"),
            )
        )
    if not lines:
        raise ValueError(f"{path}: no labelled lines")
    return lines


def evaluate(lines: list[EvalLine], triager: Triager, places: bool = True) -> dict:
    """The metrics of formats.md §2 (plus a few extra fields) for ``triager`` on ``lines``."""
    texts = [line.text for line in lines]
    triager.classify("预热")  # one-time loading (segmenter, caches) is not classification speed
    started = time.perf_counter()
    results = triager.classify_many(texts)
    elapsed = time.perf_counter() - started
    report: dict = {"n": len(lines)}
    for name in ("category", "kind", "urgency"):
        gold = [getattr(line, name) for line in lines]
        predicted = [getattr(result, name).value for result in results]
        report[name] = single_label_metrics(gold, predicted)
    report["special_groups"] = multi_label_metrics(
        [line.special_groups for line in lines], [result.special_groups for result in results]
    )
    report["language"] = {
        "accuracy": _ratio(sum(r.language == line.language for r, line in zip(results, lines, strict=True)), len(lines))
    }
    if places:
        report.update(place_metrics(lines))
    report["texts_per_second"] = round(len(lines) / elapsed, 1) if elapsed > 0 else 0.0
    report["needs_confirmation"] = _ratio(sum(r.needs_confirmation for r in results), len(lines))
    report["model_version"] = triager.model_version
    return report


def single_label_metrics(gold: list[str], predicted: list[str]) -> dict:
    labels = sorted(set(gold) | set(predicted))
    per_label = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        predicted_count = sum(p == label for p in predicted)
        support = sum(g == label for g in gold)
        per_label[label] = _prf(tp, predicted_count, support)
    scored = [per_label[label]["f1"] for label in labels]
    return {
        "accuracy": _ratio(sum(g == p for g, p in zip(gold, predicted, strict=True)), len(gold)),
        "macro_f1": round(sum(scored) / len(scored), 4) if scored else 0.0,
        "per_label": per_label,
    }


def multi_label_metrics(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    tp = sum(len(set(g) & set(p)) for g, p in zip(gold, predicted, strict=True))
    result = _prf(tp, sum(len(set(p)) for p in predicted), sum(len(set(g)) for g in gold))
    labels = sorted({label for groups in gold + predicted for label in groups})
    per_label = {}
    for label in labels:
        hits = sum(label in g and label in p for g, p in zip(gold, predicted, strict=True))
        per_label[label] = _prf(hits, sum(label in p for p in predicted), sum(label in g for g in gold))
    return {
        "micro_f1": result["f1"], "precision": result["precision"], "recall": result["recall"],
        "per_label": per_label,
    }


def place_metrics(lines: list[EvalLine]) -> dict:
    try:
        from cityline.geo import parse_address
    except ImportError:
        parse_address = None
    places = [parse_address(line.text) if parse_address else None for line in lines]
    report = {}
    for name in ("district", "street"):
        labelled = [(line, place) for line, place in zip(lines, places, strict=True) if getattr(line, name)]
        correct = sum(place is not None and getattr(place, name) == getattr(line, name) for line, place in labelled)
        report[name] = {"accuracy": _ratio(correct, len(labelled)), "n": len(labelled)}
        if parse_address is None:
            report[name]["note"] = "cityline.geo is not installed: every place counted as null"
    return report


def _prf(tp: int, predicted: int, support: int) -> dict:
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": support}


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def errors(lines: Iterable[EvalLine], triager: Triager, field: str) -> list[tuple[str, str, str]]:
    """(text, gold, predicted) for the lines where ``field`` is wrong: for looking at mistakes."""
    wrong = []
    for line in lines:
        result = triager.classify(line.text)
        predicted = result.special_groups if field == "special_groups" else getattr(result, field).value
        gold = getattr(line, field)
        if predicted != gold and not (field == "special_groups" and set(predicted) == set(gold)):
            wrong.append((line.text, str(gold), str(predicted)))
    return wrong

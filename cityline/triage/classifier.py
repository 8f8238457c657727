"""Triage of one order: kind, category, urgency, special groups and language, with reasons.

The lexicon rules answer from the first day; a trained model (the one learnt
from the shipped seed history, or the centre's own) is blended in field by
field with the weights of a ``Blend``, tuned by cross-validation. The model
reads the lexicon's calls as features too, so it carries most of the weight.
Every field carries a confidence and the words that drove it; with a trained model the
confidence is calibrated (``calibration.py``: the share of such calls that were right in
cross-validation), and a field below the threshold asks the operator to confirm.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from cityline.taxonomy import Taxonomy, load_taxonomy
from cityline.triage import rules
from cityline.triage.calibration import SHIPPED, Calibration
from cityline.triage.language import detect_language
from cityline.triage.lexicon import Lexicon, load_lexicon
from cityline.triage.model import GROUPS, ModelReading, TrainedModel

# Below this confidence a field asks the operator to confirm. With a trained model it is a
# calibrated probability: the field is right less than seven times in ten (triage/README.md).
DEFAULT_THRESHOLD = 0.7
GROUP_AT = 0.5


@dataclass(frozen=True)
class Blend:
    """How much say a trained model has beside the lexicon, field by field.

    A weight is the model's share of the blended probabilities (0: the lexicon
    alone, 1: the model alone). ``urgent_at`` is the blended probability of
    "urgent" from which an order is urgent: urgent recall matters most, so an
    order is urgent well before urgent is the likeliest level.
    """

    category: float
    kind: float
    urgency: float
    groups: float
    urgent_at: float

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"blend {name} must be between 0 and 1, got {value}")


# The lexicon alone (no trained model).
RULES_ONLY = Blend(category=0.0, kind=0.0, urgency=0.0, groups=0.0, urgent_at=0.35)
# A model trained on guideline-consistent history (the shipped seed and the centre's own
# orders): tuned by cross-validation on the shipped history (triage/README.md).
TRAINED = Blend(category=0.85, kind=0.8, urgency=0.8, groups=0.3, urgent_at=0.22)


@dataclass(frozen=True)
class FieldPrediction:
    value: str
    confidence: float
    evidence: list[str] = field(default_factory=list)  # the words that drove it

    def as_dict(self) -> dict:
        return {"value": self.value, "confidence": round(self.confidence, 3), "evidence": self.evidence}


@dataclass(frozen=True)
class TriageResult:
    kind: FieldPrediction
    category: FieldPrediction
    urgency: FieldPrediction
    special_groups: list[str]
    special_group_evidence: dict[str, list[str]]
    language: str
    needs_confirmation: bool  # any field below its confidence threshold
    model_version: str  # "rules" or e.g. "model-3"

    def as_dict(self) -> dict:
        """JSON-ready, for the API and the order's event log."""
        return {
            "kind": self.kind.as_dict(),
            "category": self.category.as_dict(),
            "urgency": self.urgency.as_dict(),
            "special_groups": list(self.special_groups),
            "special_group_evidence": {k: list(v) for k, v in self.special_group_evidence.items()},
            "language": self.language,
            "needs_confirmation": self.needs_confirmation,
            "model_version": self.model_version,
        }


class Triager:
    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        model: TrainedModel | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        model_version: str | None = None,
        lexicon: Lexicon | None = None,
        blend: Blend | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        """``calibration`` maps a trained model's raw confidences to calibrated ones (the shipped
        curves by default; ``Calibration({})`` keeps them raw); the lexicon alone is never calibrated."""
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self.taxonomy = taxonomy or load_taxonomy()
        self.model = model
        self.threshold = threshold
        self.lexicon = lexicon or load_lexicon()
        self.model_version = model_version or ("rules" if model is None else "model")
        self.blend = RULES_ONLY if model is None else (blend or TRAINED)
        self.calibration = Calibration({}) if model is None else (calibration or SHIPPED)
        self._codes = {
            name: self.taxonomy.codes(name) for name in ("kind", "category", "urgency", "special_group")
        }

    def classify(self, text: str, language: str | None = None) -> TriageResult:
        return self._classify_all([text], language)[0]

    def classify_many(self, texts: Sequence[str], language: str | None = None) -> list[TriageResult]:
        """``classify`` for many texts (of one given language, or each detected), the model's
        arithmetic done once for all: about twice as fast per text as one at a time."""
        return self._classify_all(texts, language)

    def explanations(self, texts: Sequence[str], language: str | None = None) -> list[dict]:
        """``[result.as_dict() for result in classify_many(texts, language)]``, built straight from
        the decisions (what intake keeps and an import stores: no result objects made only to be
        turned into dictionaries)."""
        for text in texts:
            _check_text(text)
        with no_cycle_collection():
            return [self._explanation(case) for case in self._decided(texts, language)]

    def _classify_all(self, texts: Sequence[str], language: str | None) -> list[TriageResult]:
        """Read every text, decide every field, then explain all in one go (numpy, once)."""
        for text in texts:
            _check_text(text)
        with no_cycle_collection():
            return [self._result(case) for case in self._decided(texts, language)]

    def _decided(self, texts: Sequence[str], language: str | None) -> list[_Case]:
        readings = [rules.read_text(text, self.lexicon) for text in texts]
        if self.model is None:
            seen: list[ModelReading | None] = [None] * len(texts)
        else:
            seen = list(self.model.read_many(texts, readings))
        cases = [
            self._decide(_Case(text, reading, model_reading, self.blend), language)
            for text, reading, model_reading in zip(texts, readings, seen, strict=True)
        ]
        if self.model is not None:
            _explain(self.model, cases)
        return cases

    def _decide(self, case: _Case, language: str | None) -> _Case:
        reading = case.reading
        case.language = language or detect_language(case.text)
        case.category = self._pick("category", rules.category_probabilities(reading, self._codes["category"]), case)
        case.kind = self._pick("kind", rules.kind_probabilities(reading, case.category[0], self._codes["kind"]), case)
        case.groups = self._groups(case, case.language, case.kind[0])
        case.urgency = self._urgency(case, case.category[0], case.kind[0], case.groups)
        return case

    def _result(self, case: _Case) -> TriageResult:
        kind, category, urgency, group_evidence, low = self._outcome(case)
        return TriageResult(
            FieldPrediction(*kind), FieldPrediction(*category), FieldPrediction(*urgency),
            case.groups, group_evidence, case.language, low, self.model_version,
        )

    def _explanation(self, case: _Case) -> dict:
        """``self._result(case).as_dict()``, without the objects."""
        kind, category, urgency, group_evidence, low = self._outcome(case)
        return {
            "kind": {"value": kind[0], "confidence": round(kind[1], 3), "evidence": kind[2]},
            "category": {"value": category[0], "confidence": round(category[1], 3), "evidence": category[2]},
            "urgency": {"value": urgency[0], "confidence": round(urgency[1], 3), "evidence": urgency[2]},
            "special_groups": list(case.groups),
            "special_group_evidence": group_evidence,
            "language": case.language,
            "needs_confirmation": low,
            "model_version": self.model_version,
        }

    def _outcome(self, case: _Case) -> tuple[tuple[str, float, list[str]], tuple[str, float, list[str]],
                                             tuple[str, float, list[str]], dict[str, list[str]], bool]:
        """(value, calibrated confidence, evidence) of the kind, category and urgency, the evidence
        of each special group, and whether a field is below the threshold."""
        calibrated = self.calibration
        kind_value, category_value, urgency_value = case.kind[0], case.category[0], case.urgency[0]
        kind = (kind_value, calibrated("kind", case.kind[1]), case.evidence("kind", kind_value))
        category = (category_value, calibrated("category", case.category[1]),
                    case.evidence("category", category_value))
        urgency_evidence = case.evidence("urgency", urgency_value)
        if urgency_value != "urgent" and not urgency_evidence:
            # Not urgent for want of danger words: the reason is the category and the kind.
            urgency_evidence = [category_value, kind_value]
        urgency = (urgency_value, calibrated("urgency", case.urgency[1]), urgency_evidence)
        language = case.language
        group_evidence = {group: case.evidence(GROUPS, group) for group in case.groups}
        if language != "zh" and group_evidence.get("foreigner") == []:
            group_evidence["foreigner"] = [f"language:{language}"]
        low = min(kind[1], category[1], urgency[1]) < self.threshold
        return kind, category, urgency, group_evidence, low

    def _pick(self, name: str, from_rules: dict[str, float], case: _Case) -> tuple[str, float]:
        blended = case.blend(name, from_rules)
        value = max(blended, key=blended.__getitem__)
        learnt = case.learnt.get(name)
        if learnt and blended is not from_rules:
            rules_value, learnt_value = from_rules[value], learnt.get(value, 0.0)
            if rules_value >= 0.5 and learnt_value >= 0.5:
                # Lexicon and history both make it their likeliest label by a majority:
                # as sure as the surer of the two.
                return value, max(rules_value, learnt_value)
        return value, blended[value]

    def _urgency(self, case: _Case, category: str, kind: str, groups: list[str]) -> tuple[str, float]:
        from_rules = rules.urgency_probabilities(case.reading, category, kind, groups)
        blended = case.blend("urgency", from_rules)
        keep = rules.urgency_discount(case.text.lower(), kind)
        if keep < 1.0:  # what urgent gives up goes to the other levels in proportion
            others = max(1.0 - blended["urgent"], 1e-9)
            lost = blended["urgent"] * (1.0 - keep)
            blended = {label: p * keep if label == "urgent" else p * (1.0 + lost / others)
                       for label, p in blended.items()}
        urgent, urgent_at = blended["urgent"], self.blend.urgent_at
        if urgent >= urgent_at:
            # An early call on purpose: confident only once urgent is also the likeliest level.
            return "urgent", urgent if urgent >= 0.5 else urgent / (2 * urgent_at)
        rest = {label: p for label, p in blended.items() if label != "urgent"}
        value = max(rest, key=rest.__getitem__)
        return value, blended[value] / max(sum(rest.values()), 1e-9) * (1.0 - urgent)

    def _groups(self, case: _Case, language: str, kind: str) -> list[str]:
        from_rules = rules.group_probabilities(case.reading, language, self._codes["special_group"], kind)
        blended = case.blend(GROUPS, from_rules)
        return [group for group in self._codes["special_group"] if blended[group] >= GROUP_AT]


class _Case:
    """One text being classified: its readings (lexicon, model) and the fields decided so far."""

    def __init__(self, text: str, reading: rules.Reading, seen: ModelReading | None, blend: Blend) -> None:
        self.text = text
        self.reading = reading
        self.seen = seen
        self.weights = blend
        self.learnt = seen.chances if seen is not None else {}
        self.learnt_words: dict[tuple[str, str], list[str]] = {}
        self.language = "zh"
        self.category = self.kind = self.urgency = ("", 0.0)
        self.groups: list[str] = []

    def blend(self, name: str, from_rules: dict[str, float]) -> dict[str, float]:
        learnt = self.learnt.get(name)
        if not learnt:
            return from_rules
        weight = getattr(self.weights, "groups" if name == GROUPS else name)
        if weight == 0.0:
            return from_rules
        keep = 1.0 - weight
        try:
            return {label: keep * p + weight * learnt[label] for label, p in from_rules.items()}
        except KeyError:  # a model from before a label was added to the taxonomy
            return {label: keep * p + weight * learnt.get(label, 0.0) for label, p in from_rules.items()}

    def silent(self) -> list[tuple[str, str]]:
        """The chosen labels the lexicon heard no word for: the model's words explain them.
        (Urgency short of urgent is explained by the category and kind instead.)"""
        wanted = [("category", self.category[0]), ("kind", self.kind[0])]
        if self.urgency[0] == "urgent":
            wanted.append(("urgency", "urgent"))
        wanted += [(GROUPS, group) for group in self.groups]
        fields = self.reading.fields
        return [
            (name, value)
            for name, value in wanted
            if not fields["special_group" if name == GROUPS else name].evidence.get(value)
        ]

    def evidence(self, name: str, value: str) -> list[str]:
        field_name = "special_group" if name == GROUPS else name
        words = list(self.reading.fields[field_name].evidence.get(value, []))
        words += [word for word in self.learnt_words.get((name, value), []) if word not in words]
        return words[:6]


def _explain(model: TrainedModel, cases: list[_Case]) -> None:
    """The model's words for every case's silent labels, found for all cases at once."""
    requests = [(number, name, value) for number, case in enumerate(cases) for name, value in case.silent()]
    if not requests:
        return
    found = model.explain_batch([case.seen for case in cases], requests)
    for (number, name, value), words in zip(requests, found, strict=True):
        cases[number].learnt_words[(name, value)] = words


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """For work that makes many small objects and no reference cycles (classifying, an import's
    building of rows): the cycle collector would only rescan the lexicon and the model again and
    again (about a seventh of classifying's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")

"""A trained triage model: logistic regression over words and character pairs.

``train`` is pure (labelled texts in, model out). The features are the text's
words and character pairs and the lexicon's reading of it (features.py). One weight matrix holds every
field's columns, so classifying a text is one gather and one sum. Kind,
category and urgency are softmax heads (one label each); special groups is a
head of independent yes/no outputs. The model is stored as bytes (numpy's npz
with a JSON header; no pickle), so a database row can hold it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from cityline.taxonomy import Taxonomy, load_taxonomy
from cityline.triage.features import SIGNAL, FeatureFinder, candidate_features
from cityline.triage.fitting import DTYPE, SparseRows, fit
from cityline.triage.lexicon import Lexicon, load_lexicon
from cityline.triage.reference import ReferenceText, reference_texts
from cityline.triage.rules import Reading, read_text

SINGLE_LABEL_FIELDS = ("kind", "category", "urgency")
GROUPS = "special_groups"
FORMAT = "cityline-triage-model/1"
_BIAS = "<bias>"
DEFAULT_EPOCHS = 60
_TEXTS_PER_STEP = 64
# How much rarer labels weigh in a field's loss: (label count)^-power. The history has few
# praise, suggestions and tip-offs (5 % each) against help and consultations (30 % each);
# callers outside it write them far more often (triage/README.md, "Kinds").
BALANCE = {"kind": 0.5}


@dataclass(frozen=True)
class LabelledText:
    """One order's text with the labels an operator gave it (None: not labelled)."""

    text: str
    kind: str | None = None
    category: str | None = None
    urgency: str | None = None
    special_groups: tuple[str, ...] | None = ()
    language: str | None = None
    weight: float = 1.0  # its share in each field's loss, an order's being 1 (reference.py's texts)


@dataclass(frozen=True)
class ModelReading:
    """One text as the model sees it."""

    ids: np.ndarray  # feature ids (0 is the bias)
    chances: dict[str, dict[str, float]]  # field -> label -> probability


@dataclass(frozen=True)
class _Layout:
    """Where each field's columns are, for turning logits into probabilities in a few numpy steps."""

    starts: np.ndarray
    head_of_column: np.ndarray
    is_group: np.ndarray
    heads: list[tuple[str, list[str], int, int]]


@dataclass
class TrainedModel:
    vocabulary: dict[str, int]
    heads: dict[str, list[str]]  # field -> its labels, in column order
    weights: np.ndarray  # (features, all columns) float32
    bias: np.ndarray  # (all columns,)
    trained_on: int
    meta: dict = field(default_factory=dict)

    @cached_property
    def _columns(self) -> dict[str, tuple[int, int]]:
        spans, start = {}, 0
        for name, labels in self.heads.items():
            spans[name] = (start, start + len(labels))
            start += len(labels)
        return spans

    def feature_ids(self, text: str, reading: Reading | None = None) -> np.ndarray:
        """The ids of the text's known features; ``reading`` is the lexicon's reading of the
        text (read with the shipped lexicon when not given)."""
        return np.array(self._known_ids(text, reading), dtype=np.int64)

    def _known_ids(self, text: str, reading: Reading | None) -> list[int]:
        if reading is None:
            reading = read_text(text, load_lexicon())
        ids = self._finder.ids(text, reading)
        ids.discard(None)
        ids.add(0)  # the bias feature
        return list(ids)

    def read(self, text: str, reading: Reading | None = None) -> ModelReading:
        """The text's features and the probabilities per field and label."""
        return self.read_many([text], None if reading is None else [reading])[0]

    def read_many(
        self, texts: Sequence[str], readings: Sequence[Reading] | None = None
    ) -> list[ModelReading]:
        """``read`` for many texts, with the arithmetic done once for all of them."""
        if not texts:
            return []
        if readings is None:
            lexicon = load_lexicon()
            readings = [read_text(text, lexicon) for text in texts]
        flat, lengths = self._finder.ids_many(texts, readings)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        summed = self._summed_rows(flat, starts, ends)
        logits = summed * (1.0 / np.sqrt(lengths))[:, None] + self.bias
        layout = self._layout
        # Clipped, so every softmax is exact enough without shifting by its maximum.
        exps = np.exp(np.minimum(logits, 30.0))
        totals = np.add.reduceat(exps, layout.starts, axis=1)[:, layout.head_of_column]
        values = np.where(layout.is_group, exps / (1.0 + exps), exps / totals).tolist()
        heads = layout.heads
        return [
            ModelReading(
                flat[first:last],
                {name: dict(zip(labels, row[start:stop], strict=True)) for name, labels, start, stop in heads},
            )
            for first, last, row in zip(starts.tolist(), ends.tolist(), values, strict=True)
        ]

    def _summed_rows(self, flat: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Per text, the sum of its features' weight rows; a few dozen texts at a time, so the
        gathered rows stay in the processor's cache (several times faster than all at once)."""
        summed = np.empty((len(starts), self.weights.shape[1]), dtype=self.weights.dtype)
        for first in range(0, len(starts), _TEXTS_PER_STEP):
            last = min(first + _TEXTS_PER_STEP, len(starts))
            low, high = starts[first], ends[last - 1]
            summed[first:last] = np.add.reduceat(self.weights[flat[low:high]], starts[first:last] - low, axis=0)
        return summed

    @cached_property
    def _layout(self) -> _Layout:
        starts, head_of_column, is_group, heads = [], [], [], []
        for number, (name, (start, stop)) in enumerate(self._columns.items()):
            starts.append(start)
            head_of_column += [number] * (stop - start)
            is_group += [name == GROUPS] * (stop - start)
            heads.append((name, self.heads[name], start, stop))
        return _Layout(np.array(starts), np.array(head_of_column), np.array(is_group), heads)

    def probabilities(self, ids: np.ndarray) -> dict[str, dict[str, float]]:
        """Probabilities per field and label for a text's feature ids."""
        return self._reading(ids).chances

    def explain(self, ids: np.ndarray, name: str, label: str, limit: int = 3) -> list[str]:
        """The words of the text that pushed ``label`` of field ``name`` up the most."""
        return self.explain_many(self._reading(ids), [(name, label)], limit)[(name, label)]

    def explain_many(self, reading: ModelReading, wanted: list[tuple[str, str]], limit: int = 3):
        """For each (field, label): the text's words that pushed that label up the most."""
        found = self.explain_batch([reading], [(0, name, label) for name, label in wanted], limit)
        return dict(zip(wanted, found, strict=True))

    def explain_batch(
        self, readings: Sequence[ModelReading], requests: Sequence[tuple[int, str, str]], limit: int = 3
    ) -> list[list[str]]:
        """For each request (text number in ``readings``, field, label): the words of that text
        that pushed the label up the most, all found in a few numpy steps."""
        result: list[list[str]] = [[] for _ in requests]
        known = [
            (slot, number, self._columns[name][0] + self.heads[name].index(label))
            for slot, (number, name, label) in enumerate(requests)
            if label in self.heads.get(name, ())
        ]
        if not known:
            return result
        slots, numbers, columns = zip(*known, strict=True)
        ids = [readings[number].ids for number in numbers]
        lengths = np.array([len(text_ids) for text_ids in ids])
        width = int(lengths.max())
        valid = np.arange(width) < lengths[:, None]
        # One row per request: the text's feature ids, padded to the longest text.
        positions = np.where(valid, (np.cumsum(lengths) - lengths)[:, None] + np.arange(width), 0)
        features = np.concatenate(ids)[positions]
        values = self._word_weights[features, np.array(columns)[:, None]]
        values[~valid] = -np.inf
        # Stable: words of equal weight (e.g. 派出所 and 出所, always seen together) keep the order
        # of the text's feature ids whatever width the batch's longest text pads the rows to, so a
        # text is explained the same alone and in any batch.
        top = np.argsort(-values, axis=1, kind="stable")[:, :limit]
        top_values = np.take_along_axis(values, top, axis=1).tolist()
        top_features = np.take_along_axis(features, top, axis=1).tolist()
        names = self.feature_names
        for slot, feature_ids, feature_values in zip(slots, top_features, top_values, strict=True):
            result[slot] = [names[i] for i, value in zip(feature_ids, feature_values, strict=True) if value > 0.05]
        return result

    @cached_property
    def _word_weights(self) -> np.ndarray:
        """The weights, with minus infinity where a feature cannot explain to a person: the
        bias, the lexicon's signals, single characters ("里", "，")."""
        weights = self.weights.copy()
        weights[~self._explains] = -np.inf
        return weights

    @cached_property
    def _finder(self) -> FeatureFinder:
        return FeatureFinder(self.vocabulary)

    @cached_property
    def _explains(self) -> np.ndarray:
        return np.array(
            [index != 0 and len(name) > 1 and not name.startswith(SIGNAL) for index, name in enumerate(self.feature_names)]
        )

    def _reading(self, ids: np.ndarray) -> ModelReading:
        rows = self.weights[ids]
        reading = ModelReading(ids, {})
        logits = rows.sum(axis=0) * (1.0 / math.sqrt(len(ids))) + self.bias
        for name, (start, stop) in self._columns.items():
            values = logits[start:stop]
            if name == GROUPS:
                chances = 1.0 / (1.0 + np.exp(-values))
            else:
                exp = np.exp(values - values.max())
                chances = exp / exp.sum()
            reading.chances[name] = dict(zip(self.heads[name], chances.tolist(), strict=True))
        return reading

    @cached_property
    def feature_names(self) -> list[str]:
        names = [""] * len(self.vocabulary)
        for name, index in self.vocabulary.items():
            names[index] = name
        return names

    def to_bytes(self) -> bytes:
        header = {
            "format": FORMAT,
            "vocabulary": self.feature_names,
            "heads": self.heads,
            "trained_on": self.trained_on,
            "meta": self.meta,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8),
            weights=self.weights,
            bias=self.bias,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> TrainedModel:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
                header = json.loads(arrays["header"].tobytes().decode())
                weights, bias = arrays["weights"], arrays["bias"]
        except (ValueError, KeyError, OSError) as error:
            raise ValueError(f"not a stored triage model: {error}") from None
        if header.get("format") != FORMAT:
            raise ValueError(f"unsupported triage model format {header.get('format')!r}")
        vocabulary = {name: index for index, name in enumerate(header["vocabulary"])}
        return cls(vocabulary, header["heads"], weights, bias, header["trained_on"], header["meta"])


def train(
    records: Iterable[LabelledText],
    taxonomy: Taxonomy | None = None,
    epochs: int = DEFAULT_EPOCHS,
    lexicon: Lexicon | None = None,
    reference: Sequence[ReferenceText] | None = None,
) -> TrainedModel:
    """Fit a model on labelled texts; labels outside the taxonomy are refused.

    ``lexicon`` reads the texts for the lexicon features (the shipped lexicon by
    default); classify with a Triager using the same lexicon. ``reference`` is weakly
    labelled text learnt beside the orders (by default the knowledge articles' and the
    taxonomy's texts for each category, ``reference.py``; ``()`` for none).
    """
    taxonomy = taxonomy or load_taxonomy()
    lexicon = lexicon or load_lexicon()
    records = [record for record in records if record.text and record.text.strip()]
    if not records:
        raise ValueError("no labelled orders to train on")
    _check_labels(records, taxonomy)
    trained_on = len(records)
    if reference is None:
        reference = reference_texts(taxonomy)
    records += [LabelledText(r.text, category=r.category, special_groups=None, weight=r.weight) for r in reference]
    readings = [read_text(record.text, lexicon) for record in records]
    vocabulary = _vocabulary([candidate_features(r.text, reading) for r, reading in zip(records, readings, strict=True)])
    # The model learns from the features it will find when classifying.
    finder = FeatureFinder(vocabulary)
    heads = {name: taxonomy.codes(name) for name in SINGLE_LABEL_FIELDS}
    heads[GROUPS] = taxonomy.codes("special_group")
    rows = [sorted((finder.ids(r.text, reading) - {None}) | {0}) for r, reading in zip(records, readings, strict=True)]
    record_weights = np.array([record.weight for record in records])
    matrix = SparseRows.build(rows, len(vocabulary))
    parts, targets, use = [], [], []
    for name, labels in heads.items():
        field_targets, mask = _targets(records, name, labels)
        targets.append(field_targets)
        # Each field's loss is an average over the documents that carry its label.
        share = mask * _balance(field_targets, mask, BALANCE.get(name, 0.0)) * record_weights
        use.append(np.repeat((share / max(share.sum(), 1e-9))[:, None], len(labels), axis=1))
        if name != GROUPS:
            start = sum(t.shape[1] for t in targets[:-1])
            parts.append(slice(start, start + len(labels)))
    weights, bias = fit(
        matrix, np.hstack(targets).astype(DTYPE), np.hstack(use).astype(DTYPE), parts, epochs
    )
    meta = {"taxonomy_version": taxonomy.version, "epochs": epochs}
    return TrainedModel(vocabulary, heads, weights, bias, trained_on, meta)


def _balance(targets: np.ndarray, mask: np.ndarray, power: float) -> np.ndarray:
    """Per document, the weight of its label in the loss: (how often the label occurs)^-power,
    1 for every document when power is 0."""
    if not power:
        return mask.astype(float)
    counts = targets[mask].sum(axis=0)
    per_label = np.where(counts > 0, np.maximum(counts, 1.0) ** -power, 0.0)
    weights = targets @ per_label
    return np.where(mask, weights, 0.0)


def _check_labels(records: list[LabelledText], taxonomy: Taxonomy) -> None:
    for number, record in enumerate(records, start=1):
        try:
            for name in SINGLE_LABEL_FIELDS:
                value = getattr(record, name)
                if value is not None:
                    taxonomy.check(name, value)
            for group in record.special_groups or ():
                taxonomy.check("special_group", group)
        except ValueError as error:
            raise ValueError(f"training record {number}: {error}") from None


def _vocabulary(documents: list[set[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for document in documents:
        for name in document:
            counts[name] = counts.get(name, 0) + 1
    least = 2 if len(documents) >= 200 else 1  # a word seen once in a big history is noise
    kept = sorted(name for name, count in counts.items() if count >= least)
    return {name: index for index, name in enumerate([_BIAS, *kept])}


def _targets(records: list[LabelledText], name: str, labels: list[str]):
    targets = np.zeros((len(records), len(labels)))
    mask = np.zeros(len(records), dtype=bool)
    index = {label: i for i, label in enumerate(labels)}
    for row, record in enumerate(records):
        if name == GROUPS:
            if record.special_groups is None:
                continue
            for group in record.special_groups:
                targets[row, index[group]] = 1.0
            mask[row] = True
        elif (value := getattr(record, name)) is not None:
            targets[row, index[value]] = 1.0
            mask[row] = True
    return targets, mask

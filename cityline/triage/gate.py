"""The quality gate: a newly trained triage model takes over only if it triages as well as the one in use.

Both models classify the same **held-back orders**: a fifth of the shipped,
guideline-labelled history (``history.shipped_records``), drawn with a fixed
seed (:func:`held_back`), the draw ``cityline demo`` has always judged on.
Those orders are never learnt from: :func:`train_behind_gate` drops every
training record whose text is one of them, whatever the caller passed.

The rule (:func:`decide`, pure): the new model becomes active when, on the
held-back orders, its **urgent recall** and its **category macro-F1** are each
at least the active model's (as ``evaluation.evaluate`` reports them, to four
decimals). Either figure lower and it is stored inactive, for a person to
look at (``cityline triage activate N``) — or activated regardless with
``force``. With no trained model active yet, the new one is measured against
the lexicon alone (the rules-only triager): the shipped model that answers in
that case learnt from the held-back orders, so its figures on them would
flatter it.

``cityline triage train`` and ``cityline demo`` both train through
:func:`train_behind_gate`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction
from cityline.triage.model import LabelledText

if TYPE_CHECKING:
    from cityline.triage.classifier import Triager

HELD_BACK_SEED = 1
LEARN_SHARE = 0.8  # the rest of the shuffled shipped history is held back
RULES_ONLY = "the lexicon alone"  # the rules-only triager


# --- pure ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scores:
    """The figures the gate decides on."""

    urgent_recall: float | None  # None when the held-back orders hold no urgent one
    category_macro_f1: float

    @classmethod
    def of(cls, report: dict) -> Scores:
        """From an ``evaluation.evaluate`` report."""
        urgent = report["urgency"]["per_label"].get("urgent")
        recall = urgent["recall"] if urgent and urgent["support"] else None
        return cls(urgent_recall=recall, category_macro_f1=report["category"]["macro_f1"])


# Printed and compared in this order: a missed emergency costs most.
FIGURES = (("urgent_recall", "urgent recall"), ("category_macro_f1", "category macro-F1"))


@dataclass(frozen=True)
class Verdict:
    activate: bool
    reason: str
    forced: bool = False


def decide(candidate: Scores, incumbent: Scores, incumbent_name: str, *, force: bool = False) -> Verdict:
    """Whether the candidate takes over from ``incumbent``: at least as good on every figure both have."""
    compared, worse = [], []
    for name, label in FIGURES:
        new, old = getattr(candidate, name), getattr(incumbent, name)
        if new is None or old is None:
            continue
        sign = "≥" if new >= old else "<"
        compared.append(f"{label} {new:.4f} {sign} {old:.4f}")
        if new < old:
            worse.append(label)
    figures = ", ".join(compared)
    if not compared:
        verdict = Verdict(False, f"no figure to compare with {incumbent_name}")
    elif worse:
        verdict = Verdict(False, f"worse than {incumbent_name} on {' and '.join(worse)} ({figures})")
    else:
        verdict = Verdict(True, f"at least as good as {incumbent_name} ({figures})")
    if force and not verdict.activate:
        return Verdict(True, f"forced although {verdict.reason}", forced=True)
    return verdict


def held_back(shipped: Sequence[LabelledText]) -> list[LabelledText]:
    """The orders both models are judged on: the shipped history shuffled with a fixed seed, its last fifth."""
    shuffled = list(shipped)
    random.Random(HELD_BACK_SEED).shuffle(shuffled)
    return shuffled[int(len(shuffled) * LEARN_SHARE):]


def learnable(records: Iterable[LabelledText], judge: Iterable[LabelledText]) -> list[LabelledText]:
    """``records`` without any whose text is held back (the same text from the store or a file too)."""
    texts = {r.text for r in judge}
    return [r for r in records if r.text not in texts]


def as_eval_lines(records: Iterable[LabelledText]) -> list:
    from cityline.triage.evaluation import EvalLine

    return [EvalLine(str(i), r.text, r.kind, r.category, r.urgency, list(r.special_groups or ()),
                     r.language or "zh", None, None) for i, r in enumerate(records)]


# --- train, judge, store ------------------------------------------------------------------------

@dataclass
class GateOutcome:
    version: int  # the stored model-N
    active: bool
    verdict: Verdict
    candidate: Scores
    incumbent: Scores
    incumbent_name: str  # "model-3", or RULES_ONLY
    judged_on: int
    trained_on: int
    candidate_report: dict
    incumbent_report: dict
    report: dict | None = None  # the new model on ``report_on``

    def summary(self) -> str:
        state = "active" if self.active else "inactive"
        return f"model-{self.version} ({state}): {self.verdict.reason}"


def train_behind_gate(factory: sessionmaker[Session], records: Sequence[LabelledText],
                      judge: Sequence[LabelledText], *, force: bool = False, metrics: dict | None = None,
                      report_on: Sequence[LabelledText] = (),
                      measure: Callable[[Triager], dict] | None = None) -> GateOutcome:
    """Train on ``records`` (never on ``judge``), judge the new and the active model on ``judge``,
    store the new one — active only if :func:`decide` says so.

    ``report_on``: other labelled orders (not learnt from) the new model is also
    measured on; the report is stored with it but decides nothing. ``measure``: called
    with the new model's Triager before it is stored; what it returns is stored in its
    metrics too (the retrain's corrections report).

    Training takes seconds, so it happens outside any transaction: one short
    transaction reads the active model, another stores the new one. Should the
    active model change in between, the new one is stored inactive (its figures
    were compared with a model no longer in use) unless forced.
    """
    from cityline.triage.classifier import Triager
    from cityline.triage.evaluation import evaluate
    from cityline.triage.model import train
    from cityline.triage.service import active_triager, active_version, save_model

    learn = learnable(records, judge)
    model = train(learn)
    with transaction(factory) as session:
        row = active_version(session)
        before = row.version if row else None
        incumbent = active_triager(session) if row else Triager()
    incumbent_name = f"model-{before}" if before else RULES_ONLY
    lines = as_eval_lines(judge)
    candidate_report = incumbent_report = {}
    candidate = current = Scores(None, 0.0)
    if lines:
        candidate_report = evaluate(lines, Triager(model=model, model_version="new model"), places=False)
        incumbent_report = evaluate(lines, incumbent, places=False)
        candidate, current = Scores.of(candidate_report), Scores.of(incumbent_report)
        verdict = decide(candidate, current, incumbent_name, force=force)
    elif force:
        verdict = Verdict(True, "forced although there were no held-back orders to judge on", forced=True)
    else:
        verdict = Verdict(False, "no held-back orders to judge on")
    report = None
    if report_on:
        report = evaluate(as_eval_lines(report_on), Triager(model=model, model_version="new model"), places=False)
    measured = measure(Triager(model=model, model_version="new model")) if measure else {}
    with transaction(factory) as session:
        row = active_version(session)
        now = row.version if row else None
        if now != before and verdict.activate and not verdict.forced:
            verdict = Verdict(False, f"the active model changed while this one trained ({incumbent_name} → "
                                     f"model-{now}); train again to compare with it")
        gate = {"judged_on": len(lines), "candidate": asdict(candidate), "incumbent": incumbent_name,
                "incumbent_scores": asdict(current), "activated": verdict.activate, "forced": verdict.forced,
                "reason": verdict.reason}
        stored = save_model(session, model, {**(report or {}), **(metrics or {}), **measured, "trained_on": len(learn),
                                             "gate": gate}, active=verdict.activate)
        version = stored.version
    return GateOutcome(version, verdict.activate, verdict, candidate, current, incumbent_name, len(lines),
                       len(learn), candidate_report, incumbent_report, report)

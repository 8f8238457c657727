"""Triage at intake: the active classifier as the plain functions intake calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityline.triage.classifier import TriageResult

# classify_many(texts, language) -> one prediction per text, as ``Classify`` gives it
ClassifyMany = Callable[[Sequence[str], str | None], list[dict[str, Any]]]


class Triage:
    """The active classifier as intake calls it: ``triage(text, language)`` for one text (a
    ``Classify``), ``triage.many(texts, language)`` for a batch at once (a ``ClassifyMany``: the
    same predictions, the model's arithmetic done once per batch)."""

    def __init__(self, triager) -> None:
        self._triager = triager

    def __call__(self, text: str, language: str | None) -> dict[str, Any]:
        return _prediction(self._triager.classify(text, language))

    def many(self, texts: Sequence[str], language: str | None) -> list[dict[str, Any]]:
        return [_prediction(result) for result in self._triager.classify_many(texts, language)]


def classify_with(session: Session) -> Triage:
    """classify(text, language) with the active trained model, or the rules when none is trained."""
    from cityline.triage.service import active_triager

    return Triage(active_triager(session))


def classify_many_with(session: Session) -> ClassifyMany:
    """classify_many(texts, language): the same predictions for a batch of texts at once
    (bulk import, the batch intake)."""
    return classify_with(session).many


def _prediction(result: TriageResult) -> dict[str, Any]:
    """What intake keeps of a triage result."""
    return {
        "kind": result.kind.value,
        "category": result.category.value,
        "urgency": result.urgency.value,
        "special_groups": list(result.special_groups),
        "language": result.language,
        "needs_confirmation": result.needs_confirmation,
        # As the explanation shows it: the same three decimals decide auto-dispatch.
        "category_confidence": round(result.category.confidence, 3),
        "explanation": result.as_dict(),
    }

"""Triage at intake: the active classifier as the plain functions intake calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cityline.intake.service import Classify

if TYPE_CHECKING:
    from cityline.triage.classifier import TriageResult

# classify_many(texts, language) -> one prediction per text, as ``Classify`` gives it
ClassifyMany = Callable[[Sequence[str], str | None], list[dict[str, Any]]]


def classify_with(session: Session) -> Classify:
    """classify(text, language) with the active trained model, or the rules when none is trained."""
    from cityline.triage.service import active_triager

    triager = active_triager(session)

    def classify(text: str, language: str | None) -> dict[str, Any]:
        return _prediction(triager.classify(text, language))

    return classify


def classify_many_with(session: Session) -> ClassifyMany:
    """classify_many(texts, language): the same predictions for a batch of texts at once
    (bulk import), the model's arithmetic done once per batch."""
    from cityline.triage.service import active_triager

    triager = active_triager(session)

    def classify_many(texts: Sequence[str], language: str | None) -> list[dict[str, Any]]:
        return [_prediction(result) for result in triager.classify_many(texts, language)]

    return classify_many


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

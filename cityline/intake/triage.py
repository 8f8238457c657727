"""Triage at intake: the active classifier as the plain functions intake calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

# classify_many(texts, language) -> one prediction per text, as ``Classify`` gives it
ClassifyMany = Callable[[Sequence[str], str | None], list[dict[str, Any]]]


class Triage:
    """The active classifier as intake calls it: ``triage(text, language)`` for one text (a
    ``Classify``), ``triage.many(texts, language)`` for a batch at once (a ``ClassifyMany``: the
    same predictions, the model's arithmetic done once per batch)."""

    def __init__(self, triager) -> None:
        self._triager = triager

    def __call__(self, text: str, language: str | None) -> dict[str, Any]:
        return _prediction(self._triager.explanations([text], language)[0])

    def many(self, texts: Sequence[str], language: str | None) -> list[dict[str, Any]]:
        return [_prediction(explanation) for explanation in self._triager.explanations(texts, language)]


def classify_with(session: Session) -> Triage:
    """classify(text, language) with the active trained model, or the rules when none is trained."""
    from cityline.triage.service import active_triager

    return Triage(active_triager(session))


def classify_many_with(session: Session) -> ClassifyMany:
    """classify_many(texts, language): the same predictions for a batch of texts at once
    (bulk import, the batch intake)."""
    return classify_with(session).many


def _prediction(explanation: dict[str, Any]) -> dict[str, Any]:
    """What intake keeps of a triage result (its ``as_dict()``, the ``explanation``)."""
    return {
        "kind": explanation["kind"]["value"],
        "category": explanation["category"]["value"],
        "urgency": explanation["urgency"]["value"],
        "special_groups": list(explanation["special_groups"]),
        "language": explanation["language"],
        "needs_confirmation": explanation["needs_confirmation"],
        # As the explanation shows it: the same three decimals decide auto-dispatch.
        "category_confidence": explanation["category"]["confidence"],
        "explanation": explanation,
    }

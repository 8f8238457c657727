"""Triage at intake: the active classifier as the plain function intake calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityline.intake.service import Classify


def classify_with(session: Session) -> Classify:
    """classify(text, language) with the active trained model, or the rules when none is trained."""
    from cityline.triage.service import active_triager

    triager = active_triager(session)

    def classify(text: str, language: str | None) -> dict[str, Any]:
        result = triager.classify(text, language)
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

    return classify

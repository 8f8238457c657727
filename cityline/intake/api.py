"""HTTP for the operator's form: what cityline would decide for a call, before it is stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from cityline.db import transaction, utcnow
from cityline.intake.duplicates import find_duplicates
from cityline.intake.service import locate
from cityline.orders.models import Order
from cityline.routing.catalogue import suggest_units
from cityline.web_deps import Deps, deps

router = APIRouter(prefix="/api/intake", tags=["intake"])


class PreviewRequest(BaseModel):
    text: str = Field(min_length=1, max_length=20000)
    address: str | None = None
    caller_phone: str | None = None
    category: str | None = Field(None, description="the operator's choice, when made (else triage's)")


@router.post("/preview")
def preview(body: PreviewRequest, d: Annotated[Deps, Depends(deps)]) -> dict[str, Any]:
    """Triage, place, likely units, possible duplicates and knowledge-base answers for the text
    as typed so far. Nothing is stored."""
    from cityline.knowledge.search import suggest

    d.require("orders:create")
    with transaction(d.sessions) as session:
        classify = d.classify(session)
        triage = classify(body.text, None) if classify else None
        place = locate(body.address, body.text)
        category = body.category or (triage or {}).get("category")
        district, street = (place or {}).get("district"), (place or {}).get("street")
        draft = Order(text=body.text, received_at=utcnow(), category=category, district=district, street=street,
                      caller_phone_digest=d.vault.phone_digest(body.caller_phone) if body.caller_phone else None)
        return {
            "triage": triage,
            "place": place,
            "suggested_units": [c.__dict__ for c in suggest_units(session, category, district, street)],
            "duplicates": find_duplicates(session, draft),
            "knowledge": [s.__dict__ for s in suggest(session, body.text)],
        }

"""What crosses the API for inspection findings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from cityline.limits import RequestBody
from cityline.orders.schemas import OrderRead


class SiteRead(BaseModel):
    code: str
    name: str
    kind: str
    district: str | None
    street: str | None
    address: str | None
    unit: str | None = Field(description="the unit answerable for the site (None: the dispatch catalogue decides)")


class ProblemRead(BaseModel):
    code: str
    zh: str
    en: str
    category: str


class PhotoRead(BaseModel):
    id: int
    stage: str = Field(description="finding (the inspector's) or rectified (with the unit's reply)")
    media_type: str
    width: int
    height: int
    size: int
    uploaded_by: str
    uploaded_at: datetime
    url: str


class FindingRead(BaseModel):
    order: OrderRead
    site: SiteRead
    problem: ProblemRead
    method: str = Field(description="video (video patrol) or foot (on foot)")
    inspector: str
    found_at: datetime
    photos: list[PhotoRead]


class CheckRequest(RequestBody):
    """The inspector's check of the rectified site: put right (closed) or not (reopened)."""

    accepted: bool = Field(description="true: the site is put right and the order closes; false: back to the unit")
    note: str | None = Field(None, max_length=2000, description="what was seen; required when not accepted")


class TallyRead(BaseModel):
    code: str | None
    name: str | None
    findings: int
    open: int
    on_time: int
    late: int
    on_time_rate: float | None = Field(description="on time / (on time + late); None before any is judged")


class Tallies(BaseModel):
    by_site: list[TallyRead]
    by_unit: list[TallyRead]


class FindingItem(BaseModel):
    """A finding in a list: enough to see where it stands and open it."""

    number: str
    status: str
    site: str
    site_name: str
    problem: str
    method: str
    unit: str | None
    received_at: datetime
    resolve_by: datetime | None
    replied_at: datetime | None

"""What crosses the API for units."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UnitCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="centre, street_office or department")
    parent_code: str | None = None
    district: str | None = None
    street: str | None = None


class UnitRead(BaseModel):
    code: str
    name: str
    kind: str
    parent_code: str | None
    district: str | None
    street: str | None

"""What crosses the API for accounts and units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from cityline.privacy import mask_data, mask_text


class Login(BaseModel):
    username: str
    password: str


class Me(BaseModel):
    username: str
    roles: list[str]
    unit: str | None
    permissions: list[str]
    csrf_token: str | None = None


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=10)
    roles: list[str]
    unit: str | None = None
    display_name: str | None = None


class UserRead(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    unit: str | None
    active: bool
    last_login_at: datetime | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=2, max_length=100)
    roles: list[str]
    unit: str | None = None


class TokenRead(BaseModel):
    id: int
    name: str
    prefix: str
    roles: list[str]
    unit: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    token: str | None = Field(None, description="the token itself: shown only in the answer that creates it")


class AuditRead(BaseModel):
    at: datetime
    actor: str
    action: str
    target: str | None
    reason: str | None
    detail: dict[str, Any]

    # A reveal's reason is free text ("caller asked to be rung on 139…"): masked like an order's.
    @field_validator("reason")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        return mask_text(value) if value else value

    @field_validator("detail")
    @classmethod
    def _masked_detail(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_data(value)


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

"""What crosses the API for accounts and units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from cityline.limits import RequestBody
from cityline.privacy import mask_data, mask_text

# A role name; a user or token holds a few at most.
Role = Annotated[str, Field(max_length=32)]
Roles = Annotated[list[Role], Field(max_length=20)]


class Login(RequestBody):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Me(BaseModel):
    username: str
    roles: list[str]
    unit: str | None
    permissions: list[str]
    csrf_token: str | None = None


class UserCreate(RequestBody):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=10, max_length=1024)
    roles: Roles
    unit: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=100)


class UserUpdate(RequestBody):
    """What an administrator changes of a user; what is left out stays as it is."""

    roles: Roles | None = None
    unit: str | None = Field(None, max_length=64, description='a unit code; "" for no unit')
    display_name: str | None = Field(None, min_length=1, max_length=100)
    active: bool | None = Field(None, description="false: may no longer sign in (as /disable); true: may again")


class PasswordReset(RequestBody):
    password: str = Field(min_length=10, max_length=1024)


class UserRead(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    unit: str | None
    active: bool
    last_login_at: datetime | None


class TokenCreate(RequestBody):
    name: str = Field(min_length=2, max_length=100)
    roles: Roles
    unit: str | None = Field(None, max_length=64)


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


class UnitCreate(RequestBody):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(max_length=32, description="centre, street_office or department")
    parent_code: str | None = Field(None, max_length=64)
    district: str | None = Field(None, max_length=64)
    street: str | None = Field(None, max_length=64)


class UnitRead(BaseModel):
    code: str
    name: str
    kind: str
    parent_code: str | None
    district: str | None
    street: str | None
    active: bool = True


class UnitActive(RequestBody):
    active: bool

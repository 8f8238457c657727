"""What crosses the API for orders.

An order and its history go out masked: phone and ID numbers that callers put into
the text, the address, their name, a reply or an event's note and data are masked
when an ``OrderRead`` or ``EventRead`` is built (``privacy.mask_text``), whoever
builds it (API, console, CLI). The stored text stays whole; the audited reveal
(``POST /api/orders/{number}/reveal``) is the only way to the full numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cityline.limits import RequestBody
from cityline.privacy import mask_data, mask_name, mask_text

CHANNELS = ("phone", "web", "app", "email", "wechat", "tipoff", "transfer_110", "warning", "inspection")
Channel = Literal["phone", "web", "app", "email", "wechat", "tipoff", "transfer_110", "warning", "inspection"]


class OrderCreate(RequestBody):
    text: str = Field(min_length=1, max_length=20000, description="What the caller said / the operator recorded.")
    channel: Channel = "phone"
    received_at: datetime | None = Field(None, description="ISO 8601; without an offset it means Asia/Shanghai. Default: now.")
    external_id: str | None = Field(None, max_length=128, description="Id in the source system; creating twice returns the first.")
    caller_name: str | None = Field(None, max_length=100)
    caller_phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=500)
    district: str | None = Field(None, max_length=64)
    street: str | None = Field(None, max_length=64)
    lat: float | None = Field(None, ge=-90, le=90, description="WGS84 latitude, with lon (maps the order to its grid)")
    lon: float | None = Field(None, ge=-180, le=180)
    language: str | None = Field(None, max_length=8)
    kind: str | None = Field(None, max_length=32)
    category: str | None = Field(None, max_length=32)
    urgency: str | None = Field(None, max_length=16)
    special_groups: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=20)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value.strip()


class MoveRequest(RequestBody):
    """One step of the loop. Which fields are needed depends on the action."""

    action: str = Field(max_length=32, description="dispatch, redispatch, accept, return, pause, resume, extend, grant, refuse, milestone, reply, visit, close, reopen, answer, merge, cancel")
    unit: str | None = Field(None, max_length=64, description="unit code (dispatch, redispatch)")
    text: str | None = Field(None, max_length=20000, description="the unit's reply (reply) or the answer given (answer)")
    satisfaction: str | None = Field(None, max_length=16, description="satisfied, basic or unsatisfied (visit)")
    reason: str | None = Field(None, max_length=2000, description="why (return, pause, extend, refuse, cancel, reopen, close without visit)")
    into: str | None = Field(None, max_length=32, description="number of the order this one duplicates (merge)")
    article: str | None = Field(None, max_length=128, description="knowledge-base article the answer came from (answer)")
    article_version: int | None = Field(None, ge=1, le=1_000_000, description="version of that article (answer)")
    until: datetime | None = Field(None, description="the new deadline asked for (extend)")
    milestone: str | None = Field(None, max_length=32, description="the milestone of the order's hour chain recorded (milestone)")
    note: str | None = Field(None, max_length=2000)


class LabelsUpdate(RequestBody):
    """An operator's confirmation or correction of triage (only the given fields change)."""

    kind: str | None = Field(None, max_length=32)
    category: str | None = Field(None, max_length=32)
    urgency: str | None = Field(None, max_length=16)
    special_groups: list[Annotated[str, Field(max_length=32)]] | None = Field(None, max_length=20)
    language: str | None = Field(None, max_length=8)
    note: str | None = Field(None, max_length=2000)


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]
    note: str | None

    @field_validator("actor", "note")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        return mask_text(value) if value else value

    @field_validator("data")
    @classmethod
    def _masked_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_data(value)  # a copy: the stored event is not touched


class MilestoneRead(BaseModel):
    """One step of the order's hour chain (its SLA policy's milestones; a tracing order's)."""

    code: str
    zh: str
    en: str
    due_at: datetime
    done_at: datetime | None
    state: str = Field(description="on_time, late (recorded after its time, or not recorded and past it), pending")


class OrderRead(BaseModel):
    number: str
    external_id: str | None
    channel: str
    text: str
    received_at: datetime
    caller_name: str | None
    caller_phone: str | None = Field(description="masked, e.g. 138****5678")
    address: str | None
    district: str | None
    street: str | None
    grid: str | None
    language: str | None
    kind: str | None
    category: str | None
    urgency: str | None
    special_groups: list[str]
    triage_source: str
    needs_confirmation: bool
    status: str
    unit: str | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    visited_at: datetime | None
    closed_at: datetime | None
    reply: str | None
    satisfaction: str | None
    merged_into: str | None
    returns: int
    reopens: int
    paused: bool
    extension_requested: datetime | None
    extended_to: datetime | None
    sla_policy: str | None
    accept_by: datetime | None
    respond_by: datetime | None
    resolve_by: datetime | None
    milestones: list[MilestoneRead] = Field(default_factory=list, description="the hour chain, when the policy has one")
    allowed_actions: list[str] = Field(description="the moves the order's state allows (the loop's table and checks)")

    @field_validator("text", "address", "reply", "caller_phone")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        return mask_text(value) if value else value

    @field_validator("caller_name")
    @classmethod
    def _name_masked(cls, value: str | None) -> str | None:
        return mask_name(value) if value else value


class OrderDetail(OrderRead):
    events: list[EventRead]
    your_moves: list[str] = Field(description="those of allowed_actions the caller's permissions let them make")


class OrderPage(BaseModel):
    items: list[OrderRead]
    total: int = Field(description="orders matching, counted up to 10,000 (see total_capped)")
    total_capped: bool = Field(False, description="the count stopped at total: there are more (shown \"10000+\")")
    page: int
    page_size: int
    next_cursor: str | None = Field(None, description="give as cursor= for the page after this one; "
                                                      "null on the last page")
    next: str | None = Field(None, description="this request's path and query for the next page "
                                               "(cursor= in place of page=); null on the last page")

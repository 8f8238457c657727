"""What crosses the knowledge API (Pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cityline.limits import RequestBody
from cityline.privacy import mask_text


class ArticleWrite(RequestBody):
    """A new version of an article, written by an editor."""

    title: str = Field(min_length=1, max_length=300)
    answer: str = Field("", max_length=20000)
    questions: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=200, description="question variants people ask")
    category: str | None = Field(default=None, max_length=32, description="taxonomy category code")
    effective_from: date | None = None
    expires_at: date | None = None
    source: str | None = Field(default=None, max_length=500, description="notice, press conference or department")
    note: str | None = Field(None, max_length=2000)


class ArticleCreate(ArticleWrite):
    external_id: str = Field(min_length=1, max_length=128)


class WorkflowStep(RequestBody):
    note: str | None = Field(None, max_length=2000)


class AnswerRequest(RequestBody):
    order: str = Field(max_length=32, description="number of the consultation to close with this article")
    text: str | None = Field(default=None, max_length=20000, description="the answer as read out, when it differs")


class ArticleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    external_id: str
    status: str
    title: str
    category: str | None
    latest_version: int
    published_version: int | None
    updated_at: datetime


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: str
    title: str
    questions: list[str]
    answer: str
    category: str | None
    effective_from: date | None
    expires_at: date | None
    source: str | None
    author: str
    reviewer: str | None
    published_at: datetime | None
    evidence: dict[str, Any]
    created_at: datetime


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


class ArticleDetail(ArticleRead):
    versions: list[VersionRead]
    events: list[EventRead]


class ArticlePage(BaseModel):
    items: list[ArticleRead]
    total: int
    page: int
    page_size: int


class SearchResult(BaseModel):
    external_id: str
    version: int
    title: str
    category: str | None
    answer: str
    source: str | None
    score: float
    coverage: float = Field(description="share of the question's topic words the article covers (0–1)")


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    ranked_by: str = Field(description='"words and meaning" (the embedding model), or "words only" without it')

    @field_validator("query")
    @classmethod
    def _masked(cls, value: str) -> str:
        return mask_text(value)  # an operator may search with the caller's words, numbers and all


class PublicArticle(BaseModel):
    """A published article in force, as apps and grassroots workers see it."""

    external_id: str
    version: int
    title: str
    questions: list[str]
    answer: str
    category: str | None
    effective_from: date | None
    expires_at: date | None
    source: str | None


class PublicPage(BaseModel):
    items: list[PublicArticle]
    total: int
    page: int
    page_size: int


class MineRequest(RequestBody):
    date: date
    store: bool = Field(default=True, description="save the proposals as draft articles")
    min_count: int = Field(default=3, ge=1, le=10_000)


class QuestionCountRead(BaseModel):
    text: str
    count: int


class ProposalRead(BaseModel):
    external_id: str
    title: str
    key_terms: list[str]
    count: int
    questions: list[QuestionCountRead]
    orders: list[str]
    category: str | None
    closest_article: str | None
    closest_coverage: float
    stored: bool

"""HTTP for the knowledge base: editors' workflow and search (``router``), and the public
read-only view of published articles in force (``public_router``, no sign-in).

Permissions: reading and searching need ``orders:read`` (every staff role),
answering an order from an article ``orders:answer``; writing versions and
mining ``knowledge:edit``; reviewing, publishing and expiring ``knowledge:review``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.deps import Deps, deps
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import Conflict
from cityline.idempotency import service as idempotency
from cityline.idempotency.schemas import IdempotencyKeyHeader
from cityline.knowledge import mining, public, search, service
from cityline.knowledge.schemas import (
    AnswerRequest,
    ArticleCreate,
    ArticleDetail,
    ArticlePage,
    ArticleRead,
    ArticleWrite,
    EventRead,
    MineRequest,
    ProposalRead,
    PublicArticle,
    PublicPage,
    SearchResponse,
    SearchResult,
    VersionRead,
    WorkflowStep,
)
from cityline.limits import Page
from cityline.orders.service import describe, get_order

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"])
public_router = APIRouter(prefix="/api/public/knowledge", tags=["knowledge (public)"])
DepsArg = Annotated[Deps, Depends(deps)]
READ, EDIT, REVIEW = "orders:read", "knowledge:edit", "knowledge:review"


def public_sessions(request: Request) -> sessionmaker[Session]:
    """The public endpoints need no sign-in: they show only what is published and in force."""
    return request.app.state.sessions


Public = Annotated[sessionmaker[Session], Depends(public_sessions)]


def _detail(session, article) -> ArticleDetail:
    return ArticleDetail(
        **ArticleRead.model_validate(article).model_dump(),
        versions=[VersionRead.model_validate(v) for v in service.versions_of(session, article)],
        events=[EventRead.model_validate(e) for e in service.events_of(session, article)])


def _input(external_id: str, body: ArticleWrite) -> service.ArticleInput:
    data = service.ArticleInput(
        external_id=external_id, title=body.title, answer=body.answer, questions=body.questions,
        category=body.category, effective_from=body.effective_from, expires_at=body.expires_at,
        source=body.source)
    service.check_input(data, answer_required=False)
    return data


@router.get("/articles", response_model=ArticlePage)
def list_(d: DepsArg, status: str | None = None, category: str | None = None, q: str | None = None,
          page: Page = 1,
          page_size: Annotated[int, Query(ge=1, le=500)] = 50) -> ArticlePage:
    d.require(READ)
    with read_transaction(d.sessions) as session:
        rows, total = service.list_articles(session, status=status, category=category, text=q,
                                            page=page, page_size=page_size)
        return ArticlePage(items=[ArticleRead.model_validate(a) for a in rows], total=total,
                           page=page, page_size=page_size)


@router.post("/articles", status_code=201, response_model=ArticleDetail,
             responses={200: {"model": ArticleDetail,
                              "description": "a retry (same Idempotency-Key and body): the article it made"},
                        409: {"description": "the id is taken, or the Idempotency-Key was used with another body"}})
def create(body: ArticleCreate, response: Response, d: DepsArg,
           idempotency_key: IdempotencyKeyHeader = None) -> ArticleDetail:
    """A new article, as a draft; an id already taken is 409, unless this is a retry with
    the same Idempotency-Key and body (200 with the article)."""
    d.require(EDIT)
    now = utcnow()
    with transaction(d.sessions) as session:
        claimed = idempotency.reserve(session, idempotency_key, actor=d.actor, endpoint="POST /api/knowledge/articles",
                                      request=body.model_dump(mode="json"), now=now)
        if claimed and claimed.replay:
            response.status_code = 200
            return _detail(session, service.get_article(session, claimed.replay))
        if service.find_article(session, body.external_id):
            raise Conflict(f"article {body.external_id} exists; PUT a new version instead")
        article, _ = service.write_version(session, _input(body.external_id, body), actor=d.actor,
                                           now=now, note=body.note)
        if claimed:
            idempotency.complete(session, claimed, article.external_id)
        return _detail(session, article)


@router.get("/articles/{external_id}", response_model=ArticleDetail)
def show(external_id: str, d: DepsArg) -> ArticleDetail:
    d.require(READ)
    with read_transaction(d.sessions) as session:
        return _detail(session, service.get_article(session, external_id))


@router.put("/articles/{external_id}", response_model=ArticleDetail)
def edit(external_id: str, body: ArticleWrite, d: DepsArg) -> ArticleDetail:
    """A new draft version; the published version keeps answering until this one is published."""
    d.require(EDIT)
    with transaction(d.sessions) as session:
        service.get_article(session, external_id)
        article, _ = service.write_version(session, _input(external_id, body), actor=d.actor,
                                           now=utcnow(), note=body.note)
        return _detail(session, article)


@router.post("/articles/{external_id}/review", response_model=ArticleDetail,
             responses={409: {"description": "no draft to review, or the reviewer wrote it"}})
def review(external_id: str, body: WorkflowStep, d: DepsArg) -> ArticleDetail:
    """The latest draft is reviewed by someone other than its author (409 otherwise)."""
    d.require(REVIEW)
    with transaction(d.sessions) as session:
        article = service.review_article(session, external_id, reviewer=d.actor, now=utcnow(),
                                         note=body.note)
        return _detail(session, article)


@router.post("/articles/{external_id}/publish", response_model=ArticleDetail,
             responses={409: {"description": "the latest version is published already, or not reviewed"}})
def publish(external_id: str, body: WorkflowStep, d: DepsArg) -> ArticleDetail:
    d.require(REVIEW)
    with transaction(d.sessions) as session:
        article = service.publish_article(session, external_id, actor=d.actor, now=utcnow(),
                                          note=body.note)
        return _detail(session, article)


@router.post("/articles/{external_id}/expire", response_model=ArticleDetail,
             responses={409: {"description": "nothing published to expire"}})
def expire(external_id: str, body: WorkflowStep, d: DepsArg) -> ArticleDetail:
    d.require(REVIEW)
    with transaction(d.sessions) as session:
        article = service.expire_article(session, external_id, actor=d.actor, now=utcnow(),
                                         note=body.note)
        return _detail(session, article)


@router.post("/articles/{external_id}/answer",
             responses={404: {"description": "no such article or order (or none in force)"},
                        409: {"description": "the order is not a consultation, or not open"}})
def answer(external_id: str, body: AnswerRequest, d: DepsArg) -> dict:
    """Close the consultation at intake with the article's published answer; the order's history
    records the article and the version read out."""
    d.require("orders:answer")
    with transaction(d.sessions) as session:
        order = get_order(session, body.order)
        d.ensure_visible(order.unit_id, order.district, order.street, f"order numbered {body.order}")
        order, version = service.answer_from_article(session, external_id, body.order, actor=d.actor,
                                                     now=utcnow(), today=search.today_local(),
                                                     text=body.text)
        return {"order": describe(session, order).model_dump(mode="json"),
                "article": external_id, "article_version": version.version}


@router.get("/search", response_model=SearchResponse)
def search_(d: DepsArg, q: Annotated[str, Query(min_length=1)],
            limit: Annotated[int, Query(ge=1, le=50)] = 5, category: str | None = None) -> SearchResponse:
    d.require(READ)
    with read_transaction(d.sessions) as session:
        hits = search.search(session, q, limit=limit, category=category)
        return SearchResponse(query=q, results=[public.result(h) for h in hits],
                              ranked_by=search.ranked_by(session))


@router.get("/suggest", response_model=list[SearchResult])
def suggest(d: DepsArg, text: Annotated[str, Query(min_length=1, description="the order text")],
            limit: Annotated[int, Query(ge=1, le=10)] = 3) -> list[SearchResult]:
    """Articles for the operator's form, from what the caller said; empty when nothing fits."""
    d.require(READ)
    with read_transaction(d.sessions) as session:
        return [SearchResult(**asdict(s)) for s in search.suggest(session, text, limit)]


@router.post("/mine", response_model=list[ProposalRead])
def mine(body: MineRequest, d: DepsArg) -> list[ProposalRead]:
    """Group the day's unanswered consultations; with ``store``, save them as draft articles."""
    d.require(EDIT)
    with transaction(d.sessions) as session:
        proposals = mining.mine(session, body.date, min_count=body.min_count)
        if body.store:
            mining.store_proposals(session, proposals, body.date, actor=d.actor, now=utcnow())
        return [ProposalRead.model_validate(asdict(p)) for p in proposals]


@public_router.get("/articles", response_model=PublicPage)
def public_list(sessions: Public, category: str | None = None, page: Page = 1,
                page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> PublicPage:
    """Published articles in force today."""
    with read_transaction(sessions) as session:
        items = public.in_force(session, category=category)
        start = (page - 1) * page_size
        return PublicPage(items=items[start:start + page_size], total=len(items), page=page,
                          page_size=page_size)


@public_router.get("/articles/{external_id}", response_model=PublicArticle)
def public_show(external_id: str, sessions: Public) -> PublicArticle:
    """One article as published; 404 when it is a draft, expired or not yet in force."""
    with read_transaction(sessions) as session:
        return public.article(service.live_version(session, external_id, search.today_local()),
                              external_id)


@public_router.get("/search", response_model=list[PublicArticle])
def public_search(sessions: Public, q: Annotated[str, Query(min_length=1)],
                  limit: Annotated[int, Query(ge=1, le=20)] = 5) -> list[PublicArticle]:
    with read_transaction(sessions) as session:
        return [public.from_indexed(h.article) for h in search.search(session, q, limit=limit)]

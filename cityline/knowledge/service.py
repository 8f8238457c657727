"""Articles through a session: write versions, run the workflow, answer an order. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityline.errors import Conflict, Invalid, NotFound
from cityline.knowledge import rules, semantic
from cityline.knowledge.models import Article, ArticleEvent, ArticleVersion, KnowledgeRevision
from cityline.orders.models import Order
from cityline.orders.service import get_order, move_order


@dataclass
class ArticleInput:
    """The fields an editor (or an import, or mining) writes into a new version."""

    external_id: str
    title: str
    answer: str = ""
    questions: list[str] = field(default_factory=list)
    category: str | None = None
    effective_from: date | None = None
    expires_at: date | None = None
    source: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def same_content(self, version: ArticleVersion) -> bool:
        return (self.title, list(self.questions), self.answer, self.category, self.effective_from,
                self.expires_at, self.source) == (version.title, list(version.questions), version.answer,
                                                  version.category, version.effective_from,
                                                  version.expires_at, version.source)


def known_categories() -> list[str]:
    from cityline.taxonomy import load_taxonomy

    return load_taxonomy().codes("category")


def check_input(data: ArticleInput, *, status: str | None = None, answer_required: bool = True) -> None:
    errors = rules.check_fields(
        external_id=data.external_id, title=data.title, answer=data.answer, category=data.category,
        status=status, effective_from=data.effective_from, expires_at=data.expires_at,
        categories=known_categories(), answer_required=answer_required)
    if errors:
        raise Invalid(f"article {data.external_id or '(no id)'}: "
                      + "; ".join(f"{e.field} {e.message}" for e in errors), errors)


def find_article(session: Session, external_id: str, *, for_update: bool = False) -> Article | None:
    stmt = select(Article).where(Article.external_id == external_id)
    return session.scalars(stmt.with_for_update() if for_update else stmt).one_or_none()


def get_article(session: Session, external_id: str, *, for_update: bool = False) -> Article:
    article = find_article(session, external_id, for_update=for_update)
    if article is None:
        raise NotFound(f"no knowledge article {external_id}")
    return article


def get_version(session: Session, article: Article, version: int) -> ArticleVersion:
    found = session.scalars(select(ArticleVersion).where(
        ArticleVersion.article_id == article.id, ArticleVersion.version == version)).one_or_none()
    if found is None:
        raise NotFound(f"article {article.external_id} has no version {version}")
    return found


def versions_of(session: Session, article: Article) -> list[ArticleVersion]:
    return list(session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article.id)
                                .order_by(ArticleVersion.version)))


def events_of(session: Session, article: Article) -> list[ArticleEvent]:
    return list(session.scalars(select(ArticleEvent).where(ArticleEvent.article_id == article.id)
                                .order_by(ArticleEvent.at, ArticleEvent.id)))


def _record(session: Session, article: Article, action: str, *, actor: str, at: datetime,
            from_status: str | None, note: str | None = None) -> None:
    """Write the workflow event, and tell every search index that the articles changed."""
    revision = session.get(KnowledgeRevision, 1, with_for_update=True)
    if revision is None:
        revision = KnowledgeRevision(id=1)
        session.add(revision)
    revision.token, revision.changed_at = uuid.uuid4().hex, at
    session.add(ArticleEvent(article_id=article.id, version=article.latest_version, at=at, actor=actor,
                             action=action, from_status=from_status, to_status=article.status, note=note))


def state_of(session: Session, article: Article) -> rules.ArticleState:
    latest = get_version(session, article, article.latest_version)
    return rules.ArticleState(status=article.status, latest_status=latest.status, latest_author=latest.author,
                              latest_has_answer=bool(latest.answer.strip()),
                              published_version=article.published_version)


def write_version(session: Session, data: ArticleInput, *, actor: str, now: datetime,
                  note: str | None = None) -> tuple[Article, bool]:
    """A new draft version of the article (created when new); (article, False) when nothing changed."""
    article = find_article(session, data.external_id, for_update=True)
    if article is not None and data.same_content(get_version(session, article, article.latest_version)):
        return article, False
    before = state_of(session, article) if article else None
    step = rules.after_edit(before)
    if article is None:
        article = Article(external_id=data.external_id, status=step.article_status, title=data.title,
                          category=data.category, latest_version=1, created_at=now, updated_at=now)
        session.add(article)
        session.flush()
    else:
        article.latest_version += 1
    article.status, article.title, article.category, article.updated_at = (
        step.article_status, data.title, data.category, now)
    session.add(ArticleVersion(
        article_id=article.id, version=article.latest_version, title=data.title,
        questions=list(data.questions), answer=data.answer, category=data.category,
        effective_from=data.effective_from, expires_at=data.expires_at, source=data.source,
        status=step.version_status, author=actor, evidence=dict(data.evidence), created_at=now))
    _record(session, article, "edit" if before else "create", actor=actor, at=now,
            from_status=before.status if before else None, note=note)
    session.flush()
    return article, True


def review_article(session: Session, external_id: str, *, reviewer: str, now: datetime,
                   note: str | None = None) -> Article:
    article = get_article(session, external_id, for_update=True)
    before = state_of(session, article)
    step = rules.review(before, reviewer)
    latest = get_version(session, article, article.latest_version)
    latest.status, latest.reviewer = step.version_status, reviewer
    article.status, article.updated_at = step.article_status, now
    _record(session, article, "review", actor=reviewer, at=now, from_status=before.status, note=note)
    return article


def publish_article(session: Session, external_id: str, *, actor: str, now: datetime,
                    skip_review: bool = False, note: str | None = None) -> Article:
    """Put the latest version on the air; the version it replaces is superseded."""
    article = get_article(session, external_id, for_update=True)
    before = state_of(session, article)
    step = rules.publish(before, skip_review=skip_review)
    if article.published_version:
        get_version(session, article, article.published_version).status = "superseded"
    latest = get_version(session, article, article.latest_version)
    latest.status, latest.published_at = step.version_status, now
    article.status, article.published_version, article.updated_at = (
        step.article_status, article.latest_version, now)
    # Embedded now, so the search index finds the vectors stored (no-op without the model).
    semantic.store(session, semantic.article_texts(latest.title, latest.questions, latest.answer))
    _record(session, article, "import" if skip_review else "publish", actor=actor, at=now,
            from_status=before.status, note=note)
    return article


def expire_article(session: Session, external_id: str, *, actor: str, now: datetime,
                   note: str | None = None) -> Article:
    article = get_article(session, external_id, for_update=True)
    before = state_of(session, article)
    article.status = rules.expire(before).article_status
    article.updated_at = now
    _record(session, article, "expire", actor=actor, at=now, from_status=before.status, note=note)
    return article


def expire_due(session: Session, today: date, *, actor: str, now: datetime) -> list[str]:
    """Expire every published article whose live version's expiry date has passed."""
    due = session.scalars(
        select(Article.external_id).join(ArticleVersion, (ArticleVersion.article_id == Article.id)
                                         & (ArticleVersion.version == Article.published_version))
        .where(Article.status == "published", ArticleVersion.expires_at < today)
        .order_by(Article.external_id)).all()
    for external_id in due:
        expire_article(session, external_id, actor=actor, now=now, note=f"expiry date passed ({today})")
    return list(due)


def live_version(session: Session, external_id: str, today: date) -> ArticleVersion:
    """The version callers hear today; NotFound unless the article is published and current."""
    article = find_article(session, external_id)
    if article is None or article.status != "published" or not article.published_version:
        raise NotFound(f"no published knowledge article {external_id}")
    version = get_version(session, article, article.published_version)
    if not rules.is_current(version.effective_from, version.expires_at, today):
        raise NotFound(f"knowledge article {external_id} is not in force on {today}")
    return version


def list_articles(session: Session, *, status: str | None = None, category: str | None = None,
                  text: str | None = None, page: int = 1, page_size: int = 50) -> tuple[list[Article], int]:
    query = select(Article)
    if status:
        query = query.where(Article.status == status)
    # autoescape: %, _ and / in what was typed match themselves, not any text
    if category:
        query = query.where(Article.category.startswith(category, autoescape=True))
    if text:
        query = query.where(or_(Article.title.contains(text, autoescape=True),
                                Article.external_id.contains(text, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Article.updated_at.desc(), Article.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total


def answer_from_article(session: Session, external_id: str, order_number: str, *, actor: str,
                        now: datetime, today: date, text: str | None = None) -> tuple[Order, ArticleVersion]:
    """Close a consultation at intake with the article's live answer, recording the version read out."""
    order = get_order(session, order_number)
    if order.kind and order.kind != "consult":
        raise Conflict(f"order {order_number} is a {order.kind}, not a consultation; "
                       "correct its kind before answering it from the knowledge base")
    version = live_version(session, external_id, today)
    params = {"text": (text or "").strip() or version.answer, "article": external_id,
              "article_version": version.version}
    return move_order(session, order_number, "answer", params, actor=actor, now=now), version

"""Views of published articles in force: what apps and grassroots workers may read."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityline.knowledge import rules
from cityline.knowledge.index import Hit, IndexedArticle
from cityline.knowledge.models import ArticleVersion
from cityline.knowledge.schemas import PublicArticle, SearchResult
from cityline.knowledge.search import index_for, today_local


def from_indexed(a: IndexedArticle) -> PublicArticle:
    return PublicArticle(external_id=a.external_id, version=a.version, title=a.title,
                         questions=list(a.questions), answer=a.answer, category=a.category,
                         effective_from=a.effective_from, expires_at=a.expires_at, source=a.source)


def article(version: ArticleVersion, external_id: str) -> PublicArticle:
    return PublicArticle(external_id=external_id, version=version.version, title=version.title,
                         questions=list(version.questions), answer=version.answer,
                         category=version.category, effective_from=version.effective_from,
                         expires_at=version.expires_at, source=version.source)


def in_force(session: Session, *, category: str | None = None) -> list[PublicArticle]:
    """Every published article in force today, by id (read from the search index's copy)."""
    today = today_local()
    return [from_indexed(a) for a in index_for(session).articles
            if rules.is_current(a.effective_from, a.expires_at, today)
            and (not category or (a.category or "").startswith(category))]


def result(hit: Hit) -> SearchResult:
    a = hit.article
    return SearchResult(external_id=a.external_id, version=a.version, title=a.title, category=a.category,
                        answer=a.answer, source=a.source, score=hit.score, coverage=hit.coverage)

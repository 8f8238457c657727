"""Searching the published articles: the index cache, search, and suggestions for the operator's form.

The index lives in memory, one per database, and is rebuilt when the articles
change: every change writes a new random token in ``knowledge_revision``, so a
query first reads that one row and rebuilds only when the token differs from
the one the index was built from. It is also rebuilt on the first search of each
local day, to take in the questions answered from articles up to then
(``learning``). Dates are checked at query time, so an article coming into
force or expiring needs no rebuild. Only published articles are indexed: a
draft, a version under review, a superseded version or an expired article is
never found.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.knowledge.index import Hit, IndexedArticle, SearchIndex
from cityline.knowledge.learning import learnt_questions
from cityline.knowledge.models import Article, ArticleVersion, KnowledgeRevision

# Below this share of the question's words found in the best article, the
# question is taken as not answered by the knowledge base (mining, suggestions).
WELL_ANSWERED = 0.5

_MAX_DATABASES = 8  # a server has one; a test run has many
_lock = threading.Lock()
_cache: dict[str, tuple[tuple[str | None, date], SearchIndex]] = {}


@dataclass(frozen=True)
class Suggestion:
    """An article offered to the operator while they write up a call."""

    external_id: str
    version: int
    title: str
    answer: str
    category: str | None
    source: str | None
    score: float
    coverage: float


def published_articles(session: Session, learnt: dict[str, tuple[str, ...]] | None = None) -> list[IndexedArticle]:
    """The live version of every published article, with what was learnt for it (by id)."""
    learnt = learnt or {}
    rows = session.execute(
        select(Article.external_id, ArticleVersion)
        .join(ArticleVersion, (ArticleVersion.article_id == Article.id)
              & (ArticleVersion.version == Article.published_version))
        .where(Article.status == "published").order_by(Article.external_id)).all()
    return [IndexedArticle(external_id=external_id, version=v.version, title=v.title,
                           questions=tuple(v.questions), answer=v.answer, category=v.category,
                           effective_from=v.effective_from, expires_at=v.expires_at, source=v.source,
                           learnt=learnt.get(external_id, ()))
            for external_id, v in rows]


def _stamp(session: Session) -> str | None:
    return session.scalar(select(KnowledgeRevision.token).where(KnowledgeRevision.id == 1))


def index_for(session: Session, today: date | None = None) -> SearchIndex:
    """The index of the session's database, rebuilt when its articles changed and once a day
    (``today``, local today by default, is the day of what was learnt)."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    today = today or today_local()
    stamp = (_stamp(session), today)
    cached = _cache.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    # When only the day changed, the articles are the same: while one search rebuilds for the
    # new day's learning, the others keep using the index they have instead of all waiting.
    only_the_day = cached is not None and cached[0][0] == stamp[0]
    if not _lock.acquire(blocking=not only_the_day):
        assert cached is not None
        return cached[1]
    try:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        index = SearchIndex(published_articles(session, learnt_questions(session, today)))
        if key not in _cache and len(_cache) >= _MAX_DATABASES:
            _cache.pop(next(iter(_cache)))  # the database indexed longest ago
        _cache[key] = (stamp, index)
        return index
    finally:
        _lock.release()


def today_local() -> date:
    from cityline.db import utcnow
    from cityline.timeutil import to_local

    return to_local(utcnow()).date()


def search(session: Session, text: str, *, limit: int = 5, today: date | None = None,
           category: str | None = None) -> list[Hit]:
    """Published articles in force ``today`` (local today by default), best first."""
    today = today or today_local()
    return index_for(session, today).search(text, limit=limit, today=today, category=category)


def suggest(session: Session, text: str, limit: int = 3, *, today: date | None = None) -> list[Suggestion]:
    """Articles that may answer what the caller said (the order text), best first.

    Articles that share only a stray word with the text are left out, so an
    empty list means "nothing in the knowledge base fits".
    """
    hits = search(session, text, limit=limit, today=today)
    return [Suggestion(h.article.external_id, h.article.version, h.article.title, h.article.answer,
                       h.article.category, h.article.source, h.score, h.coverage)
            for h in hits if h.coverage >= WELL_ANSWERED / 2]

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

With the embedding model (``semantic``), the index also holds every article's vectors, read
from ``knowledge_embeddings`` (the ones missing, such as newly learnt questions, are embedded
and stored as it is built), and a search embeds the question and fuses meaning with words.
Without it, search is by words alone, and says so (``ranked_by``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction
from cityline.knowledge import semantic
from cityline.knowledge.index import SUGGEST_SIMILAR, Hit, IndexedArticle, SearchIndex
from cityline.knowledge.learning import learnt_questions, shipped_phrasings
from cityline.knowledge.models import Article, ArticleVersion, KnowledgeRevision

# Below this share of the question's words found in the best article, the
# question is taken as not answered by the knowledge base (mining, suggestions).
WELL_ANSWERED = 0.5

_MAX_DATABASES = 8  # a server has one; a test run has many
_lock = threading.Lock()
_cache: dict[str, tuple[tuple[str | None, date, bool], SearchIndex]] = {}


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
    """The live version of every published article, with what was learnt for it (by id) and how
    outsiders phrase it (``learning.shipped_phrasings``)."""
    learnt = learnt or {}
    phrasings = shipped_phrasings()
    rows = session.execute(
        select(Article.external_id, ArticleVersion)
        .join(ArticleVersion, (ArticleVersion.article_id == Article.id)
              & (ArticleVersion.version == Article.published_version))
        .where(Article.status == "published").order_by(Article.external_id)).all()
    return [IndexedArticle(external_id=external_id, version=v.version, title=v.title,
                           questions=tuple(v.questions), answer=v.answer, category=v.category,
                           effective_from=v.effective_from, expires_at=v.expires_at, source=v.source,
                           learnt=learnt.get(external_id, ()), phrasings=phrasings.get(external_id, ()))
            for external_id, v in rows]


def _stamp(session: Session) -> str | None:
    return session.scalar(select(KnowledgeRevision.token).where(KnowledgeRevision.id == 1))


def index_for(session: Session, today: date | None = None) -> SearchIndex:
    """The index of the session's database, rebuilt when its articles changed and once a day
    (``today``, local today by default, is the day of what was learnt)."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    today = today or today_local()
    # Whether the model is in use is part of the stamp: turned off (``semantic.reset``), the
    # index is rebuilt without vectors.
    stamp = (_stamp(session), today, semantic.available())
    cached = _cache.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    # When only the day changed, the articles are the same: while one search rebuilds for the
    # new day's learning, the others keep using the index they have instead of all waiting.
    only_the_day = cached is not None and cached[0][::2] == stamp[::2]
    if not _lock.acquire(blocking=not only_the_day):
        assert cached is not None
        return cached[1]
    try:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        # The index it replaces (of this database) lends the tokens and vectors of every text
        # that did not change: one changed article among 10,000 rebuilds in seconds, not a minute.
        previous = cached[1] if cached else None
        articles = published_articles(session, learnt_questions(session, today))
        index = SearchIndex(articles, vectors_of(session, articles, previous.vectors() if previous else {}),
                            reuse=previous)
        if key not in _cache and len(_cache) >= _MAX_DATABASES:
            _cache.pop(next(iter(_cache)))  # the database indexed longest ago
        _cache[key] = (stamp, index)
        return index
    finally:
        _lock.release()


def vectors_of(session: Session, articles: list[IndexedArticle],
               known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray] | None:
    """Digest → vector of every text of the articles (read from ``known`` or the database,
    embedding what is missing); None without the model."""
    if not semantic.available():
        return None
    known = known or {}
    texts = [t for a in articles for t in searched_texts(a)]
    found = {d: known[d] for t in texts if (d := semantic.digest(t)) in known}
    found.update(semantic.store(session, [t for t in texts if semantic.digest(t) not in found]))
    return found


def searched_texts(article: IndexedArticle) -> list[str]:
    """Every text of an article that the model embeds: body, variants, learnt questions, phrasings."""
    return [*semantic.article_texts(article.title, article.questions, article.answer), *article.learnt,
            *article.phrasings]


@dataclass(frozen=True)
class EmbedReport:
    """What ``embed_ahead`` found and did."""

    articles: int
    texts: int  # distinct texts of the published articles (bodies, variants, learnt questions, phrasings)
    embedded: int  # of which were missing and are now stored
    model: str | None  # None: the model is not in use, nothing was embedded
    why_not: str | None = None


def embed_ahead(sessions: sessionmaker[Session], *, chunk: int = 256,
                progress: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Embed and store every text of the published articles that has no stored vector yet.

    After the upgrade that added the vectors, or once the model is turned on, the first index
    build would embed every article while searches wait (10,000 articles: about 25 minutes of
    CPU); this does it ahead, from the command line. Each ``chunk`` of texts is stored in its
    own transaction, so an interrupted run keeps what it did and a second run goes on from
    there. ``progress(done, missing)`` is called after each chunk."""
    if not semantic.available():
        return EmbedReport(0, 0, 0, None, semantic.unavailable_reason())
    with transaction(sessions, read_only=True) as session:
        articles = published_articles(session, learnt_questions(session, today_local()))
        texts = list(dict.fromkeys(t for a in articles for t in searched_texts(a)))
        found = semantic.stored(session, texts)
    missing = [t for t in texts if semantic.digest(t) not in found]
    for start in range(0, len(missing), chunk):
        with transaction(sessions) as session:
            semantic.store(session, missing[start:start + chunk])
        if progress:
            progress(min(start + chunk, len(missing)), len(missing))
    return EmbedReport(len(articles), len(texts), len(missing), semantic.MODEL)


def ranked_by(session: Session) -> str:
    """"words and meaning", or "words only" when the model is not in use (``semantic``)."""
    return "words and meaning" if index_for(session).by_meaning else "words only"


def status(session: Session) -> dict[str, object]:
    """How search ranks, and why by words only when so: for ``cityline knowledge status``."""
    index = index_for(session)
    return {"ranked_by": ranked_by(session), "model": semantic.MODEL if index.by_meaning else None,
            "why_words_only": semantic.unavailable_reason(), "published_articles": len(index),
            "texts_embedded": index.texts_embedded}


def today_local() -> date:
    from cityline.db import utcnow
    from cityline.timeutil import to_local

    return to_local(utcnow()).date()


def search(session: Session, text: str, *, limit: int = 5, today: date | None = None,
           category: str | None = None) -> list[Hit]:
    """Published articles in force ``today`` (local today by default), best first."""
    today = today or today_local()
    index = index_for(session, today)
    vector = semantic.embed_query(text) if index.by_meaning else None
    return index.search(text, limit=limit, today=today, category=category, query_vector=vector)


def suggest(session: Session, text: str, limit: int = 3, *, today: date | None = None) -> list[Suggestion]:
    """Articles that may answer what the caller said (the order text), best first.

    Articles that share only a stray word with the text are left out, so an
    empty list means "nothing in the knowledge base fits".
    """
    hits = search(session, text, limit=limit, today=today)
    return [Suggestion(h.article.external_id, h.article.version, h.article.title, h.article.answer,
                       h.article.category, h.article.source, h.score, h.coverage)
            for h in hits if h.coverage >= WELL_ANSWERED / 2 or (h.similarity or 0.0) >= SUGGEST_SIMILAR]


STARTER = Path(__file__).with_name("data")  # the starter articles, Markdown


def starter_texts() -> list[str]:
    """Every text the model embeds for the starter articles as imported, phrasings included: what
    ``semantic.SHIPPED`` holds. Imported into a throwaway in-memory database, so the texts are
    exactly those a centre's database holds after ``cityline knowledge import``."""
    from cityline.db import make_engine, make_sessionmaker, utcnow
    from cityline.knowledge.files import import_records, read_records
    from cityline.schema import create_all

    engine = make_engine("sqlite://")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        import_records(session, read_records(STARTER), actor="ship-vectors", now=utcnow())
    with transaction(sessions, read_only=True) as session:
        texts = [t for article in published_articles(session) for t in searched_texts(article)]
    engine.dispose()
    return list(dict.fromkeys(texts))

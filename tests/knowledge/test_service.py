"""Articles through a real database (SQLite and PostgreSQL): versions, workflow, search, answers."""

from datetime import date, timedelta

import pytest

from cityline.db import transaction
from cityline.errors import Conflict, NotFound
from cityline.knowledge import search, service
from cityline.knowledge.service import ArticleInput
from cityline.orders.queries import events_of
from cityline.orders.service import get_order
from tests.knowledge.conftest import NOW, consult

TODAY = date(2022, 4, 20)


def write(sessions, actor="alice", **fields):
    data = ArticleInput(**{"external_id": "KB-T-1", "title": "消费券怎么领取", "answer": "在App领取。",
                           "questions": ["消费券在哪里领"], "category": "EPI.WORK", **fields})
    with transaction(sessions) as session:
        return service.write_version(session, data, actor=actor, now=NOW)[0].external_id


def step(sessions, name, actor, external_id="KB-T-1", now=NOW):
    with transaction(sessions) as session:
        if name == "review":
            return service.review_article(session, external_id, reviewer=actor, now=now).status
        if name == "publish":
            return service.publish_article(session, external_id, actor=actor, now=now).status
        return service.expire_article(session, external_id, actor=actor, now=now).status


def found(sessions, text, today=TODAY):
    with sessions() as session:
        return [(h.article.external_id, h.article.version) for h in search.search(session, text, today=today)]


def test_draft_reviewed_published_then_searchable(sessions):
    write(sessions)
    assert found(sessions, "消费券哪里领") == []  # a draft is not on the air
    with pytest.raises(Conflict, match="another editor"):
        step(sessions, "review", "alice")
    assert step(sessions, "review", "bob") == "reviewed"
    assert step(sessions, "publish", "bob") == "published"
    assert found(sessions, "消费券哪里领") == [("KB-T-1", 1)]


def test_a_new_version_answers_only_once_published(sessions):
    write(sessions)
    step(sessions, "review", "bob")
    step(sessions, "publish", "bob", now=NOW)
    write(sessions, answer="改为在银行网点领取。", questions=["消费券在哪里领", "电子消费券怎么用"])
    assert found(sessions, "消费券哪里领") == [("KB-T-1", 1)]  # the live version still answers
    step(sessions, "review", "carol", now=NOW + timedelta(minutes=1))
    step(sessions, "publish", "carol", now=NOW + timedelta(minutes=1))
    assert found(sessions, "消费券哪里领") == [("KB-T-1", 2)]
    with sessions() as session:
        article = service.get_article(session, "KB-T-1")
        assert [v.status for v in service.versions_of(session, article)] == ["superseded", "published"]
        assert [e.action for e in service.events_of(session, article)] == [
            "create", "review", "publish", "edit", "review", "publish"]


def test_unchanged_content_makes_no_version(sessions):
    write(sessions)
    write(sessions)
    with sessions() as session:
        assert service.get_article(session, "KB-T-1").latest_version == 1


def test_expired_and_out_of_date_articles_are_not_found(sessions):
    write(sessions, effective_from=date(2022, 4, 1), expires_at=date(2022, 4, 30))
    step(sessions, "review", "bob")
    step(sessions, "publish", "bob")
    assert found(sessions, "消费券", today=date(2022, 4, 30)) == [("KB-T-1", 1)]
    assert found(sessions, "消费券", today=date(2022, 5, 1)) == []
    with transaction(sessions) as session:
        assert service.expire_due(session, date(2022, 5, 1), actor="sweeper", now=NOW) == ["KB-T-1"]
    assert found(sessions, "消费券", today=date(2022, 4, 20)) == []
    with pytest.raises(Conflict):
        step(sessions, "expire", "bob")


def test_answering_a_consultation_closes_it_with_the_version_in_its_history(loaded):
    number = consult(loaded, "请问口罩在哪里预约")
    with transaction(loaded) as session:
        order, version = service.answer_from_article(session, "KB-MASK-001", number, actor="op1", now=NOW,
                                                     today=TODAY)
    with loaded() as session:
        order = get_order(session, number)
        event = events_of(session, order)[-1]
        assert order.status == "closed" and order.reply.startswith("本市实行口罩预约登记购买")
        assert (event.action, event.data["article"], event.data["article_version"]) == (
            "answer", "KB-MASK-001", version.version)


def test_only_consultations_and_published_articles_answer(loaded):
    complaint = consult(loaded, "口罩卖得太贵", kind="complaint")
    with transaction(loaded) as session, pytest.raises(Conflict, match="not a consultation"):
        service.answer_from_article(session, "KB-MASK-003", complaint, actor="op1", now=NOW, today=TODAY)
    number = consult(loaded, "消费券怎么领")
    write(loaded, external_id="KB-DRAFT")
    with transaction(loaded) as session, pytest.raises(NotFound, match="no published"):
        service.answer_from_article(session, "KB-DRAFT", number, actor="op1", now=NOW, today=TODAY)


def test_suggestions_for_the_operator_form(loaded):
    with loaded() as session:
        offered = search.suggest(session, "市民来电咨询：小区封控了，家里老人的降压药快吃完了怎么配药", today=TODAY)
        assert offered[0].external_id == "KB-MED-003" and offered[0].version == 1
        assert len(offered) <= 3 and offered[0].answer
        assert search.suggest(session, "今天天气不错", today=TODAY) == []


def test_a_changed_article_rebuilds_the_index_from_the_unchanged_ones_tokens_and_vectors(sessions):
    from sqlalchemy import delete, func, select

    from cityline.knowledge import semantic
    from cityline.knowledge.models import Embedding

    write(sessions)
    write(sessions, external_id="KB-T-2", title="旧衣回收点在哪", answer="小区垃圾厢房旁有旧衣回收箱。",
          questions=["旧衣服扔哪里"], category="EPI.LIFE")
    for external_id in ("KB-T-1", "KB-T-2"):
        step(sessions, "review", "bob", external_id=external_id)
        step(sessions, "publish", "bob", external_id=external_id)
    with sessions() as session:
        before = search.index_for(session, TODAY)
    unchanged = [semantic.body_text("旧衣回收点在哪", "小区垃圾厢房旁有旧衣回收箱。"), "旧衣服扔哪里"]
    with transaction(sessions) as session:  # gone from the table: a rebuild that read them would have to store them again
        session.execute(delete(Embedding).where(Embedding.digest.in_([semantic.digest(t) for t in unchanged])))
    write(sessions, answer="改为在银行网点领取。", questions=["电子消费券怎么用"])
    step(sessions, "review", "carol", now=NOW + timedelta(minutes=1))
    step(sessions, "publish", "carol", now=NOW + timedelta(minutes=1))
    assert found(sessions, "电子消费券怎么用")[0] == ("KB-T-1", 2)
    assert found(sessions, "旧衣服扔哪里")[0] == ("KB-T-2", 1)
    assert found(sessions, "消费券在哪里领")[:1] != [("KB-T-1", 1)]  # the old version is gone
    with sessions() as session:
        after = search.index_for(session, TODAY)
        assert after is not before and len(after) == 2
        old, new = (next(t for k, t in index._tokens.items() if k[0] == "旧衣回收点在哪") for index in (before, after))
        assert new is old  # taken from the index it replaced, not cut again
        if semantic.available():
            assert after.texts_embedded == before.texts_embedded == 4
            assert session.scalar(select(func.count()).select_from(Embedding).where(
                Embedding.digest.in_([semantic.digest(t) for t in unchanged]))) == 0

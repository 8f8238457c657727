"""Question variants learnt from consultations answered from an article, on both databases."""

from datetime import timedelta

from cityline.db import transaction
from cityline.knowledge import public, search, service
from cityline.knowledge.learning import learnt_questions
from tests.knowledge.conftest import NOW, consult
from tests.knowledge.test_service import TODAY

ASKED = "我妈要血滤，能出门吗"  # no article or synonym says 血滤 (a kind of dialysis, 透析)


def first(sessions, text, today=TODAY):
    with sessions() as session:
        return [h.article.external_id for h in search.search(session, text, today=today, limit=1)]


def answer(sessions, text, article):
    number = consult(sessions, text)
    with transaction(sessions) as session:
        service.answer_from_article(session, article, number, actor="op1", now=NOW, today=TODAY)


def test_how_callers_asked_an_article_finds_it_from_the_next_day(loaded):
    assert first(loaded, ASKED) != ["KB-MED-002"]
    answer(loaded, "家里老人要血滤，小区封了出不去，回电13912345678", "KB-MED-002")
    answer(loaded, "我爸每周血滤三次，现在出不了小区", "KB-MED-002")
    answer(loaded, "请问口罩在哪里预约", "KB-MASK-001")
    assert first(loaded, ASKED) != ["KB-MED-002"]  # the day's index is kept: no rebuild per answer
    assert first(loaded, ASKED, TODAY + timedelta(days=1)) == ["KB-MED-002"]
    with loaded() as session:
        learnt = learnt_questions(session, TODAY)
        assert set(learnt) == {"KB-MED-002", "KB-MASK-001"}
        assert learnt["KB-MED-002"][0] == "我爸每周血滤三次,现在出不了小区"  # newest first, normalised
        assert "139****5678" in learnt["KB-MED-002"][1] and "13912345678" not in learnt["KB-MED-002"][1]
        assert learnt_questions(session, TODAY + timedelta(days=400)) == {}  # too long ago
        shown = [q for a in public.in_force(session) for q in a.questions]
        assert not any("血滤" in q for q in shown)  # learnt questions are searched, never shown


def test_a_new_day_rebuilds_once_and_other_searches_meanwhile_use_the_old_index(loaded):
    with loaded() as session:
        yesterday = search.index_for(session, TODAY)
        search._lock.acquire()  # as if another search were rebuilding for the new day
        try:
            assert search.index_for(session, TODAY + timedelta(days=1)) is yesterday
        finally:
            search._lock.release()
        today = search.index_for(session, TODAY + timedelta(days=1))
        assert today is not yesterday and search.index_for(session, TODAY + timedelta(days=1)) is today

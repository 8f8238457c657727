"""The editorial workflow and when an article is in force: pure rules."""

from datetime import date

import pytest

from cityline.errors import Conflict, Invalid
from cityline.knowledge import rules
from cityline.knowledge.rules import ArticleState


def state(status="draft", latest="draft", author="alice", answer=True, live=None) -> ArticleState:
    return ArticleState(status=status, latest_status=latest, latest_author=author, latest_has_answer=answer,
                        published_version=live)


def test_a_draft_goes_reviewed_then_published():
    assert rules.review(state(), "bob") == rules.Step("reviewed", "reviewed")
    assert rules.publish(state("reviewed", "reviewed")) == rules.Step("published", "published")


def test_the_author_cannot_review_their_own_version():
    with pytest.raises(Conflict, match="another editor"):
        rules.review(state(author="alice"), "alice")


def test_an_unreviewed_version_is_not_published_except_by_import():
    with pytest.raises(Conflict, match="review it"):
        rules.publish(state())
    assert rules.publish(state(), skip_review=True).article_status == "published"


def test_an_article_without_answer_cannot_be_reviewed_or_published():
    with pytest.raises(Invalid):
        rules.review(state(answer=False), "bob")
    with pytest.raises(Invalid):
        rules.publish(state(answer=False), skip_review=True)


def test_reworking_a_published_article_keeps_it_published():
    step = rules.after_edit(state("published", "published", live=2))
    assert step == rules.Step("published", "draft")
    assert rules.review(state("published", "draft", live=2), "bob").article_status == "published"


def test_only_a_published_article_expires():
    assert rules.expire(state("published", "published", live=1)).article_status == "expired"
    with pytest.raises(Conflict):
        rules.expire(state("draft"))


def test_in_force_from_the_effective_date_through_the_expiry_date():
    start, end = date(2022, 4, 1), date(2022, 4, 30)
    assert not rules.is_current(start, end, date(2022, 3, 31))
    assert rules.is_current(start, end, date(2022, 4, 1))
    assert rules.is_current(start, end, date(2022, 4, 30))
    assert not rules.is_current(start, end, date(2022, 5, 1))
    assert rules.is_current(None, None, date(2030, 1, 1))


def test_field_errors_name_every_problem():
    errors = rules.check_fields(external_id="has space", title="", answer="", category="EPI.NOPE",
                                status="live", effective_from=date(2022, 5, 1), expires_at=date(2022, 4, 1),
                                categories=["EPI.MASK"])
    assert {e.field for e in errors} == {"external_id", "title", "answer", "category", "status", "expires_at"}

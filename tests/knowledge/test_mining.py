"""Daily mining: yesterday's unanswered consultations become draft articles for editors."""

from datetime import date

from cityline.db import transaction
from cityline.knowledge import mining, service
from tests.knowledge.conftest import NOW, consult

DAY = date(2022, 4, 19)
NEW_TOPIC = ["市民来电咨询：消费券怎么领取", "想问一下消费券在哪里领", "电子消费券领不到怎么办",
             "领消费券要什么条件", "消费券在哪里领"]


def test_frequent_unanswered_questions_become_one_draft(loaded):
    numbers = [consult(loaded, text, received_at="2022-04-19T09:30:00") for text in NEW_TOPIC]
    consult(loaded, "口罩在哪里预约啊", received_at="2022-04-19T11:00:00")  # answered by KB-MASK-001
    consult(loaded, "药店口罩怎么登记购买", received_at="2022-04-19T12:00:00")
    consult(loaded, "公园几点开门", received_at="2022-04-19T13:00:00")  # asked once: not worth a draft
    consult(loaded, "消费券怎么领", received_at="2022-04-20T09:00:00")  # another day
    consult(loaded, "消费券领不到要投诉", received_at="2022-04-19T10:00:00", kind="complaint")
    # 23:30 local on the 19th is 15:30 UTC: it belongs to the 19th.
    numbers.append(consult(loaded, "消费券哪里领", received_at="2022-04-19T23:30:00+08:00"))

    with transaction(loaded) as session:
        proposals = mining.mine(session, DAY)
        assert len(proposals) == 1
        proposal = proposals[0]
        assert proposal.count == 6 and sorted(proposal.orders) == sorted(numbers)
        assert "消费" in proposal.key_terms
        assert {"text": "消费券在哪里领", "count": 2} in proposal.evidence(DAY)["questions"]
        mining.store_proposals(session, proposals, DAY, actor="miner", now=NOW)
    with loaded() as session:
        article = service.get_article(session, proposal.external_id)
        version = service.get_version(session, article, 1)
        assert article.status == "draft" and version.answer == "" and "消费券在哪里领" in version.questions
        assert version.evidence["count"] == 6 and version.source.startswith("mined from 6 consultations")

    with transaction(loaded) as session:  # mining the same day again proposes, but stores nothing new
        again = mining.store_proposals(session, mining.mine(session, DAY), DAY, actor="miner", now=NOW)
        assert [p.stored for p in again] == [False]


def test_a_day_without_unanswered_questions_proposes_nothing(loaded):
    for text in ["口罩在哪里预约", "口罩怎么预约", "预约口罩去哪登记"]:
        consult(loaded, text)
    with loaded() as session:
        assert mining.mine(session, DAY) == []


def test_a_proposal_shows_callers_numbers_masked(loaded):
    """A proposal leaves the orders (a draft article that may be published): numbers masked."""
    asked = ["消费券怎么领取，我电话13912345678", "想问一下消费券在哪里领 13912345678",
             "消费券在哪里领，身份证110101199003071234", "消费券在哪里领 13800001111", "领消费券要什么条件"]
    for text in asked:
        consult(loaded, text, received_at="2022-04-19T09:30:00")
    with transaction(loaded) as session:
        proposals = mining.mine(session, DAY)
        mining.store_proposals(session, proposals, DAY, actor="miner", now=NOW)
    assert len(proposals) == 1
    shown = repr(proposals[0].evidence(DAY)) + proposals[0].title + repr(proposals[0].key_terms)
    assert "139****5678" in shown
    for number in ("13912345678", "110101199003071234", "13800001111"):
        assert number not in shown
    with loaded() as session:
        version = service.get_version(session, service.get_article(session, proposals[0].external_id), 1)
        assert not any(n in repr((version.title, version.questions, version.evidence))
                       for n in ("13912345678", "110101199003071234", "13800001111"))

"""Grouping similar questions (pure)."""

from cityline.knowledge import clustering
from cityline.knowledge.index import SearchIndex
from cityline.knowledge.mining import _features
from tests.knowledge.test_index import ARTICLES

TEXTS = ["消费券怎么领取", "消费券在哪里领", "电子消费券领不到", "领消费券要什么条件",
         "小区花坛里的树倒了", "公园开放时间"]


def test_similar_questions_group_and_different_ones_do_not():
    features = [_features(t) for t in TEXTS]
    groups = clustering.cluster(features, rarity=SearchIndex(ARTICLES).rarity)
    assert groups[0] == [0, 1, 2, 3]
    assert sorted(len(g) for g in groups) == [1, 1, 4]
    assert "消费" in clustering.key_terms(features, groups[0])


def test_every_question_is_in_exactly_one_group_without_a_background():
    texts = [*TEXTS, "口罩", "口罩哪里买", "", "码"]
    groups = clustering.cluster([_features(t) for t in texts])
    assert sorted(i for g in groups for i in g) == list(range(len(texts)))

"""The knowledge articles and the taxonomy as weakly labelled category text for training."""

from pathlib import Path

from cityline.taxonomy import load_taxonomy
from cityline.triage.model import LabelledText, train
from cityline.triage.reference import ARTICLE_WEIGHT, TAXONOMY_WEIGHT, reference_texts
from tests.triage.conftest import examples


def test_articles_and_the_taxonomy_give_each_category_its_words():
    texts = reference_texts(load_taxonomy())
    by_category: dict[str, list[str]] = {}
    for record in texts:
        by_category.setdefault(record.category, []).append(record.text)
    assert set(by_category) == set(load_taxonomy().codes("category"))
    # An article's question, its answer's sentences and the taxonomy's name, under the article's category.
    assert "有没有心理咨询热线" in by_category["EPI.MENTAL"]
    assert any("解除隔离告知书" in text for text in by_category["EPI.CERT"])
    assert "隔离点管理" in by_category["EPI.SITE"]
    assert {r.weight for r in texts} <= {ARTICLE_WEIGHT, TAXONOMY_WEIGHT}


def test_an_article_without_a_category_or_front_matter_is_skipped(tmp_path: Path):
    (tmp_path / "KB-X-001.md").write_text("---\ntitle: 高温补贴怎么发\ncategory: GEN.LABOUR\n"
                                          "questions:\n- 高温补贴什么时候发\n---\n\n每年六月至九月发放。\n", encoding="utf-8")
    (tmp_path / "KB-X-002.md").write_text("---\ntitle: 没有类别\n---\n\n正文。\n", encoding="utf-8")
    (tmp_path / "KB-X-003.md").write_text("没有前言的文章。\n", encoding="utf-8")
    (tmp_path / "KB-X-004.md").write_text("---\ncategory: NOT.A.CODE\n---\n\n正文写了很多。\n", encoding="utf-8")
    texts = [r for r in reference_texts(load_taxonomy(), tmp_path) if r.text not in _taxonomy_texts()]
    assert [(r.category, r.text) for r in texts] == [
        ("GEN.LABOUR", "高温补贴怎么发"), ("GEN.LABOUR", "高温补贴什么时候发"), ("GEN.LABOUR", "每年六月至九月发放。")]


def test_articles_teach_a_category_no_order_taught():
    # No labelled order says anything about psychological support; the articles do.
    orders = [r for r in examples(copies=2) if r.category != "EPI.MENTAL"]
    text = "有没有心理咨询热线可以打"
    alone = train(orders, reference=())
    chances = alone.probabilities(alone.feature_ids(text))["category"]
    assert max(chances, key=chances.get) != "EPI.MENTAL"
    helped = train(orders)
    chances = helped.probabilities(helped.feature_ids(text))["category"]
    assert max(chances, key=chances.get) == "EPI.MENTAL"
    assert helped.trained_on == alone.trained_on == len(orders)  # the orders, not the reference texts


def test_reference_texts_teach_the_category_alone():
    orders = [LabelledText("排队做核酸排了好久", "complaint", "EPI.TEST", "sub_urgent", ())] * 4
    model = train(orders)
    chances = model.probabilities(model.feature_ids("有没有心理咨询热线"))
    # Only complaints were ever labelled: the articles' many questions do not make them consultations.
    assert max(chances["kind"], key=chances["kind"].get) == "complaint"


def _taxonomy_texts() -> set[str]:
    return {text for entry in load_taxonomy().entries("category") for text in (entry.zh, entry.note)}

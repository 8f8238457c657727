"""Training on labelled orders, storing the model as bytes, and blending it with the rules."""

import pytest

from cityline.triage.classifier import Triager
from cityline.triage.model import LabelledText, TrainedModel, train
from tests.triage.conftest import examples


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    return train(examples(copies=3))


def test_the_model_learns_its_labels(model):
    ids = model.feature_ids("排队做核酸排了好久")
    chances = model.probabilities(ids)
    assert max(chances["category"], key=chances["category"].get) == "EPI.TEST"
    assert chances["special_groups"]["elderly"] < 0.5
    assert model.trained_on == 36


def test_the_model_explains_with_words_of_the_text(model):
    ids = model.feature_ids("举报饭店偷偷营业")
    words = model.explain(ids, "category", "EPI.VIOLATION")
    assert words
    assert all(word in "举报饭店偷偷营业" for word in words)


def test_a_model_survives_storage(model):
    again = TrainedModel.from_bytes(model.to_bytes())
    text = "感谢志愿者送菜"
    before = model.probabilities(model.feature_ids(text))
    after = again.probabilities(again.feature_ids(text))
    for field, chances in before.items():
        assert after[field] == pytest.approx(chances)
    with pytest.raises(ValueError, match="not a stored triage model"):
        TrainedModel.from_bytes(b"not a model")


def test_history_changes_what_the_rules_alone_would_say():
    # A centre whose operators file every "卡拉OK" order under noise: the rules do not know the word.
    text = "卡拉OK唱到半夜"
    assert Triager().classify(text).category.value != "GEN.ENVIRONMENT"
    records = examples(copies=2) + [
        LabelledText("卡拉OK唱到半夜", "complaint", "GEN.ENVIRONMENT", "normal", ()),
        LabelledText("隔壁卡拉OK太响", "complaint", "GEN.ENVIRONMENT", "normal", ()),
    ] * 6
    triager = Triager(model=train(records), model_version="model-1")
    result = triager.classify(text)
    assert result.category.value == "GEN.ENVIRONMENT"
    assert result.model_version == "model-1"
    assert any("卡拉" in word or "ok" in word for word in result.category.evidence)


def test_labels_outside_the_taxonomy_are_refused():
    with pytest.raises(ValueError, match="training record 1: unknown category 'EPI.NOPE'"):
        train([LabelledText("随便", "consult", "EPI.NOPE", "normal", ())])
    with pytest.raises(ValueError, match="no labelled orders"):
        train([])


def test_partly_labelled_records_train_only_what_they_have():
    records = [LabelledText("口罩哪里买", None, "EPI.MASK", None, None)] * 5 + examples()
    model = train(records)
    chances = model.probabilities(model.feature_ids("口罩哪里买"))
    assert max(chances["category"], key=chances["category"].get) == "EPI.MASK"


def test_a_batch_finds_each_text_s_features_as_one_text_alone(model):
    """Features found for a batch at once (the texts joined) are each text's own, as one text
    alone gives them: none spans two texts, characters beyond the table, numbers folded, and a
    text holding the joining character itself is still read right."""
    from cityline.triage.features import FeatureFinder
    from cityline.triage.lexicon import load_lexicon
    from cityline.triage.rules import read_text

    finder = FeatureFinder(model.vocabulary)
    texts = ["排队做核酸排了好久", "核酸", "", "酸排", "Help, my mother 80 needs masks 😷", "举报饭店偷偷营业 13800001234",
             "感谢志愿者送菜\n核", "核\uffff酸排队"]
    readings = [read_text(text, load_lexicon()) for text in texts]
    alone = [sorted((finder.ids(text, reading) - {None}) | {0}) for text, reading in zip(texts, readings, strict=True)]
    for batch in (texts, texts[:-1]):  # with and without the joining character in a text
        flat, counts = finder.ids_many(batch, readings[:len(batch)])
        ends = counts.cumsum()
        assert [flat[end - count:end].tolist() for end, count in zip(ends, counts, strict=True)] == alone[:len(batch)]

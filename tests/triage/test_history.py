"""The default triager: the lexicon blended with the model learnt from the shipped history."""

import pytest

from cityline.triage.classifier import RULES_ONLY, TRAINED, Blend, Triager
from cityline.triage.history import shipped_model, shipped_records
from cityline.triage.service import default_triager


@pytest.fixture(scope="module")
def triager() -> Triager:
    return default_triager()


def test_the_default_triager_uses_the_model_learnt_from_the_seed(triager):
    assert triager.model is shipped_model()
    assert triager.model.trained_on == len(shipped_records()) >= 1100
    assert triager.blend == TRAINED
    assert Triager().blend == RULES_ONLY


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # What the lexicon has no word for, the seed history taught.
        ("隔壁的独居老人三天没开门了，敲门也没人应", "GEN.WELFARE"),
        ("有个小孩爬到阳台栏杆外面去了，家里没大人", "GEN.SAFETY"),
        ("仓库里的货架倒下来压住了一个人", "GEN.SAFETY"),
    ],
)
def test_history_teaches_what_the_lexicon_does_not_know(triager, text, category):
    rules_alone = Triager().classify(text)
    assert (rules_alone.category.value, rules_alone.urgency.value) != (category, "urgent")
    result = triager.classify(text)
    assert (result.category.value, result.urgency.value, result.kind.value) == (category, "urgent", "help")
    assert result.model_version == "seed"
    assert result.category.evidence  # explained by words of the text even without lexicon words
    assert all(word in text for word in result.category.evidence)


def test_guideline_cases_with_the_default_triager(triager):
    # Medicine that lasts another week under lockdown: time-sensitive, not an emergency.
    result = triager.classify("封控在家，我爸的降压药还能吃一个礼拜，社区医院关门了，能不能帮忙配一下？")
    assert (result.category.value, result.urgency.value) == ("EPI.MEDICAL", "sub_urgent")
    # The same matter with the medicine gone tomorrow and a serious illness: urgent.
    result = triager.classify("我老公肾移植的抗排异药明天就断了，小区封着出不去，医院说要本人去配")
    assert (result.category.value, result.urgency.value) == ("EPI.MEDICAL", "urgent")
    assert "serious_illness" in result.special_groups
    # A foreign caller with no food left.
    result = triager.classify("We have had nothing to eat since yesterday and our compound is still locked down.")
    assert (result.category.value, result.urgency.value, result.language) == ("EPI.SUPPLY", "urgent", "en")
    assert result.special_groups == ["foreigner"]


def test_a_batch_is_classified_as_each_text_alone(triager):
    texts = ["核酸结果三天了还没出来", "楼道里一股煤气味", "Where can I get a booster shot?", "表扬居委王书记"]
    one_by_one = [triager.classify(text).as_dict() for text in texts]
    assert [result.as_dict() for result in triager.classify_many(texts)] == one_by_one


def test_blend_weights_must_be_shares():
    with pytest.raises(ValueError, match="blend category must be between 0 and 1, got 1.5"):
        Blend(category=1.5, kind=0.5, urgency=0.5, groups=0.5, urgent_at=0.2)

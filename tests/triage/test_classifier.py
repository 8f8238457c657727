"""What the rules decide with no history: the behaviour operators rely on from the first day."""

import json

import pytest

from cityline.triage.classifier import Triager
from cityline.triage.history import shipped_model
from cityline.triage.rules import urgency_discount


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager()


def test_medicine_running_out_for_an_elderly_caller_is_urgent_help(triager):
    result = triager.classify("我家老人降压药快吃完了，小区封着出不去，能不能帮忙配药？")
    assert result.kind.value == "help"
    assert result.category.value == "EPI.MEDICAL"
    assert result.urgency.value == "urgent"
    assert result.special_groups == ["elderly"]
    assert "药快吃完" in result.urgency.evidence
    assert result.model_version == "rules"


def test_a_correction_moves_the_topic(triager):
    result = triager.classify("不是问核酸的，是问健康码怎么一直是黄的")
    assert result.category.value == "EPI.CODE"
    assert "核酸" not in result.category.evidence
    assert triager.classify("不是问健康码的，是问核酸结果怎么还没出来").category.value == "EPI.TEST"


def test_the_topic_carrying_the_request_wins(triager):
    text = "核酸做完了结果也出了，现在就是健康码还是黄码，申诉了好几次都没转绿"
    assert triager.classify(text).category.value == "EPI.CODE"


def test_kinds_follow_the_order_of_precedence(triager):
    assert triager.classify("我要举报，楼下棋牌室偷偷营业，很多人聚集打麻将").kind.value == "report"
    assert triager.classify("特地打电话表扬居委王书记，帮我跑了三趟配到了药").kind.value == "praise"
    assert triager.classify("建议核酸检测点增加夜间时段").kind.value == "suggestion"
    assert triager.classify("物业不作为，电梯坏了半个月没人修").kind.value == "complaint"
    assert triager.classify("请问加强针要隔几个月打？").kind.value == "consult"


def test_epidemic_and_ordinary_matters_are_told_apart(triager):
    assert triager.classify("疫情停工期间公司不发工资").category.value == "EPI.WORK"
    assert triager.classify("老板拖欠工资三个月了").category.value == "GEN.LABOUR"


def test_urgency_levels(triager):
    assert triager.classify("楼道里一股煤气味，快派人来").urgency.value == "urgent"
    assert triager.classify("孕妇见红了，救护车进不了小区").urgency.value == "urgent"
    assert triager.classify("核酸结果三天了还没出来，要求尽快处理").urgency.value == "sub_urgent"
    assert triager.classify("楼上装修太吵了").urgency.value == "normal"


def test_absent_symptoms_do_not_raise_urgency(triager):
    result = triager.classify("我从外地回来，没有发烧，要不要隔离？")
    assert result.urgency.value != "urgent"


def test_special_groups_with_their_words(triager):
    result = triager.classify("我妈七十八岁了，尿毒症每周要透析")
    assert set(result.special_groups) == {"elderly", "serious_illness"}
    assert "透析" in result.special_group_evidence["serious_illness"]
    assert triager.classify("家里没有老人小孩，就问下口罩哪里买").special_groups == []


def test_foreign_language_callers_are_foreigners(triager):
    result = triager.classify("Our compound has been locked down for ten days and we have no food left.")
    assert result.language == "en"
    assert "foreigner" in result.special_groups
    assert result.category.value == "EPI.SUPPLY"
    assert result.urgency.value == "urgent"


def test_every_field_carries_confidence_and_evidence(triager):
    result = triager.classify("请问哪里可以打疫苗")
    for field in (result.kind, result.category, result.urgency):
        assert 0.0 <= field.confidence <= 1.0
    assert result.category.evidence
    data = json.loads(json.dumps(result.as_dict(), ensure_ascii=False))
    assert data["category"]["value"] == "EPI.VACCINE"
    assert data["needs_confirmation"] == result.needs_confirmation


def test_unclear_text_asks_the_operator_to_confirm(triager):
    result = triager.classify("喂，喂？")
    assert result.needs_confirmation
    assert result.category.value == "GEN.OTHER"
    strict = Triager(threshold=0.99).classify("请问哪里可以打疫苗")
    assert strict.needs_confirmation


def test_classify_many_matches_classify(triager):
    texts = ["请问哪里可以打疫苗", "楼上漏水"]
    assert [r.as_dict() for r in triager.classify_many(texts)] == [
        triager.classify(t).as_dict() for t in texts
    ]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        Triager(threshold=2)
    with pytest.raises(TypeError, match="text must be a string"):
        Triager().classify(None)


@pytest.mark.parametrize("make", [Triager, lambda: Triager(model=shipped_model())], ids=["rules", "shipped"])
def test_an_emergency_that_is_over_or_imagined_is_not_urgent_now(make):
    triager = make()
    thanks = "特地打电话表扬消防队，上个礼拜我们楼着火，他们五分钟就到了，现在人没事了"
    assert triager.classify(thanks).urgency.value != "urgent"
    idea = "建议每个封控小区留一个应急通道，万一着火或者有人生病能马上打开"
    assert triager.classify(idea).urgency.value != "urgent"
    # The same danger happening now, or a plea with "if" in it, stays urgent.
    assert triager.classify("楼道里着火了，烟很大，快来人").urgency.value == "urgent"
    plea = "我爸透析的车今天没来，如果今天透析不了人就危险了，求求你们帮忙安排车"
    assert triager.classify(plea).urgency.value == "urgent"


def test_urgency_discount_keeps_what_is_happening_now():
    assert urgency_discount("楼道里着火了", "help") == 1.0
    assert urgency_discount("谢谢你们帮我老伴送医，现在人没事了", "praise") < 0.2
    assert urgency_discount("万一着火怎么办", "complaint") < 1.0
    assert urgency_discount("万一今天药送不到就危险了", "help") == 1.0

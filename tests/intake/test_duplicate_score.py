"""How alike two orders are, and why: the reasons a dispatcher reads beside a possible duplicate."""

from __future__ import annotations

from types import SimpleNamespace

from cityline.intake.duplicates import score

ORDER = SimpleNamespace(text="曹家渡街道万航渡路路灯不亮好几天了", caller_phone_digest="d1", street="曹家渡街道",
                        category="GEN.SAFETY")


def candidate(**changes) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(ORDER), **changes})


def test_a_duplicate_is_told_by_its_words_caller_place_and_category():
    value, reasons = score(ORDER, candidate(text="万航渡路的路灯不亮了好几天"), threshold=0.4)
    assert 0.7 < value <= 1.0  # words shared in part, the same caller and place
    assert reasons[0].startswith("文本相似 0.") and reasons[1:] == ["同一来电号码", "同一地点 曹家渡街道",
                                                                  "同一类别 GEN.SAFETY"]


def test_below_the_threshold_the_value_is_the_same_and_no_reasons_are_made():
    other = candidate(text="小区门口垃圾没人清运", caller_phone_digest="d2")
    value, reasons = score(ORDER, other)
    assert 0.1 <= value < 0.4 and reasons == ["同一地点 曹家渡街道", "同一类别 GEN.SAFETY"]
    assert score(ORDER, other, threshold=0.4) == (value, [])


def test_words_alone_count_and_are_named_from_a_fifth_shared():
    value, reasons = score(ORDER, candidate(caller_phone_digest=None, street=None, category=None,
                                            text="万航渡路路灯不亮"), threshold=0.4)
    assert value >= 0.4 and len(reasons) == 1 and reasons[0].startswith("文本相似")

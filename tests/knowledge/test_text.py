"""How questions and articles are cut into what is searched."""

import pytest

from cityline.knowledge.text import (
    BIGRAM,
    SOUND,
    analyse,
    load_synonyms,
    normalise,
    tokens,
    topicality,
)


def test_colloquial_forms_bring_the_canonical_term():
    assert {"核酸检测", "核酸"} <= set(tokens("捅嗓子要排多久"))
    assert {"黄码", "健康码"} <= set(tokens("那个码黄了咋办"))  # a yellow code is a health code
    assert "健康码" in tokens("见康码打不开")  # a common mistyping


def test_a_one_character_form_counts_only_as_a_whole_word():
    assert "健康码" in tokens("我的码打不开")
    assert "健康码" not in tokens("银行卡密码忘了")


def test_fillers_go_and_character_pairs_stay():
    found = tokens("请问一下啊，口罩哪里买")
    assert "口罩" in found and "请问" not in found and "啊" not in found
    assert BIGRAM + "口罩" in found


def test_full_width_and_english_plurals_are_folded():
    assert normalise("ＫＮ９５　口罩") == "kn95 口罩"
    assert "mask" in tokens("Where can I buy masks?")


def test_every_word_knows_what_its_colloquial_form_stands_for():
    analysis = analyse("做核酸在哪")
    assert "核酸检测" in analysis.alternatives["做核酸"]


def test_a_malformed_synonyms_file_is_named(tmp_path):
    bad = tmp_path / "synonyms.toml"
    bad.write_text('[terms]\n"健康码" = "码"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="terms.健康码 must be a list"):
        load_synonyms(bad)


def test_homophones_share_their_syllable_pairs():
    assert SOUND + "kou zhao" in tokens("口找在哪里约") and SOUND + "kou zhao" in tokens("口罩")
    assert SOUND + "he suan" in tokens("核算报告")  # 核 read hé, its commonest reading
    assert SOUND + "kou zhao" not in tokens("口号")


def test_words_common_in_everyday_chinese_say_little_about_the_topic():
    assert topicality("去") < 0.5 and topicality("人") < 0.5
    assert topicality("口罩") == 1.0 and topicality("老板") > 0.9
    weights = analyse("我去哪里买口罩").weights
    assert weights["去"] < weights["哪里"] < weights["口罩"] == 1.0
    assert analyse("捅嗓子").weights["核酸检测"] == 1.0  # a hotline term always names a topic

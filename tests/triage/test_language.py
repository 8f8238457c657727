import pytest

from cityline.triage.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我家老人降压药快吃完了，小区封着出不去", "zh"),
        ("我的health code变red了", "zh"),
        ("My health code turned yellow and I have a flight on Friday.", "en"),
        ("Bonjour, je ne peux pas sortir de ma résidence depuis une semaine.", "fr"),
        ("Guten Tag, ich brauche Hilfe, meine Mutter ist krank.", "de"),
        ("PCR検査の結果が三日たっても出ません。", "ja"),
        ("아파트가 봉쇄된 지 2주가 됐어요. 도와주세요.", "ko"),
        ("Здравствуйте, мне нужна помощь с лекарствами.", "ru"),
        ("Hola, necesito ayuda con mi código de salud.", "es"),
        ("I live at 长宁区新泾镇, my building is locked down and we need food.", "en"),
    ],
)
def test_detects_the_language_of_an_order(text, language):
    assert detect_language(text) == language


def test_empty_text_is_taken_as_chinese():
    assert detect_language("") == "zh"

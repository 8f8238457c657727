import pytest

from cityline.geo import parse_address
from cityline.geo.transliterate import normalise_cyrillic, to_cyrillic, to_hangul


@pytest.mark.parametrize(
    ("pinyin", "russian"),
    [("xu hui", "Сюйхуэй"), ("min hang", "Миньхан"), ("pu dong", "Пудун"),
     ("jing an", "Цзинъань"), ("pu tuo", "Путо"), ("feng xian", "Фэнсянь"),
     ("qi bao", "Цибао"), ("zhen ru", "Чжэньжу"), ("si", "Сы")],
)
def test_palladius_spelling(pinyin, russian):
    assert normalise_cyrillic(to_cyrillic(pinyin.split())) == normalise_cyrillic(russian)


@pytest.mark.parametrize(
    ("pinyin", "korean"),
    [("min hang", "민항"), ("xu hui", "쉬후이"), ("jing an", "징안"), ("chang ning", "창닝"),
     ("hong qiao", "훙차오"), ("hong qiao", "홍차오"), ("lu jia zui", "루자쭈이"),
     ("xuan", "쉬안"), ("jiu", "주"), ("shi", "스")],
)
def test_korean_spelling(pinyin, korean):
    assert korean in to_hangul(pinyin.split())


def test_not_a_syllable_gives_nothing():
    assert to_cyrillic(["xyz"]) is None
    assert to_hangul(["xyz"]) == []


def test_places_in_cyrillic_and_hangul():
    assert parse_address("где в районе Сюйхуэй сдать тест?").district == "徐汇区"
    assert parse_address("Я живу в Цзинъане").district == "静安区"  # declined
    place = parse_address("상하이 민항구 홍차오진에 살고 있어요")
    assert (place.district, place.street) == ("闵行区", "虹桥镇")
    assert parse_address("홍차오 공항에서 왔어요").street is None  # the airport, not the town

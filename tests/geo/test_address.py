"""What callers of parse_address rely on, one behaviour a test."""

import pytest

from cityline.geo import Place, parse_address
from cityline.geo.gazetteer import township_forms


def test_whole_order_text_gives_official_names_and_the_pieces_that_gave_them():
    place = parse_address("我住在普陀区长寿路那边的一个小区，楼下垃圾三天没人收")
    assert (place.province, place.city, place.district, place.street) == (
        "上海市", "上海市", "普陀区", "长寿路街道")
    assert place.matched == ["普陀区", "长寿路"]
    assert 0 < place.confidence <= 1
    assert place.as_dict()["street"] == "长寿路街道"


@pytest.mark.parametrize(
    ("text", "district", "street"),
    [
        ("徐汇漕河泾", "徐汇区", "漕河泾街道"),  # district without 区, street without 街道
        ("江桥", "嘉定区", "江桥镇"),  # a town alone tells its district
        ("真如那边", "普陀区", "真如镇街道"),
        ("曹杨新村", "普陀区", "曹杨新村街道"),
        ("闵行虹桥", "闵行区", "虹桥镇"),  # the district settles a shared short name
        ("长宁虹桥", "长宁区", "虹桥街道"),
        ("普陀长征", "普陀区", "长征镇"),  # a common word counts beside its district
    ],
)
def test_partial_forms(text, district, street):
    place = parse_address(text)
    assert (place.district, place.street) == (district, street)


def test_a_road_alone_is_weaker_than_the_street_office_name():
    road = parse_address("长寿路那边")
    office = parse_address("长寿路街道")
    assert road.street == office.street == "长寿路街道"
    assert road.confidence < office.confidence
    # a named district outweighs a road that belongs to another district
    assert (parse_address("徐汇区长寿路").district, parse_address("徐汇区长寿路").street) == (
        "徐汇区", None)


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("虹桥", None),  # 长宁区虹桥街道 or 闵行区虹桥镇
        ("朝阳区", None),  # 北京 or 长春
        ("彭浦", "静安区"),  # 彭浦镇 or 彭浦新村街道, both in 静安区
    ],
)
def test_ambiguous_names_give_none_at_the_ambiguous_level(text, district):
    place = parse_address(text)
    assert place.district == district
    assert place.street is None


def test_nationwide_to_district_level():
    assert parse_address("武汉市江岸区").district == "江岸区"
    beijing = parse_address("北京朝阳区")
    assert (beijing.city, beijing.district) == ("北京市", "朝阳区")
    assert parse_address("浙江省杭州市西湖区").city == "杭州市"


def test_default_city_settles_names_shared_with_other_cities_and_can_be_changed():
    assert parse_address("普陀区").city == "上海市"
    assert parse_address("普陀区", default_city="舟山市").city == "舟山市"
    assert parse_address("普陀区", default_city=None).district is None
    with pytest.raises(ValueError, match="default_city"):
        parse_address("普陀区", default_city="不存在市")


def test_roads_named_after_places_are_not_those_places():
    assert parse_address("南京路步行街").city is None
    assert parse_address("嘉定路有个小区停水").district is None
    assert parse_address("西藏中路").province is None


def test_no_place_gives_an_empty_place():
    assert parse_address("楼下垃圾三天没人收") == Place()
    assert parse_address("") == Place()


def test_a_city_alone_gives_no_district():
    place = parse_address("我从湖北回来的，需要隔离吗")
    assert (place.province, place.district) == ("湖北省", None)


def test_latin_letters_and_traditional_characters():
    assert parse_address("I live in Jing'an District").district == "静安区"
    assert parse_address("Xinjing Town, Changning").street == "新泾镇"
    assert parse_address("Caoyang Road").street is None
    place = parse_address("長寧区の新涇鎮に住んでいます")
    assert (place.district, place.street) == ("长宁区", "新泾镇")
    assert place.matched == ["長寧区", "新涇鎮"]


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="expects a str"):
        parse_address(None)


def test_township_short_forms():
    assert township_forms("长寿路街道") == [("长寿路", 0.5, "road")]
    assert [f for f, _, _ in township_forms("真如镇街道")] == ["真如镇", "真如"]
    assert [f for f, _, _ in township_forms("川沙新镇")] == ["川沙"]
    assert [f for f, _, _ in township_forms("华新镇")] == ["华新"]
    assert township_forms("漕河泾新兴技术开发区") == []

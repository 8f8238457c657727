import pytest

from cityline.geo.rules import (
    CompoundMatcher,
    parse_compounds,
    parse_polygon,
    point_in_polygon,
    zone_code,
)

SQUARE = [[121.40, 31.17], [121.42, 31.17], [121.42, 31.19], [121.40, 31.19]]
HOLE = [[121.405, 31.175], [121.415, 31.175], [121.415, 31.185], [121.405, 31.185]]


def test_point_inside_and_outside_a_square():
    polygon = parse_polygon([SQUARE])
    assert point_in_polygon(121.41, 31.18, polygon)
    assert not point_in_polygon(121.43, 31.18, polygon)
    assert not point_in_polygon(121.41, 31.20, polygon)


def test_a_hole_is_outside():
    polygon = parse_polygon([SQUARE, HOLE])
    assert not point_in_polygon(121.41, 31.18, polygon)
    assert point_in_polygon(121.401, 31.171, polygon)


def test_concave_polygon():
    # an L shape: the notch at the top right is outside
    shape = [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]
    polygon = parse_polygon(shape)
    assert point_in_polygon(0.5, 1.5, polygon)
    assert not point_in_polygon(1.5, 1.5, polygon)


def test_polygon_from_json_text_with_closing_point():
    polygon = parse_polygon("[[[0,0],[1,0],[1,1],[0,1],[0,0]]]")
    assert polygon == [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[[0,0],[1,", "not valid JSON"),
        ([[[0, 0], [1, 1]]], "fewer than 3"),
        ([[[0, 0], [1, "a"], [2, 2]]], "not a list of [lon, lat]"),
        ([[[0, 0], [200, 0], [0, 1]]], "is not a lon/lat"),
        ({"type": "Polygon"}, "non-empty list"),
    ],
)
def test_bad_polygons_say_what_is_wrong(value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_polygon(value)


def test_zone_levels_in_english_or_chinese():
    assert zone_code("封控") == "sealed"
    assert zone_code("Controlled") == "controlled"
    assert zone_code("防范") == "precaution"
    assert zone_code(None) is None
    with pytest.raises(ValueError, match="unknown zone level"):
        zone_code("red")


def test_compound_lists_from_text_or_json():
    assert parse_compounds("阳光花园小区；梅园新村;  ") == ["阳光花园小区", "梅园新村"]
    assert parse_compounds('["阳光花园", "阳光花园"]') == ["阳光花园"]
    with pytest.raises(ValueError):
        parse_compounds("[1, 2")


def test_compound_matcher_finds_names_with_or_without_xiaoqu():
    matcher = CompoundMatcher.build({"G1": ["阳光花园小区"], "G2": ["梅园新村", "阳光花园东苑"]})
    assert matcher.grids_in("我住在阳光花园，楼下垃圾没人收") == {"G1"}
    assert matcher.grids_in("阳光花园东苑3号楼漏水") == {"G2"}
    assert matcher.grids_in("梅园新村和阳光花园小区都停水") == {"G1", "G2"}
    assert matcher.grids_in("楼下垃圾没人收") == set()

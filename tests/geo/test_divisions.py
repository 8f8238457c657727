import shutil

from cityline.geo.divisions import (
    CITY,
    DISTRICT,
    PROVINCE,
    STREET,
    jionlp_dictionary_dir,
    load_divisions,
    read_location_text,
    shanghai_streets,
)


def test_shanghai_has_sixteen_districts_with_their_streets():
    streets = shanghai_streets()
    assert len(streets) == 16
    assert "浦东新区" in streets and "崇明区" in streets
    assert {"天平路街道", "徐家汇街道", "漕河泾街道", "华泾镇"} <= set(streets["徐汇区"])
    assert {"长寿路街道", "真如镇街道", "长征镇"} <= set(streets["普陀区"])
    assert all(names for names in streets.values())


def test_shanghai_streets_returns_a_fresh_copy():
    shanghai_streets()["徐汇区"].clear()
    assert shanghai_streets()["徐汇区"]


def test_same_district_name_in_two_cities_is_told_apart_by_parent():
    divisions = load_divisions()
    cities = {divisions.parent(d).name for d in divisions.named("朝阳区", DISTRICT)}
    assert cities == {"北京市", "长春市"}


def test_every_level_is_present_and_keys_are_unique():
    divisions = load_divisions()
    assert len(divisions.by_key) == len(divisions)
    for level in (PROVINCE, CITY, DISTRICT, STREET):
        assert divisions.of_level(level)
    assert len(divisions.of_level(PROVINCE)) == 34


def test_county_level_city_under_a_province_hangs_on_the_province():
    divisions = load_divisions()
    (xiantao,) = divisions.named("仙桃市")
    assert [d.name for d in divisions.ancestors(xiantao)] == ["湖北省"]


def test_reads_the_zip_jionlp_ships_when_the_text_is_not_unpacked(tmp_path):
    shipped = jionlp_dictionary_dir()
    shutil.copy(shipped / "china_location.zip", tmp_path)
    assert read_location_text(tmp_path) == read_location_text(shipped)

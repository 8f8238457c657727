import pytest

from cityline.errors import Invalid, NotFound
from cityline.geo.service import grid_for, import_grids, set_zone

SQUARE = [[[121.40, 31.17], [121.42, 31.17], [121.42, 31.19], [121.40, 31.19]]]
SMALL = [[[121.405, 31.175], [121.410, 31.175], [121.410, 31.180], [121.405, 31.180]]]


def _rows():
    return [
        {"code": "XH-01", "name": "漕河泾一网格", "district": "徐汇区", "street": "漕河泾街道",
         "unit_code": "U-XH-CHJ", "polygon": SQUARE, "compounds": ["阳光花园小区"]},
        {"code": "XH-02", "name": "漕河泾二网格", "district": "徐汇区", "street": "漕河泾街道",
         "unit_code": "U-XH-CHJ", "polygon": str(SMALL), "compounds": "梅园新村；桂林苑"},
        {"code": "PT-01", "name": "长寿一网格", "district": "普陀区", "street": "长寿路街道",
         "compounds": '["桂林苑"]', "zone_level": "管控"},
    ]


def test_import_creates_then_updates(session):
    report = import_grids(session, enumerate(_rows(), start=1))
    assert (report.created, report.updated, report.bad) == (3, 0, [])
    again = import_grids(session, [(1, {**_rows()[0], "name": "漕河泾第一网格"})])
    assert (again.created, again.updated) == (0, 1)
    assert grid_for(session, lat=31.185, lon=121.415).name == "漕河泾第一网格"


def test_bad_rows_are_reported_and_good_rows_kept(session):
    rows = [
        *_rows(),
        {"code": "", "name": "无编号", "compounds": ["某小区"]},
        {"code": "X-1", "name": "错区", "district": "徐汇县", "compounds": ["某小区"]},
        {"code": "X-2", "name": "错街道", "district": "徐汇区", "street": "长寿路街道",
         "compounds": ["某小区"]},
        {"code": "X-3", "name": "坏多边形", "polygon": "[[1,2]", "compounds": []},
        {"code": "X-4", "name": "空网格"},
        {"code": "X-5", "name": "坏级别", "compounds": ["某小区"], "zone_level": "red"},
        {"code": "XH-01", "name": "重复", "compounds": ["某小区"]},
    ]
    report = import_grids(session, enumerate(rows, start=1))
    assert report.created == 3
    reasons = {e.row: e.message for e in report.bad}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10]
    assert "code is empty" in reasons[4]
    assert "not an official district" in reasons[5]
    assert "not a street or town of 徐汇区" in reasons[6]
    assert "JSON" in reasons[7]
    assert "polygon or at least one compound" in reasons[8]
    assert "unknown zone level" in reasons[9]
    assert "appears twice" in reasons[10]


def test_grid_by_coordinates_prefers_the_smallest(session):
    import_grids(session, enumerate(_rows(), start=1))
    assert grid_for(session, lat=31.177, lon=121.407).code == "XH-02"
    assert grid_for(session, lat=31.185, lon=121.415).code == "XH-01"
    assert grid_for(session, lat=31.30, lon=121.50) is None


def test_grid_by_compound_named_in_the_text(session):
    import_grids(session, enumerate(_rows(), start=1))
    assert grid_for(session, text="我住阳光花园，楼道灯坏了").code == "XH-01"
    assert grid_for(session, text="梅园新村门口垃圾").code == "XH-02"
    # 桂林苑 is known in two grids: unknown rather than guess
    assert grid_for(session, text="桂林苑停水") is None
    assert grid_for(session, text="楼下垃圾没人收") is None


def test_coordinates_outside_every_grid_fall_back_to_the_text(session):
    import_grids(session, enumerate(_rows(), start=1))
    assert grid_for(session, lat=31.30, lon=121.50, text="梅园新村停电").code == "XH-02"


def test_grid_for_checks_coordinates(session):
    with pytest.raises(Invalid, match="both lat and lon"):
        grid_for(session, lat=31.2)
    with pytest.raises(Invalid, match="not a position"):
        grid_for(session, lat=131.2, lon=121.4)


def test_set_zone_and_lift_it(session):
    import_grids(session, enumerate(_rows(), start=1))
    grid = set_zone(session, "XH-01", "封控")
    assert grid.zone_level == "sealed" and grid.zone_changed_at is not None
    assert set_zone(session, "PT-01", None).zone_level is None
    with pytest.raises(NotFound):
        set_zone(session, "NOPE", "sealed")
    with pytest.raises(Invalid, match="unknown zone level"):
        set_zone(session, "XH-01", "lockdown")

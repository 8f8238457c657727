"""The epidemic pages through the ASGI app, over the small epidemic of tests/epidemic/world.py:
coverage by place with the untested list and its Excel export, passes issued and verified,
zones on the situation page, and who may see what.

People (units and grids as in tests/epidemic/test_api.py): a city-wide commander; a grid
worker of SH-JA-MOON, whose grid G-MOON is 月亮小区; an analyst; a unit handler of 曹家渡街道.
Besides the world's tests (2022), R01 and R04 were tested negative within the last hours, so
that passes can be issued now.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook

from cityline.accounts.service import list_audit
from cityline.accounts.units import upsert_unit
from cityline.db import transaction, utcnow
from cityline.epidemic.importer import import_file
from cityline.geo.service import import_grids
from cityline.privacy import mask_name
from cityline.web.epidemic_pages import Line, Place, lines_below
from tests.epidemic.conftest import env, loaded, world_files  # noqa: F401  (fixtures)
from tests.epidemic.test_api import GRIDS, UNITS
from tests.epidemic.world import CJD, JA, MOON, RESIDENTS, SUN, write_csv
from tests.web.conftest import add_user, console_app, sign_in

SINCE, UNTIL = "2022-04-09", "2022-04-10"
PEOPLE = {"commander": (["commander"], "SH"), "grid": (["grid_worker"], "SH-JA-MOON"),
          "analyst": (["analyst"], None), "handler": (["unit_handler"], "SH-JA-CJD")}
FULL_PHONE = RESIDENTS[0][3]  # R01's
# The pages read through the epidemic API's handlers, which tests/epidemic runs on both
# databases; pages that only read and draw run here on SQLite alone (test time), those with
# reads and writes of their own (the untested list's residents, passes, audit) on both.
SQLITE_ONLY = pytest.mark.parametrize("sessions", ["sqlite"], indirect=True)


def add_recent_tests(sessions, epidemic, folder) -> None:
    now = utcnow()
    rows = [("R01", now - timedelta(hours=1), "阴性", "pcr"), ("R04", now - timedelta(hours=2), "negative", "pcr")]
    path = write_csv(folder / "recent-tests.csv", ["person_id", "sampled_at", "result", "kind"], rows)
    assert not import_file(sessions, epidemic, "tests", path, actor="test").bad


@pytest.fixture
def epi(loaded, vault, tmp_path):  # noqa: F811  (the fixture imported above)
    """(app, clients by person) over the imported world."""
    sessions, epidemic = loaded
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
        assert not import_grids(session, enumerate(GRIDS, start=2)).bad
    add_recent_tests(sessions, epidemic, tmp_path)
    app = console_app(sessions, vault)
    app.state.epidemic_env = epidemic
    return app, Clients(app, sessions)


class Clients(dict):
    """Signed-in clients by person, each made on first use (hashing a password is slow)."""

    def __init__(self, app, sessions) -> None:
        super().__init__()
        self.app, self.sessions = app, sessions

    def __missing__(self, name: str):
        add_user(self.sessions, name, *PEOPLE[name])
        self[name] = sign_in(self.app, name)
        return self[name]


def coverage(client, **place):
    return client.get("/epidemic/coverage?" + urlencode({"since": SINCE, "until": UNTIL, **place}))


def table_rows(html: str, start: str = '<table class="orders coverage">') -> list[list[str]]:
    body = re.search(rf'{start}.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_drill_down_adds_up_places_worst_first():
    rows = [{"district": "D", "street": "S", "compound": c, "building": b, "present": p, "tested": t}
            for c, b, p, t in (("A", "1", 4, 4), ("A", None, 2, 0), ("B", "1", 10, 5), ("C", "1", 4, 2))]
    total, lines = lines_below(rows, Place("D", "S"))
    assert total == Line("S", 20, 11)
    assert [line.name for line in lines] == ["B", "C", "A"]  # 50 % of 10, 50 % of 4, then 67 %
    _, buildings = lines_below(rows, Place.of({"district": "D", "street": "S", "compound": "A"}))
    assert buildings == [Line(None, 2, 0), Line("1", 4, 4)]
    assert Place.of({"district": "D", "compound": "A"}) == Place("D")  # no level below a missing one


@SQLITE_ONLY
def test_coverage_drills_down_from_the_city_to_a_building_with_its_untested_residents(epi):
    _app, clients = epi
    commander = clients["commander"]
    city = coverage(commander)
    assert city.status_code == 200
    assert table_rows(city.text)[0][0] == JA
    street = coverage(commander, district=JA, street=CJD)
    assert [r[:3] for r in table_rows(street.text)] == [[SUN, "3", "6"], [MOON, "2", "4"]]  # 50 %: more people first
    up = "/epidemic/coverage?" + urlencode({"since": SINCE, "until": UNTIL, "district": JA})
    assert f'href="{up.replace("&", "&amp;")}"' in street.text  # the breadcrumb back up
    building = coverage(commander, district=JA, street=CJD, compound=SUN, building="1号楼")
    untested = table_rows(building.text, '<table class="orders" id="untested">')  # the untested list
    assert [r[:2] for r in untested] == [["张*一", "138****0101"], ["张*二", "138****0102"], ["王*三", ""]]
    assert "张小一" not in building.text and FULL_PHONE not in building.text
    assert "untested.xlsx" in building.text

    page = commander.get("/epidemic/coverage")  # without dates: the latest two days with tests
    today = (utcnow() + timedelta(hours=8)).date()  # the recent tests are today's (Shanghai)
    assert f'value="{(today - timedelta(days=1)).isoformat()}"' in page.text
    bad = commander.get("/epidemic/coverage?since=2022-04-10&until=2022-04-09")
    assert bad.status_code == 200 and "开始日期晚于结束日期" in bad.text



@SQLITE_ONLY
def test_dates_without_a_test_here_point_to_the_latest_day_with_one(epi):
    """A street between its screening rounds: nobody tested on the dates asked, so the page names
    the latest day someone here was (of the fortnight before) and links to that day's coverage."""
    _app, clients = epi
    commander = clients["commander"]
    quiet = commander.get("/epidemic/coverage?" + urlencode(
        {"since": "2022-04-13", "until": "2022-04-14", "district": JA, "street": CJD}))
    assert quiet.status_code == 200 and "已检 0 / 在住" in quiet.text
    hint = re.search(r'<p class="hint" id="coverage-earlier">(.*?)</p>', quiet.text, re.S).group(1)
    assert "最近一次有检测是 2022-04-10" in hint
    link = re.search(r'href="([^"]+)"', hint).group(1).replace("&amp;", "&")
    assert "since=2022-04-09" in link and "until=2022-04-10" in link and "street=" in link
    earlier = commander.get(link)
    tested = re.search(r"已检 (\d+) / 在住", earlier.text).group(1)
    assert int(tested) > 0 and 'id="coverage-earlier"' not in earlier.text  # tested then: no hint
    # Nothing in the fortnight before the dates: no day to point to.
    assert 'id="coverage-earlier"' not in commander.get("/epidemic/coverage?" + urlencode(
        {"since": "2022-05-13", "until": "2022-05-14", "district": JA, "street": CJD})).text


@SQLITE_ONLY
def test_people_are_shown_only_to_those_who_may_see_them(epi):
    _app, clients = epi
    analyst = coverage(clients["analyst"], district=JA, street=CJD, compound=SUN, building="1号楼")
    assert analyst.status_code == 200 and 'id="aggregates-only"' in analyst.text
    assert "张*一" not in analyst.text and "untested.xlsx" not in analyst.text
    assert clients["analyst"].get("/epidemic/coverage/untested.xlsx?" + urlencode(
        {"district": JA, "street": CJD})).status_code == 403
    grid = clients["grid"]
    assert "郑*十" in coverage(grid, district=JA, street=CJD, compound=MOON).text  # the grid's own
    other = coverage(grid, district=JA, street=CJD, compound=SUN, building="1号楼")
    assert "张*一" not in other.text and "（0 人）" in other.text  # figures, but nobody outside the grid
    assert "另有 3 名未检人员不在您的管辖范围内" in other.text
    # A street's grid worker starts at their own street; the city's commander at the city.
    assert "各小区覆盖率" in grid.get("/epidemic/coverage", params={"since": SINCE, "until": UNTIL}).text
    assert "各区覆盖率" in clients["commander"].get("/epidemic/coverage", params={"since": SINCE, "until": UNTIL}).text
    handler = clients["handler"].get("/epidemic/coverage")
    assert handler.status_code == 403 and "无权访问" in handler.text
    assert clients["handler"].get("/epidemic/verify").status_code == 200  # a handler may check passes
    nav = {name: set(re.findall(r'href="(/epidemic/[a-z]+)"', c.get("/epidemic/verify").text))
           for name, c in [(n, clients[n]) for n in ("commander", "grid", "handler")]}
    assert nav["commander"] == nav["grid"] == {"/epidemic/command", "/epidemic/coverage", "/epidemic/passes",
                                               "/epidemic/verify", "/epidemic/cases", "/epidemic/clusters"}
    assert nav["handler"] == {"/epidemic/verify"}


def test_the_untested_list_of_a_street_exports_as_a_masked_workbook_without_formulas(epi, tmp_path):
    app, clients = epi
    sessions, epidemic = app.state.sessions, app.state.epidemic_env
    hostile = write_csv(tmp_path / "more.csv", ["person_id", "name", "phone", "district", "street", "compound",
                                                "building", "room", "grid"],
                        [("R90", "=HYPERLINK(1)", "13800000190", JA, CJD, SUN, "1号楼", "=1+2", "G-SUN")])
    assert not import_file(sessions, epidemic, "residents", hostile, actor="test").bad
    answer = clients["commander"].get("/epidemic/coverage/untested.xlsx?" + urlencode(
        {"since": SINCE, "until": UNTIL, "district": JA, "street": CJD}))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["区", "街道", "小区", "楼栋", "单元", "房号", "姓名", "电话", "网格", "状态"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    by_room = {(r[3], r[5]): r for r in rows[1:]}
    assert by_room[("1号楼", "101")][6:8] in (["张*一", "138****0101"], ["张*二", "138****0102"])
    assert by_room[("1号楼", "'=1+2")][6:8] == ["'" + mask_name("=HYPERLINK(1)"), "138****0190"]
    assert {r[2] for r in rows[1:]} == {SUN, MOON} and len(rows) == 1 + 3 + 1 + 2  # 1号楼 + R90, 月亮小区
    assert FULL_PHONE.encode() not in answer.content
    with transaction(sessions) as session:
        assert [e.target for e in list_audit(session, actor="commander", action="export")] == ["epidemic:untested"]
    whole_city = clients["commander"].get("/epidemic/coverage/untested.xlsx")
    assert whole_city.status_code == 422 and "请先选到街道" in whole_city.text


def issue(client, **body):
    answer = client.post("/api/epidemic/passes/issue", json=body)  # what the pass page's script sends
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_pass_is_issued_shown_as_a_qr_code_verified_at_the_gate_and_revoked(epi, tmp_path):
    app, clients = epi
    commander = clients["commander"]
    assert commander.get("/epidemic/passes").status_code == 200
    [result] = issue(commander, persons=["R01"])
    assert result["issued"], result
    page = commander.get(f"/epidemic/passes/{result['code']}")
    assert page.status_code == 200 and "<svg" in page.text and "张*一" in page.text
    verify = re.search(r'<a href="([^"]+)" id="pass-verify">', page.text).group(1).replace("&amp;", "&")
    assert verify == f"http://testserver/epidemic/verify?code={result['code']}"
    checked = clients["handler"].get(verify.removeprefix("http://testserver"))
    assert checked.status_code == 200 and 'class="verdict green"' in checked.text and "有效（绿码）" in checked.text
    assert "张*一" in checked.text
    code = result["code"]
    changed = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]
    forged = clients["handler"].get(f"/epidemic/verify?code={changed}")
    assert 'class="verdict red"' in forged.text and "无效（红码）" in forged.text and "张*一" not in forged.text
    assert commander.get(f"/epidemic/passes/{changed}").status_code == 404
    with transaction(app.state.sessions) as session:
        verified = [e.detail["status"] for e in list_audit(session, actor="handler", action="pass_verified")]
        issued = list_audit(session, actor="commander", action="pass_issued")
    assert sorted(verified) == ["invalid", "valid"] and len(issued) == 1

    positive = write_csv(tmp_path / "positive.csv", ["person_id", "sampled_at", "result"],
                         [("R01", utcnow() - timedelta(minutes=5), "阳性")])
    assert import_file(app.state.sessions, app.state.epidemic_env, "tests", positive, actor="test").revoked_passes == 1
    assert "撤销原因：曾检测阳性" in commander.get(f"/epidemic/passes/{code}").text
    again = clients["handler"].get(f"/epidemic/verify?code={code}")
    assert 'class="verdict red"' in again.text and "已撤销（红码）" in again.text
    assert "Revoked (red)" in clients["handler"].get(f"/epidemic/verify?code={code}&lang=en").text


@SQLITE_ONLY
def test_a_building_is_issued_at_once_and_a_grid_worker_only_within_the_grid(epi):
    _app, clients = epi
    place = {"district": JA, "street": CJD, "compound": SUN, "building": "2号楼"}
    results = {r["person"]: (r["issued"], r["reason"]) for r in issue(clients["commander"], **place)}
    assert results == {"R04": (True, None), "R05": (False, "no_result"), "R06": (False, "test_too_old")}
    outside = issue(clients["grid"], **place)
    assert {r["reason"] for r in outside} == {"outside_reach"}
    assert 'id="b-compound" name="compound" value="阳光小区"' in clients["commander"].get(
        "/epidemic/passes?" + urlencode(place)).text
    assert clients["analyst"].get("/epidemic/passes").status_code == 403


@SQLITE_ONLY
def test_the_situation_lists_the_days_zones_with_links_to_their_coverage(epi):
    _app, clients = epi
    page = clients["commander"].get("/situation?day=2022-04-10")
    assert page.status_code == 200
    levels = re.findall(r'<tr class="zone-(\w+)">', page.text)
    assert levels == ["sealed"] * 3 + ["controlled"] + ["precaution"] * 2
    assert re.search(r'id="z-sealed">3 个，\d+ 人<', page.text)
    link = "/epidemic/coverage?" + urlencode({"since": SINCE, "until": UNTIL, "district": JA, "street": CJD,
                                              "compound": MOON})
    assert f'href="{link.replace("&", "&amp;")}"' in page.text
    quiet = clients["analyst"].get("/situation?day=2021-01-01")
    assert "当日无封控、管控、防范区域" in quiet.text


def test_the_commander_lands_on_the_days_map_with_districts_and_the_lowest_streets(epi):
    _app, clients = epi
    home = clients["commander"].get("/", follow_redirects=False)
    assert home.headers["location"].startswith("/epidemic/command")
    page = clients["commander"].get("/epidemic/command?day=2022-04-10")
    assert page.status_code == 200
    assert 'id="command-map"' in page.text and "shanghai-districts.json" in page.text
    # 静安区 has the three ledger cases of D−13..D; R20X, not in the ledger, has a row of its own.
    assert re.search(r'<th scope="row">静安区</th>\s*<td>3</td>', page.text)
    assert re.search(r'<th scope="row">未在台账（无住址）</th>\s*<td>1</td>', page.text)
    assert f">{CJD}</a>" in page.text  # a street with its coverage, linked to the drill-down
    assert "近14天没有流调工单" in page.text  # no warnings run in this world: the chain says so
    assert clients["analyst"].get("/epidemic/command?day=2022-04-10").status_code == 200  # figures only
    assert clients["handler"].get("/epidemic/command?day=2022-04-10").status_code == 403

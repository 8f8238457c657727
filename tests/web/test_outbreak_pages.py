"""Cases, clusters and places of exposure in the console, over the world of
tests/epidemic/world.py with the cluster cases of tests/epidemic/test_clusters_api.py (clusters
R10 – R16 – R22 and R11 – R17, the place of exposure 好味餐厅). Through the ASGI app (SQLite:
the API under the pages runs on both databases in tests/epidemic), and in a real browser.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.epidemic.conftest import env, loaded, world_files  # noqa: F401  (fixtures)
from tests.epidemic.test_clusters_api import add_cluster_cases
from tests.epidemic.world import RESIDENTS
from tests.web.conftest import add_user, sign_in
from tests.web.test_epidemic_pages import epi  # noqa: F401  (a fixture)
from tests.web.test_epidemic_pages_browser import epidemic_server
from tests.web.test_journeys import DESKTOP, browser  # noqa: F401  (a fixture)
from tests.web.test_journeys import sign_in as browser_sign_in

FULL_NAMES = {r[1] for r in RESIDENTS}
SQLITE_ONLY = pytest.mark.parametrize("sessions", ["sqlite"], indirect=True)


@pytest.fixture
def pages(epi, sessions, env, tmp_path):  # noqa: F811
    """(clients by person): a city-wide commander, a grid worker of 月亮小区 (G-MOON), a grid
    worker of 阳光小区 (G-SUN, nobody of the clusters), an analyst."""
    app, clients = epi
    add_cluster_cases(sessions, env, tmp_path / "more")
    add_user(sessions, "sun", ["grid_worker"], "SH-JA-CJD")
    return {"commander": clients["commander"], "moon": clients["grid"], "sun": sign_in(app, "sun"),
            "analyst": clients["analyst"]}


def no_full_names(html: str) -> None:
    assert not [n for n in FULL_NAMES if n in html]


@SQLITE_ONLY
def test_cases_a_case_with_evidence_clusters_and_places(pages):
    commander = pages["commander"]
    listed = commander.get("/epidemic/cases").text
    no_full_names(listed)
    rows = re.findall(r'<a href="/epidemic/cases/(\w+)\?date=2022-04-10">', listed)
    assert rows == ["R17", "R22", "R11", "R20X", "R16", "R10", "R14", "R13", "R21"]  # the latest report first
    assert "郑*十" in listed and 'href="/epidemic/clusters/R10?date=2022-04-10"' in listed

    page = commander.get("/epidemic/cases/R10").text
    no_full_names(page)
    assert "2022-04-04 12:00 – 2022-04-07 12:00" in page  # the exposure window
    assert "V-REST 好味餐厅 2022-04-06 12:00 (42 min together)" in page and "42 分钟" in page
    tier2 = page[page.index('id="tier2"'):]
    assert "R22" in tier2 and "same household as R16" in tier2
    # Clusters ranked with their graph, and the places of exposure.
    listed = commander.get("/epidemic/clusters?date=2022-04-10").text
    assert re.findall(r'<a href="/epidemic/clusters/(\w+)\?', listed) == ["R10", "R11"]
    assert "3 / 0（+3）" in listed
    page = commander.get("/epidemic/clusters/R10").text
    no_full_names(page)
    assert 'id="cluster-graph"' in page and "echarts.min.js" in page
    graph = json.loads(re.search(r'<script type="application/json" id="cluster-data">(.*?)</script>', page).group(1))
    assert {n["label"] for n in graph["nodes"]} == {"郑*十", "沈*六", "沈*二", "吴*九"}
    assert commander.get("/epidemic/clusters/R13").status_code == 404  # a lone case is no cluster
    places = commander.get("/epidemic/exposure-places").text
    assert "V-REST 好味餐厅" in places and "2022-04-06 12:00 – 12:42" in places
    assert commander.get("/epidemic/clusters?date=2022-02-30").status_code == 200  # shown with the default day
    english = commander.get("/epidemic/cases/R10?lang=en").text
    assert "Exposure window" in english and "Meal" in english


@SQLITE_ONLY
def test_who_may_open_them(pages):
    assert pages["sun"].get("/epidemic/cases/R16").status_code == 404  # another street
    assert pages["sun"].get("/epidemic/clusters/R10").status_code == 404
    assert "R10" not in pages["sun"].get("/epidemic/cases").text
    moon = pages["moon"].get("/epidemic/cases/R10").text
    assert "R09" in moon and "另有 2 名接触者不在您的管辖范围内" in moon
    assert pages["analyst"].get("/epidemic/clusters").status_code == 403
    assert 'href="/epidemic/clusters"' in pages["commander"].get("/epidemic/cases").text  # in the menu
    situation = pages["commander"].get("/situation?day=2022-04-10").text
    assert 'id="outbreak-links"' in situation and 'href="/epidemic/exposure-places"' in situation
    assert 'id="outbreak-links"' not in pages["analyst"].get("/situation?day=2022-04-10").text


@pytest.mark.browser
def test_the_cluster_graph_and_a_case_in_a_browser(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    with epidemic_server(tmp_path, more=lambda s, e, folder: add_cluster_cases(s, e, folder / "more")) as base:
        page = browser_sign_in(browser, base, "commander", **DESKTOP)
        page.goto("/epidemic/clusters")
        page.get_by_role("link", name="R10", exact=True).click()
        graph = page.locator("#cluster-graph")
        expect(graph.locator("canvas")).to_have_count(1)
        expect(graph).to_have_attribute("data-nodes", "4")
        box = graph.locator("canvas").bounding_box()
        assert box["width"] > 300 and box["height"] > 300
        page.screenshot(path=str(tmp_path / "cluster.png"), full_page=True)
        page.locator("#links").get_by_role("link", name="R16").first.click()
        expect(page.locator("#tier1")).to_contain_text("V-REST 好味餐厅 2022-04-06 12:00 (42 min together)")
        expect(page.locator("#window")).to_have_text("2022-04-06 10:00 – 2022-04-08 12:00")
        page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
        page.get_by_role("link", name="风险群", exact=True).first.click()  # the menu
        page.get_by_role("link", name="暴露场所").click()
        expect(page.locator("#places")).to_contain_text("V-REST 好味餐厅")
        page.screenshot(path=str(tmp_path / "places.png"), full_page=True)
        assert (tmp_path / "cluster.png").stat().st_size > 10_000

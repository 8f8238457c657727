"""The commander's map on a desktop, and passes on a phone (390×844) in a real browser: a commander issues a pass, the pass page shows
its QR code without sideways scrolling, the gate opens the code's verify page and sees green;
a batch for a building lists each refusal with its reason in Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cityline.accounts.units import upsert_unit
from cityline.config import Settings
from cityline.db import make_engine, make_sessionmaker, transaction
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from cityline.geo.service import import_grids
from cityline.privacy import Vault
from cityline.schema import create_all
from tests.epidemic.conftest import ORDER
from tests.epidemic.test_api import GRIDS, UNITS
from tests.epidemic.world import CJD, JA, SUN, write_world
from tests.web.conftest import add_user, console_app
from tests.web.test_epidemic_pages import add_recent_tests
from tests.web.test_journeys import DESKTOP, PHONE, browser, serving, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.browser


@contextmanager
def epidemic_server(folder: Path, more: Callable | None = None) -> Iterator[str]:
    """cityline served by uvicorn in a thread over the small epidemic of tests/epidemic/world.py
    (and what ``more(sessions, env, folder)`` adds), with a city-wide commander."""
    engine = make_engine(f"sqlite:///{folder / 'site.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    vault = Vault("epidemic-pages-secret")
    env = service.env_for(vault, Settings(data_dir=folder / "data"))
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
        assert not import_grids(session, enumerate(GRIDS, start=2)).bad
    files = write_world(folder / "world")
    for kind in ORDER:
        assert not import_file(sessions, env, kind, files[kind], actor="test").bad
    add_recent_tests(sessions, env, folder)
    if more:
        more(sessions, env, folder)
    add_user(sessions, "commander", ["commander"], "SH")
    app = console_app(sessions, vault)
    app.state.epidemic_env = env
    try:
        with serving(app) as base:
            yield base
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def epidemic_site(tmp_path_factory) -> Iterator[str]:
    with epidemic_server(tmp_path_factory.mktemp("epidemic-site")) as base:
        yield base


def test_a_pass_is_issued_shown_and_checked_on_a_phone(epidemic_site, browser):  # noqa: F811
    from playwright.sync_api import expect

    phone = sign_in(browser, epidemic_site, "commander", **PHONE)
    expect(phone).to_have_url(re.compile(r"/epidemic/command$"))  # the commander starts on the map
    phone.goto("/epidemic/coverage")
    phone.get_by_role("link", name=JA).click()
    phone.get_by_role("link", name=CJD).click()
    phone.get_by_role("link", name=SUN).click()
    expect(phone.locator("#untested")).to_contain_text("张*二")  # R01 was tested today
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "19-coverage-of-a-compound-on-a-phone")
    phone.goto("/epidemic/passes")
    phone.get_by_label("人员编号").fill("R01")
    phone.get_by_role("button", name="发放", exact=True).click()
    phone.wait_for_url(re.compile(r"/epidemic/passes/[A-Z2-7]+$"))
    expect(phone.locator(".qr svg")).to_be_visible()
    expect(phone.locator("#pass-holder")).to_contain_text("张*一")
    box = phone.locator(".qr svg").bounding_box()
    assert box["width"] >= 200 and box["x"] + box["width"] <= 390  # big enough to scan, on the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(phone, "20-pass-on-a-phone")

    phone.locator("#pass-verify").click()  # where the QR code leads
    verdict = phone.locator("#verdict")
    expect(verdict).to_have_class(re.compile(r"\bgreen\b"))
    expect(phone.locator("#verdict-status")).to_have_text("有效（绿码）")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "21-pass-verified-at-the-gate")
    code = phone.get_by_label("通行码").input_value()
    phone.get_by_label("通行码").fill(code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:])
    phone.get_by_role("button", name="核验").click()
    expect(phone.locator("#verdict-status")).to_have_text("无效（红码）")
    expect(verdict).to_have_class(re.compile(r"\bred\b"))

    phone.goto("/epidemic/passes")
    for label, value in (("区", JA), ("街道", CJD), ("小区", SUN), ("楼栋", "2号楼")):
        phone.get_by_label(label, exact=True).fill(value)
    phone.get_by_role("button", name="批量发放").click()
    expect(phone.locator("#pass-summary")).to_have_text("已发放 1 人，未发放 2 人")
    expect(phone.locator("#pass-list li.refused", has_text="R05")).to_contain_text("没有已出结果的核酸检测")
    expect(phone.locator("#pass-list li.issued a")).to_contain_text(re.compile(r"R04 · 已发放，有效至 \d{4}-\d\d-\d\d \d\d:\d\d$"))
    shot(phone, "22-passes-for-a-building")


def test_the_commander_sees_the_districts_on_a_map(epidemic_site, browser):  # noqa: F811
    from playwright.sync_api import expect

    page = sign_in(browser, epidemic_site, "commander", **DESKTOP)
    page.goto("/epidemic/command?day=2022-04-10")
    chart = page.locator("#command-map")
    expect(chart).to_have_attribute("data-drawn", "true")  # the outlines loaded and ECharts drew them
    assert chart.locator("canvas").count() >= 1
    box = chart.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 400
    shot(page, "20-commander-map")

"""A tracing order's hour chain in a real browser: the street office's handler opens the order a
case opened (``epidemic warnings``), sees its five milestones with their times, records "case
reached" from the order page, and the page shows it done on time with one milestone fewer to
choose from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityline.accounts.units import upsert_unit
from cityline.config import Settings
from cityline.db import make_engine, make_sessionmaker, transaction, utcnow
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from cityline.epidemic.warnings import run_warnings
from cityline.geo.service import import_grids
from cityline.privacy import Vault
from cityline.schema import create_all
from tests.epidemic.conftest import GRIDS, ORDER, UNITS
from tests.epidemic.world import DAY, write_world
from tests.web.conftest import add_user, console_app
from tests.web.test_journeys import DESKTOP, browser, serving, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(the served site, the number of case R10's tracing order)."""
    folder = tmp_path_factory.mktemp("hourchain-site")
    engine = make_engine(f"sqlite:///{folder / 'site.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    vault = Vault("hourchain-pages-secret")
    env = service.env_for(vault, Settings(data_dir=folder / "data"))
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
        assert not import_grids(session, enumerate(GRIDS, start=2)).bad
    files = write_world(folder / "world")
    for kind in ORDER:
        assert not import_file(sessions, env, kind, files[kind], actor="test").bad
    with transaction(sessions) as session:
        report = run_warnings(session, env, DAY, actor="commander", now=utcnow(), vault=vault).as_dict()
    number = next(o["number"] for o in report["orders"] if o["kind"] == "tracing" and o["person"] == "R10")
    add_user(sessions, "tracer", ["unit_handler"], "SH-JA-CJD")
    app = console_app(sessions, vault)
    with serving(app) as base:
        yield base, number
    engine.dispose()


def test_the_unit_records_a_milestone_from_the_order_page(traced, browser):  # noqa: F811
    from playwright.sync_api import expect

    site, number = traced
    page = sign_in(browser, site, "tracer", **DESKTOP)
    page.goto(f"/orders/{number}")
    chain = page.locator("table.milestones")
    expect(chain.locator("tbody tr")).to_have_count(5)
    expect(chain.locator('tr[data-milestone="started"]')).to_contain_text("按时")
    expect(chain.locator('tr[data-milestone="reached"]')).to_contain_text("待完成")
    page.get_by_role("button", name="记录流调节点").click()
    form = page.locator(f'form[data-action="milestone"][data-number="{number}"]')
    form.get_by_label("完成的节点").select_option("reached")
    form.get_by_label("备注").fill("已电话联系病例，已落实管控")
    form.get_by_role("button", name="提交").click()
    expect(chain.locator('tr[data-milestone="reached"]')).to_contain_text("按时")
    expect(page.locator("ol.timeline")).to_contain_text("记录节点")
    expect(page.locator("ol.timeline")).to_contain_text("病例到人到位、落实管控")
    page.get_by_role("button", name="记录流调节点").click()
    expect(form.locator('option[value="reached"]')).to_have_count(0)
    expect(form.locator('option[value="core_info"]')).to_have_count(1)
    shot(page, "25-tracing-order-hour-chain")

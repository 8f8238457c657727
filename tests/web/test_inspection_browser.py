"""An inspection finding in a real browser on a phone: the patrol worker picks a site, taps a
problem type, takes a photo and records it (a file that is not a photo is refused in Chinese
first); the street office's handler accepts it and replies with a photo of the rectified site;
the inspector sees both photos and closes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityline.db import make_engine, make_sessionmaker
from cityline.inspection.service import PhotoStore
from cityline.privacy import Vault
from cityline.schema import create_all
from tests.factories import add_units
from tests.inspection.conftest import add_sites, photo
from tests.web.conftest import add_user, console_app
from tests.web.test_journeys import PHONE, browser, serving, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def patrolled(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """(the served site, a folder of files to upload)."""
    folder = tmp_path_factory.mktemp("inspection-site")
    engine = make_engine(f"sqlite:///{folder / 'site.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    add_units(sessions)
    add_sites(sessions)
    add_user(sessions, "patrol", ["inspector"], "SH-JA-CJD")
    add_user(sessions, "cjd", ["unit_handler"], "SH-JA-CJD")
    app = console_app(sessions, Vault("inspection-pages-secret"))
    app.state.inspection_photos = PhotoStore(folder / "photos", 1024 * 1024)
    files = folder / "files"
    files.mkdir()
    (files / "queue.jpg").write_bytes(photo("JPEG", (320, 240), "red"))
    (files / "fixed.jpg").write_bytes(photo("JPEG", (320, 240), "green"))
    (files / "notes.jpg").write_bytes(b"just some words, not a photo")
    with serving(app) as base:
        yield base, files
    engine.dispose()


def photos_shown(page, stage: str) -> int:
    """How many photos of ``stage`` the page shows, each really decoded by the browser (waiting
    until every one has loaded)."""
    selector = f'section.photos[data-stage="{stage}"] img'
    page.wait_for_function("s => [...document.querySelectorAll(s)].every(i => i.complete)", arg=selector)
    return page.eval_on_selector_all(selector, "imgs => imgs.filter(i => i.naturalWidth > 0).length")


def test_a_finding_goes_round_the_loop_on_a_phone(patrolled, browser):  # noqa: F811
    from playwright.sync_api import expect

    site, files = patrolled
    patrol = sign_in(browser, site, "patrol", **PHONE)
    expect(patrol).to_have_url(f"{site}/inspection/patrol")  # the inspector's day starts here
    patrol.get_by_label("搜索点位").fill("万航渡")
    expect(patrol.get_by_label("点位", exact=True)).to_have_value("TS-CJD-01")
    patrol.get_by_label("人员聚集").check()
    camera = patrol.locator("#photos")
    assert (camera.get_attribute("accept"), camera.get_attribute("capture")) == ("image/*", "environment")
    camera.set_input_files(str(files / "notes.jpg"))
    patrol.get_by_label("补充说明").fill("采样点排队人员聚集，未保持一米间距")
    patrol.get_by_role("button", name="上报").click()
    expect(patrol.locator("#flash")).to_contain_text("「notes.jpg」不是照片")
    camera.set_input_files(str(files / "queue.jpg"))
    shot(patrol, "26-inspection-patrol-form")
    patrol.get_by_role("button", name="上报").click()
    patrol.wait_for_url("**/inspection/findings/*")
    number = patrol.url.rsplit("/", 1)[1]
    expect(patrol.locator("#finding-status")).to_have_text("已派发")
    expect(patrol.locator("main")).to_contain_text("SH-JA-CJD")
    assert photos_shown(patrol, "finding") == 1
    shot(patrol, "27-inspection-finding-recorded")

    handler = sign_in(browser, site, "cjd", **PHONE)
    handler.goto(f"/inspection/findings/{number}")
    handler.get_by_role("button", name="签收").click()
    expect(handler.locator("#finding-status")).to_have_text("已签收")
    handler.get_by_label("整改情况").fill("已疏导人群，重新划设一米线")
    handler.get_by_label("整改后现场照片").set_input_files(str(files / "fixed.jpg"))
    handler.get_by_role("button", name="提交整改").click()
    expect(handler.locator("#finding-status")).to_have_text("已答复")
    assert photos_shown(handler, "rectified") == 1

    patrol.reload()
    assert photos_shown(patrol, "finding") == 1 and photos_shown(patrol, "rectified") == 1
    patrol.get_by_label("复核意见（退回时必填）").fill("复查现场秩序良好")
    patrol.get_by_role("button", name="已整改到位，办结").click()
    expect(patrol.locator("#finding-status")).to_have_text("已办结")
    shot(patrol, "28-inspection-finding-closed")
    patrol.goto("/inspection")
    expect(patrol.locator("#tally-by_site")).to_contain_text("曹家渡街道万航渡路核酸采样点")
    expect(patrol.locator("#tally-by_site tbody tr").first).to_contain_text("100%")

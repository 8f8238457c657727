"""The checkpoint's phone page in a real browser at a phone's size: the street office's handler
registers a truck from a risk area with its driver and a passenger who has no negative test, sees
at once that the truck is let in under a closed-loop task and that the passenger is flagged, then
registers it leaving; the counts page shows the hour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from cityline.checkpoints import service
from cityline.checkpoints.schemas import CheckpointBody
from cityline.db import make_engine, make_sessionmaker, transaction, utcnow
from cityline.epidemic import service as epidemic
from cityline.privacy import Vault
from cityline.schema import create_all
from cityline.timeutil import to_local
from tests.factories import add_units
from tests.web.conftest import add_user, console_app
from tests.web.test_journeys import DESKTOP, PHONE, browser, serving, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.browser
RISK = "内蒙古自治区呼和浩特市赛罕区"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("checkpoint-site")
    engine = make_engine(f"sqlite:///{folder / 'site.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    add_units(sessions)
    with transaction(sessions) as session:
        service.save_checkpoint(session, CheckpointBody(code="CK-G2", name="沪宁高速江桥卡口", unit="SH-JA-CJD",
                                                        district="静安区", street="曹家渡街道"))
        epidemic.upsert_risk_areas(session, [{"_row": 2, "area": RISK, "level": "high",
                                              "from": to_local(utcnow()).date() - timedelta(days=3), "to": None}],
                                   utcnow())
    add_user(sessions, "officer", ["unit_handler"], "SH-JA-CJD")
    add_user(sessions, "watcher", ["supervisor"], "SH-JA")
    app = console_app(sessions, Vault("checkpoint-pages-secret"))
    with serving(app) as base:
        yield base
    engine.dispose()


def test_a_truck_is_registered_on_a_phone_and_a_passenger_without_a_test_is_flagged(site, browser):  # noqa: F811
    from playwright.sync_api import expect

    page = sign_in(browser, site, "officer", **PHONE)
    page.goto("/checkpoints/register")
    form = page.locator("#ck-form")
    form.get_by_label("车牌号").fill("蒙A 12345")
    form.get_by_label("始发地").fill("呼和浩特市赛罕区")
    form.get_by_label("货物").fill("蔬菜")
    driver = form.locator('fieldset.person[data-role="driver"]')
    driver.get_by_label("姓名").fill("王建国")
    driver.get_by_label("电话").fill("13900005555")
    driver.get_by_label("最近一次核酸阴性采样时间").fill(
        (to_local(utcnow()) - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="添加乘客").click()
    passenger = form.locator('fieldset.person[data-role="passenger"]')
    passenger.get_by_label("姓名").fill("李四")
    passenger.get_by_label("黄码").check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    box = form.get_by_role("button", name="登记").bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 300  # a thumb's target
    form.get_by_role("button", name="登记").click()
    result = page.locator("#ck-result")
    expect(result).to_be_visible()
    expect(page.locator("#ck-outcome")).to_have_text("蒙A***45 已登记，准予通行")
    expect(page.locator("#ck-loop")).to_contain_text(f"来自风险地区（{RISK}）")
    expect(page.locator("#ck-loop")).to_contain_text("闭环管理任务工单")
    expect(page.locator("#ck-flags li")).to_have_count(1)
    expect(page.locator("#ck-flags li")).to_have_text("乘客1 李*：无核酸阴性证明、黄码")
    expect(result).to_have_class("card checkpoint-result red")
    shot(page, "30-checkpoint-registration-on-a-phone")

    page.get_by_role("button", name="登记下一辆").click()
    form.get_by_text("驶离").click()
    expect(form.get_by_label("始发地")).to_be_hidden()
    form.get_by_label("车牌号").fill("蒙A12345")
    form.get_by_role("button", name="登记").click()
    expect(page.locator("#ck-outcome")).to_have_text("蒙A***45 已登记驶离")
    expect(page.locator("#ck-loop")).to_contain_text("闭环管理已解除")

    watcher = sign_in(browser, site, "watcher", **DESKTOP)
    watcher.goto("/checkpoints")
    row = watcher.locator('table.checkpoint-counts tr[data-checkpoint="CK-G2"]')
    expect(row).to_have_count(1)
    expect(row.locator("td.num")).to_have_text(["1", "0", "1", "1", "0"])
    expect(watcher.locator("table.checkpoint-loops")).to_contain_text("没有闭环管理中的车辆")
    assert "13900005555" not in watcher.content() + page.content()

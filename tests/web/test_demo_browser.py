"""The demo as a newcomer meets it, in a real browser: ``cityline demo`` builds the outbreak
replayed on today's calendar (a small city), ``cityline serve`` serves it, and every role's
landing page shows live work — the board due-soon and overdue lists, the inbox with countdowns,
today's situation, the commander's map and hour chain. Then the README's example call goes from
the operator to the demo's 静安区 handler and round the loop to closure, with no command-line
step. Screenshots are kept in test-artifacts/screenshots/ (``demo-…``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from cityline.demo import DEMO_PASSWORD
from cityline.timeutil import to_local
from tests.conftest import copy_demo
from tests.web.test_journeys import DESKTOP, WAIT, browser, free_port, shot  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(built_demo, tmp_path_factory) -> Iterator[str]:
    """The demo built as ``scripts/run`` builds it (smaller), served by ``cityline serve``."""
    folder = copy_demo(built_demo, tmp_path_factory.mktemp("demo-site"))
    env = {**os.environ, "CITYLINE_DATA_DIR": str(folder / "data")}
    env.pop("CITYLINE_DATABASE_URL", None)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cityline", "serve", "--port", str(port)], env=env, cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("cityline serve did not become ready over the demo's database")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(20)


def sign_in(browser, base: str, name: str):  # noqa: F811
    page = browser.new_context(base_url=base, **DESKTOP).new_page()
    page.set_default_timeout(WAIT * 2)
    page.goto("/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_every_role_lands_on_live_work(demo, browser):  # noqa: F811
    from playwright.sync_api import expect

    supervisor = sign_in(browser, demo, "supervisor")
    expect(supervisor).to_have_url(re.compile(r"/board$"))
    lanes = supervisor.locator("section.lane")
    assert lanes.count() >= 2
    # Orders overdue and orders due soon, each with its deadline counting.
    expect(supervisor.locator(".countdown.overdue").first).to_be_visible()
    assert supervisor.locator(".countdown").count() > supervisor.locator(".countdown.overdue").count()
    shot(supervisor, "demo-supervisor-board")

    handler = sign_in(browser, demo, "handler")
    expect(handler).to_have_url(re.compile(r"/inbox$"))
    expect(handler.locator(".countdown").first).to_be_visible()
    shot(handler, "demo-handler-inbox")

    dispatcher = sign_in(browser, demo, "dispatcher")
    expect(dispatcher).to_have_url(re.compile(r"/queue$"))
    expect(dispatcher.locator("[id^='o-']").first).to_be_visible()

    analyst = sign_in(browser, demo, "analyst")
    expect(analyst).to_have_url(re.compile(r"/situation$"))
    # Today has calls — unless the local day has only just begun (its first minutes have few calls,
    # and the tiles compare yesterday up to the same time of day): then yesterday's whole day has.
    if to_local(datetime.now(UTC)).hour >= 1:
        expect(analyst.locator("#k-received")).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    else:
        curve = analyst.request.get("/api/analytics/situation").json()["curve"]
        assert sum(point["received"] for point in curve[-2:]) > 0
    expect(analyst.locator("#z-sealed")).to_contain_text("个")
    # How fresh the export is, in the centre's time, as every other time on the page (not the browser's).
    exported = datetime.fromisoformat(analyst.request.get("/api/analytics/situation").json()["exported_at"])
    shown = to_local(exported)
    expect(analyst.locator("#situation-fresh")).to_contain_text(
        f"{shown:%Y}/{shown.month}/{shown.day} {shown:%H:%M}")
    shot(analyst, "demo-analyst-situation")

    commander = sign_in(browser, demo, "commander")
    expect(commander).to_have_url(re.compile(r"/epidemic/command$"))
    expect(commander.locator("#command-map")).to_have_attribute("data-drawn", "true")
    expect(commander.locator("#k-cases")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(commander.locator("#milestones")).to_be_visible()  # the tracing orders on their hour chain
    shot(commander, "demo-commander-map")

    for name, home, filled in (("operator", "/intake", "#f-text"), ("admin", "/orders", "table tbody tr"),
                               ("gridworker", "/epidemic/coverage", "table tbody tr"),
                               ("inspector", "/inspection/patrol", "#site option[value^='TS-']")):
        page = sign_in(browser, demo, name)
        expect(page).to_have_url(re.compile(home + "$"))
        expect(page.locator(filled).first).to_be_attached()
    # The inspector's findings by site and unit; the checkpoints' hours and a vehicle overdue.
    page.goto("/inspection")
    expect(page.locator("table[id^='tally-'] tbody tr").first).to_be_visible()
    shot(page, "demo-inspection")
    commander.goto("/checkpoints")
    expect(commander.locator("table.checkpoint-counts tbody tr").first).to_be_visible()
    expect(commander.locator("table.checkpoint-loops tbody tr").first).to_be_visible()
    shot(commander, "demo-checkpoints")


def test_the_readme_call_goes_round_the_loop_to_a_demo_handler(demo, browser):  # noqa: F811
    from playwright.sync_api import expect

    operator = sign_in(browser, demo, "operator")
    operator.get_by_label("地址").fill("静安区曹家渡街道")
    operator.get_by_label("来电号码").fill("13800001234")
    operator.get_by_label("来电内容").press_sequentially("家里老人透析药快用完了，小区封控出不去")
    expect(operator.get_by_label("类别")).to_have_value("EPI.MEDICAL")
    operator.get_by_role("button", name="提交派单").click()
    result = operator.locator("#intake-result")
    expect(result).to_contain_text("已派发给")
    number = re.search(r"\d{8}-\d{5}", result.inner_text()).group(0)

    handler = sign_in(browser, demo, "handler-ja")  # the 静安区 centre sees its street offices' orders
    card = handler.locator(f"#o-{number}")
    expect(card.locator(".countdown")).to_contain_text("剩余")
    card.get_by_role("button", name="签收").click()
    expect(card.locator(".status")).to_have_text("已签收")
    card.get_by_role("button", name="答复").click()
    card.get_by_label("办理结果").fill("社区医生已上门配药")
    card.get_by_role("button", name="提交").click()
    expect(handler.locator(f"#o-{number}")).to_have_count(0)
    shot(handler, "demo-handler-ja-replied")

    operator.goto("/visits")
    visit = operator.locator(f"#o-{number}")
    visit.get_by_role("button", name="记录回访").click()
    visit.get_by_label("满意", exact=True).check()
    visit.get_by_role("button", name="提交").click()
    expect(visit.locator(".status")).to_have_text("已回访")
    visit.get_by_role("button", name="办结").click()
    expect(operator.locator(f"#o-{number}")).to_have_count(0)
    operator.goto(f"/orders/{number}")
    expect(operator.locator("h1 .status")).to_have_text("已办结")
    shot(operator, "demo-readme-call-closed")

"""The main journeys in a real browser (Debian's chromium driven by Playwright) against a live
cityline: an urgent medical call goes round the whole loop, and a dispatcher works the queue
with the keyboard alone. Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import sessionmaker

from cityline.accounts.units import upsert_unit
from cityline.db import make_engine, make_sessionmaker, transaction, utcnow
from cityline.demo import load_starter_knowledge
from cityline.intake.service import create_order
from cityline.orders.schemas import OrderCreate
from cityline.privacy import Vault
from cityline.routing import catalogue
from cityline.schema import create_all
from cityline.sim import units_rows
from tests.web.conftest import PASSWORD, add_user, console_app

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
STREET_OFFICE = "JA-2GEO"  # 曹家渡街道办事处 among the simulated city's units
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
WAIT = 15_000  # ms: generous for a loaded CI machine; waits end as soon as the page is ready


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port: its base URL, until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the test server did not start")
        thread.join(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Site:
    base: str  # URL of the live server
    sessions: sessionmaker
    analytics: bool  # whether the analytics API is mounted on the app


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """cityline served by uvicorn in a thread over a fresh SQLite city."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('web') / 'journeys.db'}")
    create_all(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        for row in units_rows():
            upsert_unit(session, row)
        catalogue.replace_catalogue(session, catalogue.default_rows())
    load_starter_knowledge(sessions)
    for name, roles, unit in (("operator", ["operator"], None), ("dispatcher", ["dispatcher"], None),
                              ("handler", ["unit_handler"], STREET_OFFICE), ("analyst", ["analyst"], None)):
        add_user(sessions, name, roles, unit)
    app = console_app(sessions, Vault("journeys-secret"))
    analytics = "/api/analytics/situation" in app.openapi()["paths"]
    with serving(app) as base:
        yield Site(base, sessions, analytics)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (never `playwright install`)")
    from playwright.sync_api import expect, sync_playwright

    # An assertion's wait as generous as a page's (its own default is 5 s: a page answering a
    # loaded machine's triage preview later than that failed a journey that was right).
    expect.set_options(timeout=WAIT)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(browser, base: str, name: str, **context):
    page = browser.new_context(base_url=base, **context).new_page()
    page.set_default_timeout(WAIT)
    page.goto("/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_an_urgent_medical_call_goes_round_the_whole_loop(site, browser):
    from playwright.sync_api import expect

    base = site.base
    operator = sign_in(browser, base, "operator", **DESKTOP)
    expect(operator).to_have_url(re.compile(r"/intake$"))
    operator.get_by_label("地址").fill("静安区曹家渡街道万航渡路123弄")
    operator.get_by_label("来电号码").fill("13800007777")
    operator.get_by_label("来电内容").press_sequentially("我父亲透析的药吃完了，小区封控出不去，请帮忙配药")
    # The form fills itself in while she types.
    expect(operator.get_by_label("类别")).to_have_value("EPI.MEDICAL")
    expect(operator.get_by_label("紧急程度")).to_have_value("urgent")
    expect(operator.get_by_label("区", exact=True)).to_have_value("静安区")
    expect(operator.get_by_label("街道（镇）")).to_have_value("曹家渡街道")
    expect(operator.locator("#route-note")).to_contain_text("曹家渡街道办事处")
    expect(operator.get_by_label("重病患者（肿瘤、透析等）")).to_be_checked()
    shot(operator, "01-operator-types-the-call")
    operator.get_by_role("button", name="提交派单").click()
    result = operator.locator("#intake-result")
    expect(result).to_contain_text("已派发给 曹家渡街道办事处")
    number = re.search(r"\d{8}-\d{5}", result.inner_text()).group(0)
    shot(operator, "02-operator-order-dispatched")

    handler = sign_in(browser, base, "handler", **PHONE)
    expect(handler).to_have_url(re.compile(r"/inbox$"))
    card = handler.locator(f"#o-{number}")
    expect(card.locator(".countdown")).to_contain_text("剩余")
    assert handler.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    notice = handler.locator("li.notice", has_text=number)
    expect(notice).to_contain_text(f"新派工单 {number}")
    expect(handler.locator("#unread-count")).to_have_text("1 条未读")
    shot(handler, "03-handler-inbox-on-a-phone")
    notice.get_by_role("button", name="标为已读").click()
    expect(handler.locator("#unread-count")).to_have_text("0 条未读")
    card.get_by_role("button", name="签收").click()
    expect(card.locator(".status")).to_have_text("已签收")
    card.get_by_role("button", name="答复").click()
    card.get_by_label("办理结果").fill("社区医生已上门配药，老人情况稳定")
    shot(handler, "04-handler-writes-the-reply")
    card.get_by_role("button", name="提交").click()
    expect(handler.locator(f"#o-{number}")).to_have_count(0)

    operator.goto("/visits")
    visit = operator.locator(f"#o-{number}")
    visit.get_by_role("button", name="记录回访").click()
    visit.get_by_label("满意", exact=True).check()
    visit.get_by_role("button", name="提交").click()
    expect(visit.locator(".status")).to_have_text("已回访")
    visit.get_by_role("button", name="办结").click()
    expect(operator.locator(f"#o-{number}")).to_have_count(0)

    operator.goto(f"/orders/{number}")
    timeline = operator.locator("ol.timeline > li")
    expect(timeline).to_have_count(6)
    for i, step in enumerate(("受理", "派发", "签收", "答复", "回访", "办结")):
        expect(timeline.nth(i).locator("strong")).to_have_text(step)
    expect(operator.locator("h1 .status")).to_have_text("已办结")
    expect(operator.locator("#phone")).to_have_text("138****7777")
    shot(operator, "05-order-history")


def test_a_dispatcher_works_the_queue_with_the_keyboard_alone(site, browser):
    from playwright.sync_api import expect

    base, sessions = site.base, site.sessions
    with transaction(sessions) as session:  # a help request the catalogue left to a person
        order, _ = create_order(session, OrderCreate(
            text="独居老人家中断药，需要协调配药", district="静安区", street="曹家渡街道", kind="help",
            category="EPI.MEDICAL", urgency="urgent", special_groups=["elderly"]),
            actor="test", now=utcnow(), vault=Vault("journeys-secret"), route=False)
        number = order.number
    page = browser.new_context(base_url=base, **DESKTOP).new_page()
    page.set_default_timeout(WAIT)
    page.goto("/login?next=/queue")
    expect(page.get_by_label("用户名")).to_be_focused()  # autofocus can land just after the load event
    page.keyboard.type("dispatcher")  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/queue$"))
    expect(page.locator(f"#o-{number}")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # first stop: skip to content
    target = f"#o-{number} .quick button.primary"
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector('{target}')"):
            break
    else:
        pytest.fail("the dispatch button cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    expect(page.locator(target)).to_contain_text("曹家渡街道办事处")
    shot(page, "06-dispatcher-keyboard-focus")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text(number)
    expect(page.locator(f"#o-{number}")).to_have_count(0)


def test_a_foreign_language_question_is_answered_on_the_call(site, browser):
    from playwright.sync_api import expect

    base = site.base
    operator = sign_in(browser, base, "operator", **DESKTOP)
    operator.get_by_label("来电内容").fill("Hello, how do I reserve face masks? Where can I buy them?")
    expect(operator.locator("#foreign-badge")).to_have_text("外语来电：en")
    suggestion = operator.locator("#knowledge li").filter(has_text="口罩怎么预约购买")
    suggestion.get_by_role("button", name="用此答案").click()
    expect(operator.get_by_label("答复内容")).to_have_value(re.compile("预约登记购买"))
    shot(operator, "07-operator-answers-from-the-knowledge-base")
    operator.get_by_role("button", name="直接答复并办结").click()
    result = operator.locator("#intake-result")
    expect(result).to_contain_text("已直接答复并办结")
    number = re.search(r"\d{8}-\d{5}", result.inner_text()).group(0)
    operator.goto(f"/orders/{number}")
    expect(operator.locator("h1 .status")).to_have_text("已办结")
    expect(operator.locator(".badge.foreign")).to_have_text("外语来电：en")
    expect(operator.locator("ol.timeline > li").nth(1)).to_contain_text("KB-MASK-001")


def test_leaders_see_the_situation_or_are_told_it_is_not_available(site, browser):
    from playwright.sync_api import expect

    base = site.base
    analyst = sign_in(browser, base, "analyst", **DESKTOP)
    expect(analyst).to_have_url(re.compile(r"/situation$"))
    expect(analyst.locator("#situation")).to_have_attribute("aria-busy", "false")
    if site.analytics:  # the analytics API is mounted: figures and charts are drawn
        expect(analyst.locator("#k-received")).not_to_be_empty()
        expect(analyst.locator("#chart-categories canvas")).to_have_count(1)
        expect(analyst.locator("#chart-places canvas")).to_have_count(1)
        # How fresh the background export is (or that there is none yet).
        expect(analyst.locator("#situation-fresh")).to_contain_text(re.compile("数据截至|分析导出尚未生成"))
    else:
        expect(analyst.locator("#situation-state")).to_contain_text("态势数据暂不可用")
        expect(analyst.locator("#kpis")).to_be_hidden()
    shot(analyst, "08-leaders-situation")

"""The console in a real browser (Debian's chromium through Playwright): the moves an order
offers follow its state, a refused move is explained in the page's language, the
administrator's pages work, and every page reads well at 1366×768 and on a 390×844 phone
(nothing wrapped mid-word, no sideways scrolling of the page). Screenshots are kept in
test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from cityline.db import transaction, utcnow
from cityline.intake.service import create_order
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import move_order
from cityline.privacy import Vault
from tests.web.conftest import add_user
from tests.web.test_journeys import DESKTOP, PHONE, STREET_OFFICE, browser, shot, sign_in, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture(scope="module")
def staff(site):  # noqa: F811  (the fixture imported above)
    add_user(site.sessions, "supervisor", ["supervisor"])
    add_user(site.sessions, "admin", ["admin"])
    add_user(site.sessions, "inspector", ["inspector"])
    return site


def accepted_order(sessions, text: str = "小区楼道灯坏了一周，老人夜里出门不便") -> str:
    """An order accepted by the street office the test handler works for."""
    with transaction(sessions) as session:
        order, _ = create_order(session, OrderCreate(
            text=text, district="静安区", street="曹家渡街道", kind="help", category="EPI.MEDICAL",
            urgency="normal", special_groups=["elderly"]),
            actor="test", now=utcnow(), vault=Vault("journeys-secret"), route=False)
        number = order.number
        move_order(session, number, "dispatch", {"unit": STREET_OFFICE}, actor="test", now=utcnow())
        move_order(session, number, "accept", {}, actor="test", now=utcnow())
    return number


def test_moves_follow_the_order_and_a_refusal_is_said_in_chinese(staff, browser):  # noqa: F811
    from playwright.sync_api import expect

    number = accepted_order(staff.sessions)
    handler = sign_in(browser, staff.base, "handler", **DESKTOP)
    handler.goto(f"/orders/{number}")
    moves = handler.locator(".actions")
    expect(moves.get_by_role("button", name="申请暂停（等待来电人）")).to_be_visible()
    expect(moves.get_by_role("button", name="恢复计时")).to_have_count(0)

    # A colleague pauses the order meanwhile; this page still offers to pause it.
    with transaction(staff.sessions) as session:
        move_order(session, number, "pause", {"reason": "等待来电人补充材料"}, actor="colleague", now=utcnow())
    moves.get_by_role("button", name="申请暂停（等待来电人）").click()
    handler.locator(f"#m-pause-{number}-reason").fill("联系不上来电人")
    handler.locator(f"#m-pause-{number}").get_by_role("button", name="提交").click()
    flash = handler.locator("#flash.error")
    expect(flash).to_have_text("出错了: 工单已暂停计时")
    shot(handler, "20-refused-move-in-chinese")

    handler.reload()
    expect(moves.get_by_role("button", name="恢复计时")).to_be_visible()
    expect(moves.get_by_role("button", name="申请暂停（等待来电人）")).to_have_count(0)
    handler.goto("/inbox")
    card = handler.locator(f"#o-{number}")
    expect(card.get_by_role("button", name="恢复计时")).to_be_visible()
    expect(card.get_by_role("button", name="申请暂停（等待来电人）")).to_have_count(0)
    card.get_by_role("button", name="恢复计时").click()
    expect(handler.locator("#flash.ok")).to_contain_text(number)

    # A wrong value: the field and why, in Chinese too (the API says "after now").
    handler.goto(f"/orders/{number}")
    moves.get_by_role("button", name="申请延期").click()
    handler.locator(f"#m-extend-{number}-until").fill("2020-01-01T10:00")
    handler.locator(f"#m-extend-{number}-reason").fill("需协调物业维修")
    handler.locator(f"#m-extend-{number}").get_by_role("button", name="提交").click()
    expect(flash).to_have_text("出错了: 填写的内容有误 (申请延至（本地时间）: 须晚于现在)")
    # In English the same refusal is English.
    handler.goto(f"/orders/{number}?lang=en")
    handler.get_by_role("button", name="Ask for more time").click()
    handler.locator(f"#m-extend-{number}-until").fill("2020-01-01T10:00")
    handler.locator(f"#m-extend-{number}-reason").fill("waiting for the building manager")
    handler.locator(f"#m-extend-{number}").get_by_role("button", name="Submit").click()
    expect(flash).to_contain_text("after now")
    handler.goto(f"/orders/{number}?lang=zh")


def test_an_administrator_manages_users_the_catalogue_and_reads_the_audit_log(staff, browser):  # noqa: F811
    from playwright.sync_api import expect

    admin = sign_in(browser, staff.base, "admin", **LAPTOP)
    admin.goto("/admin/users")
    form = admin.locator("#new-user")
    form.get_by_label("用户名").fill("chen.disp")
    form.get_by_label("初始密码（至少 10 位）").fill("a-first-password")
    form.get_by_label("派单员").check()
    form.get_by_role("button", name="新建").click()
    row = admin.locator("#u-chen\\.disp")
    expect(row).to_contain_text("派单员")
    form.get_by_label("用户名").fill("chen.disp")  # once more: the name is taken
    form.get_by_label("初始密码（至少 10 位）").fill("a-first-password")
    form.get_by_label("派单员").check()
    form.get_by_role("button", name="新建").click()
    expect(admin.locator("#flash.error")).to_have_text("出错了: 用户名 chen.disp 已被使用")
    row.get_by_role("button", name="修改").click()
    row.get_by_label("接线员").check()
    row.locator("form:not([hidden])").get_by_role("button", name="提交").click()
    # the role's badge, not its check box in the row's edit form: the page has reloaded
    expect(admin.locator("#u-chen\\.disp .badge", has_text="接线员")).to_be_visible()
    admin.locator("#u-chen\\.disp").get_by_role("button", name="停用").click()
    expect(admin.locator("#u-chen\\.disp")).to_contain_text("已停用")
    shot(admin, "21-admin-users")

    admin.goto("/admin/catalogue")
    versions = admin.locator("#versions tbody tr")
    before = versions.count()
    admin.get_by_label("目录内容（CSV）").fill(
        "category,district,street,unit,level,priority,note\n"
        "EPI.MEDICAL,,,,street,0,\"就医配药,属地街道\"\nGEN.TRAFFIC,,,,district,2,\n")
    admin.locator("#import").get_by_label("说明").fill("试行两条")
    admin.get_by_role("button", name="导入并生效").click()
    expect(versions).to_have_count(before + 1)
    expect(admin.locator("#rules tbody tr")).to_have_count(2)
    expect(admin.locator("#rules")).to_contain_text("就医配药,属地街道")
    admin.locator("#versions").get_by_role("link", name=f"v{before}", exact=True).click()
    expect(admin.locator("#chosen")).to_contain_text(f"版本 v{before} 的变更")
    admin.get_by_role("button", name=f"恢复为 v{before}").click()
    expect(versions).to_have_count(before + 2)
    expect(versions.first).to_contain_text(f"恢复自 v{before}")
    shot(admin, "22-admin-catalogue")

    admin.goto("/admin/audit?actor=admin")
    expect(admin.locator("#audit")).to_contain_text("user_created")
    expect(admin.locator("#audit-count")).to_have_text(re.compile(r"^\d+ 件$"))
    shot(admin, "23-admin-audit")


# Every page a role opens, once, by someone who may open it.
SWEEP = [("operator", "/intake"), ("dispatcher", "/queue"), ("handler", "/inbox"), ("supervisor", "/board"),
         ("supervisor", "/visits"), ("supervisor", "/situation"), ("supervisor", "/briefings"),
         ("supervisor", "/orders"), ("supervisor", "/epidemic/coverage"), ("supervisor", "/epidemic/command"), ("handler", "/epidemic/verify"),
         ("admin", "/admin/users"), ("admin", "/admin/units"), ("admin", "/admin/catalogue"),
         ("admin", "/admin/audit"), ("handler", "/checkpoints/register"), ("supervisor", "/checkpoints"),
         ("inspector", "/inspection/patrol"), ("supervisor", "/inspection")]
# Whatever is read as one word: a status, a badge, a time, a count, a number in a table.
WHOLE = ".status, .badge, .tally, time:not(.countdown), .countdown .left, .nowrap, .num, .count, " \
        "table.orders td:first-child, table.orders th"
CHECK = """(selector) => {
  const broken = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.offsetParent) continue;  // not shown
    const style = getComputedStyle(el);
    const lines = style.display.startsWith("inline") ? el.getClientRects().length : 1;
    if (style.whiteSpace !== "nowrap" || lines > 1) broken.push(el.outerHTML.slice(0, 120));
  }
  // No table column squeezed so narrow that a name stands one character a line.
  const em = parseFloat(getComputedStyle(document.body).fontSize);
  for (const cell of document.querySelectorAll("table.orders td")) {
    if (cell.offsetParent && cell.textContent.trim() && cell.getBoundingClientRect().width < 3 * em) {
      broken.push("narrow: " + cell.outerHTML.slice(0, 120));
    }
  }
  return {broken, wide: document.documentElement.scrollWidth - window.innerWidth};
}"""


@pytest.mark.slow
def test_every_page_reads_well_on_a_laptop_and_on_a_phone(staff, browser):  # noqa: F811
    for _ in range(3):
        accepted_order(staff.sessions, "长宁路口红绿灯坏了，早高峰车辆拥堵严重，请尽快派人修理")
    for size, viewport in (("1366", LAPTOP), ("390", PHONE)):
        pages = {}
        for person, path in SWEEP:
            if person not in pages:
                pages[person] = sign_in(browser, staff.base, person, **viewport)
            page = pages[person]
            page.goto(path)
            page.wait_for_load_state("load")
            found = page.evaluate(CHECK, WHOLE)
            assert found["broken"] == [], (size, path, found["broken"][:3])
            assert found["wide"] <= 1, (size, path, f"the page scrolls sideways by {found['wide']} px")
            shot(page, f"layout-{size}-{path.strip('/').replace('/', '-')}")
        for page in pages.values():
            page.context.close()

"""The console's pages over HTTP: who sees what, the languages, and nothing loaded from elsewhere."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from cityline.accounts.service import list_audit
from cityline.db import transaction, utcnow
from cityline.sla.messages import reminder_handler
from cityline.sla.worker import fire_due_timers
from cityline.web.rules import DUE_SOON
from tests.factories import order_body
from tests.web.conftest import CSRF

PAGES = ("/intake", "/queue", "/inbox", "/visits", "/board", "/situation", "/briefings", "/orders",
         "/epidemic/coverage", "/epidemic/passes", "/epidemic/verify", "/epidemic/command", "/epidemic/cases",
         "/epidemic/clusters", "/admin/users", "/admin/units", "/admin/catalogue", "/admin/audit",
         "/checkpoints/register", "/checkpoints", "/inspection", "/inspection/patrol")
# What each role works in, written out by hand (not derived from the code under test).
# Checking a pass at a gate is for operators, handlers and supervisors too; epidemic figures
# for those who watch the city (the epidemic roles: tests/web/test_epidemic_pages.py).
# Inspection findings and their counts are for everyone who reads orders; the patrol form
# for inspectors.
OPENS = {
    "operator": {"/intake", "/visits", "/orders", "/epidemic/verify", "/inspection"},
    "dispatcher": {"/queue", "/orders", "/inspection"},
    "handler": {"/inbox", "/orders", "/epidemic/verify", "/checkpoints/register", "/checkpoints", "/inspection"},
    "supervisor": {"/queue", "/visits", "/board", "/situation", "/briefings", "/orders", "/epidemic/coverage",
                   "/epidemic/verify", "/epidemic/command", "/checkpoints", "/inspection"},
    "analyst": {"/situation", "/briefings", "/orders", "/epidemic/coverage", "/epidemic/command", "/checkpoints",
                "/inspection"},
    "admin": {"/orders", "/epidemic/coverage", "/epidemic/command", "/admin/users", "/admin/units", "/admin/catalogue",
              "/admin/audit", "/checkpoints", "/inspection"},
    "inspector": {"/inspection/patrol", "/inspection", "/orders"},
}
HOME = {"operator": "/intake", "dispatcher": "/queue", "handler": "/inbox", "supervisor": "/board",
        "analyst": "/situation", "admin": "/orders", "inspector": "/inspection/patrol"}
VENDOR = Path(__file__).parents[2] / "cityline" / "web" / "static" / "vendor"
LINKS = re.compile(r'\b(?:src|href|action|hx-get)="([^"]*)"')


def nav_links(html: str) -> set[str]:
    nav = re.search(r"<nav aria-label=[^>]*>(.*?)</nav>", html, re.S)
    return set(re.findall(r'href="([^"]+)"', nav.group(1))) if nav else set()


def test_each_role_starts_on_its_page_and_sees_only_its_pages(city):
    _app, people = city
    for person, opens in OPENS.items():
        client = people[person]
        assert client.get("/").headers["location"] == HOME[person], person
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == (200 if path in opens else 403), (person, path)
        assert nav_links(client.get(HOME[person]).text) == opens, person


def test_a_refused_page_is_audited_and_says_why(city, sessions):
    _app, people = city
    answer = people["handler"].get("/queue")
    assert answer.status_code == 403 and "unit_handler" in answer.text
    with transaction(sessions) as session:
        denials = [e.target for e in list_audit(session, actor="handler", action="denied")]
    assert "page:queue" in denials


def test_pages_need_a_signed_in_user(city):
    app, _people = city
    stranger = TestClient(app, follow_redirects=False)
    answer = stranger.get("/inbox?x=1")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/inbox%3Fx%3D1"
    page = stranger.get("/login?next=//elsewhere.example/steal")
    assert page.status_code == 200 and 'data-next="/"' in page.text


def test_every_asset_is_served_by_cityline_itself(city):
    _app, people = city
    seen: set[str] = set()
    for person, opens in OPENS.items():
        for path in opens:
            html = people[person].get(path).text
            for link in LINKS.findall(html):
                assert link.startswith(("/", "?", "#")) and not link.startswith("//"), (path, link)
                if link.startswith("/static/"):
                    seen.add(link)
    assert any("vendor/htmx.min.js" in s for s in seen) and any("vendor/echarts.min.js" in s for s in seen)
    for link in seen:
        assert people["operator"].get(link).status_code == 200, link


class Controls(HTMLParser):
    """Form controls of a page and whether each has a label (by ``for`` or by nesting)."""

    def __init__(self) -> None:
        super().__init__()
        self.labels_for: set[str] = set()
        self.inside_label = 0
        self.controls: list[tuple[str, str | None, bool]] = []  # (tag, id, nested in a label)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.inside_label += 1
            if a.get("for"):
                self.labels_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button"):
            self.controls.append((tag, a.get("id"), self.inside_label > 0))

    def handle_endtag(self, tag):
        if tag == "label":
            self.inside_label -= 1

    def unlabelled(self) -> list[tuple[str, str | None]]:
        return [(tag, id_) for tag, id_, nested in self.controls if not nested and id_ not in self.labels_for]


def test_every_form_control_has_a_label(city):
    app, people = city
    new_order(people["operator"])  # so the lists have orders with their move forms
    number = new_order(people["operator"], text="小区门口垃圾没人清运", category="GEN.ENVIRONMENT",
                       urgency="normal", special_groups=[], kind="complaint")["number"]
    pages = [(p, path) for p, opens in OPENS.items() for path in opens] + [
        ("dispatcher", f"/orders/{number}"), ("handler", "/inbox"), (None, "/login")]
    checked = 0
    for person, path in pages:
        parser = Controls()
        parser.feed((people[person] if person else TestClient(app)).get(path).text)
        assert parser.unlabelled() == [], (person, path)
        checked += len(parser.controls)
    assert checked > 50


def test_vendored_libraries_match_their_recorded_versions():
    recorded = {}
    for line in (VENDOR / "VERSIONS.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            file, package, version, digest = line.split()[:4]
            recorded[file] = (package, version, digest)
    assert set(recorded) == {"htmx.min.js", "echarts.min.js", "shanghai-districts.json"}
    for file, (_package, _version, digest) in recorded.items():
        assert hashlib.sha256((VENDOR / file).read_bytes()).hexdigest() == digest, file
    assert (VENDOR / "LICENSE-htmx.txt").exists() and (VENDOR / "LICENSE-echarts.txt").exists()


def test_static_files_stay_inside_the_static_folder(city):
    _app, people = city
    client = people["operator"]
    assert client.get("/static/../texts.py").status_code == 404
    assert client.get("/static/%2e%2e/i18n/zh.toml").status_code == 404
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")


def test_chinese_by_default_english_when_chosen_and_remembered(city):
    _app, people = city
    client = people["operator"]
    chinese = client.get("/intake").text
    assert '<html lang="zh-CN">' in chinese and "受理登记" in chinese and "就医配药" in chinese
    english = client.get("/intake?lang=en")
    assert '<html lang="en">' in english.text and "New order" in english.text
    assert "Medical care and medicine" in english.text or "medicine" in english.text.lower()
    assert "受理登记" not in english.text
    assert "New order" in client.get("/intake").text  # the choice is remembered
    assert "受理登记" in client.get("/intake?lang=zh").text


def new_order(client: TestClient, **overrides) -> dict:
    answer = client.post("/api/orders", json=order_body(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def move(client: TestClient, number: str, **body) -> dict:
    answer = client.post(f"/api/orders/{number}/moves", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_inbox_holds_the_units_orders_with_their_deadlines(city):
    _app, people = city
    mine = new_order(people["operator"])  # urgent medical in 曹家渡街道: dispatched at once
    assert mine["status"] == "dispatched" and mine["unit"] == "SH-JA-CJD"
    theirs = new_order(people["operator"], address="静安区江宁路街道昌平路1号", text="江宁路街道独居老人断药求助")
    inbox = people["handler"].get("/inbox").text
    assert mine["number"] in inbox and theirs["number"] not in inbox
    assert "签收时限" in inbox and "剩余" in inbox and 'class="countdown' in inbox
    assert theirs["number"] in people["other_handler"].get("/inbox").text
    fragment = people["handler"].get("/inbox", headers={"hx-request": "true"}).text
    assert mine["number"] in fragment and "<html" not in fragment
    # The page's script recolours countdowns by the server's due-soon window, not a copy of it.
    assert f'<meta name="due-soon-seconds" content="{int(DUE_SOON.total_seconds())}">' in inbox


def test_the_inbox_shows_the_units_unread_notifications_and_marks_them_read(city):
    _app, people = city
    order = new_order(people["operator"])  # auto-dispatched to 曹家渡街道
    handler = people["handler"]
    inbox = handler.get("/inbox").text
    notices = inbox.split('class="notices"')[1].split("</section>")[0]
    assert "1 条未读" in notices and f"新派工单 {order['number']}（就医配药，紧急）" in notices
    assert "没有通知" in people["other_handler"].get("/inbox").text  # another street's is not shown
    english = handler.get("/inbox?lang=en").text.split('class="notices"')[1].split("</section>")[0]
    assert "1 unread" in english and f"New order {order['number']} (" in english and "accept by" in english
    note_id = int(notices.split('data-id="')[1].split('"')[0])
    assert handler.post(f"/api/notifications/{note_id}/read").status_code == 200  # what the button sends
    fragment = handler.get("/inbox?lang=zh", headers={"hx-request": "true"}).text
    assert "0 条未读" in fragment and 'class="notice read"' in fragment and "notice-read" not in fragment


def test_the_order_page_shows_the_whole_history_and_masks_the_caller(city, sessions):
    _app, people = city
    number = new_order(people["operator"])["number"]
    move(people["handler"], number, action="accept")
    move(people["handler"], number, action="reply", text="社区医生已上门配药")
    page = people["operator"].get(f"/orders/{number}").text
    for step in ("受理", "派发", "签收", "答复", "社区医生已上门配药", "曹家渡街道办事处"):
        assert step in page, step
    assert "13800001234" not in page and "138****1234" in page
    csrf = CSRF.search(page).group(1)
    revealed = people["operator"].post(f"/api/orders/{number}/reveal", json={"reason": "回访核实"},
                                       headers={"x-csrf-token": csrf})
    assert revealed.json()["caller_phone"] == "13800001234"
    forged = people["operator"].post(f"/api/orders/{number}/reveal", json={"reason": "回访核实"},
                                     headers={"x-csrf-token": "not-the-token"})
    assert forged.status_code == 403
    with transaction(sessions) as session:
        reveals = list_audit(session, actor="operator", action="reveal_phone")
    assert [r.target for r in reveals] == [f"order:{number}"]


def test_an_order_outside_the_reach_is_not_found(city):
    _app, people = city
    number = new_order(people["operator"])["number"]
    foreign = people["other_handler"].get(f"/orders/{number}")
    missing = people["other_handler"].get("/orders/20200101-99999")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text.replace(number, "20200101-99999") == missing.text  # the same page, number apart
    assert people["operator"].get("/orders/20200101-99999").status_code == 404


def test_the_order_pages_duplicates_are_those_within_the_visitors_reach(city):
    _app, people = city
    theirs = new_order(people["operator"], address="静安区江宁路街道昌平路1号")["number"]  # same caller, next street
    mine = new_order(people["operator"])
    assert mine["status"] == "received"  # held: it looks like a duplicate
    move(people["dispatcher"], mine["number"], action="dispatch", unit="SH-JA-CJD")
    city_page = people["dispatcher"].get(f"/orders/{mine['number']}").text
    assert f'href="/orders/{theirs}"' in city_page and 'data-action="merge"' in city_page
    street_page = people["handler"].get(f"/orders/{mine['number']}")
    assert street_page.status_code == 200 and theirs not in street_page.text


def test_the_dispatcher_sees_returns_with_their_reason_and_no_quick_way_back(city):
    _app, people = city
    order = new_order(people["operator"])
    assert order["unit"] == "SH-JA-CJD"  # the handler's street office, which returns it
    move(people["handler"], order["number"], action="return", reason="不属于本街道辖区")
    queue = people["dispatcher"].get("/queue").text
    card = queue[queue.index(f'id="o-{order["number"]}"'):]
    card = card[:card.index("</li>")]
    assert "不属于本街道辖区" in card and 'data-action="redispatch"' in card
    # the catalogue's likely unit is the one that returned it: not one click away; the redispatch
    # form's list of units still offers it
    assert 'name="unit" value="SH-JA-CJD"' not in card and '<option value="SH-JA-CJD">' in queue


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_board_lists_overdue_and_special_group_orders(city, lang):
    _app, people = city
    late = new_order(people["operator"], received_at="2020-02-01T09:00:00+08:00")
    page = people["supervisor"].get(f"/board?lang={lang}").text
    overdue = page.split('id="lane-overdue"')[1].split("</section>")[0]
    special = page.split('id="lane-special"')[1].split("</section>")[0]
    assert late["number"] in overdue and late["number"] in special
    assert ("已超时" if lang == "zh" else "overdue") in overdue


def test_the_board_shows_orders_whose_escalation_fired(city, sessions):
    _app, people = city
    late = new_order(people["operator"], received_at="2020-02-01T09:00:00+08:00")["number"]
    fresh = new_order(people["operator"], text="小区门口垃圾没人清运", category="GEN.ENVIRONMENT",
                      urgency="normal", special_groups=[], kind="complaint")["number"]
    report = fire_due_timers(sessions, utcnow(), "test-worker", reminder_handler())
    assert report.fired >= 1
    page = people["supervisor"].get("/board").text
    escalated = page.split('id="lane-escalated"')[1].split("</section>")[0]
    assert late in escalated and fresh not in escalated


def test_visits_list_replied_orders_for_the_return_call(city):
    _app, people = city
    number = new_order(people["operator"])["number"]
    move(people["handler"], number, action="accept")
    move(people["handler"], number, action="reply", text="已送药上门")
    page = people["operator"].get("/visits").text
    assert number in page and "已送药上门" in page and 'data-action="visit"' in page


def test_the_visits_page_counts_every_order_not_the_page(city, sessions, vault):
    """More replied orders than a page holds: the count says how many are shown of how many."""
    from cityline.intake.importer import import_rows

    _app, people = city
    rows = [(i, {"external_id": f"V-{i}", "received_at": "2020-02-10T09:00:00+08:00", "text": f"楼道灯坏了{i}",
                 "kind": "help", "category": "GEN.HOUSING", "urgency": "normal", "unit": "SH-JA-CJD",
                 "dispatched_at": "2020-02-10T09:30:00+08:00", "replied_at": "2020-02-11T10:00:00+08:00"})
            for i in range(1, 103)]
    assert import_rows(sessions, rows, vault=vault).imported == 102
    assert "显示 100 / 共 102 件" in people["operator"].get("/visits").text


def test_the_queue_counts_every_waiting_order_not_the_page(city, sessions, vault):
    from cityline.intake.importer import import_rows

    _app, people = city
    rows = [(i, {"external_id": f"Q-{i}", "received_at": "2020-02-10T09:00:00+08:00", "text": f"路灯不亮{i}",
                 "kind": "help", "category": "GEN.UTILITIES", "urgency": "normal", "district": "静安区"})
            for i in range(1, 53)]
    assert import_rows(sessions, rows, vault=vault).imported == 52
    first = people["dispatcher"].get("/queue").text
    assert "显示 20 / 共 52 件" in first and first.count('class="card order"') == 20
    # "Show more" adds as many again; the page's refresh keeps what the dispatcher asked for.
    assert 'href="/queue?shown=40"' in first and 'hx-get="/queue?shown=20"' in first
    more = people["dispatcher"].get("/queue?shown=40").text
    assert "显示 40 / 共 52 件" in more and 'href="/queue?shown=60"' in more
    everything = people["dispatcher"].get("/queue?shown=60").text
    assert "共 52 件" not in everything and "52 件" in everything and "显示更多" not in everything
    # A count out of bounds is brought within them, not refused: a console page keeps working.
    assert "显示 20 / 共 52 件" in people["dispatcher"].get("/queue?shown=many").text
    assert people["dispatcher"].get("/queue?shown=999").text.count('class="card order"') == 52


def test_order_search_filters_and_pages(city):
    _app, people = city
    first = new_order(people["operator"])["number"]
    new_order(people["operator"], text="路灯坏了好几天", category="GEN.UTILITIES", urgency="normal",
              special_groups=[], kind="complaint")
    found = people["supervisor"].get("/orders", params={"category": "EPI.MEDICAL"}).text
    assert first in found and "路灯" not in found
    assert 'href="/api/orders/export.csv' in people["analyst"].get("/orders").text
    assert "export.csv" not in people["operator"].get("/orders").text


def test_a_unit_asks_for_more_time_and_the_board_decides(city):
    _app, people = city
    number = new_order(people["operator"])["number"]
    move(people["handler"], number, action="accept")
    inbox = people["handler"].get("/inbox").text
    assert 'data-action="extend"' in inbox and 'name="until"' in inbox and "申请延期" in inbox
    resolve_by = people["handler"].get(f"/api/orders/{number}").json()["resolve_by"]
    later = (datetime.fromisoformat(resolve_by.replace("Z", "+00:00")) + timedelta(days=2)).astimezone(
        ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")  # what a datetime-local field sends
    asked = move(people["handler"], number, action="extend", reason="需等配件到货", until=later)
    assert asked["extension_requested"] is not None
    board = people["supervisor"].get("/board").text
    assert "延期申请" in board and number in board and 'data-action="grant"' in board
    granted = move(people["supervisor"], number, action="grant")
    assert granted["resolve_by"] == granted["extended_to"] and granted["extension_requested"] is None


def test_order_search_reads_on_by_cursor_and_says_when_it_stopped_counting(city, sessions, vault, monkeypatch):
    """53 orders received at one instant: page one shows 50 and a next link by cursor, which
    shows the other 3 (ties broken by id, none twice); past the count's limit the page says "+"."""
    from cityline.intake.importer import import_rows
    from cityline.orders import queries

    _app, people = city
    rows = [(i, {"external_id": f"S-{i}", "received_at": "2020-02-10T09:00:00+08:00", "text": f"井盖松动{i}",
                 "kind": "report", "category": "GEN.SAFETY", "urgency": "normal"}) for i in range(1, 54)]
    assert import_rows(sessions, rows, vault=vault).imported == 53
    first = people["operator"].get("/orders", params={"q": "井盖"}).text
    assert "显示 50 / 共 53 件" in first
    link = re.search(r'href="(/orders\?[^"]*cursor=[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    second = people["operator"].get(link).text
    assert "显示 3 / 共 53 件" in second and 'rel="next"' not in second
    shown = re.findall(r'<a href="/orders/(\d{8}-\d{5})">', first + second)
    assert len(shown) == len(set(shown)) == 53
    monkeypatch.setattr(queries, "COUNT_LIMIT", 50)
    assert "显示 50 / 共 50+ 件" in people["operator"].get("/orders", params={"q": "井盖"}).text

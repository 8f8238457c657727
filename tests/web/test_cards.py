"""An order card's pieces drawn in Python (web/cards.py) print as a template would: every value
masked and escaped, the words in the page's language, a form per kind of move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from markupsafe import Markup

from cityline.web.render import cards_in
from cityline.web.rules import Clock

PHONE = "13987654321"  # fake: what a caller might have typed where a place is written
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def order(**values):
    fields = dict(number="20260302-00001", status="accepted", channel="phone", category="GEN.SAFETY",
                  urgency="urgent", special_groups=["elderly"], language="en", paused=False,
                  extension_requested=None, received_at=NOW, district="静安区", street=f"<b>街道 {PHONE}</b>",
                  unit="SH-JA", milestones=[])
    return SimpleNamespace(**fields | values)


def test_a_cards_values_are_masked_and_escaped():
    html = cards_in("zh").headline(order(), {"SH-JA": "静安区 <城运中心>"})
    assert isinstance(html, Markup)
    assert PHONE not in html and "139****4321" in html
    assert "<b>" not in html and "&lt;b&gt;" in html and "&lt;城运中心&gt;" in html
    assert '<a href="/orders/20260302-00001">20260302-00001</a>' in html
    assert '<span class="badge u-urgent">' in html and '<span class="badge foreign">' in html


def test_its_words_are_the_pages_language():
    zh, en = cards_in("zh").move_form(order(), "accept", primary=True), cards_in("en").move_form(order(), "accept")
    assert '<button type="submit" class="primary">签收</button>' in zh
    assert '<button type="submit">Accept</button>' in en and "hidden" not in en  # one click, no form to open


def test_each_move_asks_for_what_it_needs():
    cards, o = cards_in("zh"), order()
    assert 'name="reason" required' in cards.move_form(o, "return")
    assert 'name="until" type="datetime-local"' in cards.move_form(o, "extend")
    assert cards.move_form(o, "visit").count('type="radio" name="satisfaction"') == 3
    assert 'list="unit-list"' in cards.move_form(o, "dispatch")
    assert cards.move_form(order(status="visited"), "close").count("<form") == 1  # a visited order closes at once
    assert 'href="/inspection/findings/' in cards.move_form(order(channel="inspection"), "reply")
    chain = [SimpleNamespace(code="h1", zh="一小时", en="1 h", done_at=NOW),
             SimpleNamespace(code="h2", zh="两小时", en="", done_at=None)]
    form = cards.move_form(order(milestones=chain), "milestone")
    assert '<option value="h2">两小时</option>' in form and "h1" not in form  # only what is left to record
    assert '<option value="h2">两小时</option>' in cards_in("en").move_form(order(milestones=chain), "milestone")


def test_a_countdown_only_while_a_clock_runs():
    cards = cards_in("zh")
    assert cards.countdown(Clock(None, None, None, "none")) == ""
    running = cards.countdown(Clock("resolve", NOW + timedelta(hours=2), 7200, "due_soon"))
    assert 'class="countdown due_soon"' in running and 'data-kind="resolve"' in running
    assert 'datetime="2026-03-02T11:00:00+00:00"' in running and "剩余 2小时" in running


def test_a_board_lane_line_is_masked_escaped_and_drawn_once_a_page():
    cards, running = cards_in("zh"), Clock("resolve", NOW + timedelta(hours=2), 7200, "due_soon")
    line = cards.lane_item(order(), running, {"SH-JA": "静安区 <城运中心>"})
    assert '<a href="/orders/20260302-00001">20260302-00001</a>' in line
    assert '<span class="meta">静安区 &lt;城运中心&gt;</span>' in line and 'class="countdown due_soon"' in line
    assert '<span class="badge group">' in line and '<span class="status s-accepted">' in line
    assert '<span class="meta">' not in cards_in("zh").lane_item(order(unit=None), running, {})  # no unit, no name
    # The same order in another lane of the page: the line drawn before (a new page draws anew).
    assert cards.lane_item(order(), running, {"SH-JA": "another name"}) is line
    assert "another name" in cards_in("zh").lane_item(order(), running, {"SH-JA": "another name"})

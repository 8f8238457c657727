"""The console's pure decisions: deadlines as a handler sees them, languages, safe redirects,
what a history entry shows, and the two language files agreeing."""

from datetime import UTC, datetime, timedelta

import pytest

from cityline.web.rules import (
    event_facts,
    home_for,
    pick_language,
    resolution_clock,
    safe_next,
    span_parts,
    unit_clock,
)
from cityline.web.texts import strings, translate

NOW = datetime(2020, 1, 28, 8, 0, tzinfo=UTC)


def test_a_dispatched_order_races_its_accept_deadline_then_its_resolution():
    accept_by, resolve_by = NOW + timedelta(minutes=10), NOW + timedelta(hours=30)
    waiting = unit_clock("dispatched", False, accept_by, resolve_by, NOW)
    assert (waiting.kind, waiting.state, waiting.seconds_left) == ("accept", "due_soon", 600)
    working = unit_clock("accepted", False, accept_by, resolve_by, NOW)
    assert (working.kind, working.state) == ("resolve", "ok")
    late = unit_clock("accepted", False, None, NOW - timedelta(hours=2), NOW)
    assert (late.state, late.seconds_left) == ("overdue", -7200)


def test_a_paused_or_replied_order_shows_no_countdown():
    assert unit_clock("accepted", True, None, NOW, NOW).state == "paused"
    assert unit_clock("replied", False, None, NOW - timedelta(days=1), NOW).state == "none"
    assert unit_clock("accepted", False, None, None, NOW).state == "none"
    # The supervisor still sees the caller's deadline after the unit replied.
    assert resolution_clock(False, NOW - timedelta(hours=1), NOW).state == "overdue"


@pytest.mark.parametrize(("seconds", "parts"), [
    (90061, [("days", 1), ("hours", 1)]), (3720, [("hours", 1), ("minutes", 2)]),
    (-300, [("minutes", 5)]), (20, [("minutes", 0)]),
])
def test_durations_read_as_two_units_at_most(seconds, parts):
    assert span_parts(seconds) == parts


def test_chinese_unless_english_was_chosen():
    assert pick_language(None, None) == "zh"
    assert pick_language("en", None) == "en"
    assert pick_language(None, "en") == "en"
    assert pick_language("zh", "en") == "zh"
    assert pick_language("fr", None) == "zh"


@pytest.mark.parametrize(("target", "expected"), [
    ("/inbox?x=1", "/inbox?x=1"), ("//elsewhere.example", "/"), ("https://elsewhere.example", "/"),
    ("/\\elsewhere.example", "/"), (None, "/"),
])
def test_only_paths_on_this_site_follow_the_sign_in(target, expected):
    assert safe_next(target) == expected


def test_each_role_lands_on_its_own_page():
    assert home_for(["unit_handler"], ["orders:read", "orders:handle"]).path == "/inbox"
    assert home_for(["operator", "dispatcher"],
                    ["orders:read", "orders:create", "orders:dispatch"]).path == "/intake"
    assert home_for(["nobody"], []) is None


def test_history_entries_show_what_matters_for_each_step():
    received = event_facts("received", {"channel": "phone", "triage": {"category": "EPI.MEDICAL",
                           "urgency": "urgent"}, "place": {"district": "静安区", "street": "曹家渡街道"}})
    assert [(f.label, f.value) for f in received] == [
        ("field.category", "EPI.MEDICAL"), ("field.urgency", "urgent"), ("intake.place", "静安区 曹家渡街道"),
        ("field.channel", "phone")]
    reply = event_facts("reply", {"text": "已送药"})
    assert [(f.label, f.value) for f in reply] == [("field.reply", "已送药")]
    answer = event_facts("answer", {"text": "请登记", "article": "KB-MASK-001", "article_version": 2})
    assert ("order.article", "KB-MASK-001 v2") in [(f.label, f.value) for f in answer]
    assert event_facts("visit", {"satisfaction": "basic"})[0].names == "satisfaction"


def test_both_languages_have_the_same_words_and_fill_them_in():
    assert set(strings("zh")) == set(strings("en"))
    assert translate("zh", "deadline.left", span="3小时") == "剩余 3小时"
    assert translate("en", "page.order", number="20200128-00001") == "Order 20200128-00001"
    with pytest.raises(ValueError):
        strings("fr")


def test_every_word_the_pages_and_scripts_ask_for_exists():
    import re
    from pathlib import Path

    web = Path(__file__).parents[2] / "cityline" / "web"
    asked = set()
    for file in [*web.glob("templates/*.html"), *web.glob("static/*.js")]:
        asked |= set(re.findall(r"""\bt\(\s*['"]([a-z_]+\.[a-z_]+)['"]""", file.read_text()))
    assert len(asked) > 80
    assert asked <= set(strings("zh")), asked - set(strings("zh"))

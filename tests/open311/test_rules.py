"""Open311's pure rules: the search window, languages, form attributes, names, statuses, XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from cityline.open311 import rules
from cityline.taxonomy import load_taxonomy

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def test_the_window_is_the_last_90_days_by_default_and_never_longer():
    assert rules.window(None, None, NOW) == (NOW - timedelta(days=90), NOW)
    since, until = rules.window("2026-01-01T00:00:00Z", None, NOW)
    assert until - since == timedelta(days=90)
    since, until = rules.window(None, "2026-06-01", NOW)
    assert until - since == timedelta(days=90) and until.utcoffset() == timedelta(hours=8)  # local midnight
    assert rules.window("2026-01-01T00:00:00+08:00", "2026-03-31T00:00:00+08:00", NOW)
    with pytest.raises(rules.RuleError, match="90 days"):
        rules.window("2026-01-01T00:00:00+08:00", "2026-04-01T00:00:01+08:00", NOW)
    with pytest.raises(rules.RuleError, match="before start_date"):
        rules.window("2026-02-01", "2026-01-01", NOW)
    with pytest.raises(rules.RuleError, match="ISO 8601"):
        rules.window("yesterday", None, NOW)


def test_language_is_chinese_unless_english_is_asked_for():
    assert rules.language(None, None) == "zh"
    assert rules.language("en", "zh-CN") == "en"
    assert rules.language(None, "en-GB,en;q=0.8") == "en"
    assert rules.language(None, "zh-CN,zh;q=0.9,en;q=0.5") == "zh"


def test_one_realtime_service_per_category_with_names_in_both_languages():
    taxonomy = load_taxonomy()
    zh, en = rules.services(taxonomy, "zh"), rules.services(taxonomy, "en")
    assert [s["service_code"] for s in zh] == taxonomy.codes("category")
    assert {s["type"] for s in zh} == {"realtime"}
    medical = next(s for s in en if s["service_code"] == "EPI.MEDICAL")
    assert medical["service_name"] == taxonomy.name("EPI.MEDICAL", "en") and medical["metadata"] is True
    assert next(s for s in zh if s["service_code"] == "EPI.MEDICAL")["service_name"] == "就医配药"
    assert rules.definition(taxonomy, "GEN.OTHER", "zh") == {"service_code": "GEN.OTHER", "attributes": []}
    (attribute,) = rules.definition(taxonomy, "EPI.MEDICAL", "en")["attributes"]
    assert [v["key"] for v in attribute["values"]] == taxonomy.codes("special_group")
    assert rules.definition(taxonomy, "NOPE", "zh") is None


def test_form_attributes_become_special_groups_only_where_the_service_takes_them():
    taxonomy = load_taxonomy()
    form = [("attribute[special_group][]", "elderly"), ("attribute[special_group][]", "child"),
            ("description", "x"), ("attribute[special_group][]", "elderly")]
    assert rules.special_groups(taxonomy, "EPI.MEDICAL", rules.form_attributes(form)) == ["elderly", "child"]
    with pytest.raises(rules.RuleError, match="takes no attribute special_group"):
        rules.special_groups(taxonomy, "GEN.OTHER", rules.form_attributes(form))
    with pytest.raises(rules.RuleError, match="martian not among"):
        rules.special_groups(taxonomy, "EPI.MEDICAL", {"special_group": ["martian"]})


def test_names_statuses_and_lists():
    assert rules.caller_name("三", "张") == "张三"
    assert rules.caller_name("Anna", "Berg") == "Anna Berg"
    assert rules.caller_name(" ", None) is None
    assert rules.status_of("replied") == "open" and rules.status_of("merged") == "closed"
    assert rules.order_statuses("closed") == ["cancelled", "closed", "merged"]
    assert rules.listed("a, b,,") == ["a", "b"]
    with pytest.raises(rules.RuleError, match="unknown status pending"):
        rules.listed("open,pending", ("open", "closed"), "status")


def test_a_request_record_is_masked_and_local_time_with_its_offset():
    view = rules.RequestView(
        number="20261206-00001", status="replied", category="EPI.MEDICAL", text="药快用完了 13912345678",
        unit_name="曹家渡街道办事处", reply="已送药上门，联系人13912345678", address="万航渡路1号", lat=31.2, lon=121.4,
        media_url=None, received_at=NOW, updated_at=NOW, resolve_by=None)
    record = rules.request_record(view, load_taxonomy(), "zh")
    assert record["description"] == "药快用完了 139****5678"
    assert record["status_notes"] == "已送药上门，联系人139****5678" and record["status"] == "open"
    assert record["requested_datetime"] == "2026-12-06T14:00:00+08:00"
    assert record["agency_responsible"] == "曹家渡街道办事处" and record["long"] == 121.4


def test_xml_holds_lists_as_named_items_and_drops_what_xml_cannot_hold():
    body = rules.to_xml("service_requests", [{"service_request_id": "1", "description": "a\x01b", "lat": None,
                                              "flag": True}])
    root = ET.fromstring(body)
    (item,) = root.findall("request")
    assert item.findtext("description") == "ab" and item.findtext("lat") == "" and item.findtext("flag") == "true"
    errors = ET.fromstring(rules.to_xml("errors", rules.error_list(403, ["bad key"])))
    assert errors.find("error/code").text == "403"

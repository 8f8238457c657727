"""Orders from a sealed or controlled zone are marked with the zone and raised by the zone policy
(``sla/policies.toml`` ``[zones]``), whichever way they come in; a grid's manual level overrides
the published zones. On SQLite and PostgreSQL, through the builder and through HTTP.

Published for 2022-04-10: 月亮小区 1号楼 sealed, the rest of 月亮小区 controlled, 星星小区 sealed
whole, 曹家渡街道 precaution (which marks nothing).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityline.db import read_transaction, transaction
from cityline.epidemic import service, zonemarks
from cityline.epidemic.places import ZoneRow
from cityline.geo.service import import_grids, set_zone
from cityline.intake.service import create_order, use_zone_lookup
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import events_of
from cityline.sla.policy import DEFAULT_POLICY_FILE, PolicyError, load_policies

SH = ZoneInfo("Asia/Shanghai")
DAY_NOON = datetime(2022, 4, 10, 12, 0, tzinfo=SH)
JA, CJD, JNL = "静安区", "曹家渡街道", "江宁路街道"
ZONES = [ZoneRow("sealed", JA, CJD, "月亮小区", "1号楼", 2), ZoneRow("sealed", JA, JNL, "星星小区", None, 1),
         ZoneRow("controlled", JA, CJD, "月亮小区", None, 1), ZoneRow("precaution", JA, CJD, None, None, 6)]
GRIDS = [{"code": "G-SUN", "name": "阳光网格", "district": JA, "street": CJD, "compounds": "阳光小区"},
         {"code": "G-MOON", "name": "月亮网格", "district": JA, "street": CJD, "compounds": "月亮小区"}]


@pytest.fixture
def zoned(sessions):
    use_zone_lookup(zonemarks.zone_of)
    with transaction(sessions) as session:
        assert not import_grids(session, enumerate(GRIDS, start=2)).bad
        service.save_zones(session, DAY_NOON.date(), ZONES, DAY_NOON)
    return sessions


def order(sessions, vault, text, category, urgency="normal", at=DAY_NOON):
    with transaction(sessions) as session:
        made, _ = create_order(session, OrderCreate(text=text, kind="help", category=category, urgency=urgency,
                                                    received_at=at), actor="test", now=at, vault=vault, route=False)
        return made.urgency, made.sla_policy, events_of(session, made)[0].data.get("zone")


def test_medicine_from_a_sealed_building_becomes_urgent_and_is_marked(zoned, vault):
    urgency, policy, zone = order(zoned, vault, "静安区曹家渡街道月亮小区1号楼302室，老人降压药吃完了，请求配药", "EPI.MEDICAL")
    assert (urgency, policy) == ("urgent", "urgent_life_safety")
    assert zone["level"] == "sealed" and zone["name"] == "静安区曹家渡街道月亮小区1号楼"
    assert zone["zone"].startswith("epidemic_zone:") and (zone["urgency_before"], zone["urgency"]) == ("normal", "urgent")
    # food from a whole sealed compound; anything else from a sealed place at least sub-urgent
    assert order(zoned, vault, "静安区江宁路街道星星小区居民家里没有菜了", "EPI.SUPPLY")[0] == "urgent"
    assert order(zoned, vault, "静安区曹家渡街道月亮小区1栋楼道垃圾没人清运", "GEN.ENVIRONMENT")[:2] == (
        "sub_urgent", "sub_urgent")


def test_a_controlled_zone_raises_medicine_only_and_an_urgent_order_stays_urgent(zoned, vault):
    assert order(zoned, vault, "静安区曹家渡街道月亮小区3号楼老人需要透析", "EPI.MEDICAL")[0] == "urgent"
    urgency, _policy, zone = order(zoned, vault, "静安区曹家渡街道月亮小区3号楼团购物资送不进来", "EPI.SUPPLY")
    assert urgency == "normal" and zone["level"] == "controlled" and zone["name"] == "静安区曹家渡街道月亮小区"
    urgency, _policy, zone = order(zoned, vault, "静安区曹家渡街道月亮小区1号楼有人翻越围栏", "EPI.VIOLATION",
                                   urgency="urgent")
    assert urgency == "urgent" and zone["urgency_before"] == "urgent"  # raised, never lowered


def test_outside_any_zone_or_on_another_day_nothing_changes(zoned, vault):
    assert order(zoned, vault, "静安区曹家渡街道阳光小区老人需要配药", "EPI.MEDICAL") == ("normal", "normal", None)
    assert order(zoned, vault, "静安区江宁路街道花园小区老人需要配药", "EPI.MEDICAL")[2] is None
    next_day = DAY_NOON + timedelta(days=1)  # nothing published for it
    assert order(zoned, vault, "静安区曹家渡街道月亮小区1号楼老人需要配药", "EPI.MEDICAL", at=next_day)[2] is None


def test_a_grids_manual_level_overrides_the_published_zones(zoned, vault):
    with transaction(zoned) as session:
        set_zone(session, "G-SUN", "封控")
        set_zone(session, "G-MOON", "precaution")
    urgency, _policy, zone = order(zoned, vault, "静安区曹家渡街道阳光小区老人需要配药", "EPI.MEDICAL")
    assert urgency == "urgent" and zone == {"level": "sealed", "zone": "grid:G-SUN", "name": "阳光网格",
                                            "urgency_before": "normal", "urgency": "urgent"}
    urgency, _policy, zone = order(zoned, vault, "静安区曹家渡街道月亮小区1号楼老人需要配药", "EPI.MEDICAL")
    assert (urgency, zone) == ("normal", None)  # the grid's precaution wins over the published sealed building


def test_zones_published_later_are_seen_at_once(sessions, vault):
    use_zone_lookup(zonemarks.zone_of)
    text = "静安区曹家渡街道月亮小区1号楼老人需要配药"
    assert order(sessions, vault, text, "EPI.MEDICAL")[2] is None  # read (and kept) with nothing published
    with transaction(sessions) as session:
        service.save_zones(session, DAY_NOON.date(), ZONES, DAY_NOON)
    assert order(sessions, vault, text, "EPI.MEDICAL")[0] == "urgent"


def test_http_answers_the_raised_order_and_its_history_shows_the_zone(client, sessions):
    with transaction(sessions) as session:
        service.save_zones(session, DAY_NOON.date(), ZONES, DAY_NOON)
    made = client.post("/api/orders", json={
        "text": "老人降压药吃完了，请求配药", "address": "静安区曹家渡街道月亮小区1号楼", "kind": "help",
        "category": "EPI.MEDICAL", "urgency": "normal", "received_at": DAY_NOON.isoformat()})
    assert made.status_code == 201, made.text
    assert made.json()["urgency"] == "urgent"
    shown = client.get(f"/api/orders/{made.json()['number']}").json()
    assert shown["events"][0]["data"]["zone"]["level"] == "sealed"
    with read_transaction(sessions) as session:
        kept = zonemarks.published(session, DAY_NOON.date())
    assert set(kept) == {(JA, JNL), (JA, CJD)} and kept[(JA, CJD)][0].name == "静安区曹家渡街道月亮小区1号楼"


def test_which_words_name_a_place():
    ends, follows = zonemarks.compound_ends, zonemarks.building_follows
    assert ends("月亮小区1号楼", "月亮小区") == [4] and follows("1号楼", "1号楼") and follows(" 12 栋", "12号楼")
    assert not follows("12号楼", "1号楼") and not follows("", "1号楼")
    assert ends("住在月亮", "月亮小区") == [4] and ends("太阳小区", "月亮小区") == []
    assert ends("新村15号", "新村1") == []  # 15, not 1
    assert ends("月亮小区二期3号楼", "月亮小区", ["月亮小区二期"]) == []  # the longer name of the street
    assert ends("月亮小区二期3号楼", "月亮小区二期", ["月亮小区"]) == [6]


def test_the_zone_policy_is_checked_when_loaded(tmp_path):
    policies = load_policies()
    assert policies.policy_for("sub_urgent", "EPI.TEST", channel="warning").name == "epidemic_untested"
    assert policies.policy_for("sub_urgent", "EPI.TEST", channel="phone").name == "sub_urgent"  # a caller's question
    rules = policies.zones
    assert rules["sealed"].urgency_for("EPI.SUPPLY", "normal") == "urgent"
    assert rules["controlled"].urgency_for("EPI.SUPPLY", "normal") == "normal"
    shipped = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    (tmp_path / "bad.toml").write_text(shipped.replace('at_least = "sub_urgent"', 'at_least = "soon"'),
                                       encoding="utf-8")
    with pytest.raises(PolicyError, match=r"\[zones.sealed\] key 'at_least' must be one of"):
        load_policies(tmp_path / "bad.toml")

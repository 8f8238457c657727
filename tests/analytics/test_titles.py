"""Titles a reader can read (titles.py) and hotspots that place what can be placed (queries.PLACED)."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pyarrow as pa
import pytest

from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.export import export_tables
from cityline.analytics.table import orders_from_rows
from cityline.analytics.text import terms
from cityline.analytics.titles import TOPIC_TAILS, Candidate, place_parts, template, title_for
from cityline.text import cut

DEBRIS = ("其对", "对办", "其从", "金的", "交的", "以调", "人来", "一管", "到时", "沪在", "上写")
VERBS = ("反映", "咨询", "希望", "要求", "建议", "举报", "投诉")


def _made_of_words(core: str, text: str) -> bool:
    """Whether ``core`` is a run of whole words the segmenter cuts from ``text`` (a question's
    tail may be shortened to its topic word, 规定)."""
    words = set(cut(text)) | set(TOPIC_TAILS.values())
    reachable = [True] + [False] * len(core)
    for end in range(1, len(core) + 1):
        reachable[end] = any(reachable[start] and core[start:end] in words for start in range(end))
    return reachable[-1]


def _core(title: str) -> str:
    match = re.match(r"^(.*?市民)(" + "|".join(VERBS) + ")(.+)$", title)
    assert match, f"not a sentence about what citizens report: {title}"
    return match.group(3)


def test_a_title_is_the_core_clause_of_a_central_order():
    texts = ["市民来电反映：其在徐汇区虹梅路街道药店排队数小时购买口罩，轮到时告知已售完。诉求：想问一下药店口罩每天几点开始卖。",
             "喂，你好，药店门口排队买口罩的人太多了，回电13912345678",
             "来电人称：药店排队购买口罩，现场无人维持秩序。"]
    candidates = [Candidate(f"N{i}", t, place_parts(["徐汇区", "虹梅路街道"])) for i, t in enumerate(texts)]
    members = [terms(texts[0])] * 3 + [terms(texts[2])] * 3 + [terms(texts[1])]  # 门口 is one order's word
    title = title_for(candidates, members, ["排队", "口罩", "药店"])
    assert title.title == "市民反映药店排队数小时购买口罩", "frame, caller and place are gone"
    assert title.order_id == "N0" and title.example.startswith("其在徐汇区虹梅路街道药店排队")
    assert len(title.example) <= 60


def test_a_demand_or_a_question_says_so_and_personal_data_stays_masked():
    texts = ["你好，网上口罩全部缺货，希望政府多想办法保障口罩供应。电话13912345678"] * 2
    title = title_for([Candidate("A", texts[0])], [terms(t) for t in texts], ["供应", "保障"])
    assert title.title == "市民希望政府多想办法保障口罩供应"
    assert "13912345678" not in title.example and "139****5678" in title.example
    asked = ["请问失业金的申领条件是什么。", "失业金的申领条件是什么，社保交了五年了"]
    title = title_for([Candidate("B", asked[0])], [terms(t) for t in asked], ["失业", "申领", "条件"])
    assert title.title == "市民咨询失业金的申领条件"
    asked = ["我想问一下能不能去上班呢", "隔离期间能不能去上班"]
    title = title_for([Candidate("D", asked[0])], [terms(t) for t in asked], ["上班"])
    assert title.title == "市民咨询能不能去上班", "a question's 能 stays: 不能去上班 says the opposite"


def test_character_pairs_never_make_a_title():
    assert template(["其对", "供应", "对办", "保障"]) == "市民反映供应、保障等问题"
    assert template(["其对", "对办"]) == "市民反映的其他问题"
    # No clause holds a keyword a reader knows: the template, never the pair.
    title = title_for([Candidate("C", "其对办事流程")], [["其对", "对办"]] * 3, ["其对", "对办"])
    assert title.title == "市民反映的其他问题"


@pytest.mark.parametrize("day", [date(2020, 1, 28), date(2020, 2, 10)])
def test_every_title_of_a_simulated_day_is_a_readable_sentence(small_city, day):
    briefing = build_briefing(small_city.dataset, day)
    items = [*briefing.issues, *briefing.emerging]
    assert len(items) >= 10
    connection = duckdb.connect()
    texts = dict(connection.execute("SELECT number, text FROM read_parquet($f)",
                                    {"f": str(small_city.dataset.day_file(day))}).fetchall())
    for item in items:
        example = item.example
        assert example and example["order_id"] in texts and example["text"], item.title
        core = _core(item.title)
        assert 4 <= len(core) <= 16 and len(item.title) <= 26, item.title
        assert _made_of_words(core, texts[example["order_id"]]), f"{item.title} is not whole words of its order"
        # no keyword list, no character pair the terms keep ("其对"), no number
        assert "、" not in item.title and not set(cut(item.title)) & set(DEBRIS), item.title
        assert not re.search(r"\d", item.title), item.title
    members = {n for issue in briefing.issues for n in issue.members}
    assert all(issue.example["order_id"] in members for issue in briefing.issues), "drawn from the problem's own orders"
    queue = next(i for i in briefing.issues if "排队" in i.keywords[:2] and i.category == "EPI.MASK")
    assert "排队" in queue.title


def test_hotspots_place_by_the_order_then_its_unit(tmp_path):
    """The order's own place (given, or read at intake from address, text, grid); else its unit's
    district and street; a city-level unit's orders are city-wide; the rest unknown."""
    units = pa.Table.from_pylist([
        {"code": "XH-HM", "name": "虹梅路街道办事处", "kind": "street", "district": "徐汇区", "street": "虹梅路街道"},
        {"code": "XH-SCJ", "name": "徐汇区市场监管局", "kind": "department", "district": "徐汇区", "street": ""},
        {"code": "SH-WJW", "name": "市卫健委", "kind": "department", "district": "", "street": ""}])
    places = [("徐汇区", "虹梅路街道", "XH-SCJ"),  # its own place, whoever handled it
              ("徐汇区", None, "XH-HM"),  # its district, the street of its unit in that district
              (None, None, "XH-HM"), (None, None, "XH-HM"),  # no place: its unit's
              (None, None, "SH-WJW"),  # a city-level unit: city-wide
              (None, None, None)]  # nothing known
    rows = [{"external_id": f"P{i}", "received_at": f"2020-01-28T10:0{i}:00+08:00", "text": "小区门口垃圾没人清理",
             "category": "GEN.ENVIRONMENT", "kind": "complaint", "urgency": "normal", "district": district,
             "street": street, "unit": unit, "dispatched_at": "2020-01-28T11:00:00+08:00" if unit else None}
            for i, (district, street, unit) in enumerate(places)]
    export_tables(orders_from_rows(enumerate(rows, 1)), tmp_path, units=units)
    briefing = build_briefing(Dataset(tmp_path), date(2020, 1, 28))
    assert briefing.hotspots == [{"district": "徐汇区", "street": "虹梅路街道", "count": 4}]
    assert briefing.placement == {"by_order": 2, "by_unit": 2, "city_wide": 1, "unknown": 1,
                                  "unplaced_share": round(2 / 6, 4)}
    html = briefing.to_html()
    assert "市级部门承办" in html and "未知地点" in html


@pytest.mark.parametrize(("text", "keywords", "expected"), [
    ("祝桥镇欣园小区某超市营业员未佩戴口罩。", ["佩戴", "口罩"], "市民反映超市营业员未佩戴口罩"),
    ("锦绣一村底楼住户侵占公共绿地搭建围墙。", ["侵占", "绿地"], "市民反映底楼住户侵占公共绿地搭建围墙"),
    ("楼上邻居刚从湖北回来没有隔离。", ["湖北", "隔离"], "市民反映楼上邻居刚从湖北回来没有隔离"),
])
def test_the_city_s_places_are_left_out_other_places_stay(text, keywords, expected):
    """A compound or street at a clause's start goes; a province the problem is about stays."""
    candidate = Candidate("X", text, place_parts(["浦东新区", "祝桥镇"]))
    assert title_for([candidate], [terms(text)] * 3, keywords).title == expected

"""The six kinds of epidemic data (formats.md §6): their columns, keys and accepted words.

Pure data. Each column says how its text is read (``Column.parse``): ``text``,
``time`` (ISO 8601; local time without an offset), ``date``, ``word`` (one of a
few codes, given in English or Chinese, any case), ``phone``, ``id_number`` or
``groups`` (special-group codes, ``;``-separated). ``checks.py`` turns these
into one SQL statement per kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Accepted words → code, looked up after trimming and lower-casing.
RESULTS = {
    "negative": "negative", "neg": "negative", "阴性": "negative", "阴": "negative", "-": "negative",
    "positive": "positive", "pos": "positive", "阳性": "positive", "阳": "positive", "+": "positive",
    "pending": "pending", "待出": "pending", "待定": "pending", "待检": "pending", "检测中": "pending",
    "未出": "pending", "未出结果": "pending",
}
TEST_KINDS = {"pcr": "pcr", "核酸": "pcr", "核酸检测": "pcr", "antigen": "antigen", "抗原": "antigen",
              "抗原检测": "antigen", "rat": "antigen"}
STATUSES = {"present": "present", "在住": "present", "在册": "present", "常住": "present", "在家": "present",
            "away": "away", "外出": "away", "不在": "away", "离开": "away", "暂离": "away",
            "moved_out": "moved_out", "moved out": "moved_out", "moved-out": "moved_out", "迁出": "moved_out",
            "已迁出": "moved_out", "搬离": "moved_out", "已搬离": "moved_out"}
VENUE_KINDS = {"restaurant": "restaurant", "餐厅": "restaurant", "餐饮": "restaurant", "饭店": "restaurant",
               "饭馆": "restaurant", "食堂": "restaurant",
               "workplace": "workplace", "单位": "workplace", "工作场所": "workplace", "办公": "workplace",
               "办公场所": "workplace", "公司": "workplace",
               "shop": "shop", "商店": "shop", "商场": "shop", "超市": "shop", "商超": "shop", "店铺": "shop",
               "transport": "transport", "交通": "transport", "公共交通": "transport", "交通工具": "transport",
               "hospital": "hospital", "医院": "hospital", "医疗机构": "hospital", "诊所": "hospital",
               "school": "school", "学校": "school", "other": "other", "其他": "other", "其它": "other"}
MODES = {"train": "train", "火车": "train", "铁路": "train", "高铁": "train", "动车": "train", "rail": "train",
         "flight": "flight", "航班": "flight", "飞机": "flight", "民航": "flight", "plane": "flight",
         "coach": "coach", "客车": "coach", "大巴": "coach", "客运": "coach", "长途汽车": "coach", "bus": "coach",
         "car": "car", "自驾": "car", "汽车": "car", "私家车": "car",
         "ship": "ship", "船": "ship", "轮船": "ship", "客轮": "ship", "船舶": "ship", "ferry": "ship"}
LEVELS = {"high": "high", "高": "high", "高风险": "high", "medium": "medium", "中": "medium", "中风险": "medium",
          "low": "low", "低": "low", "低风险": "low"}
CASE_KINDS = {"confirmed": "confirmed", "确诊": "confirmed", "确诊病例": "confirmed",
              "asymptomatic": "asymptomatic", "无症状": "asymptomatic", "无症状感染者": "asymptomatic"}

# Strictness of risk levels and of zones: a higher number is stricter.
LEVEL_ORDER = {"low": 1, "medium": 2, "high": 3}
ZONE_ORDER = {"precaution": 1, "controlled": 2, "sealed": 3}


@dataclass(frozen=True)
class Column:
    name: str
    parse: str = "text"  # text | time | date | word | phone | id_number | groups
    required: bool = False
    max_length: int = 64
    words: dict[str, str] = field(default_factory=dict)
    default: str | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of file: its columns, its key, and where its rows are kept."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    store: str  # "db": the database; "facts": append-only Parquet partitions
    day_of: str | None = None  # the time column a fact's partition (local date) comes from

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _text(name: str, required: bool = False, max_length: int = 64) -> Column:
    return Column(name, "text", required, max_length)


def _word(name: str, words: dict[str, str], required: bool = False, default: str | None = None) -> Column:
    return Column(name, "word", required, words=words, default=default)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("residents", (
        _text("person_id", True), _text("name", max_length=100), Column("id_number", "id_number"),
        Column("phone", "phone"), _text("district", True), _text("street", True),
        _text("compound", True, 128), _text("building"), _text("unit", max_length=32),
        _text("room", max_length=32), _text("household_id", max_length=128), _text("grid"),
        Column("special_groups", "groups"), _word("status", STATUSES, default="present"),
    ), key=("person_id",), store="db"),
    Kind("tests", (
        _text("person_id", True), Column("sampled_at", "time", True), _word("result", RESULTS, True),
        _word("kind", TEST_KINDS, default="pcr"), _text("site", max_length=200),
    ), key=("person_id", "sampled_at", "kind"), store="facts", day_of="sampled_at"),
    Kind("scans", (
        _text("person_id", True), _text("venue_code", True), Column("scanned_at", "time", True),
        Column("left_at", "time"), _text("venue_name", max_length=200), _text("district"), _text("street"),
        _word("venue_kind", VENUE_KINDS, default="other"),
    ), key=("person_id", "venue_code", "scanned_at"), store="facts", day_of="scanned_at"),
    Kind("trips", (
        _text("person_id", True), _word("mode", MODES, True), Column("arrived_at", "time", True),
        _text("from_area", True, 200), _text("trip_no", max_length=32), Column("departed_at", "time"),
        _text("carriage", max_length=16), _text("seat", max_length=16), _text("to_area", max_length=200),
    ), key=("person_id", "mode", "trip_no", "arrived_at"), store="facts", day_of="arrived_at"),
    Kind("cases", (
        _text("person_id", True), Column("reported_at", "time", True), Column("onset_at", "time"),
        Column("sampled_at", "time"), _word("kind", CASE_KINDS, default="confirmed"),
    ), key=("person_id",), store="db"),
    Kind("risk-areas", (
        _text("area", True, 200), _word("level", LEVELS, True), Column("from", "date", True),
        Column("to", "date"),
    ), key=("area", "from"), store="db"),
)}
FACT_KINDS = tuple(name for name, kind in KINDS.items() if kind.store == "facts")


def kind_named(name: str) -> Kind:
    """The kind called ``name`` (``risk_areas`` is accepted for ``risk-areas``)."""
    found = KINDS.get(name.strip().lower().replace("_", "-"))
    if found is None:
        raise ValueError(f"unknown kind {name!r}; use one of {', '.join(KINDS)}")
    return found

"""A small epidemic written to files, with the edge cases of formats.md §7. Personal data are fake.

Judged at AT = 2022-04-10 12:00 (Asia/Shanghai); zones and arrivals on DAY = 2022-04-10.

Places: 静安区 曹家渡街道 (阳光小区 1/2/3号楼, 月亮小区 1/2/3号楼) and 江宁路街道 (星星小区, no
buildings; 花园小区).

Passes at AT:
  R01 negative 47:59 before → issued      R02 negative 48:00 before → test_too_old
  R03 negative 48:01 before → test_too_old
  R04 negative, then pending → issued (the latest test *with a result* counts)
  R05 pending only → no_result             R06 away, negative → issued (status does not matter)
  R08 negative at AT−20 h → issued; a positive sampled AT+5 h revokes it (verify at AT+6 h)
  R09 negative, household of case R10 → contact
  R16 negative, ate with case R10 for 42 minutes → contact (meal); R22 (same flat) is tier 2
  R20 negative at AT−3 h, household of a case reported 15 days ago → issued
  V01 visitor not in the ledger, negative → issued
  R10, R11 cases → case

Zones on DAY: cases R10 (月亮小区 1号楼, AT−3 d) and R11 (月亮小区 2号楼, AT−1 d) → sealed 1号楼
and 2号楼, controlled rest of 月亮小区 (3号楼: R12), precaution rest of 曹家渡街道 (阳光小区);
case R14 (星星小区, no building, reported DAY−13) → sealed 星星小区 whole, precaution rest of
江宁路街道 (花园小区: R15); case R13 (reported DAY−14) makes nothing; case R20X (not in the
ledger) makes nothing.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2022, 4, 10, 12, 0, tzinfo=SH)
DAY = AT.date()
JA, CJD, JNL = "静安区", "曹家渡街道", "江宁路街道"
SUN, MOON, STAR, GARDEN = "阳光小区", "月亮小区", "星星小区", "花园小区"

RESIDENTS = [
    # person_id, name, id_number, phone, district, street, compound, building, unit, room, household_id, grid, status
    ("R01", "张小一", "310101199001011234", "13800000101", JA, CJD, SUN, "1号楼", "1单元", "101", "", "G-SUN", ""),
    ("R02", "张小二", "", "13800000102", JA, CJD, SUN, "1号楼", "1单元", "101", "", "G-SUN", "present"),
    ("R03", "王小三", "", "", JA, CJD, SUN, "1号楼", "1单元", "102", "", "G-SUN", "present"),
    ("R04", "李小四", "", "", JA, CJD, SUN, "2号楼", "1单元", "201", "", "G-SUN", ""),
    ("R05", "赵小五", "", "", JA, CJD, SUN, "2号楼", "1单元", "202", "", "G-SUN", ""),
    ("R06", "钱小六", "", "", JA, CJD, SUN, "2号楼", "1单元", "203", "", "G-SUN", "away"),
    ("R07", "孙小七", "", "", JA, CJD, SUN, "3号楼", "1单元", "301", "", "G-SUN", "moved_out"),
    ("R08", "周小八", "", "13800000108", JA, CJD, SUN, "3号楼", "1单元", "302", "", "G-SUN", ""),
    ("R09", "吴小九", "", "", JA, CJD, MOON, "1号楼", "1单元", "101", "HH-9", "G-MOON", ""),
    ("R10", "郑小十", "", "", JA, CJD, MOON, "1号楼", "1单元", "101", "HH-9", "G-MOON", ""),
    ("R11", "冯十一", "", "", JA, CJD, MOON, "2号楼", "1单元", "201", "", "G-MOON", ""),
    ("R12", "陈十二", "", "", JA, CJD, MOON, "3号楼", "1单元", "301", "", "G-MOON", ""),
    ("R13", "褚十三", "", "", JA, JNL, GARDEN, "5号楼", "1单元", "501", "", "", ""),
    ("R14", "卫十四", "", "", JA, JNL, STAR, "", "", "", "", "", ""),
    ("R15", "蒋十五", "", "", JA, JNL, GARDEN, "6号楼", "", "601", "", "", ""),
    ("R16", "沈十六", "", "", JA, JNL, GARDEN, "6号楼", "", "602", "", "", ""),
    ("R17", "韩十七", "", "", JA, JNL, GARDEN, "7号楼", "", "701", "", "", ""),
    ("R18", "杨十八", "", "", JA, JNL, GARDEN, "7号楼", "", "702", "", "", ""),
    ("R19", "朱十九", "", "", JA, JNL, GARDEN, "7号楼", "", "703", "", "", ""),
    ("R20", "秦二十", "", "", JA, JNL, GARDEN, "8号楼", "", "801", "HH-20", "", ""),
    ("R21", "尤廿一", "", "", JA, JNL, GARDEN, "8号楼", "", "802", "HH-20", "", "away"),
    ("R22", "沈廿二", "", "", JA, JNL, GARDEN, "6号楼", "", "602", "", "", ""),  # R16's household: tier 2
]
HEADER = ["person_id", "name", "id_number", "phone", "district", "street", "compound", "building", "unit", "room",
          "household_id", "grid", "status"]


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return AT + timedelta(hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat()


TESTS = [
    ("R01", at(-47, -59), "阴性", ""),
    ("R02", at(-48), "negative", "pcr"),
    ("R03", at(-48, -1), "negative", "antigen"),
    ("R04", at(-10), "negative", "pcr"),
    ("R04", at(-2), "待出", "pcr"),
    ("R05", at(-3), "pending", "pcr"),
    ("R06", at(-5), "negative", "antigen"),
    ("R08", at(-20), "negative", "pcr"),
    ("R08", at(5), "阳性", "pcr"),
    ("R09", at(-5), "negative", "pcr"),
    ("R16", at(-5), "negative", "pcr"),
    ("R20", at(-3), "negative", "pcr"),
    ("V01", at(-3), "negative", "pcr"),
    ("R12", at(-30), "negative", "pcr"),
    ("R15", at(-30), "negative", "pcr"),
]

CASES = [
    # person_id, reported_at, onset_at, sampled_at, kind
    ("R10", at(-72), at(-96), "", "confirmed"),
    ("R11", at(-24), "", at(-30), "asymptomatic"),
    ("R13", datetime(2022, 3, 27, 9, 0, tzinfo=SH), "", "", "confirmed"),  # reported DAY−14: no zone
    ("R14", datetime(2022, 3, 28, 9, 0, tzinfo=SH), "", "", ""),  # reported DAY−13: zones
    ("R20X", at(-48), "", "", ""),  # not in the ledger: no zone
    ("R21", at(-15 * 24), "", "", ""),  # reported 15 days ago: R20 is not refused for it
]

# R10 (case) eats at V-REST 2022-04-06 12:00–12:42 (check-out recorded); R16 from 11:50 without a
# check-out (its next scan at 13:30 is later than 11:50 + 60 min) → 42 minutes together.
SCANS = [
    # person_id, venue_code, scanned_at, left_at, venue_name, venue_kind
    ("R10", "V-REST", datetime(2022, 4, 6, 12, 0, tzinfo=SH), datetime(2022, 4, 6, 12, 42, tzinfo=SH), "好味餐厅", "restaurant"),
    ("R16", "V-REST", datetime(2022, 4, 6, 11, 50, tzinfo=SH), "", "好味餐厅", "restaurant"),
    ("R16", "V-SHOP", datetime(2022, 4, 6, 13, 30, tzinfo=SH), "", "便利店", "shop"),
    # R17 was there only 10 minutes before its next scan elsewhere → no contact
    ("R17", "V-REST", datetime(2022, 4, 6, 12, 20, tzinfo=SH), "", "好味餐厅", "restaurant"),
    ("R17", "V-SHOP", datetime(2022, 4, 6, 12, 30, tzinfo=SH), "", "便利店", "shop"),
]

TRIPS = [
    # person_id, mode, trip_no, departed_at, arrived_at, from_area, carriage, seat
    ("R11", "train", "G123", datetime(2022, 4, 8, 8, 0, tzinfo=SH), datetime(2022, 4, 8, 13, 0, tzinfo=SH),
     "湖北省武汉市", "05", "12F"),
    ("R17", "train", " g123 ", datetime(2022, 4, 8, 8, 0, tzinfo=SH), datetime(2022, 4, 8, 13, 0, tzinfo=SH),
     "湖北省武汉市", "5", "14A"),  # 2 rows apart: contact
    ("R18", "train", "G123", datetime(2022, 4, 8, 8, 0, tzinfo=SH), datetime(2022, 4, 8, 13, 0, tzinfo=SH),
     "湖北省武汉市", "05", "15A"),  # 3 rows apart: not
    ("R19", "train", "G123", "", datetime(2022, 4, 8, 13, 0, tzinfo=SH), "湖北省武汉市", "", ""),  # no seat: contact
    # arrivals (risk areas below)
    ("A01", "flight", "MU100", datetime(2022, 4, 5, 9, 0, tzinfo=SH), datetime(2022, 4, 5, 11, 0, tzinfo=SH),
     "湖北省武汉市江汉区", "", ""),  # district-level trip vs street-level area: not inside
    ("A02", "flight", "MU101", datetime(2022, 4, 6, 9, 0, tzinfo=SH), datetime(2022, 4, 6, 11, 0, tzinfo=SH),
     "湖北省武汉市江汉区民族街道", "", ""),  # inside the street-level high area
    ("A03", "train", "D200", datetime(2022, 4, 7, 9, 0, tzinfo=SH), datetime(2022, 4, 7, 18, 0, tzinfo=SH),
     "长春市南关区", "", ""),  # city without its province: 吉林省 implied; medium
    ("A04", "car", "沪A12345", datetime(2022, 4, 5, 9, 0, tzinfo=SH), datetime(2022, 4, 6, 9, 0, tzinfo=SH),
     "吉林市船营区", "", ""),  # its area was lifted the day before departure
    ("A05", "coach", "K1", "", datetime(2022, 4, 8, 20, 0, tzinfo=SH), "吉林省长春市南关区", "", ""),  # no departure
    ("A06", "train", "G9", datetime(2022, 3, 27, 9, 0, tzinfo=SH), datetime(2022, 3, 27, 18, 0, tzinfo=SH),
     "长春市南关区", "", ""),  # arrived DAY−14: outside
    ("A07", "train", "G9", datetime(2022, 3, 28, 9, 0, tzinfo=SH), datetime(2022, 3, 28, 18, 0, tzinfo=SH),
     "长春市南关区", "", ""),  # arrived DAY−13: inside
    ("A08", "train", "G10", datetime(2022, 4, 1, 9, 0, tzinfo=SH), datetime(2022, 4, 1, 18, 0, tzinfo=SH),
     "长春市南关区", "", ""),  # an earlier arrival of A08 …
    ("A08", "flight", "CZ1", datetime(2022, 4, 9, 9, 0, tzinfo=SH), datetime(2022, 4, 9, 12, 0, tzinfo=SH),
     "湖北省武汉市江汉区民族街道", "", ""),  # … and the latest, which is reported
    ("A09", "train", "G11", datetime(2022, 4, 2, 9, 0, tzinfo=SH), datetime(2022, 4, 2, 18, 0, tzinfo=SH),
     "吉林市丰满区", "", ""),  # not inside 吉林省吉林市船营区
    ("A10", "train", "G12", datetime(2022, 4, 3, 9, 0, tzinfo=SH), datetime(2022, 4, 3, 18, 0, tzinfo=SH),
     "哈尔滨市道里区", "", ""),  # inside the province-level medium area 黑龙江省
]

RISK_AREAS = [
    ("湖北省武汉市江汉区民族街道", "高", "2022-04-01", ""),
    ("长春市南关区", "medium", "2022-03-20", ""),
    ("吉林省吉林市船营区", "high", "2022-03-15", "2022-04-04"),
    ("黑龙江省", "中", "2022-03-01", ""),
    ("上海市", "低", "2022-03-01", ""),
]

EXPECTED_ARRIVALS = {  # person → (risk_area, level)
    "A02": ("湖北省武汉市江汉区民族街道", "high"), "A03": ("长春市南关区", "medium"),
    "A05": ("长春市南关区", "medium"), "A07": ("长春市南关区", "medium"),
    "A08": ("湖北省武汉市江汉区民族街道", "high"), "A10": ("黑龙江省", "medium"),
    "R11": None, "R17": None,  # from 湖北省武汉市 (city level), not inside the street
}


def _cell(value) -> str:
    return iso(value) if isinstance(value, datetime) else value


def write_csv(path: Path, header: list[str], rows, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return path


def write_jsonl(path: Path, header: list[str], rows) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({k: _cell(v) for k, v in zip(header, row, strict=True) if v != ""},
                                    ensure_ascii=False) + "\n")
    return path


def write_world(folder: Path) -> dict[str, Path]:
    """Every kind as a file (residents as GBK CSV with a BOM-less header, tests with a BOM,
    scans as JSON Lines); returns kind → path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "residents": write_csv(folder / "residents.csv", HEADER, RESIDENTS, encoding="gbk"),
        "tests": write_csv(folder / "tests.csv", ["person_id", "sampled_at", "result", "kind"], TESTS,
                           encoding="utf-8-sig"),
        "scans": write_jsonl(folder / "scans.jsonl", ["person_id", "venue_code", "scanned_at", "left_at",
                                                      "venue_name", "venue_kind"], SCANS),
        "trips": write_csv(folder / "trips.csv", ["person_id", "mode", "trip_no", "departed_at", "arrived_at",
                                                  "from_area", "carriage", "seat"], TRIPS),
        "cases": write_csv(folder / "cases.csv", ["person_id", "reported_at", "onset_at", "sampled_at", "kind"],
                           CASES),
        "risk-areas": write_csv(folder / "risk_areas.csv", ["area", "level", "from", "to"], RISK_AREAS),
    }

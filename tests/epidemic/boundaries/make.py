"""Writes the boundary fixture's §6 files (``data/``) from the rows below; the expected outputs in
``expected/`` are worked out by hand (see ``README.md``), not by this script. Personal data are fake
(names only; no phone or ID numbers).

    python tests/epidemic/boundaries/make.py
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).parent

RESIDENTS = (
    ["person_id", "name", "district", "street", "compound", "building", "unit", "room", "household_id", "status"],
    [
        ("B01", "边界甲", "静安区", "曹家渡街道", "阳光小区", "1号楼", "1单元", "101", "HH-1", "present"),  # the case
        ("B02", "边界乙", "静安区", "曹家渡街道", "阳光小区", "1号楼", "1单元", "101", "HH-1", "present"),
        ("B10", "边界丙", "静安区", "江宁路街道", "花园小区", "2号楼", "", "201", "HH-10", "present"),
        ("B31", "边界丁", "静安区", "江宁路街道", "花园小区", "2号楼", "", "201", "HH-10", "present"),
        ("B32", "边界戊", "静安区", "江宁路街道", "花园小区", "2号楼", "", "201", "HH-10", "away"),
    ],
)

CASES = (
    ["person_id", "reported_at", "onset_at", "sampled_at", "kind"],
    # window: 2022-05-07 10:00 (sample − 48 h) to 2022-05-10 20:00 (the report)
    [("B01", "2022-05-10T20:00:00+08:00", "", "2022-05-09T10:00:00+08:00", "confirmed")],
)

SCANS = (
    ["person_id", "venue_code", "scanned_at", "left_at", "venue_name", "venue_kind"],
    [
        # a visit just outside the window: 60 minutes together, all before 10:00
        ("B01", "V-CAFE", "2022-05-07T09:00:00+08:00", "2022-05-07T10:15:00+08:00", "街角咖啡", "restaurant"),
        ("B18", "V-CAFE", "2022-05-07T09:00:00+08:00", "2022-05-07T10:15:00+08:00", "街角咖啡", "restaurant"),
        ("B19", "V-CAFE", "2022-05-07T08:50:00+08:00", "2022-05-07T10:00:00+08:00", "街角咖啡", "restaurant"),
        # a missing check-out ended by the next scan (elsewhere): 14 and 15 minutes
        ("B01", "V-WORK", "2022-05-08T09:00:00+08:00", "2022-05-08T11:30:00+08:00", "星光大厦", "workplace"),
        ("B12", "V-WORK", "2022-05-08T10:00:00+08:00", "", "星光大厦", "workplace"),
        ("B12", "V-SHOP", "2022-05-08T10:14:00+08:00", "", "便利店", "shop"),
        ("B13", "V-WORK", "2022-05-08T10:00:00+08:00", "", "星光大厦", "other"),
        ("B13", "V-SHOP", "2022-05-08T10:15:00+08:00", "", "便利店", "shop"),
        # 15 minutes exactly, and 14
        ("B01", "V-REST", "2022-05-08T12:00:00+08:00", "2022-05-08T12:45:00+08:00", "好味餐厅", "restaurant"),
        ("B10", "V-REST", "2022-05-08T12:30:00+08:00", "2022-05-08T13:30:00+08:00", "好味餐厅", "restaurant"),
        ("B11", "V-REST", "2022-05-08T12:31:00+08:00", "2022-05-08T13:00:00+08:00", "好味餐厅", "restaurant"),
        # a missing check-out ended by midnight; the case's check-out runs into the next day
        ("B01", "V-BAR", "2022-05-08T23:00:00+08:00", "2022-05-09T01:00:00+08:00", "夜色酒吧", "other"),
        ("B14", "V-BAR", "2022-05-08T23:50:00+08:00", "", "夜色酒吧", "other"),
        ("B15", "V-BAR", "2022-05-08T23:40:00+08:00", "", "夜色酒吧", "other"),
        ("B16", "V-BAR", "2022-05-09T00:10:00+08:00", "", "夜色酒吧", "other"),
    ],
)

TRIPS = (
    ["person_id", "mode", "trip_no", "departed_at", "arrived_at", "from_area", "carriage", "seat"],
    [
        # the case's train, the same train the next day, seat rows 2 and 3 apart
        ("B01", "train", "G100", "2022-05-09T14:00:00+08:00", "2022-05-09T18:00:00+08:00", "湖北省武汉市", "03", "10A"),
        ("B21", "train", "G100", "2022-05-10T14:00:00+08:00", "2022-05-10T18:00:00+08:00", "湖北省武汉市", "03", "10B"),
        ("B22", "train", "G100", "2022-05-09T14:00:00+08:00", "2022-05-09T18:00:00+08:00", "湖北省武汉市", "3", "12C"),
        ("B23", "train", "G100", "2022-05-09T14:00:00+08:00", "2022-05-09T18:00:00+08:00", "湖北省武汉市", "03", "13D"),
        # arrivals on 2022-05-12 (trips arriving 2022-04-29 .. 2022-05-12)
        ("A01", "flight", "MU200", "2022-05-03T09:00:00+08:00", "2022-05-03T11:00:00+08:00", "湖北省武汉市江汉区民族街道", "", ""),
        ("A02", "flight", "MU201", "2022-05-03T09:00:00+08:00", "2022-05-03T11:00:00+08:00", "湖北省武汉市江汉区", "", ""),
        ("A03", "train", "D300", "2022-05-06T08:00:00+08:00", "2022-05-06T14:00:00+08:00", "吉林省吉林市船营区", "", ""),
        ("A04", "train", "D301", "2022-05-05T23:30:00+08:00", "2022-05-06T07:30:00+08:00", "吉林市船营区", "", ""),
        ("A05", "flight", "MU202", "2022-04-28T20:00:00+08:00", "2022-04-28T22:00:00+08:00", "湖北省武汉市江汉区民族街道", "", ""),
        ("A06", "flight", "MU203", "2022-04-29T08:00:00+08:00", "2022-04-29T10:00:00+08:00", "湖北省武汉市江汉区民族街道", "", ""),
    ],
)

RISK_AREAS = (
    ["area", "level", "from", "to"],
    [("湖北省武汉市江汉区民族街道", "high", "2022-04-25", ""),
     ("吉林省吉林市船营区", "medium", "2022-04-20", "2022-05-05")],
)

FILES = {"residents": RESIDENTS, "cases": CASES, "scans": SCANS, "trips": TRIPS, "risk-areas": RISK_AREAS}


def main() -> None:
    (HERE / "data").mkdir(exist_ok=True)
    for kind, (header, rows) in FILES.items():
        with (HERE / "data" / f"{kind}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)


if __name__ == "__main__":
    main()

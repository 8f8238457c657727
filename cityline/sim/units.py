"""The handling units simulated orders are dispatched to.

A tree: the city centre; a centre for each of the 16 districts; every street office
or town government under its district centre; city departments under the city
centre. Codes are short, stable ASCII strings: a street office's code is its
district's code and a checksum of its name, so it does not move when the list of
streets changes.
"""

from __future__ import annotations

import csv
import zlib
from functools import lru_cache
from pathlib import Path

from cityline.sim.places import street_table

CITY_CENTRE = ("SH", "上海市12345市民服务热线")
UNIT_COLUMNS = ("code", "name", "parent_code", "kind", "district", "street")

# City departments: code -> name.
DEPARTMENTS: dict[str, str] = {
    "SH-WJW": "上海市卫生健康委员会",
    "SH-SCJ": "上海市市场监督管理局",
    "SH-JTW": "上海市交通委员会",
    "SH-RSJ": "上海市人力资源和社会保障局",
    "SH-FGJ": "上海市房屋管理局",
    "SH-MZJ": "上海市民政局",
    "SH-GAJ": "上海市公安局",
    "SH-SWW": "上海市商务委员会",
    "SH-JXW": "上海市经济和信息化委员会",
    "SH-JYW": "上海市教育委员会",
    "SH-GZW": "上海市国有资产监督管理委员会",
    "SH-YBJ": "上海市医疗保障局",
    "SH-DSJ": "上海市大数据中心",
    "SH-WLJ": "上海市文化和旅游局",
    "SH-LHSR": "上海市绿化和市容管理局",
    "SH-SHJ": "上海市生态环境局",
    "SH-SWU": "上海市水务局",
    "SH-DL": "国网上海市电力公司",
    "SH-XF": "上海市消防救援总队",
    "SH-CGJ": "上海市城市管理行政执法局",
    "SH-JWZX": "上海市精神卫生中心（心理援助热线）",
    "SH-ZFB": "上海市人民政府办公厅（市民服务热线管理办公室）",
}


def street_office_code(district_code: str, street: str) -> str:
    checksum = zlib.crc32(street.encode()) % 36**4
    return f"{district_code}-{_base36(checksum).rjust(4, '0')}"


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


def street_office_name(street: str) -> str:
    if street.endswith("街道"):
        return f"{street}办事处"
    if street.endswith("镇") or street.endswith("乡"):
        return f"{street}人民政府"
    return f"{street}管理委员会"


@lru_cache(maxsize=1)
def _units() -> tuple[dict[str, str], ...]:
    table = street_table()
    rows = [_row(*CITY_CENTRE, "", "centre")]
    for district, code in zip(table.districts, table.district_codes, strict=True):
        rows.append(_row(code, f"{district}12345热线分中心", "SH", "centre", district))
    for number, street in enumerate(table.streets):
        owner = int(table.district_of[number])
        district, district_code = table.districts[owner], table.district_codes[owner]
        code = street_office_code(district_code, street)
        rows.append(_row(code, street_office_name(street), district_code, "street_office",
                         district, street))
    rows.extend(_row(code, name, "SH", "department") for code, name in DEPARTMENTS.items())
    codes = [row["code"] for row in rows]
    clashes = sorted({c for c in codes if codes.count(c) > 1})
    if clashes:
        raise ValueError(f"unit codes clash: {', '.join(clashes)}")
    return tuple(rows)


def _row(code: str, name: str, parent: str, kind: str, district: str = "",
         street: str = "") -> dict[str, str]:
    return {"code": code, "name": name, "parent_code": parent, "kind": kind,
            "district": district, "street": street}


def units_rows() -> list[dict[str, str]]:
    """Every handling unit, as rows with the columns of :data:`UNIT_COLUMNS`."""
    return [dict(row) for row in _units()]


def write_units_csv(path: str | Path) -> int:
    """Write the unit tree as CSV (UTF-8); returns the number of units written."""
    rows = _units()
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=UNIT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


@lru_cache(maxsize=1)
def street_office_codes() -> tuple[str, ...]:
    """Street index (as in places.street_table) -> its street office's code."""
    table = street_table()
    return tuple(
        street_office_code(table.district_codes[int(table.district_of[i])], street)
        for i, street in enumerate(table.streets)
    )

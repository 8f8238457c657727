"""Accuracy of parse_address over our own labelled set (tests/geo/data/addresses.jsonl).

The set mixes full addresses, partial forms (徐汇漕河泾, 长寿路那边), ambiguous short
names that must give None, places in other cities, roads named after places, texts
without any place, and Latin-letter and traditional-character writing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cityline.geo import parse_address
from cityline.geo.divisions import DISTRICT, load_divisions

DATA = Path(__file__).parent / "data" / "addresses.jsonl"


def _rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def test_the_set_is_large_varied_and_uses_real_names():
    rows = _rows()
    assert len(rows) >= 150
    divisions = load_divisions()
    for row in rows:
        if row["district"] is not None:
            found = divisions.named(row["district"], DISTRICT)
            assert found, f"{row['district']} is not a district"
            if row["street"] is not None:
                streets = {s.name for d in found for s in divisions.children(d)}
                assert row["street"] in streets, f"{row['street']} is not in {row['district']}"
        else:
            assert row["street"] is None
    assert sum(r["district"] is None for r in rows) >= 20  # texts that must give no district


@pytest.mark.parametrize("field, floor", [("district", 0.95), ("street", 0.90)])
def test_accuracy_over_texts_that_name_a_place(field, floor):
    rows = [r for r in _rows() if r[field] is not None]
    right = [r for r in rows if getattr(parse_address(r["text"]), field) == r[field]]
    wrong = [(r["text"], r[field]) for r in rows if r not in right]
    assert len(right) / len(rows) >= floor, wrong


def test_texts_without_a_determinable_district_give_none():
    rows = [r for r in _rows() if r["district"] is None]
    guessed = [(r["text"], parse_address(r["text"]).district) for r in rows]
    guessed = [g for g in guessed if g[1] is not None]
    assert len(guessed) <= len(rows) * 0.05, guessed

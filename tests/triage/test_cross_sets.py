"""eval/cross_sets.py: the outsiders' retired sets in the shipped history, found by id prefix."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cross_sets():
    spec = importlib.util.spec_from_file_location("cross_sets", ROOT / "eval" / "cross_sets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, ids_and_texts: list[tuple[str, str]]) -> None:
    path.write_text("".join(
        json.dumps({"id": i, "text": t, "kind": "consult", "category": "EPI.TEST", "urgency": "normal",
                    "special_groups": [], "language": "zh"}, ensure_ascii=False) + "\n"
        for i, t in ids_and_texts), encoding="utf-8")


def test_a_writers_prefix_is_the_id_without_its_number():
    prefix = _cross_sets().prefix
    assert [prefix(i) for i in ("A0001", "F2-0017", "G2-0400", "F0420", "D0186")] == ["A", "F2-", "G2-", "F", "D"]


def test_only_the_history_lines_of_sets_also_in_fresh_are_grouped(tmp_path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    _write(fresh / "a.jsonl", [("A0001", "甲一"), ("A0002", "甲二")])
    _write(fresh / "f.jsonl", [("F2-0001", "己一")])
    _write(fresh / "h.jsonl", [("K0001", "still held out")])  # not in the history: never read beyond ids
    history = tmp_path / "history.jsonl"
    # The centre's own lines (D…) and a training part whose prefix is a fresh one's with a number (F0…)
    # belong to no outsider's set here.
    _write(history, [("D0001", "开发"), ("A0002", "甲二"), ("F2-0001", "己一"), ("F0001", "另一人"), ("A0001", "甲一")])
    sets = _cross_sets().outsider_sets(history, fresh)
    assert {name: [r.text for r in records] for name, records in sets.items()} == {"a": ["甲二", "甲一"], "f": ["己一"]}


def test_the_real_history_holds_six_outsider_sets():
    sets = _cross_sets().outsider_sets()
    assert sorted(sets) == ["a", "b", "e", "f", "g", "h"]
    assert all(len(records) > 250 for records in sets.values())

"""The shipped seed history: valid lines, labelled with the taxonomy's codes, covering every label,
and written anew (no near-copies of the development set it is measured against)."""

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from cityline.taxonomy import load_taxonomy
from cityline.triage.history import CENTRE_HISTORY_FILE, SEED_FILE, read_records

ROOT = Path(__file__).resolve().parents[2]
DEV_FILE = ROOT / "eval" / "triage_dev.jsonl"
FIELDS = {"id", "text", "kind", "category", "urgency", "special_groups", "language", "district", "street"}
FOREIGN = {"en", "fr", "de", "ja", "ko", "ru", "es"}
NEAR_COPY = 0.6  # character-pair Jaccard from which a seed line counts as a copy of a dev line


@pytest.fixture(scope="module")
def seed() -> list[dict]:
    return [json.loads(line) for line in SEED_FILE.read_text(encoding="utf-8").splitlines()]


def _pairs(text: str) -> set[str]:
    squeezed = re.sub(r"\s+", "", text.lower())
    return {squeezed[i : i + 2] for i in range(len(squeezed) - 1)}


def test_every_line_has_the_formats_fields_and_taxonomy_codes(seed):
    taxonomy = load_taxonomy()
    codes = {name: set(taxonomy.codes(name)) for name in ("kind", "category", "urgency", "special_group")}
    assert len(seed) >= 900
    assert [row["id"] for row in seed] == [f"S{number:04d}" for number in range(1, len(seed) + 1)]
    for row in seed:
        assert set(row) == FIELDS, row["id"]
        assert row["text"].strip(), row["id"]
        assert row["kind"] in codes["kind"] and row["category"] in codes["category"], row["id"]
        assert row["urgency"] in codes["urgency"], row["id"]
        assert set(row["special_groups"]) <= codes["special_group"], row["id"]
        assert len(set(row["special_groups"])) == len(row["special_groups"]), row["id"]
        assert row["language"] in FOREIGN | {"zh"}, row["id"]
    assert len({row["text"] for row in seed}) == len(seed), "a text is repeated"


def test_labels_follow_the_guidelines_rules_of_thumb(seed):
    for row in seed:
        if row["language"] != "zh":  # every caller writing in a foreign language is a foreign national
            assert "foreigner" in row["special_groups"], row["id"]
        if row["urgency"] == "sub_urgent":  # sub-urgent is for epidemic matters only
            assert row["category"].startswith("EPI."), row["id"]
        if row["kind"] in ("praise", "suggestion"):
            assert row["urgency"] != "sub_urgent", row["id"]


def test_places_are_official_divisions_named_in_the_text(seed):
    """Checked with the evaluation sets' own validator (jionlp's division data)."""
    spec = importlib.util.spec_from_file_location("check_eval", ROOT / "eval" / "check_eval.py")
    check_eval = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_eval)
    problems = [problem for row in seed for problem in check_eval.check_place(row, row["id"])]
    assert problems == []
    assert sum(row["district"] is not None for row in seed) >= 50


def test_counts_per_label(seed):
    taxonomy = load_taxonomy()
    categories = Counter(row["category"] for row in seed)
    assert min(categories[code] for code in taxonomy.codes("category")) >= 25
    kinds = Counter(row["kind"] for row in seed)
    assert min(kinds[kind] for kind in ("praise", "suggestion", "report")) >= 40
    assert min(kinds[kind] for kind in taxonomy.codes("kind")) >= 40
    urgent = Counter(row["urgency"] for row in seed)["urgent"] / len(seed)
    assert 0.2 <= urgent <= 0.3
    groups = Counter(group for row in seed for group in row["special_groups"])
    assert min(groups[group] for group in taxonomy.codes("special_group")) >= 15
    languages = Counter(row["language"] for row in seed)
    assert 0.12 <= sum(languages[language] for language in FOREIGN) / len(seed) <= 0.15
    assert min(languages[language] for language in FOREIGN) >= 10


def test_no_line_is_a_near_copy_of_a_development_line(seed):
    dev = [json.loads(line)["text"] for line in DEV_FILE.read_text(encoding="utf-8").splitlines()]
    dev_pairs = [_pairs(text) for text in dev]
    for row in seed:
        pairs = _pairs(row["text"])
        for text, other in zip(dev, dev_pairs, strict=True):
            similarity = len(pairs & other) / len(pairs | other)
            assert similarity < NEAR_COPY, f"{row['id']} is a near-copy of {text[:30]}"


def test_the_centre_history_is_readable_and_distinct_from_the_seed(seed):
    centre = read_records(CENTRE_HISTORY_FILE)
    assert len(centre) >= 150
    assert not {record.text for record in centre} & {row["text"] for row in seed}


def test_the_shipped_history_holds_nothing_of_the_held_out_sets(seed):
    """Held-out scores mean something only while no held-out text is learnt from."""
    held_out = [json.loads(line)["text"] for name in ("c.jsonl", "d.jsonl")
                for line in (ROOT / "eval" / "fresh" / name).read_text(encoding="utf-8").splitlines()]
    assert len(held_out) > 500
    shipped = [record.text for record in read_records(CENTRE_HISTORY_FILE)] + [row["text"] for row in seed]
    shipped_pairs = [_pairs(text) for text in shipped]
    for text in held_out:
        pairs = _pairs(text)
        assert all(len(pairs & other) / len(pairs | other) < NEAR_COPY for other in shipped_pairs if other), \
            "a held-out line is in the shipped history"

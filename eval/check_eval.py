"""Validate cityline's labelled evaluation sets and print their per-label counts.

Usage (from the project root):
    .venv/bin/python eval/check_eval.py [--taxonomy PATH] [DEV_FILE TEST_FILE]
    .venv/bin/python eval/check_eval.py --fresh FILE PREFIX

The second form checks one later held-out part (ids PREFIX0001…) on its own and
against every other set in eval/ and eval/fresh/ without showing their texts.

Checks, per file: every line is a JSON object with exactly the fields of
formats.md §2; ids are unique and numbered D0001… (dev) / T0001… (test); kind,
category, urgency and special-group codes exist in the taxonomy; the language is
one of the ISO 639-1 codes the sets use; every district is a county-level name
and every street a township/street under that district in the administrative
division data shipped with jionlp; in Chinese lines the labelled place is
actually written in the text; coverage minimums from the labelling brief hold.
Across files: no text is repeated and no dev text is a near-copy of a test text.

Exit status 0 when everything passes, 1 otherwise (the reasons are printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tomllib
from collections import Counter
from functools import lru_cache
from pathlib import Path

FIELDS = ("id", "text", "kind", "category", "urgency", "special_groups", "language",
          "district", "street")
LANGUAGES = {"zh", "en", "fr", "de", "ja", "ko", "ru", "es"}
FOREIGN = sorted(LANGUAGES - {"zh"})
EVAL_DIR = Path(__file__).resolve().parent
PROJECT_DIR = EVAL_DIR.parent
SHARED_TAXONOMY = Path("/work/shared/reference/taxonomy.toml")

# Coverage the brief asks of each set: (lines, per category, per kind, per group,
# per foreign language).  Dev is roughly half the size of test.
MINIMUMS = {
    "dev": {"lines": 160, "category": 4, "kind": 5, "group": 4, "foreign_language": 2},
    "test": {"lines": 340, "category": 8, "kind": 10, "group": 8, "foreign_language": 5},
    # A later independent held-out set, written in parts by different people.
    "fresh": {"lines": 240, "category": 5, "kind": 6, "group": 5, "foreign_language": 3},
}
URGENT_SHARE = (0.15, 0.25)
FOREIGN_SHARE = (0.11, 0.16)
NEAR_COPY = 0.5  # character-bigram Jaccard above which two texts count as near-copies

CJK = re.compile(r"[\u4e00-\u9fff]")


def find_taxonomy(explicit: str | None) -> Path:
    """The project's shipped taxonomy if there is one, else the shared reference copy."""
    if explicit:
        return Path(explicit)
    shipped = sorted((PROJECT_DIR / "cityline").glob("**/taxonomy.toml"))
    for path in [*shipped, SHARED_TAXONOMY]:
        if path.is_file():
            return path
    raise SystemExit("no taxonomy.toml found: pass --taxonomy PATH")


def load_codes(taxonomy_path: Path) -> dict[str, set[str]]:
    data = tomllib.loads(taxonomy_path.read_text(encoding="utf-8"))
    return {
        part: {entry["code"] for entry in data[part]}
        for part in ("kind", "category", "urgency", "special_group")
    }


@lru_cache(maxsize=1)
def load_divisions() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """County-level name → its townships/streets, for all of China and for Shanghai.

    Read from jionlp's china_location.txt (province / city / county / township
    / village, one level of tab indentation each) without importing jionlp.
    """
    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("jionlp is not installed in this interpreter")
    path = Path(next(iter(spec.submodule_search_locations))) / "dictionary" / "china_location.txt"
    everywhere: dict[str, set[str]] = {}
    shanghai: dict[str, set[str]] = {}
    province = county = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        depth = len(raw) - len(raw.lstrip("\t"))
        name = raw.strip().split("\t")[0]
        if depth == 0:
            province = name
        elif depth == 2:
            county = name
            everywhere.setdefault(county, set())
            if province == "上海市":
                shanghai.setdefault(county, set())
        elif depth == 3:
            everywhere[county].add(name)
            if province == "上海市":
                shanghai[county].add(name)
    return everywhere, shanghai


def place_core(name: str) -> str:
    """The part of an official name people actually say: 漕河泾街道 → 漕河泾, 徐汇区 → 徐汇."""
    for suffix in ("新村街道", "镇街道", "街道", "新区", "新镇", "区", "镇", "乡", "市", "县"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def bigrams(text: str) -> set[str]:
    squeezed = re.sub(r"\s+", "", text.lower())
    return {squeezed[i : i + 2] for i in range(len(squeezed) - 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def check_line(row: object, number: int, prefix: str, codes: dict[str, set[str]]) -> list[str]:
    """Every problem with one parsed line (empty when it is fine)."""
    where = f"line {number}"
    if not isinstance(row, dict):
        return [f"{where}: not a JSON object"]
    problems = []
    if tuple(sorted(row)) != tuple(sorted(FIELDS)):
        problems.append(f"{where}: fields {sorted(row)} are not exactly {list(FIELDS)}")
        return problems
    where = f"{where} ({row['id']})"
    if not re.fullmatch(prefix + r"\d{4}", str(row["id"])):
        problems.append(f"{where}: id must look like {prefix}0001")
    if not isinstance(row["text"], str) or not row["text"].strip():
        problems.append(f"{where}: empty text")
    for field, part in (("kind", "kind"), ("category", "category"), ("urgency", "urgency")):
        if row[field] not in codes[part]:
            problems.append(f"{where}: unknown {field} {row[field]!r}")
    groups = row["special_groups"]
    if not isinstance(groups, list) or len(set(groups)) != len(groups):
        problems.append(f"{where}: special_groups must be a list without repeats")
    else:
        problems += [f"{where}: unknown special group {g!r}"
                     for g in groups if g not in codes["special_group"]]
    if row["language"] not in LANGUAGES:
        problems.append(f"{where}: language {row['language']!r} not in {sorted(LANGUAGES)}")
    problems += check_place(row, where)
    return problems


def check_place(row: dict, where: str) -> list[str]:
    everywhere, _ = load_divisions()
    district, street, text = row["district"], row["street"], row["text"]
    problems = []
    if street is not None and district is None:
        problems.append(f"{where}: street without district")
    if district is not None and district not in everywhere:
        problems.append(f"{where}: district {district!r} not in jionlp's division data")
    elif street is not None and street not in everywhere.get(district, set()):
        problems.append(f"{where}: street {street!r} is not under {district!r} in jionlp")
    if row["language"] == "zh" and not CJK.search(text):
        problems.append(f"{where}: labelled zh but has no Chinese characters")
    # A Chinese line must actually name what it is labelled with.
    if row["language"] == "zh" and street is not None and place_core(street) not in text:
        problems.append(f"{where}: street {street!r} ({place_core(street)}) not written in text")
    if (row["language"] == "zh" and district is not None and street is None
            and place_core(district) not in text):
        problems.append(f"{where}: district {district!r} not written in text")
    return problems


def read_set(path: Path, prefix: str, codes: dict[str, set[str]]) -> tuple[list[dict], list[str]]:
    rows: list[dict] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            problems.append(f"{path.name} line {number}: blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{path.name} line {number}: invalid JSON ({error})")
            continue
        found = check_line(row, number, prefix, codes)
        problems += [f"{path.name} {p}" for p in found]
        if not found:
            rows.append(row)
    ids = Counter(r["id"] for r in rows)
    problems += [f"{path.name}: id {i} used {n} times" for i, n in ids.items() if n > 1]
    texts = Counter(r["text"] for r in rows)
    problems += [f"{path.name}: text repeated: {t[:40]}" for t, n in texts.items() if n > 1]
    return rows, problems


def coverage(name: str, rows: list[dict], codes: dict[str, set[str]]) -> list[str]:
    """Print per-label counts and return the coverage minimums that are not met."""
    need = MINIMUMS[name]
    problems = []
    if len(rows) < need["lines"]:
        problems.append(f"{name}: {len(rows)} lines, need at least {need['lines']}")
    print(f"\n=== {name}: {len(rows)} lines ===")
    if not rows:
        return [*problems, f"{name}: no valid lines"]
    tables = {
        "kind": Counter(r["kind"] for r in rows),
        "category": Counter(r["category"] for r in rows),
        "urgency": Counter(r["urgency"] for r in rows),
        "special_group": Counter(g for r in rows for g in r["special_groups"]),
        "language": Counter(r["language"] for r in rows),
    }
    for part, counts in tables.items():
        print(f"-- {part}")
        labels = sorted(codes[part]) if part in codes else sorted(counts)
        for label in labels:
            print(f"   {label:<18}{counts[label]:>5}{100 * counts[label] / len(rows):>7.1f}%")
    for part, key in (("category", "category"), ("kind", "kind"), ("special_group", "group")):
        problems += [f"{name}: {part} {c} has {tables[part][c]}, need {need[key]}"
                     for c in sorted(codes[part]) if tables[part][c] < need[key]]
    problems += [f"{name}: language {lang} has {tables['language'][lang]}, "
                 f"need {need['foreign_language']}"
                 for lang in FOREIGN if tables["language"][lang] < need["foreign_language"]]
    two_groups = sum(1 for r in rows if len(r["special_groups"]) >= 2)
    no_group = sum(1 for r in rows if not r["special_groups"])
    print(f"-- lines with two or more groups: {two_groups}; with none: {no_group}")
    if two_groups == 0 or no_group <= len(rows) / 2:
        problems.append(f"{name}: need some lines with two groups and most lines with none")
    problems += share_checks(name, rows, tables)
    places(rows)
    return problems


def share_checks(name: str, rows: list[dict], tables: dict[str, Counter]) -> list[str]:
    problems = []
    urgent = tables["urgency"]["urgent"] / len(rows)
    foreign = sum(tables["language"][lang] for lang in FOREIGN) / len(rows)
    print(f"-- urgent share {urgent:.1%}; foreign-language share {foreign:.1%}")
    if not URGENT_SHARE[0] <= urgent <= URGENT_SHARE[1]:
        problems.append(f"{name}: urgent share {urgent:.1%} outside {URGENT_SHARE}")
    if not FOREIGN_SHARE[0] <= foreign <= FOREIGN_SHARE[1]:
        problems.append(f"{name}: foreign-language share {foreign:.1%} outside {FOREIGN_SHARE}")
    return problems


def places(rows: list[dict]) -> None:
    _, shanghai = load_divisions()
    chinese = [r for r in rows if r["language"] == "zh"]
    in_shanghai = [r for r in chinese if r["district"] in shanghai]
    elsewhere = [r for r in chinese if r["district"] and r["district"] not in shanghai]
    with_street = [r for r in rows if r["street"]]
    print(f"-- Chinese lines naming a Shanghai place: {len(in_shanghai)}/{len(chinese)} "
          f"({len(in_shanghai) / max(1, len(chinese)):.0%}); elsewhere: {len(elsewhere)}; "
          f"lines with a street label: {len(with_street)}")
    districts = Counter(r["district"] for r in rows if r["district"] in shanghai)
    print(f"-- Shanghai districts used: {len(districts)}/16: "
          + ", ".join(f"{d} {n}" for d, n in districts.most_common()))
    print(f"-- distinct streets/towns: {len({r['street'] for r in with_street})}")


def near_copies(dev: list[dict], test: list[dict]) -> list[str]:
    """Dev texts that are near-copies of test texts, and near-copies within a set."""
    problems = []
    dev_grams = [(r["id"], bigrams(r["text"])) for r in dev]
    test_grams = [(r["id"], bigrams(r["text"])) for r in test]
    for dev_id, a in dev_grams:
        for test_id, b in test_grams:
            if len(a) > 3 and jaccard(a, b) >= NEAR_COPY:
                problems.append(f"near-copy across sets: {dev_id} ~ {test_id}")
    for grams in (dev_grams, test_grams):
        for i, (id_a, a) in enumerate(grams):
            for id_b, b in grams[i + 1 :]:
                if len(a) > 3 and jaccard(a, b) >= NEAR_COPY:
                    problems.append(f"near-copy within a set: {id_a} ~ {id_b}")
    return problems


def check_fresh(path: Path, prefix: str, codes: dict[str, set[str]]) -> list[str]:
    """One later held-out part: its own checks, then no near-copy of any other set's text."""
    rows, problems = read_set(path, prefix, codes)
    problems += coverage("fresh", rows, codes)
    problems += near_copies([], rows)
    others = [p for p in [*EVAL_DIR.glob("triage_*.jsonl"), *EVAL_DIR.glob("fresh/*.jsonl")]
              if p.resolve() != path.resolve()]
    for other in others:
        other_grams = [bigrams(json.loads(line)["text"])
                       for line in other.read_text(encoding="utf-8").splitlines() if line.strip()]
        for row in rows:
            grams = bigrams(row["text"])
            if len(grams) > 3 and any(jaccard(grams, b) >= NEAR_COPY for b in other_grams):
                problems.append(f"{row['id']} is a near-copy of a line in {other.name}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=[str(EVAL_DIR / "triage_dev.jsonl"),
                                                    str(EVAL_DIR / "triage_test.jsonl")])
    parser.add_argument("--taxonomy", default=None)
    parser.add_argument("--fresh", nargs=2, metavar=("FILE", "PREFIX"), default=None)
    args = parser.parse_args()
    if args.fresh:
        problems = check_fresh(Path(args.fresh[0]), args.fresh[1],
                               load_codes(find_taxonomy(args.taxonomy)))
        print()
        for problem in problems:
            print("FAIL", problem)
        print("OK: the set passes" if not problems else f"{len(problems)} problem(s)")
        return 0 if not problems else 1
    if len(args.files) != 2:
        parser.error("give both files (dev, then test) or none")
    codes = load_codes(find_taxonomy(args.taxonomy))
    dev, dev_problems = read_set(Path(args.files[0]), "D", codes)
    test, test_problems = read_set(Path(args.files[1]), "T", codes)
    problems = dev_problems + test_problems
    problems += coverage("dev", dev, codes)
    problems += coverage("test", test, codes)
    shared = {r["text"] for r in dev} & {r["text"] for r in test}
    problems += [f"text in both sets: {t[:40]}" for t in sorted(shared)]
    problems += near_copies(dev, test)
    print()
    for problem in problems:
        print("FAIL", problem)
    print("OK: both sets pass" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

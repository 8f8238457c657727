"""The problem catalogue: concrete sub-problems inside taxonomy categories, and the
phrase pieces their texts are assembled from.

Data lives in ``data/*.toml`` beside this module and is read once, on first use.
Every code is checked against the project's taxonomy so a typo in the data fails
loudly instead of producing orders no other package understands.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from cityline.taxonomy import load_taxonomy

DATA_DIR = Path(__file__).with_name("data")
PROBLEM_FILES = (
    "problems_epidemic_1.toml",
    "problems_epidemic_2.toml",
    "problems_epidemic_3.toml",
    "problems_general.toml",
)
SCOPES = ("local", "district", "city")
PIECES = ("short", "summary", "caller", "detail", "urgent")


@dataclass(frozen=True)
class Problem:
    """One concrete problem callers phone about, e.g. queues to buy masks."""

    id: str
    category: str
    title: str
    keywords: tuple[str, ...]
    scope: str  # local: the street office; district: the district centre; city: a department
    department: str  # the city department in charge (handles it when scope is "city")
    kinds: dict[str, float]
    urgencies: dict[str, float]
    groups: dict[str, float]  # special group -> chance an order of this problem mentions it
    answerable: float  # chance a consultation is answered on the call
    base: float  # weight in ordinary (non-outbreak) traffic; 0 for epidemic-only problems
    festival: float  # multiplier in the three weeks before the Spring Festival
    short: tuple[str, ...]
    summary: tuple[str, ...]
    caller: tuple[str, ...]
    detail: tuple[str, ...]
    urgent: tuple[str, ...]
    asks: dict[str, tuple[str, ...]]

    @property
    def epidemic(self) -> bool:
        return self.category.startswith("EPI.")


@cache
def read_data(name: str) -> dict[str, Any]:
    """One TOML file of ``data/``, parsed once."""
    path = DATA_DIR / name
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"simulator data file missing: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"simulator data file {path} is not valid TOML: {error}") from None


@lru_cache(maxsize=1)
def problems() -> tuple[Problem, ...]:
    """Every problem of the catalogue, in a stable order (files, then file order)."""
    found: list[Problem] = []
    for name in PROBLEM_FILES:
        for raw in read_data(name).get("problem", []):
            found.append(_problem(raw, name))
    ids = [p.id for p in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate problem ids in the catalogue: {', '.join(duplicates)}")
    return tuple(found)


@lru_cache(maxsize=1)
def problem_index() -> dict[str, int]:
    """Problem id -> its position in :func:`problems`."""
    return {problem.id: number for number, problem in enumerate(problems())}


def problem(problem_id: str) -> Problem:
    index = problem_index()
    if problem_id not in index:
        raise ValueError(f"unknown problem {problem_id!r}; see cityline/sim/data/problems_*.toml")
    return problems()[index[problem_id]]


def phrases() -> dict[str, Any]:
    return read_data("phrases.toml")


def _problem(raw: dict[str, Any], source: str) -> Problem:
    where = f"{source}: problem {raw.get('id', '?')!r}"
    for key in ("id", "category", "title", "keywords", "scope", "dept", "kinds", "urgency"):
        if key not in raw:
            raise ValueError(f"{where} lacks {key!r}")
    taxonomy = load_taxonomy()
    taxonomy.check("category", raw["category"])
    for kind in raw["kinds"]:
        taxonomy.check("kind", kind)
    for urgency in raw["urgency"]:
        taxonomy.check("urgency", urgency)
    groups = {g: float(p) for g, p in raw.get("groups", {}).items() if p > 0}
    for group in groups:
        taxonomy.check("special_group", group)
    if raw["scope"] not in SCOPES:
        raise ValueError(f"{where}: scope must be one of {SCOPES}, not {raw['scope']!r}")
    pieces = {key: tuple(raw.get(key, ())) for key in PIECES}
    for key in ("short", "summary", "caller"):
        if not pieces[key]:
            raise ValueError(f"{where} needs at least one {key!r} phrasing")
    return Problem(
        id=raw["id"],
        category=raw["category"],
        title=raw["title"],
        keywords=tuple(raw["keywords"]),
        scope=raw["scope"],
        department=raw["dept"],
        kinds={k: float(v) for k, v in raw["kinds"].items()},
        urgencies={k: float(v) for k, v in raw["urgency"].items()},
        groups=groups,
        answerable=float(raw.get("answerable", 0.0)),
        base=float(raw.get("base", 0.0)),
        festival=float(raw.get("festival", 1.0)),
        asks={kind: tuple(texts) for kind, texts in raw.get("ask", {}).items()},
        **pieces,
    )

"""The request taxonomy: kinds, categories, urgencies and special groups.

The project ships its own copy (``taxonomy.toml`` beside this module) as the
default; a deployment may point :func:`load_taxonomy` at its own file. Codes are
stable identifiers that reports, routing rules and evaluation sets refer to.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cityline.errors import FieldError

DEFAULT_TAXONOMY_PATH = Path(__file__).with_name("taxonomy.toml")
EPIDEMIC_PREFIX = "EPI."

# Field name used by callers (and in error messages) -> table name in the TOML file.
FIELDS = {
    "kind": "kind",
    "category": "category",
    "urgency": "urgency",
    "special_group": "special_group",
}


@dataclass(frozen=True)
class TaxonomyEntry:
    code: str
    zh: str
    en: str
    note: str = ""


@dataclass(frozen=True)
class Taxonomy:
    kinds: list[TaxonomyEntry]
    categories: list[TaxonomyEntry]
    urgencies: list[TaxonomyEntry]
    special_groups: list[TaxonomyEntry]
    version: int = 1
    source: str = ""

    def entries(self, field: str) -> list[TaxonomyEntry]:
        """The entries of one field: kind, category, urgency or special_group."""
        by_field = {
            "kind": self.kinds,
            "category": self.categories,
            "urgency": self.urgencies,
            "special_group": self.special_groups,
            "special_groups": self.special_groups,
        }
        if field not in by_field:
            raise ValueError(f"unknown taxonomy field {field!r}; known: {', '.join(FIELDS)}")
        return by_field[field]

    def codes(self, field: str) -> list[str]:
        return [entry.code for entry in self.entries(field)]

    def name(self, code: str, lang: str = "zh") -> str:
        """The display name of any code (kind, category, urgency or special group)."""
        for entries in (self.kinds, self.categories, self.urgencies, self.special_groups):
            for entry in entries:
                if entry.code == code:
                    return entry.zh if lang == "zh" else entry.en
        raise ValueError(f"unknown taxonomy code {code!r}")

    def is_epidemic(self, category_code: str) -> bool:
        """Epidemic-related means a category under ``EPI.``."""
        return category_code.startswith(EPIDEMIC_PREFIX)

    def check(self, field: str, code: str) -> None:
        """Raise ValueError naming the known codes when ``code`` is not one of ``field``."""
        known = self.codes(field)
        if code not in known:
            label = field.removesuffix("s").replace("_", " ")
            raise ValueError(f"unknown {label} {code!r}; known: {', '.join(known)}")


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy at ``path``, or the shipped default; parsed once per path."""
    return _load(Path(path).resolve() if path is not None else DEFAULT_TAXONOMY_PATH)


@lru_cache(maxsize=8)
def _load(path: Path) -> Taxonomy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"taxonomy file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"taxonomy file {path} is not valid TOML: {error}") from None
    tables = {field: _entries(data, table, path) for field, table in FIELDS.items()}
    return Taxonomy(
        kinds=tables["kind"],
        categories=tables["category"],
        urgencies=tables["urgency"],
        special_groups=tables["special_group"],
        version=int(data.get("version", 1)),
        source=str(path),
    )


def _entries(data: dict, table: str, path: Path) -> list[TaxonomyEntry]:
    rows = data.get(table)
    if not rows:
        raise ValueError(f"taxonomy file {path} has no [[{table}]] entries")
    entries = []
    for number, row in enumerate(rows, start=1):
        missing = [key for key in ("code", "zh", "en") if not row.get(key)]
        if missing:
            raise ValueError(f"taxonomy file {path}: {table} #{number} lacks {', '.join(missing)}")
        entries.append(TaxonomyEntry(row["code"], row["zh"], row["en"], row.get("note", "")))
    codes = [entry.code for entry in entries]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"taxonomy file {path}: duplicate {table} codes {', '.join(duplicates)}")
    return entries


def label_errors(kind: str | None, category: str | None, urgency: str | None, groups: list[str]) -> list[FieldError]:
    """Field errors for labels that are not codes of the taxonomy (empty labels are fine)."""
    taxonomy = load_taxonomy()
    errors = []
    for field, value in (("kind", kind), ("category", category), ("urgency", urgency)):
        if value:
            try:
                taxonomy.check(field, value)
            except ValueError as exc:
                errors.append(FieldError(field, str(exc)))
    for group in groups:
        try:
            taxonomy.check("special_group", group)
        except ValueError as exc:
            errors.append(FieldError("special_groups", str(exc)))
    return errors

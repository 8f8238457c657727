"""The console's words: one TOML file per language in ``i18n/``, Chinese first.

``translate("zh", "inbox.accept")`` → "签收". Names of taxonomy codes (categories,
urgencies, …) are not repeated here: they come from the taxonomy itself.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
FOLDER = Path(__file__).with_name("i18n")


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@lru_cache
def strings(lang: str) -> dict[str, str]:
    """Every string of one language as ``{"section.key": text}``."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown console language {lang!r}; known: {', '.join(LANGUAGES)}")
    with (FOLDER / f"{lang}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


def translate(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` with ``{name}`` filled in; a missing key shows itself,
    so a forgotten string is visible on the page instead of breaking it."""
    text = strings(lang).get(key) or strings(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**values) if values else text


def has(lang: str, key: str) -> bool:
    return key in strings(lang)

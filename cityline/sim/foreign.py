"""Callers who speak another language: texts in English, Japanese, Korean, French,
German, Russian or Spanish, from ``data/foreign.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cityline.sim.catalogue import problem, read_data


@dataclass(frozen=True)
class ForeignKit:
    languages: tuple[str, ...]
    language_shares: tuple[float, ...]
    frames: dict[str, dict[str, tuple[str, ...]]]  # language -> openers/intros/closers
    topics: dict[str, dict[str, tuple[str, ...]]]  # problem id -> language -> sentences


@lru_cache(maxsize=1)
def foreign_kit() -> ForeignKit:
    data = read_data("foreign.toml")
    languages = tuple(data["languages"])
    parts = ("openers", "intros", "closers")
    for problem_id, by_language in data["topics"].items():
        problem(problem_id)
        missing = sorted(set(languages) - set(by_language))
        if missing:
            raise ValueError(f"foreign.toml: topic {problem_id} lacks {', '.join(missing)}")
    return ForeignKit(
        languages=languages,
        language_shares=tuple(float(data["languages"][lang]["share"]) for lang in languages),
        frames={lang: {p: tuple(data["languages"][lang][p]) for p in parts}
                for lang in languages},
        topics={pid: {lang: tuple(texts) for lang, texts in by_lang.items()}
                for pid, by_lang in data["topics"].items()},
    )


def compose_foreign(problem_id: str, language: str, district: str, r: list[int]) -> str:
    """One foreign caller's words; ``district`` is the district's name in Latin letters."""
    kit = foreign_kit()
    frame = kit.frames[language]
    sentence = _pick(kit.topics[problem_id][language], r[0])
    intro = _pick(frame["intros"], r[1]).replace("{district}", district) if district else ""
    closer = _pick(frame["closers"], r[2])
    spacer = " " if closer and language != "ja" else ""
    return f"{_pick(frame['openers'], r[3])}{intro}{sentence}{spacer}{closer}".strip()


def _pick(options: tuple[str, ...], number: int) -> str:
    return options[number % len(options)]

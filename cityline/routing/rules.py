"""Dispatch as pure rules: the catalogue (派单目录) and an order's place give ranked units.

A catalogue rule names a category (a code, a branch such as ``EPI.`` or ``*``),
optionally a district and street it applies to, and either a unit or a level
(``street``: the street office covering the order's place; ``district``: its
district centre). The most specific matching rule wins: a rule written for a
place beats a city-wide one, an exact category beats a branch.

Replacing the catalogue is versioned (``catalogue.py``); what changed between
two versions is decided here, from the rules alone (:func:`diff_catalogues`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

LEVELS = ("street", "district")


@dataclass(frozen=True)
class Rule:
    category: str
    unit: str | None = None
    level: str | None = None
    district: str | None = None
    street: str | None = None
    priority: int = 0
    note: str | None = None  # for people reading the catalogue; routing ignores it

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """What a rule is for: its category and place. Two versions of one key are a change."""
        return (self.category, self.district, self.street)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Rule:
        return cls(**{f.name: values.get(f.name, f.default) for f in fields(cls)})


@dataclass(frozen=True)
class UnitInfo:
    code: str
    kind: str
    district: str | None
    street: str | None


@dataclass(frozen=True)
class Candidate:
    unit: str
    confidence: float  # how sure the catalogue is, given what is known of the place
    reason: str


def rule_problems(rule: Rule) -> list[str]:
    """What is wrong with a catalogue rule, for clear import errors."""
    problems = []
    if not rule.category:
        problems.append("category is required (a code, a branch like 'EPI.', or '*')")
    if bool(rule.unit) == bool(rule.level):
        problems.append("give either unit or level, not both or neither")
    if rule.level and rule.level not in LEVELS:
        problems.append(f"level '{rule.level}' is not one of {', '.join(LEVELS)}")
    if rule.street and not rule.district:
        problems.append("a rule for a street must also name its district")
    return problems


def _category_match(rule: str, category: str) -> int | None:
    if rule == category:
        return 2
    if rule.endswith(".") and category.startswith(rule):
        return 1
    return 0 if rule == "*" else None


def specificity(rule: Rule, category: str, district: str | None, street: str | None) -> int | None:
    """How closely ``rule`` fits; None when it does not apply."""
    fit = _category_match(rule.category, category)
    if fit is None or (rule.district and rule.district != district) or (rule.street and rule.street != street):
        return None
    return fit + (4 if rule.district else 0) + (8 if rule.street else 0) + rule.priority * 16


def _resolve(rule: Rule, district: str | None, street: str | None, units: Iterable[UnitInfo]) -> Candidate | None:
    if rule.unit:
        return Candidate(rule.unit, 1.0, f"派单目录：{rule.category} → {rule.unit}")
    offices = [u for u in units if u.district == district and district]
    if rule.level == "street" and street:
        for u in offices:
            if u.kind == "street_office" and u.street == street:
                return Candidate(u.code, 1.0, f"派单目录：{rule.category} 属地 {street}")
    # Street unknown (or no office for it): the district centre can pass it on.
    for u in offices:
        if u.kind == "centre" and not u.street:
            confidence = 1.0 if rule.level == "district" else 0.5
            return Candidate(u.code, confidence, f"派单目录：{rule.category} 属地 {district}")
    return None


def candidates(category: str | None, district: str | None, street: str | None, rules: Iterable[Rule],
               units: Iterable[UnitInfo], limit: int = 3) -> list[Candidate]:
    """Units for an order, best first; empty when the catalogue cannot decide."""
    if not category:
        return []
    units = list(units)
    fitting = [(s, r) for r in rules if (s := specificity(r, category, district, street)) is not None]
    found: list[Candidate] = []
    for _score, rule in sorted(fitting, key=lambda pair: -pair[0]):
        candidate = _resolve(rule, district, street, units)
        if candidate and candidate.unit not in {c.unit for c in found}:
            found.append(candidate)
        if len(found) >= limit:
            break
    return found


def auto_dispatch_unit(found: list[Candidate], category_confidence: float, kind: str | None,
                       threshold: float) -> str | None:
    """The unit to dispatch to without a dispatcher, or None to leave it in the queue.

    Consultations are answered at intake, not dispatched; otherwise both the
    category and the catalogue's choice must be sure enough.
    """
    if kind == "consult" or not found:
        return None
    best = found[0]
    return best.unit if min(best.confidence, category_confidence) >= threshold else None


@dataclass(frozen=True)
class RuleChange:
    """One rule (same category and place) whose unit, level, priority or note changed."""

    before: Rule
    after: Rule

    @property
    def fields(self) -> list[str]:
        return [f.name for f in fields(Rule) if getattr(self.before, f.name) != getattr(self.after, f.name)]


@dataclass(frozen=True)
class CatalogueDiff:
    added: list[Rule]
    removed: list[Rule]
    changed: list[RuleChange]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed)}

    def as_dict(self) -> dict[str, Any]:
        return {"added": [r.as_dict() for r in self.added], "removed": [r.as_dict() for r in self.removed],
                "changed": [{"before": c.before.as_dict(), "after": c.after.as_dict(), "fields": c.fields}
                            for c in self.changed]}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CatalogueDiff:
        return cls([Rule.from_dict(r) for r in values.get("added", [])],
                   [Rule.from_dict(r) for r in values.get("removed", [])],
                   [RuleChange(Rule.from_dict(c["before"]), Rule.from_dict(c["after"]))
                    for c in values.get("changed", [])])


def sort_key(rule: Rule) -> tuple:
    return tuple("" if v is None else v for v in (rule.category, rule.district, rule.street, rule.priority,
                                                  rule.unit, rule.level, rule.note))


def same_catalogue(before: Iterable[Rule], after: Iterable[Rule]) -> bool:
    """The same rules, in any order (routing ranks rules by fit, not by their order in the file)."""
    return Counter(before) == Counter(after)


def diff_catalogues(before: Iterable[Rule], after: Iterable[Rule]) -> CatalogueDiff:
    """What changed from ``before`` to ``after``.

    Rules present in both (the very same rule, in any order) are unchanged. Of
    the rest, a category and place with exactly one rule on each side is a
    *change* (its unit, level, priority or note differ); anything else is
    removed or added. Pairing only one-to-one keeps a change unambiguous: with
    several rules for one category and place no pairing would be more right
    than another.
    """
    left, right = Counter(before), Counter(after)
    gone, new = left - right, right - left
    gone_by_key: dict[tuple, list[Rule]] = {}
    new_by_key: dict[tuple, list[Rule]] = {}
    for rule in gone.elements():
        gone_by_key.setdefault(rule.key, []).append(rule)
    for rule in new.elements():
        new_by_key.setdefault(rule.key, []).append(rule)
    added, removed, changed = [], [], []
    for key in gone_by_key.keys() | new_by_key.keys():
        was, now = gone_by_key.get(key, []), new_by_key.get(key, [])
        if len(was) == 1 and len(now) == 1:
            changed.append(RuleChange(was[0], now[0]))
        else:
            removed.extend(was)
            added.extend(now)
    return CatalogueDiff(sorted(added, key=sort_key), sorted(removed, key=sort_key),
                         sorted(changed, key=lambda c: sort_key(c.after)))


def describe(rule: Rule) -> str:
    """One line for people: ``EPI.CODE 静安区/曹家渡街道 → SH-WJW (priority 1; note)``."""
    place = "/".join(p for p in (rule.district, rule.street) if p) or "citywide"
    target = rule.unit or f"{rule.level} level"
    extras = [f"priority {rule.priority}"] if rule.priority else []
    if rule.note:
        extras.append(rule.note)
    return f"{rule.category} {place} → {target}" + (f" ({'; '.join(extras)})" if extras else "")

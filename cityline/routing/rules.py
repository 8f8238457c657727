"""Dispatch as pure rules: the catalogue (派单目录) and an order's place give ranked units.

A catalogue rule names a category (a code, a branch such as ``EPI.`` or ``*``),
optionally a district and street it applies to, and either a unit or a level
(``street``: the street office covering the order's place; ``district``: its
district centre). The most specific matching rule wins: a rule written for a
place beats a city-wide one, an exact category beats a branch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LEVELS = ("street", "district")


@dataclass(frozen=True)
class Rule:
    category: str
    unit: str | None = None
    level: str | None = None
    district: str | None = None
    street: str | None = None
    priority: int = 0


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

"""The dispatch catalogue in the database: import, list, and the units it suggests for an order."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.errors import RowError
from cityline.routing import rules
from cityline.routing.models import DispatchRule

COLUMNS = ("category", "district", "street", "unit", "level", "priority", "note")


def default_rows() -> Iterator[tuple[int, dict[str, Any]]]:
    """The catalogue shipped with cityline (``routing/catalogue.csv``); a centre replaces it."""
    text = resources.files("cityline.routing").joinpath("catalogue.csv").read_text(encoding="utf-8")
    yield from enumerate(csv.DictReader(text.splitlines()), start=2)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from cityline.accounts.units import read_unit_rows  # same CSV/xlsx reading as units

    yield from read_unit_rows(path)


def _rule(values: dict[str, Any]) -> tuple[rules.Rule | None, list[str]]:
    def text(name: str) -> str | None:
        value = values.get(name)
        return str(value).strip() or None if value is not None else None

    try:
        priority = int(text("priority") or 0)
    except ValueError:
        return None, [f"priority '{text('priority')}' is not a whole number"]
    rule = rules.Rule(category=text("category") or "", unit=text("unit"), level=text("level"),
                      district=text("district"), street=text("street"), priority=priority)
    return rule, rules.rule_problems(rule)


def replace_catalogue(session: Session, rows: Iterable[tuple[int, dict[str, Any]]]) -> tuple[int, list[RowError]]:
    """Replace the whole catalogue with the file's rules; with any bad row nothing changes."""
    known_units = set(session.scalars(select(Unit.code)))
    good, bad = [], []
    for n, values in rows:
        rule, problems = _rule(values)
        if rule and rule.unit and rule.unit not in known_units:
            problems.append(f"unknown unit '{rule.unit}'")
        if problems:
            bad.append(RowError(n, "; ".join(problems)))
        else:
            good.append(DispatchRule(category=rule.category, district=rule.district, street=rule.street,
                                     unit_code=rule.unit, level=rule.level, priority=rule.priority,
                                     note=str(values.get("note") or "").strip() or None))
    if bad:
        return 0, bad
    session.execute(delete(DispatchRule))
    session.add_all(good)
    session.flush()
    return len(good), []


def load_rules(session: Session) -> list[rules.Rule]:
    return [rules.Rule(category=r.category, unit=r.unit_code, level=r.level, district=r.district,
                       street=r.street, priority=r.priority)
            for r in session.scalars(select(DispatchRule))]


def list_catalogue(session: Session) -> list[DispatchRule]:
    return list(session.scalars(select(DispatchRule).order_by(DispatchRule.category, DispatchRule.id)))


def unit_infos(session: Session) -> list[rules.UnitInfo]:
    return [rules.UnitInfo(code, kind, district, street)
            for code, kind, district, street in session.execute(
                select(Unit.code, Unit.kind, Unit.district, Unit.street).where(Unit.active))]


def suggest_units(session: Session, category: str | None, district: str | None, street: str | None,
                  limit: int = 3) -> list[rules.Candidate]:
    return rules.candidates(category, district, street, load_rules(session), unit_infos(session), limit)

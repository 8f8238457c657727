"""The dispatch catalogue in the database: import, versions and restore, list, and the units it suggests.

Every replacement of the catalogue (an import or a restore) is stored as a
numbered version — who, when, a note, the whole rule set and what changed
against the catalogue it replaced — and audited, in the caller's transaction.
Routing reads only ``dispatch_rules``, the catalogue in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from cityline import tabular
from cityline.accounts.models import Unit
from cityline.accounts.service import audit
from cityline.errors import FieldError, Invalid, NotFound, RowError
from cityline.generations import Cached
from cityline.routing import rules
from cityline.routing.models import CatalogueVersion, DispatchRule
from cityline.tabular import Row

COLUMNS = ("category", "district", "street", "unit", "level", "priority", "note")


def default_rows() -> Iterator[Row]:
    """The catalogue shipped with cityline (``routing/catalogue.csv``); a centre replaces it
    with its own file, read by ``cityline.tabular.read_rows`` like this one."""
    with resources.as_file(resources.files("cityline.routing").joinpath("catalogue.csv")) as path:
        yield from tabular.read_rows(path)


def _rule(values: dict[str, Any]) -> tuple[rules.Rule | None, list[str]]:
    def text(name: str) -> str | None:
        value = values.get(name)
        return str(value).strip() or None if value is not None else None

    try:
        priority = int(text("priority") or 0)
    except ValueError:
        return None, [f"priority '{text('priority')}' is not a whole number"]
    rule = rules.Rule(category=text("category") or "", unit=text("unit"), level=text("level"),
                      district=text("district"), street=text("street"), priority=priority, note=text("note"))
    return rule, rules.rule_problems(rule)


def check_rows(session: Session, rows: Iterable[Row]) -> tuple[list[rules.Rule], list[RowError]]:
    """The rules of ``rows``, and every bad row with all its problems."""
    known_units = set(session.scalars(select(Unit.code)))
    good, bad = [], []
    for n, values in rows:
        if isinstance(values, RowError):  # unreadable in the file
            bad.append(values)
            continue
        rule, problems = _rule(values)
        if rule and rule.unit and rule.unit not in known_units:
            problems.append(f"unknown unit '{rule.unit}'")
        if problems:
            bad.append(RowError(n, "; ".join(problems)))
        else:
            good.append(rule)
    return good, bad


@dataclass
class Replacement:
    """What an import or a restore did."""

    rules: list[rules.Rule] = field(default_factory=list)
    bad: list[RowError] = field(default_factory=list)
    version: CatalogueVersion | None = None  # the new version; None when refused or nothing changed
    current: int | None = None  # the version in force afterwards (None: the catalogue predates versions)

    @property
    def unchanged(self) -> bool:
        """The rules given are the catalogue already in force: no new version was made."""
        return not self.bad and self.version is None


def import_catalogue(session: Session, rows: Iterable[Row], *, actor: str,
                     note: str | None = None) -> Replacement:
    """Replace the whole catalogue with the rows' rules, as a new version; with any bad row nothing changes."""
    good, bad = check_rows(session, rows)
    if bad:
        return Replacement(bad=bad, current=latest_version(session))
    return _replace(session, good, actor=actor, action="import", note=note)


def replace_catalogue(session: Session, rows: Iterable[Row], *, actor: str = "system",
                      note: str | None = None) -> tuple[int, list[RowError]]:
    """:func:`import_catalogue` for callers that need only (rules in force, bad rows)."""
    done = import_catalogue(session, rows, actor=actor, note=note)
    return (0 if done.bad else len(done.rules)), done.bad


def restore(session: Session, version: int, *, actor: str, note: str | None = None) -> Replacement:
    """Put an earlier version's rules back in force, as a new version (history is append-only)."""
    old = get_version(session, version)
    restored = version_rules(old)
    # Units may have been removed since: the catalogue never points at a unit that does not exist.
    _, bad = check_rows(session, ((i, r.as_dict()) for i, r in enumerate(restored, start=1)))
    if bad:
        raise Invalid(f"version {version} cannot be restored: {len(bad)} of its rules are no longer valid",
                      [FieldError(f"rules.{b.row - 1}", b.message) for b in bad])
    return _replace(session, restored, actor=actor, action="restore", note=note, restored_from=version)


def _lock(session: Session) -> None:
    """One replacement at a time, so each version's diff is against the catalogue it really replaced.

    SQLite's write transactions already queue (``BEGIN IMMEDIATE``); on
    PostgreSQL this mode conflicts with itself but not with plain reads.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql("LOCK TABLE dispatch_catalogue_versions IN SHARE ROW EXCLUSIVE MODE"))


def _replace(session: Session, new: list[rules.Rule], *, actor: str, action: str, note: str | None,
             restored_from: int | None = None) -> Replacement:
    _lock(session)
    before = current_rules(session)
    latest = latest_version(session)
    if rules.same_catalogue(before, new):
        return Replacement(rules=new, current=latest)
    if latest is None and before:
        # Rules imported before versions were kept: store them first, so they too can be restored.
        _store(session, 1, before, rules.diff_catalogues([], before), actor="system", action="found",
               note="the catalogue in force when versions began")
        latest = 1
    change = rules.diff_catalogues(before, new)
    session.execute(delete(DispatchRule))
    session.add_all(DispatchRule(category=r.category, district=r.district, street=r.street, unit_code=r.unit,
                                 level=r.level, priority=r.priority, note=r.note) for r in new)
    number = (latest or 0) + 1
    version = _store(session, number, new, change, actor=actor, action=action, note=note,
                     restored_from=restored_from)
    detail: dict[str, Any] = {"version": number, "rules": len(new), **change.counts()}
    if restored_from is not None:
        detail["restored_from"] = restored_from
    audit(session, actor, f"catalogue_{'restored' if action == 'restore' else 'replaced'}",
          f"dispatch catalogue v{number}", reason=note, **detail)
    session.flush()
    return Replacement(rules=new, version=version, current=number)


def _store(session: Session, number: int, rule_set: list[rules.Rule], change: rules.CatalogueDiff, *,
           actor: str, action: str, note: str | None, restored_from: int | None = None) -> CatalogueVersion:
    counts = change.counts()
    version = CatalogueVersion(version=number, actor=actor, action=action, note=note, restored_from=restored_from,
                               rules=[r.as_dict() for r in rule_set], changes=change.as_dict(),
                               rule_count=len(rule_set), **counts)
    session.add(version)
    session.flush()
    return version


def latest_version(session: Session) -> int | None:
    return session.scalar(select(func.max(CatalogueVersion.version)))


def list_versions(session: Session) -> list[CatalogueVersion]:
    """Every version, newest first."""
    return list(session.scalars(select(CatalogueVersion).order_by(CatalogueVersion.version.desc())))


def get_version(session: Session, version: int) -> CatalogueVersion:
    found = session.scalar(select(CatalogueVersion).where(CatalogueVersion.version == version))
    if found is None:
        raise NotFound(f"no dispatch catalogue version {version}")
    return found


def version_rules(version: CatalogueVersion) -> list[rules.Rule]:
    return [rules.Rule.from_dict(r) for r in version.rules]


def version_changes(version: CatalogueVersion) -> rules.CatalogueDiff:
    """What this version changed against the catalogue it replaced."""
    return rules.CatalogueDiff.from_dict(version.changes)


def diff_versions(session: Session, older: int, newer: int) -> rules.CatalogueDiff:
    """What changed from version ``older`` to version ``newer`` (either order)."""
    return rules.diff_catalogues(version_rules(get_version(session, older)),
                                 version_rules(get_version(session, newer)))


def current_rules(session: Session) -> list[rules.Rule]:
    """The catalogue in force, with notes, in the order it was written."""
    return [rules.Rule(category=r.category, unit=r.unit_code, level=r.level, district=r.district,
                       street=r.street, priority=r.priority, note=r.note)
            for r in session.scalars(select(DispatchRule).order_by(DispatchRule.id))]


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


def _rules_and_units(session: Session) -> tuple[list[rules.Rule], list[rules.UnitInfo]]:
    return load_rules(session), unit_infos(session)


# Every create asks for likely units: the rules and units are read again only after an admin
# changed them (in any process), not for every order.
_catalogue = Cached(_rules_and_units, "catalogue", "units")


def suggest_units(session: Session, category: str | None, district: str | None, street: str | None,
                  limit: int = 3) -> list[rules.Candidate]:
    rule_set, units = _catalogue.get(session)
    return rules.candidates(category, district, street, rule_set, units, limit)

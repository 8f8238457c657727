"""Handling units (the organisation): create, import from CSV/Excel, list, and walk the tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityline.accounts.models import UNIT_KINDS, Unit
from cityline.errors import Conflict, FieldError, Invalid, NotFound, RowError
from cityline.generations import Cached
from cityline.tabular import Row

UNIT_COLUMNS = ("code", "name", "parent_code", "kind", "district", "street")


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.code)))


def _children(session: Session) -> dict[int | None, list[int]]:
    """Each unit's id → the ids of the units right below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    return children


class _Tree:
    """The units' tree, each unit's subtree worked out once: every request's reach asks for its
    unit's (the city's root has every unit below it)."""

    def __init__(self, children: dict[int | None, list[int]]) -> None:
        self.children = children
        self._subtrees: dict[int, frozenset[int]] = {}

    def subtree(self, unit_id: int) -> frozenset[int]:
        found = self._subtrees.get(unit_id)
        if found is None:
            found = self._subtrees[unit_id] = frozenset(_below(self.children, unit_id))
        return found


# Kept between requests, read again when a unit changes.
_tree = Cached(lambda session: _Tree(_children(session)), "units")


# A page of orders names their units by code.
_codes_by_id = Cached(lambda session: dict(session.execute(select(Unit.id, Unit.code)).all()), "units")


def unit_codes(session: Session) -> dict[int, str]:
    """Every unit's id → its code (a page of orders names their units; kept as the tree is)."""
    return _codes_by_id.get(session)


def descendant_ids(session: Session, unit_id: int) -> frozenset[int]:
    """The unit and every unit below it (a handler sees its own and its sub-units' orders)."""
    return _tree.get(session).subtree(unit_id)


def _below(children: dict[int | None, list[int]], unit_id: int) -> set[int]:
    found, todo = set(), [unit_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def active_unit(session: Session, code: str, field: str = "unit") -> Unit:
    """The active unit with this code, or 422 naming the field."""
    unit = session.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None or not unit.active:
        raise Invalid(f"unknown unit '{code}'", [FieldError(field, "no active unit has this code")])
    return unit


def unit_problems(values: dict[str, Any], known_codes: set[str]) -> list[str]:
    problems = []
    for name in ("code", "name", "kind"):
        if not values.get(name):
            problems.append(f"{name} is required")
    if values.get("kind") and values["kind"] not in UNIT_KINDS:
        problems.append(f"kind '{values['kind']}' is not one of {', '.join(UNIT_KINDS)}")
    parent = values.get("parent_code")
    if parent and parent not in known_codes:
        problems.append(f"parent_code '{parent}' is not a known unit (list parents before children)")
    if parent and parent == values.get("code"):
        problems.append("a unit cannot be its own parent")
    return problems


def upsert_unit(session: Session, values: dict[str, Any]) -> Unit:
    """Create the unit, or update it when the code exists (importing twice changes nothing)."""
    problems = unit_problems(values, _codes(session))
    if problems:
        raise Invalid("; ".join(problems), [FieldError("unit", p) for p in problems])
    unit = session.scalars(select(Unit).where(Unit.code == values["code"])).one_or_none() or Unit(
        code=values["code"]
    )
    unit.name, unit.kind = values["name"], values["kind"]
    unit.district, unit.street = values.get("district") or None, values.get("street") or None
    parent = values.get("parent_code")
    unit.parent_id = session.scalars(select(Unit.id).where(Unit.code == parent)).one() if parent else None
    if unit.id is not None and unit.parent_id is not None and unit.parent_id in _below(_children(session), unit.id):
        # Editing a unit may move it in the tree, but not below itself (a loop nobody reaches). The
        # tree read afresh: this transaction's own changes, not yet stamped, are in it.
        raise Invalid(f"unit '{parent}' is below '{unit.code}'; it cannot be its parent",
                      [FieldError("parent_code", "a unit below this one", "below_itself")])
    session.add(unit)
    session.flush()
    return unit


def set_active(session: Session, code: str, active: bool) -> Unit:
    """Deactivate a unit (nothing is dispatched to it any more; its history stays) or bring it
    back. A unit with active units below it stays: deactivate those first."""
    unit = session.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None:
        raise NotFound(f"no unit '{code}'")
    if not active:
        below = session.scalars(select(Unit.code).where(Unit.parent_id == unit.id, Unit.active.is_(True))).all()
        if below:
            raise Conflict(f"units below '{code}' are still active: {', '.join(sorted(below))}",
                           code="unit.children_active", params={"units": ", ".join(sorted(below))})
    elif unit.parent_id is not None and not session.get(Unit, unit.parent_id).active:
        raise Conflict(f"the unit above '{code}' is not active; bring it back first", code="unit.parent_inactive")
    unit.active = active
    return unit


def _codes(session: Session) -> set[str]:
    return set(session.scalars(select(Unit.code)))


def import_units(session: Session, rows: Iterable[Row]) -> tuple[int, list[RowError]]:
    """Upsert good rows; bad ones come back with their row number. The caller commits."""
    count, bad = 0, []
    for n, raw in rows:
        if isinstance(raw, RowError):  # unreadable in the file
            bad.append(raw)
            continue
        values = {k: (str(raw.get(k)).strip() if raw.get(k) is not None else "") for k in UNIT_COLUMNS}
        try:
            with session.begin_nested():
                upsert_unit(session, values)
            count += 1
        except Invalid as exc:
            bad.append(RowError(n, exc.detail))
    return count, bad

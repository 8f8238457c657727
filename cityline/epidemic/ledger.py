"""The residents' ledger through a session: protected personal data, upserts by ``person_id``,
the snapshot that queries read, and who may see whom. Never commits.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.accounts.rules import Principal
from cityline.epidemic.facts import FactStore, Written
from cityline.epidemic.models import Resident
from cityline.epidemic.rules import Person, household_key
from cityline.geo.models import Grid
from cityline.privacy import Vault, mask_name

PLACE = ("district", "street", "compound", "building", "unit", "room", "household_id", "grid", "status")
SNAPSHOT = ("person_id", "district", "street", "compound", "building", "unit", "room", "household_key",
            "grid", "status")


def mask_id(number: str) -> str:
    """An ID number keeps its region (first 6) and last 4, never the birth date."""
    if len(number) >= 15:
        return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"
    return f"{'*' * (len(number) - 2)}{number[-2:]}"


class Protector:
    """Personal data of residents, protected like callers' phones (see ``privacy.py``)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._key = vault.derive_key("epidemic-personal-digest-v1")

    def digest(self, *values: str | None) -> str:
        text = "\x1f".join(v or "" for v in values)
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:40]

    def columns(self, name: str | None, id_number: str | None, phone: str | None) -> dict[str, Any]:
        values: dict[str, Any] = {"personal_digest": self.digest(name, id_number, phone)}
        values |= {"name_enc": self.vault.encrypt(name) if name else None,
                   "name_masked": mask_name(name) if name else None}
        values |= {"id_number_enc": self.vault.encrypt(id_number) if id_number else None,
                   "id_number_masked": mask_id(id_number) if id_number else None,
                   "id_number_digest": self.digest("id", id_number) if id_number else None}
        if phone:
            protected = self.vault.protect_phone(phone)
            values |= {"phone_enc": protected.encrypted, "phone_masked": protected.masked,
                       "phone_digest": protected.digest}
        else:
            values |= {"phone_enc": None, "phone_masked": None, "phone_digest": None}
        return values


def upsert_residents(session: Session, rows: Sequence[dict[str, Any]], protector: Protector,
                     now: datetime) -> Written:
    """Add new residents and update changed ones (by ``person_id``); unchanged rows write nothing.
    Personal data are encrypted only for rows that are new or whose personal data changed."""
    written = Written()
    ids = [r["person_id"] for r in rows]
    stored = {r.person_id: r for r in session.execute(
        select(Resident.person_id, Resident.personal_digest, Resident.special_groups,
               *[getattr(Resident, c) for c in PLACE]).where(Resident.person_id.in_(ids)))}
    new, changed = [], []
    for row in rows:
        values = {c: row.get(c) for c in PLACE} | {"special_groups": list(row.get("special_groups") or [])}
        values["household_key"] = household_key(row.get("household_id"), row["district"], row["street"],
                                                row["compound"], row.get("building"), row.get("unit"),
                                                row.get("room"))
        digest = protector.digest(row.get("name"), row.get("id_number"), row.get("phone"))
        old = stored.get(row["person_id"])
        if old is None:
            new.append({"person_id": row["person_id"], **values, "created_at": now, "updated_at": now,
                        **protector.columns(row.get("name"), row.get("id_number"), row.get("phone"))})
            continue
        same_place = all(getattr(old, c) == values[c] for c in PLACE) and list(old.special_groups) == values["special_groups"]
        if same_place and old.personal_digest == digest:
            written.unchanged += 1
            continue
        if old.personal_digest != digest:
            values |= protector.columns(row.get("name"), row.get("id_number"), row.get("phone"))
        changed.append((row["person_id"], values | {"updated_at": now}))
    if new:
        session.execute(insert(Resident), new)
    for person_id, values in changed:
        session.execute(update(Resident).where(Resident.person_id == person_id).values(**values))
    written.added, written.updated = len(new), len(changed)
    return written


def people(session: Session, person_ids: Iterable[str] | None = None) -> list[Person]:
    """Residents as the rules see them (all, or those named)."""
    query = select(Resident.person_id, *[getattr(Resident, c) for c in PLACE])
    if person_ids is not None:
        query = query.where(Resident.person_id.in_(list(person_ids)))
    return [Person(r.person_id, r.district, r.street, r.compound, r.building, r.unit, r.room, r.household_id,
                   r.grid, r.status) for r in session.execute(query)]


def household_members(session: Session, households: Iterable[str]) -> list[Person]:
    keys = [k for k in set(households) if k]
    if not keys:
        return []
    ids = session.scalars(select(Resident.person_id).where(Resident.household_key.in_(keys)))
    return people(session, list(ids))


# -- the snapshot that queries read -------------------------------------------------------------


def _stamp(session: Session) -> dict[str, Any]:
    count, latest = session.execute(select(func.count(Resident.id), func.max(Resident.updated_at))).one()
    return {"count": count, "latest": latest.isoformat() if latest else None}


def snapshot(session: Session, store: FactStore) -> str:
    """The path of a Parquet copy of the ledger's places (no personal data), rewritten when the
    ledger changed since it was written (its row count or latest ``updated_at`` differ)."""
    path = store.ledger_path()
    stamp = _stamp(session)
    if store.location.exists(path):
        meta = store.location.read_schema(path).metadata or {}
        if meta.get(b"cityline_stamp") == repr(stamp).encode():
            return store.location.uri(path)
    # the driver's own cursor: a million rows without building a Row object for each
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(SNAPSHOT)} FROM {Resident.__tablename__}")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(SNAPSHOT)
    table = pa.table({name: pa.array(values[i], pa.string()) for i, name in enumerate(SNAPSHOT)})
    store.write_table(path, table.replace_schema_metadata({"cityline_stamp": repr(stamp)}))
    return store.location.uri(path)


# -- who may see whom -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonScope:
    """The residents a principal may see person by person: everyone, or those in their grids
    and places. Visitors not in the ledger have no place: only ``everyone`` sees them."""

    everyone: bool
    grids: frozenset[str] = field(default_factory=frozenset)
    places: frozenset[tuple[str | None, str | None]] = field(default_factory=frozenset)

    def sees(self, district: str | None, street: str | None, grid: str | None) -> bool:
        if self.everyone:
            return True
        return (grid is not None and grid in self.grids) or (district, None) in self.places \
            or (district, street) in self.places


def person_scope(session: Session, principal: Principal) -> PersonScope:
    """City-wide staff see everyone. Others see the residents of the grids their unit (or a
    unit below it) looks after; area roles other than grid workers also their unit's area."""
    if principal.reach is None:
        return PersonScope(True)
    codes = set(session.scalars(select(Unit.code).where(Unit.id.in_(principal.reach))))
    grids = frozenset(session.scalars(select(Grid.code).where(Grid.unit_code.in_(codes)))) if codes else frozenset()
    area_roles = principal.roles - {"grid_worker", "unit_handler"}
    return PersonScope(False, grids, principal.places if area_roles else frozenset())

"""The dispatch catalogue (派单目录) as data, and its versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.generations import watch


class DispatchRule(Base):
    """One line of the dispatch catalogue (派单目录): (category, place) → unit or level."""

    __tablename__ = "dispatch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(500))



# The rules in force are cached by routing (cityline.generations): any change advances "catalogue".
watch("catalogue", DispatchRule.__tablename__)

class CatalogueVersion(Base):
    """The catalogue as one replacement left it: who, when, why, the whole rule set and what changed.

    Append-only: a restore is a new version carrying an older one's rules, so
    the history reads as what happened, in order.
    """

    __tablename__ = "dispatch_catalogue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    # import | restore | found (the rules already in the table when versions began)
    action: Mapped[str] = mapped_column(String(16))
    restored_from: Mapped[int | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[list[Any]] = mapped_column()  # Rule.as_dict() in the order written to dispatch_rules
    changes: Mapped[dict[str, Any]] = mapped_column()  # CatalogueDiff.as_dict() against the version before
    rule_count: Mapped[int] = mapped_column()
    added: Mapped[int] = mapped_column()
    removed: Mapped[int] = mapped_column()
    changed: Mapped[int] = mapped_column()

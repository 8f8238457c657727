"""Grids (网格): the smallest area a responsible unit looks after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.generations import watch


class Grid(Base):
    """A grid: its place, the unit responsible for it, its area and its zone level.

    ``polygon`` is a list of rings of [lon, lat] points (or None when the grid is
    known only by its compounds); ``compounds`` the names of the compounds (小区) in
    it. ``zone_level`` is an epidemic-control level code (sealed 封控 / controlled 管控 /
    precaution 防范, see ``rules.ZONE_LEVELS``) or None.
    """

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    street: Mapped[str | None] = mapped_column(String(64))
    # the responsible unit's code; units live in another package, so no foreign key
    unit_code: Mapped[str | None] = mapped_column(String(64))
    polygon: Mapped[list[Any] | None] = mapped_column(JSON)
    compounds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    zone_level: Mapped[str | None] = mapped_column(String(16))
    zone_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Intake caches the grids (cityline.generations): any change to them advances "grids".
watch("grids", Grid.__tablename__)

"""The dispatch catalogue (派单目录) as data."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base


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

"""The briefing archive: one stored briefing a day, as its JSON (formats.md §3) and its HTML."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime


class StoredBriefing(Base):
    __tablename__ = "briefings"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    json: Mapped[dict[str, Any]] = mapped_column()
    html: Mapped[str] = mapped_column(Text)

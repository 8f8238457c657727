"""Stored triage models: one row per trained version, one of them active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.generations import watch


class TriageModelVersion(Base):
    __tablename__ = "triage_model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    trained_on: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)

    @property
    def label(self) -> str:
        """How predictions name the model that made them ("model-3")."""
        return f"model-{self.version}"


# Intake caches which model is active (cityline.generations): any change advances "triage".
watch("triage", TriageModelVersion.__tablename__)

"""Inspection findings: the sites patrolled, each finding's facts beside its order, and photos.

A finding *is* an order (channel ``inspection``); these tables keep only what the order has
no column for: which site, which problem, who found it and how, and the photos (the files are
in the data directory under names the server chose; a row here says whose they are).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.orders.models import BigId


class Site(Base):
    """A place patrolled: a test site (核酸采样点), a venue, a compound's gate … and the unit
    answerable for it (None: the dispatch catalogue decides, as for any order)."""

    __tablename__ = "inspection_sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # test_site | venue | compound | other
    district: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(500))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(default=True)


class Finding(Base):
    """What an inspection order has beyond the order: the site, the problem, who found it, how."""

    __tablename__ = "inspection_findings"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("inspection_sites.id"), index=True)
    problem: Mapped[str] = mapped_column(String(32), index=True)
    method: Mapped[str] = mapped_column(String(16))  # video | foot
    inspector: Mapped[str] = mapped_column(String(100))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Photo(Base):
    """One photo of an order: of the finding, or of the rectified site with the unit's reply."""

    __tablename__ = "inspection_photos"
    __table_args__ = (Index("ix_inspection_photos_order", "order_id", "stage"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    stage: Mapped[str] = mapped_column(String(16))  # finding | rectified
    file: Mapped[str] = mapped_column(String(80), unique=True)  # the server's name, never the sender's
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""The epidemic data kept in the database: the residents' ledger, cases, risk areas,
passes and zones. (Tests, scans and trips, the high-volume facts, are Parquet: ``facts.py``.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.generations import watch

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Resident(Base):
    """One person of the residents' ledger (居民台账), keyed by the ledger's ``person_id``.

    Name, ID number and phone are personal data: each is stored encrypted beside a
    masked form; ID number and phone also as a keyed digest (to find a person
    without decrypting), and ``personal_digest`` covers all three so an import can
    tell an unchanged row without decrypting anything.
    """

    __tablename__ = "epidemic_residents"
    __table_args__ = (Index("ix_epidemic_residents_place", "district", "street", "compound", "building"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), unique=True)
    name_enc: Mapped[str | None] = mapped_column(Text)
    name_masked: Mapped[str | None] = mapped_column(String(100))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_masked: Mapped[str | None] = mapped_column(String(40))
    id_number_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    personal_digest: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(64))
    street: Mapped[str] = mapped_column(String(64))
    compound: Mapped[str] = mapped_column(String(128))
    building: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(32))
    household_id: Mapped[str | None] = mapped_column(String(128))
    # the household as the rules see it: the given code, else the full address down to the room
    household_key: Mapped[str | None] = mapped_column(String(400), index=True)
    grid: Mapped[str | None] = mapped_column(String(64), index=True)
    special_groups: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="present")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Case(Base):
    """A confirmed or asymptomatic case (病例), one per person."""

    __tablename__ = "epidemic_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), unique=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    onset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sampled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="confirmed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskArea(Base):
    """A medium- or high-risk area (中高风险地区) from a date, until it is lifted (``to_date``,
    inclusive), with the administrative levels its name resolves to."""

    __tablename__ = "epidemic_risk_areas"
    __table_args__ = (UniqueConstraint("area", "from_date", name="uq_epidemic_risk_areas_area_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    rest: Mapped[str | None] = mapped_column(String(200))  # named below the street (a compound), if any
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Pass(Base):
    """A pass (通行码) as issued: the code itself is signed and carries what a checkpoint needs;
    this row records the issue and, later, its revocation."""

    __tablename__ = "epidemic_passes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the negative test it rests on
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Zone(Base):
    """A zone (封控 sealed / 管控 controlled / 防范 precaution) as published for a local date."""

    __tablename__ = "epidemic_zones"
    __table_args__ = (Index("ix_epidemic_zones_day_place", "day", "district", "street"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(64))
    street: Mapped[str] = mapped_column(String(64))
    compound: Mapped[str | None] = mapped_column(String(128))
    building: Mapped[str | None] = mapped_column(String(64))
    population: Mapped[int] = mapped_column(default=0)
    cases: Mapped[list[Any]] = mapped_column(default=list)  # person_ids of the cases behind it
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Intake caches the published zones (epidemic.zonemarks): a publication advances "zones".
watch("zones", Zone.__tablename__)

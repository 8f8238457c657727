"""Checkpoints and what they register. Names, phones, ID numbers and plates are personal data:
each is stored encrypted beside a masked form (plates and ID numbers also as a keyed digest:
a plate's ``left`` registration finds the vehicle's open loop by it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow


class Checkpoint(Base):
    """A named place on a road (卡口) and the unit responsible for it."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    district: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Registration(Base):
    """One vehicle at a checkpoint: coming in (passed or turned back) or leaving.

    A vehicle let in from a risk area carries its closed loop: ``must_leave_by``, the task order
    (``loop_order``), ``left_at`` once a ``left`` registration of its plate closes it, and the
    warning order (``warning_order``, ``warned_at``) when it was still here past its time."""

    __tablename__ = "checkpoint_registrations"
    __table_args__ = (
        # The same vehicle at the same checkpoint and instant is one registration: a file imported
        # again, or a form sent twice, stores nothing new.
        UniqueConstraint("checkpoint_id", "plate_digest", "registered_at", "direction",
                         name="uq_checkpoint_registrations_once"),
        Index("ix_checkpoint_registrations_time", "checkpoint_id", "registered_at"),
        Index("ix_checkpoint_registrations_loop", "must_leave_by", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"))
    direction: Mapped[str] = mapped_column(String(8))  # in | left
    outcome: Mapped[str] = mapped_column(String(16))  # passed | turned_back | left
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))  # form | file
    plate_enc: Mapped[str] = mapped_column(Text)
    plate_masked: Mapped[str] = mapped_column(String(32))
    plate_digest: Mapped[str] = mapped_column(String(64), index=True)
    origin: Mapped[str | None] = mapped_column(String(200))
    destination: Mapped[str | None] = mapped_column(String(200))
    cargo: Mapped[str | None] = mapped_column(String(200))
    risk_area: Mapped[str | None] = mapped_column(String(200))
    risk_level: Mapped[str | None] = mapped_column(String(16))
    flagged: Mapped[int] = mapped_column(default=0)  # people aboard flagged by the rules
    must_leave_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loop_order: Mapped[str | None] = mapped_column(String(32))
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_registration_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoint_registrations.id"))
    warning_order: Mapped[str | None] = mapped_column(String(32))
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Traveller(Base):
    """A person in a registered vehicle: the driver or a passenger."""

    __tablename__ = "checkpoint_travellers"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("checkpoint_registrations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # driver | passenger
    name_enc: Mapped[str | None] = mapped_column(Text)
    name_masked: Mapped[str | None] = mapped_column(String(100))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_masked: Mapped[str | None] = mapped_column(String(40))
    id_number_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    phone_digest: Mapped[str | None] = mapped_column(String(64))
    health_code: Mapped[str | None] = mapped_column(String(16))
    tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest negative test's sample
    flags: Mapped[list[str]] = mapped_column(default=list)

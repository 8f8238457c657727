"""Briefings kept in the store, the morning run, and the export folder's place.

The morning run (:func:`morning_run`) brings the analytics export up to date and,
unless yesterday's briefing is already stored, builds and stores it. It is what
``cityline analytics schedule`` calls: once per invocation with ``--once`` (for a
cron entry or a systemd timer), or in a loop that wakes at a set local time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.analytics.brief import Briefing, build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.export import ExportReport, export_store
from cityline.analytics.models import StoredBriefing
from cityline.db import read_transaction, transaction
from cityline.errors import NotFound
from cityline.timeutil import to_local


def analytics_folder() -> Path:
    """Where the export lives: ``<data_dir>/analytics``."""
    from cityline.config import get_settings

    return get_settings().data_dir / "analytics"


def refresh(factory: sessionmaker[Session], folder: Path | None = None) -> ExportReport:
    """Bring the export up to date with the order store (incremental)."""
    return export_store(factory, folder or analytics_folder())


def store_briefing(session: Session, briefing: Briefing) -> StoredBriefing:
    """Keep a briefing (replacing an earlier one of the same day)."""
    row = session.scalar(select(StoredBriefing).where(StoredBriefing.day == briefing.day))
    if row is None:
        row = StoredBriefing(day=briefing.day)
        session.add(row)
    row.generated_at = briefing.generated_at
    row.json = briefing.as_json()
    row.html = briefing.to_html()
    session.flush()
    return row


def list_briefings(session: Session) -> list[tuple[date, datetime]]:
    """The archive: (day, generated_at), newest day first."""
    rows = session.execute(select(StoredBriefing.day, StoredBriefing.generated_at)
                           .order_by(StoredBriefing.day.desc()))
    return [(day, generated) for day, generated in rows]


def get_briefing(session: Session, day: date) -> StoredBriefing:
    row = session.scalar(select(StoredBriefing).where(StoredBriefing.day == day))
    if row is None:
        raise NotFound(f"no briefing is stored for {day.isoformat()} "
                       f"(make one: cityline brief --date {day.isoformat()} --store)")
    return row


def generate(factory: sessionmaker[Session], day: date, *, folder: Path | None = None,
             store: bool = False, now: datetime | None = None, engine: str | None = None) -> Briefing:
    """Refresh the export, build the briefing of ``day`` and, when asked, store it."""
    folder = folder or analytics_folder()
    refresh(factory, folder)
    briefing = build_briefing(Dataset(folder), day, now=now, engine=engine)
    if store:
        with transaction(factory) as session:
            store_briefing(session, briefing)
    return briefing


def morning_run(factory: sessionmaker[Session], now: datetime, folder: Path | None = None) -> date | None:
    """Store yesterday's briefing (local day before ``now``) unless it is stored; the day stored, or None."""
    yesterday = to_local(now).date() - timedelta(days=1)
    with read_transaction(factory) as session:
        present = session.scalar(select(StoredBriefing.id).where(StoredBriefing.day == yesterday))
    if present is not None:
        return None
    generate(factory, yesterday, folder=folder, store=True, now=now)
    return yesterday


def next_run(now: datetime, at_hour: int, at_minute: int) -> datetime:
    """The next local time at hh:mm strictly after ``now`` (an aware datetime)."""
    local = to_local(now)
    target = local.replace(hour=at_hour, minute=at_minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target

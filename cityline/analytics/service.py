"""Briefings kept in the store, the morning run, and the export folder's place.

The morning run (:func:`morning_run`) brings the analytics export up to date and,
unless yesterday's briefing is already stored, builds and stores it. It is what
``cityline analytics schedule`` calls: once per invocation with ``--once`` (for a
cron entry or a systemd timer), or in a loop that wakes at a set local time.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.analytics.brief import Briefing, build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.export import ExportReport, export_store, export_unless_busy
from cityline.analytics.models import StoredBriefing
from cityline.analytics.situation import situation
from cityline.db import read_transaction, transaction, utcnow
from cityline.errors import NotFound
from cityline.timeutil import to_local

log = logging.getLogger(__name__)

# The situations computed last, by (folder, day, export version, export time for a day still
# running): a situation is the briefing of its day and more, seconds over a million orders,
# and depends only on the export (read as of its time), so each is computed once per export.
_situations: OrderedDict[tuple, dict] = OrderedDict()
_latest: dict[tuple[str, date], dict] = {}  # the last computed situation of each (folder, day)
_computing: set[tuple[str, date]] = set()  # (folder, day) being computed just now
_situations_lock = threading.Lock()
SITUATIONS_KEPT = 32


def analytics_folder() -> Path:
    """Where the export lives: ``<data_dir>/analytics``."""
    from cityline.config import get_settings

    return get_settings().data_dir / "analytics"


def refresh(factory: sessionmaker[Session], folder: Path | None = None) -> ExportReport:
    """Bring the export up to date with the order store (incremental)."""
    return export_store(factory, folder or analytics_folder())


def export_in_background(factory: sessionmaker[Session], stop: threading.Event, interval: float,
                         folder: Path | None = None) -> None:
    """Until ``stop`` is set: bring the export up to date every ``interval`` seconds (the
    thread ``serve`` starts), so the situation page reads a fresh export and never makes one
    inside a request; then compute today's situation from it, so the page's next request
    finds it ready. An export already at work elsewhere (another server process, the
    morning run, ``cityline analytics export``) is left to finish; a failed one is logged
    and tried again on the next round."""
    folder = folder or analytics_folder()
    while not stop.is_set():
        try:
            report = export_unless_busy(factory, folder)
            if report is not None and report.days_written:
                log.info("%s", report.summary())
            if Dataset(folder).exported_at() is not None:
                now = utcnow()
                current_situation(folder, to_local(now).date(), now)
        except Exception:
            log.exception("analytics export failed; trying again in %.0f s", interval)
        stop.wait(interval)


def current_situation(folder: Path, day: date, now: datetime) -> dict:
    """The situation of ``day`` read from the export in ``folder`` as of its last export
    (``exported_at``: a day still running is compared with yesterday up to the export's
    clock time, the orders it holds), computed once per export and then kept. While it is
    being computed for a newer export (the background exporter does so right after each),
    a request gets the one of the export before instead of computing it a second time."""
    dataset = Dataset(folder)
    exported_at = dataset.exported_at()
    as_of = min(exported_at, now) if exported_at else now
    running = to_local(now).date() == day
    place = (str(folder), day)
    key = (*place, dataset.version(), as_of if running else None)
    with _situations_lock:
        kept = _situations.get(key)
        if kept is not None:
            _situations.move_to_end(key)
        elif place in _computing and place in _latest:
            kept = _latest[place]
        else:
            _computing.add(place)
    if kept is None:
        try:
            kept = situation(dataset, day, as_of)
            kept["running"] = running  # by the clock, not by the export's time
            kept["exported_at"] = exported_at.isoformat() if exported_at else None
            with _situations_lock:
                _situations[key] = _latest[place] = kept
                while len(_situations) > SITUATIONS_KEPT:
                    _situations.popitem(last=False)
                while len(_latest) > SITUATIONS_KEPT:
                    _latest.pop(next(iter(_latest)))
        finally:
            with _situations_lock:
                _computing.discard(place)
    return copy.deepcopy(kept)  # the caller's to change


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


def generate(factory: sessionmaker[Session], day: date, *, folder: Path | str | None = None,
             store: bool = False, now: datetime | None = None, engine: str | None = None) -> Briefing:
    """Refresh the export, build the briefing of ``day`` and, when asked, store it. An export
    at a URI (a copy in an object store, ``Dataset``) is read as it is."""
    dataset = Dataset(folder or analytics_folder())
    if not dataset.remote:
        refresh(factory, dataset.folder)
    briefing = build_briefing(dataset, day, now=now, engine=engine)
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

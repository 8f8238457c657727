"""Local time of the hotline: stored in UTC, read and shown in Asia/Shanghai by default."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache
def local_zone() -> ZoneInfo:
    from cityline.config import get_settings

    return ZoneInfo(get_settings().timezone)


def as_aware(value: datetime) -> datetime:
    """A datetime without an offset means local time (formats.md §1)."""
    return value.replace(tzinfo=local_zone()) if value.tzinfo is None else value


def parse_when(text: str) -> datetime:
    """ISO 8601 (``T`` or a space between date and time; a bare date is local midnight)."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=local_zone())
    return as_aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def to_local(value: datetime) -> datetime:
    return value.astimezone(local_zone())


def local_day(value: datetime) -> str:
    return value.astimezone(local_zone()).strftime("%Y%m%d")


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=local_zone())

"""Working calendar: China's public holidays, adjusted working days (调休) and working hours.

Which days are working days comes from the ``chinese-calendar`` package, which
knows the State Council's holiday notices for 2004 through the last year it was
released for (2026 in 1.11.0), including one-off changes such as the Spring
Festival holiday extended to 2020-02-02. A centre can add dates the package does
not know yet (``extra_holidays`` / ``extra_workdays`` in the policy file). For a
year outside the package's range the calendar either counts weekends only (the
default, logged once per year) or raises :class:`CalendarError`
(``outside_known_years = "error"``).

All functions take and return timezone-aware datetimes; results are in UTC.
A calendar that is ``always_open`` (24×7, emergency mode) counts every minute.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

OUTSIDE_YEAR_CHOICES = ("weekends", "error")
# Guard against a calendar with no working time at all (every day a holiday).
_MAX_DAYS_SCANNED = 3 * 366


class CalendarError(ValueError):
    """A date the calendar cannot answer for, or a calendar set up wrongly."""


@dataclass(frozen=True)
class WorkingCalendar:
    """When the clock runs for a policy on a ``working`` calendar.

    ``working_hours`` are local (``timezone``) periods of each working day, e.g.
    ``((09:00, 12:00), (13:00, 17:00))`` for a lunch break. ``late_cutoff``: a
    clock that starts after this local time of a working day counts its
    "day 1" as the next working day (so 一日清 never means ten minutes).
    """

    timezone: str = "Asia/Shanghai"
    working_hours: tuple[tuple[time, time], ...] = ((time(9), time(17)),)
    late_cutoff: time | None = None
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)
    outside_known_years: str = "weekends"
    always_open: bool = False

    def __post_init__(self) -> None:
        _zone(self.timezone)  # fail early on an unknown time zone
        if self.outside_known_years not in OUTSIDE_YEAR_CHOICES:
            raise CalendarError(
                f"outside_known_years must be one of {OUTSIDE_YEAR_CHOICES}, "
                f"not {self.outside_known_years!r}"
            )
        if not self.working_hours:
            raise CalendarError("a working calendar needs at least one period of working hours")
        previous_end = time.min
        for start, end in self.working_hours:
            if not start < end:
                raise CalendarError(f"working period {start:%H:%M}-{end:%H:%M} ends before it starts")
            if start < previous_end:
                raise CalendarError("working periods must be in order and must not overlap")
            previous_end = end
        if overlap := self.extra_holidays & self.extra_workdays:
            raise CalendarError(f"dates listed both as holiday and as working day: {sorted(overlap)}")

    def around_the_clock(self) -> WorkingCalendar:
        """The same calendar switched to 24×7 (emergency mode)."""
        return replace(self, always_open=True)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if self.always_open:
            return True
        return _is_working_day(day, self.extra_holidays, self.extra_workdays, self.outside_known_years)

    def day_end(self, day: date) -> datetime:
        """When the last working period of ``day`` ends (local midnight when 24×7), in UTC."""
        if self.always_open:
            return _local(day + timedelta(days=1), time.min, self.zone)
        return _local(day, self.working_hours[-1][1], self.zone)


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {name!r}") from exc


@lru_cache(maxsize=1)
def known_years() -> tuple[int, int]:
    """First and last year the installed ``chinese-calendar`` has holiday notices for."""
    import chinese_calendar

    years = [d.year for d in chinese_calendar.holidays] + [d.year for d in chinese_calendar.workdays]
    return min(years), max(years)


@lru_cache(maxsize=8192)
def _is_working_day(
    day: date, extra_holidays: frozenset[date], extra_workdays: frozenset[date], outside: str
) -> bool:
    if day in extra_holidays:
        return False
    if day in extra_workdays:
        return True
    first, last = known_years()
    if first <= day.year <= last:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    if outside == "error":
        raise CalendarError(
            f"no holiday data for {day.year}: chinese-calendar knows {first}-{last}. "
            "Upgrade chinese-calendar, list that year's dates under [calendar] extra_holidays / "
            "extra_workdays in the policy file, or set outside_known_years = \"weekends\"."
        )
    _warn_weekends_only(day.year)
    return day.weekday() < 5


@lru_cache(maxsize=64)
def _warn_weekends_only(year: int) -> None:
    log.warning("no public-holiday data for %s; counting weekends only as rest days", year)


@lru_cache(maxsize=8192)  # a few days' working hours, asked for again by every deadline
def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise CalendarError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def working_periods(start: datetime, calendar: WorkingCalendar) -> Iterator[tuple[datetime, datetime]]:
    """Working periods (UTC) from ``start`` on, the first one clipped to begin at ``start``."""
    start = _aware(start, "start")
    zone = calendar.zone
    day = start.astimezone(zone).date()
    for _ in range(_MAX_DAYS_SCANNED):
        if calendar.is_working_day(day):
            for period_start, period_end in calendar.working_hours:
                begins, ends = _local(day, period_start, zone), _local(day, period_end, zone)
                if ends > start:
                    yield max(begins, start), ends
        day += timedelta(days=1)
    raise CalendarError(f"no working time within {_MAX_DAYS_SCANNED} days after {start.isoformat()}")


def add_working_time(start: datetime, duration: timedelta, calendar: WorkingCalendar) -> datetime:
    """The moment when ``duration`` of working time has passed since ``start``.

    A start outside working hours waits for the next working period; a result
    that falls exactly at the end of a period stays there (17:00, not 09:00 next day).
    """
    start = _aware(start, "start")
    if duration < timedelta(0):
        raise CalendarError(f"cannot add a negative duration ({duration})")
    if calendar.always_open:
        return start + duration
    remaining = duration
    for begins, ends in working_periods(start, calendar):
        if remaining <= ends - begins:
            return begins + remaining
        remaining -= ends - begins
    raise AssertionError("working_periods never ends without raising")  # pragma: no cover


def working_time_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    a, b = _aware(a, "a"), _aware(b, "b")
    if b < a:
        return -working_time_between(b, a, calendar)
    if calendar.always_open:
        return b - a
    total = timedelta(0)
    for begins, ends in working_periods(a, calendar):
        if begins >= b:
            break
        total += min(ends, b) - begins
    return total


def first_counted_day(start: datetime, calendar: WorkingCalendar) -> date:
    """"Day 1" of a clock started at ``start``: that day if it is a working day and
    the clock starts before the late cut-off (or the end of working hours), else
    the next working day."""
    start = _aware(start, "start")
    local = start.astimezone(calendar.zone)
    day = local.date()
    cutoff = calendar.late_cutoff or calendar.working_hours[-1][1]
    if calendar.always_open or (calendar.is_working_day(day) and local.time() < cutoff):
        return day
    return next_working_day(day, calendar)


def next_working_day(day: date, calendar: WorkingCalendar) -> date:
    for _ in range(_MAX_DAYS_SCANNED):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            return day
    raise CalendarError(f"no working day within {_MAX_DAYS_SCANNED} days after {day}")


def end_of_working_day(start: datetime, calendar: WorkingCalendar, nth: int = 1) -> datetime:
    """End of the ``nth`` working day of a clock started at ``start``, counting
    :func:`first_counted_day` as day 1. ``nth=1`` is "end of the same working day"
    (一日清), ``nth=2`` is "closed within two days" (两日结)."""
    if nth < 1:
        raise CalendarError(f"nth working day must be 1 or more, not {nth}")
    day = first_counted_day(start, calendar)
    for _ in range(nth - 1):
        day = next_working_day(day, calendar)
    return calendar.day_end(day)

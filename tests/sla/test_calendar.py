"""China's working calendar: holidays, adjusted working days, working hours, 24×7."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityline.sla.calendar import (
    CalendarError,
    WorkingCalendar,
    add_working_time,
    end_of_working_day,
    known_years,
    working_time_between,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()  # 09:00-17:00 Asia/Shanghai


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_extended_spring_festival_2020_is_not_worked():
    days = [date(2020, 1, 24) + timedelta(days=i) for i in range(10)]  # 01-24 .. 02-02
    assert [CAL.is_working_day(d) for d in days] == [False] * 10
    assert CAL.is_working_day(date(2020, 1, 23))
    assert CAL.is_working_day(date(2020, 2, 3))


def test_adjusted_working_days_count_and_ordinary_weekends_do_not():
    assert CAL.is_working_day(date(2020, 1, 19))  # Sunday, worked for the Spring Festival
    assert CAL.is_working_day(date(2019, 9, 29))  # Sunday, worked for National Day
    assert not CAL.is_working_day(date(2020, 1, 18))  # plain Saturday
    assert not CAL.is_working_day(date(2019, 10, 1))  # National Day


def test_working_time_waits_over_the_holiday():
    assert add_working_time(local("2020-01-23 16:00"), timedelta(hours=2), CAL) == local(
        "2020-02-03 10:00"
    )
    assert working_time_between(local("2020-01-23 09:00"), local("2020-02-03 17:00"), CAL) == (
        timedelta(hours=16)
    )


def test_saturday_start_moves_to_the_adjusted_sunday():
    assert add_working_time(local("2020-01-18 10:00"), timedelta(hours=1), CAL) == local(
        "2020-01-19 10:00"
    )


def test_a_result_at_closing_time_stays_at_closing_time():
    assert add_working_time(local("2020-02-03 09:00"), timedelta(hours=8), CAL) == local(
        "2020-02-03 17:00"
    )


@pytest.mark.parametrize("start", ["2020-01-17 08:00", "2020-01-23 16:59", "2020-02-01 12:00",
                                   "2020-02-03 13:45", "2021-09-30 18:30"])
def test_adding_then_measuring_gives_the_same_working_time(start):
    for hours in (0.5, 3, 8, 17, 40):
        end = add_working_time(local(start), timedelta(hours=hours), CAL)
        assert working_time_between(local(start), end, CAL) == timedelta(hours=hours)


def test_working_time_between_is_negative_backwards():
    a, b = local("2020-02-03 10:00"), local("2020-02-03 12:00")
    assert working_time_between(b, a, CAL) == -timedelta(hours=2)


def test_lunch_break_does_not_count():
    cal = WorkingCalendar(working_hours=((time(9), time(11, 30)), (time(13), time(17))))
    assert add_working_time(local("2020-02-03 11:00"), timedelta(hours=1), cal) == local(
        "2020-02-03 13:30"
    )


def test_end_of_same_working_day_and_late_cutoff():
    cal = WorkingCalendar(late_cutoff=time(16))
    assert end_of_working_day(local("2020-02-03 10:00"), cal) == local("2020-02-03 17:00")
    assert end_of_working_day(local("2020-02-03 16:30"), cal) == local("2020-02-04 17:00")
    assert end_of_working_day(local("2020-01-25 10:00"), cal) == local("2020-02-03 17:00")
    assert end_of_working_day(local("2020-01-23 10:00"), cal, nth=2) == local("2020-02-03 17:00")


def test_around_the_clock_counts_every_minute():
    cal = CAL.around_the_clock()
    start = local("2020-01-25 23:30")  # a holiday night
    assert add_working_time(start, timedelta(hours=2), cal) == local("2020-01-26 01:30")
    assert working_time_between(start, local("2020-01-26 23:30"), cal) == timedelta(days=1)


def test_years_outside_the_package_fall_back_to_weekends_or_fail_clearly():
    first, last = known_years()
    assert first <= 2020 <= last
    later = last + 1
    monday = date(later, 3, 1) + timedelta(days=(7 - date(later, 3, 1).weekday()) % 7)
    assert CAL.is_working_day(monday)
    assert not CAL.is_working_day(monday + timedelta(days=5))
    strict = WorkingCalendar(outside_known_years="error")
    with pytest.raises(CalendarError, match=f"no holiday data for {later}"):
        strict.is_working_day(monday)


def test_a_centre_can_add_dates_the_package_does_not_know():
    cal = WorkingCalendar(extra_holidays=frozenset({date(2020, 2, 3)}),
                          extra_workdays=frozenset({date(2020, 2, 1)}))
    assert not cal.is_working_day(date(2020, 2, 3))
    assert cal.is_working_day(date(2020, 2, 1))


def test_bad_calendars_and_naive_times_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        WorkingCalendar(timezone="Mars/Olympus")
    with pytest.raises(CalendarError, match="ends before"):
        WorkingCalendar(working_hours=((time(17), time(9)),))
    with pytest.raises(CalendarError, match="timezone-aware"):
        add_working_time(datetime(2020, 2, 3, 9), timedelta(hours=1), CAL)

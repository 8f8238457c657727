"""When people call: public holidays, the weekly rhythm and the hours of the day.

These shape ordinary traffic only; an outbreak's own curve is set by its scenario.
The holiday table is the State Council's official list for the years the scenarios
cover (the hotline is quieter on ordinary topics during the Spring Festival).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np

# (first day, last day, name) of each official public holiday, 2018-2022.
HOLIDAYS: tuple[tuple[str, str, str], ...] = (
    ("2017-12-30", "2018-01-01", "元旦"),
    ("2018-02-15", "2018-02-21", "春节"),
    ("2018-04-05", "2018-04-07", "清明节"),
    ("2018-04-29", "2018-05-01", "劳动节"),
    ("2018-06-16", "2018-06-18", "端午节"),
    ("2018-09-22", "2018-09-24", "中秋节"),
    ("2018-10-01", "2018-10-07", "国庆节"),
    ("2018-12-30", "2019-01-01", "元旦"),
    ("2019-02-04", "2019-02-10", "春节"),
    ("2019-04-05", "2019-04-07", "清明节"),
    ("2019-05-01", "2019-05-04", "劳动节"),
    ("2019-06-07", "2019-06-09", "端午节"),
    ("2019-09-13", "2019-09-15", "中秋节"),
    ("2019-10-01", "2019-10-07", "国庆节"),
    ("2020-01-01", "2020-01-01", "元旦"),
    ("2020-01-24", "2020-02-02", "春节"),  # extended by the State Council on 2020-01-27
    ("2020-04-04", "2020-04-06", "清明节"),
    ("2020-05-01", "2020-05-05", "劳动节"),
    ("2020-06-25", "2020-06-27", "端午节"),
    ("2020-10-01", "2020-10-08", "国庆节"),
    ("2021-01-01", "2021-01-03", "元旦"),
    ("2021-02-11", "2021-02-17", "春节"),
    ("2021-04-03", "2021-04-05", "清明节"),
    ("2021-05-01", "2021-05-05", "劳动节"),
    ("2021-06-12", "2021-06-14", "端午节"),
    ("2021-09-19", "2021-09-21", "中秋节"),
    ("2021-10-01", "2021-10-07", "国庆节"),
    ("2022-01-01", "2022-01-03", "元旦"),
    ("2022-01-31", "2022-02-06", "春节"),
    ("2022-04-03", "2022-04-05", "清明节"),
    ("2022-04-30", "2022-05-04", "劳动节"),
    ("2022-06-03", "2022-06-05", "端午节"),
    ("2022-09-10", "2022-09-12", "中秋节"),
    ("2022-10-01", "2022-10-07", "国庆节"),
)

# Spring Festival eve (除夕) of each year: ordinary calls fall around it, and some
# topics (unpaid wages before the new year) rise in the weeks before it.
FESTIVAL_EVES: dict[int, date] = {
    2018: date(2018, 2, 15),
    2019: date(2019, 2, 4),
    2020: date(2020, 1, 24),
    2021: date(2021, 2, 11),
    2022: date(2022, 1, 31),
}

# Monday .. Sunday: weekdays busier, weekends quieter.
WEEKDAY_FACTOR = (1.08, 1.04, 1.02, 1.02, 1.0, 0.84, 0.80)

# Spring Festival: factor by day relative to the eve (0 = 除夕, 1 = 初一 ...).
FESTIVAL_FACTOR = {-7: 0.95, -6: 0.95, -5: 0.93, -4: 0.92, -3: 0.9, -2: 0.85, -1: 0.75,
                   0: 0.5, 1: 0.42, 2: 0.48, 3: 0.55, 4: 0.6, 5: 0.65, 6: 0.72, 7: 1.05}
OTHER_HOLIDAY_FACTOR = 0.72

# Share of a day's calls in each hour (0h .. 23h), before normalising: a 7x24 line
# that is busiest mid-morning and mid-afternoon.
HOURLY_WEIGHTS = (0.6, 0.4, 0.3, 0.25, 0.25, 0.4, 1.0, 2.5, 5.0, 7.5, 8.0, 7.5,
                  6.0, 6.0, 7.0, 7.0, 6.5, 5.5, 4.5, 4.0, 3.5, 3.0, 2.0, 1.2)

MAX_CALENDAR_YEAR = 2022


@lru_cache(maxsize=1)
def holiday_names() -> dict[date, str]:
    """Every official holiday date of the table, mapped to its holiday's name."""
    days: dict[date, str] = {}
    for first, last, name in HOLIDAYS:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            days[day] = name
            day += timedelta(days=1)
    return days


def ordinary_traffic_factor(day: date) -> float:
    """How busy ordinary (non-outbreak) traffic is on ``day`` compared to a plain Friday."""
    factor = WEEKDAY_FACTOR[day.weekday()]
    for eve in (FESTIVAL_EVES.get(day.year), FESTIVAL_EVES.get(day.year + 1)):
        if eve is not None and -7 <= (day - eve).days <= 7:
            offset = (day - eve).days
            # the festival sets its own level; the weekday barely matters then
            return FESTIVAL_FACTOR[offset] * (1.0 if -2 <= offset <= 6 else factor)
    if day in holiday_names():
        return OTHER_HOLIDAY_FACTOR
    return factor


def days_before_festival(day: date) -> int | None:
    """Days until the coming Spring Festival eve, or None when it is not within 60 days."""
    for year in (day.year, day.year + 1):
        eve = FESTIVAL_EVES.get(year)
        if eve is not None and 0 <= (eve - day).days <= 60:
            return (eve - day).days
    return None


@lru_cache(maxsize=1)
def hourly_probabilities() -> np.ndarray:
    weights = np.asarray(HOURLY_WEIGHTS, dtype=float)
    return weights / weights.sum()

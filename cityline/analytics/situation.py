"""The live situation for the console: a day's briefing figures plus what a map and a
live comparison need.

For today (a day still running) yesterday and the same day last year are
counted up to the same clock time, so "today vs yesterday" compares like with
like; for a finished day whole days are compared, as in the briefing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cityline.analytics.brief import build_briefing, year_earlier
from cityline.analytics.dataset import Dataset
from cityline.analytics.queries import PLACED, Source, Window
from cityline.analytics.table import day_bounds
from cityline.timeutil import to_local

PLACES = f"""
SELECT district, street, COUNT(*) AS n FROM ({PLACED}) AS p WHERE district IS NOT NULL
GROUP BY district, street ORDER BY n DESC, district, street LIMIT 500"""

RECEIVED_BEFORE = """
SELECT COUNT(*) AS n,
       SUM(CASE WHEN category LIKE 'EPI.%' THEN 1 ELSE 0 END) AS epidemic
FROM orders WHERE day = $day AND received_at < $until"""


def situation(dataset: Dataset, day: date, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    briefing = build_briefing(dataset, day, now=now)
    result = briefing.as_json()
    running = to_local(now).date() == day
    yesterday, last_year = day - timedelta(days=1), year_earlier(day)
    source = Source(dataset, Window(yesterday, day, (last_year,)))
    try:
        result["hotspots"] = [{"district": d, "street": s, "count": n}
                              for d, s, n in source.rows(PLACES, day=day)]
        elapsed = now - day_bounds(day)[0] if running else timedelta(days=1)
        counts = {d: _received_before(source, d, elapsed) for d in (day, yesterday, last_year)}
    finally:
        source.close()
    today = counts[day]
    result.update({
        "day": day.isoformat(), "running": running, "as_of": now.isoformat(),
        "yesterday": {"received": counts[yesterday]}, "last_year": {"received": counts[last_year]},
        "districts": [{"district": d, "count": n} for d, n in briefing.districts],
        "curve": [{"day": d.isoformat(), "received": r, "epidemic": e} for d, r, e in briefing.curve],
    })
    result["totals"]["vs_previous_day"] = _change(today, counts[yesterday])
    result["totals"]["vs_same_day_last_year"] = _change(today, counts[last_year])
    return result


def _received_before(source: Source, day: date, elapsed: timedelta) -> int:
    until = day_bounds(day)[0] + elapsed
    return int(source.rows(RECEIVED_BEFORE, day=day, until=until)[0][0] or 0)


def _change(now: int, before: int) -> float | None:
    return round((now - before) / before, 4) if before else None

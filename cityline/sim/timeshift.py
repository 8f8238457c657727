"""A scenario replayed now: its chosen moment brought to the present by whole weeks.

The demo shows an outbreak as it happens, on the real clock that the rest of
cityline reads (deadlines, the board, the situation page, briefings): every time the
simulator writes is moved forward by a whole number of weeks, so that the scenario's
peak day falls in the present week, and the simulation stops at the scenario time that
corresponds to now. Whole weeks keep weekdays, and so working hours and weekends, as
they were in the scenario (public holidays are the real calendar's, not 2020's). The
scenario's moment therefore lands within three and a half days of its peak.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cityline.sim.scenarios import load_scenario
from cityline.timeutil import to_local


@dataclass(frozen=True)
class Replay:
    """Scenario ``scenario`` moved ``weeks`` weeks forward, stopped at ``now``."""

    scenario: str
    weeks: int
    now: datetime  # aware: the real moment the replay stops at

    @property
    def shift(self) -> timedelta:
        return timedelta(weeks=self.weeks)

    @property
    def scenario_now(self) -> datetime:
        """``now`` on the scenario's own clock (local Shanghai time, naive, as the simulator counts)."""
        return (to_local(self.now) - self.shift).replace(tzinfo=None, microsecond=0)

    def real_day(self, scenario_day: date) -> date:
        return scenario_day + self.shift


def peak_day(scenario: str) -> date:
    """The busiest day of the scenario's outbreak (its total curve's highest anchor)."""
    total = load_scenario(scenario).total
    return date.fromordinal(int(total.days[int(total.values.argmax())]))


def replay_at_peak(scenario: str, now: datetime) -> Replay:
    """The replay whose peak day is the same weekday in the week around ``now`` (aware)."""
    days = (to_local(now).date() - peak_day(scenario)).days
    return Replay(scenario, round(days / 7), now)


# Per kind of epidemic file (formats §6): the column that says when a row happened (a row
# after the replay's moment has not happened yet), for the kinds that have one.
HAPPENED_AT = {"tests": "sampled_at", "scans": "scanned_at", "trips": "arrived_at", "cases": "reported_at",
               "risk-areas": "from"}
DATE_COLUMNS = ("from", "to")  # risk areas' days; every other time column ends in "_at"


def shift_epidemic_files(files: dict[str, tuple[Path, int]], replay: Replay) -> dict[str, tuple[Path, int]]:
    """Move the times of ``write_epidemic``'s files by the replay's weeks, in place, dropping
    rows that happen after its moment and emptying later times (a scan not left yet);
    returns the files with their new row counts."""
    until = to_local(replay.now).replace(microsecond=0).isoformat()
    shifted = {}
    for kind, (path, _) in files.items():
        shifted[kind] = (path, _shift_file(path, replay.weeks, HAPPENED_AT.get(kind), until))
    return shifted


def _shift_file(path: Path, weeks: int, happened: str | None, until: str) -> int:
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        columns = list(reader.fieldnames or ())
        rows = list(reader)
    times = [c for c in columns if c.endswith("_at") or c in DATE_COLUMNS]
    kept = []
    for row in rows:
        for column in times:
            if row[column]:
                row[column] = _shifted(row[column], weeks)
        if happened and row[happened] > until[:len(row[happened])]:
            continue
        for column in times:
            if row[column] > until[:len(row[column])]:
                row[column] = ""
        kept.append(row)
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, columns)
        writer.writeheader()
        writer.writerows(kept)
    return len(kept)


def _shifted(stamp: str, weeks: int) -> str:
    """An ISO date or time (``2022-04-13`` or ``2022-04-13T08:00:00+08:00``) ``weeks`` later;
    the clock time and offset are kept, so only the date moves."""
    return _shifted_day(stamp[:10], weeks) + stamp[10:]


@lru_cache(maxsize=4096)
def _shifted_day(day: str, weeks: int) -> str:
    return (date.fromisoformat(day) + timedelta(weeks=weeks)).isoformat()

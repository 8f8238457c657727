"""The checkpoint rules, pure: values and ``now`` in, values out. Their numbers and colours are
data (``rules.toml``); risk areas are matched exactly as the epidemic package matches arrivals.

- **Risk origin**: a vehicle's origin is a trip arriving at the checkpoint when it is
  registered: ``epidemic.places.arrivals`` over that one trip (the name read strictly by
  ``epidemic.areas``, the area holding on the registration's local date, the strictest area
  named), kept when the area's level is one of ``[closed_loop] levels``.
- **Closed loop** (闭环管理): such a vehicle, when it is let in, must leave within
  ``leave_within_hours``; it is **overdue** from that instant on (at exactly 48:00 it has not
  left within 48 hours) until a ``left`` registration of the same plate closes the loop.
- **People aboard**: flagged ``no_test`` without a negative test, ``test_too_old`` when the
  latest negative was sampled at or before the registration − ``negative_within_hours``
  (47:59 before passes, 48:00 is flagged, as for passes), ``code_<colour>`` for a health-code
  colour of ``[health_code] flag``. A colour of ``turn_back`` turns the vehicle back (劝返).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from cityline.epidemic.areas import Area
from cityline.epidemic.places import Arrival, RiskWindow, arrivals
from cityline.epidemic.rules import Params, Trip

RULES_FILE = Path(__file__).with_name("rules.toml")
# A plate as written on it: a province's character, a letter, then 5 (6 for new-energy) letters and
# digits, maybe a last character (挂 trailer, 学 learner …). Spaces, dots and dashes are ignored.
_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}[\u4e00-\u9fff]?$")
_PLATE_NOISE = re.compile(r"[\s·.\-\u3000]")


@dataclass(frozen=True)
class Rules:
    loop_levels: frozenset[str]
    leave_within: timedelta
    test_within: timedelta
    colours: tuple[str, ...]
    turn_back: frozenset[str]
    flag_colours: frozenset[str]


@lru_cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    colours = tuple(data["health_code"]["colours"])
    for name in ("turn_back", "flag"):
        unknown = set(data["health_code"][name]) - set(colours)
        if unknown:
            raise ValueError(f"{path.name}: [health_code] {name} names unknown colours {sorted(unknown)}")
    return Rules(loop_levels=frozenset(data["closed_loop"]["levels"]),
                 leave_within=timedelta(hours=data["closed_loop"]["leave_within_hours"]),
                 test_within=timedelta(hours=data["test"]["negative_within_hours"]),
                 colours=colours, turn_back=frozenset(data["health_code"]["turn_back"]),
                 flag_colours=frozenset(data["health_code"]["flag"]))


def normalise_plate(raw: str) -> str | None:
    """The plate in one form (``宁A12345``), or None when it is not written like a plate."""
    plate = _PLATE_NOISE.sub("", raw or "").upper()
    return plate if _PLATE.match(plate) else None


def mask_plate(plate: str) -> str:
    """Province and letter, then the last two: 宁A***45 (enough to find the truck in the yard)."""
    return f"{plate[:2]}***{plate[-2:]}"


@dataclass(frozen=True)
class Aboard:
    """A person in a vehicle as the rules see them."""

    role: str
    health_code: str | None
    tested_at: datetime | None  # the latest negative test's sample time


def person_flags(person: Aboard, at: datetime, rules: Rules) -> list[str]:
    flags = []
    if person.tested_at is None:
        flags.append("no_test")
    elif person.tested_at <= at - rules.test_within:
        flags.append("test_too_old")
    if person.health_code in rules.flag_colours:
        flags.append(f"code_{person.health_code}")
    return flags


def turns_back(people: Iterable[Aboard], rules: Rules) -> bool:
    return any(p.health_code in rules.turn_back for p in people)


def risk_origin(origin: str, at: datetime, risks: Iterable[RiskWindow], params: Params, rules: Rules,
                resolve: Callable[[str], Area | None]) -> Arrival | None:
    """The risk area ``origin`` lies in when the vehicle reaches the checkpoint at ``at`` (the
    arrivals rule for one trip), if its level opens a closed loop."""
    trip = Trip(person_id="vehicle", mode="road", arrived_at=at, from_area=origin)
    found = arrivals([trip], risks, params.local_date(at), params, resolve)
    return found[0] if found and found[0].level in rules.loop_levels else None


def must_leave_by(at: datetime, rules: Rules) -> datetime:
    return at + rules.leave_within


def overdue(leave_by: datetime | None, left_at: datetime | None, now: datetime) -> bool:
    return leave_by is not None and left_at is None and now >= leave_by


# -- counts per checkpoint and hour ------------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """What one registration adds to the counts."""

    checkpoint: str
    registered_at: datetime
    direction: str
    outcome: str
    flagged: int  # people flagged aboard
    warned_at: datetime | None  # when its overdue warning order was opened


@dataclass
class HourCount:
    checkpoint: str
    hour: datetime  # local, on the hour
    vehicles: int = 0  # vehicles checked coming in (passed or turned back)
    turned_back: int = 0
    left: int = 0
    flagged: int = 0  # people flagged at registration
    warnings: int = 0  # overdue warning orders opened in the hour

    def as_dict(self) -> dict:
        return {"checkpoint": self.checkpoint, "hour": self.hour.isoformat(), "vehicles": self.vehicles,
                "turned_back": self.turned_back, "left": self.left, "flagged": self.flagged,
                "warnings": self.warnings}


def hourly(rows: Iterable[Counted], zone: ZoneInfo, since: datetime, until: datetime) -> list[HourCount]:
    """Counts per checkpoint and local hour for registrations (and warnings) in [since, until),
    hours with nothing left out; by checkpoint, then hour."""
    counts: dict[tuple[str, datetime], HourCount] = {}

    def at(checkpoint: str, moment: datetime) -> HourCount:
        hour = moment.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        return counts.setdefault((checkpoint, hour), HourCount(checkpoint, hour))

    for row in rows:
        if since <= row.registered_at < until:
            count = at(row.checkpoint, row.registered_at)
            if row.direction == "left":
                count.left += 1
            else:
                count.vehicles += 1
                count.turned_back += row.outcome == "turned_back"
            count.flagged += row.flagged
        if row.warned_at is not None and since <= row.warned_at < until:
            at(row.checkpoint, row.warned_at).warnings += 1
    return [counts[key] for key in sorted(counts)]

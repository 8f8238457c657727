"""Deadline policies as data: load, check and choose the policy for an order.

The shipped default is ``policies.toml`` next to this module; a deployment may
pass its own file to :func:`load_policies`. Every problem in the file is
reported as a :class:`PolicyError` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from cityline.sla.calendar import OUTSIDE_YEAR_CHOICES, CalendarError, WorkingCalendar

DEFAULT_POLICY_FILE = Path(__file__).with_name("policies.toml")
CALENDAR_KINDS = ("working", "24x7")

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|wd)\s*$")
_PERIOD = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_POLICY_KEYS = {
    "name", "zh", "en", "urgency", "categories", "channels", "life_safety",
    "accept_within", "respond_within", "resolve_within", "calendar", "warn_share", "milestones",
}
_MILESTONE_KEYS = {"code", "zh", "en", "at"}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DEFAULT_KEYS = {"accept_within", "calendar", "warn_share"}
_CALENDAR_KEYS = {
    "timezone", "working_hours", "late_cutoff", "outside_known_years",
    "extra_holidays", "extra_workdays",
}
_TOP_KEYS = {"version", "emergency", "calendar", "life_safety", "defaults", "policy", "zones"}
# Urgencies from the least to the most urgent: a zone raises, never lowers.
URGENCY_ORDER = ("normal", "sub_urgent", "urgent")
ZONE_LEVELS = ("sealed", "controlled")


class PolicyError(ValueError):
    """The policy file is wrong, or no policy fits an order."""


@dataclass(frozen=True)
class Duration:
    """An amount of counted time: minutes, or N working days (see policies.toml)."""

    amount: int
    unit: str  # "minutes" or "working_days"

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text) if isinstance(text, str) else None
        if not match:
            raise ValueError(
                f"cannot read {text!r} as a duration: write minutes \"30m\", hours \"2h\" "
                "or working days \"2wd\""
            )
        amount, unit = int(match[1]), match[2]
        if unit == "wd":
            if amount < 1:
                raise ValueError(f"{text!r}: working days start at 1 (\"1wd\" = the same day)")
            return cls(amount, "working_days")
        return cls(amount * 60 if unit == "h" else amount, "minutes")

    def __str__(self) -> str:
        if self.unit == "working_days":
            return f"{self.amount}wd"
        return f"{self.amount // 60}h" if self.amount % 60 == 0 and self.amount else f"{self.amount}m"


@dataclass(frozen=True)
class Milestone:
    """A step an order must record by a time counted from its receipt (the hour chain of a
    tracing order: started at once, the person reached within 1 h, …). ``at`` is minutes or
    hours (never working days: a milestone is a point inside one order's first hours)."""

    code: str
    at: Duration
    zh: str = ""
    en: str = ""


@dataclass(frozen=True)
class Policy:
    name: str
    urgency: str
    accept_within: Duration
    respond_within: Duration
    resolve_within: Duration
    calendar: str = "working"  # "working" or "24x7"
    warn_share: float = 0.8
    categories: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()  # empty: any channel
    life_safety: bool | None = None  # None: the policy does not care
    zh: str = ""
    en: str = ""
    milestones: tuple[Milestone, ...] = ()  # in the order they fall due

    def milestone(self, code: str) -> Milestone | None:
        return next((m for m in self.milestones if m.code == code), None)

    def in_emergency(self) -> Policy:
        """The same policy switched to 24×7 (emergency mode)."""
        return replace(self, calendar="24x7")

    def specificity(self) -> int:
        return (4 if self.channels else 0) + (2 if self.categories else 0) + (1 if self.life_safety is not None else 0)


@dataclass(frozen=True)
class ZoneRaise:
    """What an order from a sealed or controlled zone gets: the categories raised to urgent
    there, and the urgency every other order from the zone is raised to (None: left)."""

    urgent: frozenset[str] = frozenset()
    at_least: str | None = None

    def urgency_for(self, category: str | None, urgency: str | None) -> str | None:
        """The order's urgency in the zone: raised when the policy says so, never lowered."""
        wanted = "urgent" if category in self.urgent else self.at_least
        if wanted is None or (urgency in URGENCY_ORDER
                              and URGENCY_ORDER.index(urgency) >= URGENCY_ORDER.index(wanted)):
            return urgency
        return wanted


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[Policy, ...]
    calendar: WorkingCalendar
    life_safety_categories: frozenset[str]
    life_safety_groups: frozenset[str]
    emergency: bool = False
    source: str = ""
    zones: dict[str, ZoneRaise] = field(default_factory=dict, hash=False)  # sealed / controlled

    def touches_life_safety(
        self, category: str | None = None, special_groups: Iterable[str] = (), flagged: bool = False
    ) -> bool:
        """Life, health, safety, medicine or food: flagged at intake, or by category / group."""
        return (
            flagged
            or (category in self.life_safety_categories)
            or bool(self.life_safety_groups.intersection(special_groups))
        )

    def policy_for(
        self,
        urgency: str,
        category: str | None = None,
        special_groups: Iterable[str] = (),
        *,
        life_safety: bool = False,
        emergency: bool | None = None,
        channel: str | None = None,
    ) -> Policy:
        """The policy for an order; in emergency mode (the file's flag unless given) 24×7."""
        touches = self.touches_life_safety(category, special_groups, life_safety)
        fitting = [
            p for p in self.policies
            if p.urgency == urgency
            and (not p.categories or category in p.categories)
            and (not p.channels or channel in p.channels)
            and (p.life_safety is None or p.life_safety == touches)
        ]
        if not fitting:
            known = sorted({p.urgency for p in self.policies})
            raise PolicyError(f"no policy for urgency {urgency!r} in {self.source}; known: {known}")
        best = max(fitting, key=Policy.specificity)  # max keeps the first of equals
        in_emergency = self.emergency if emergency is None else emergency
        return best.in_emergency() if in_emergency else best

    def named(self, name: str | None) -> Policy | None:
        """The policy of that name (as an order's ``sla_policy`` stores it), in emergency mode
        when the file says so; None for an unknown name."""
        found = next((p for p in self.policies if p.name == name), None)
        return found.in_emergency() if found and self.emergency else found

    def calendar_for(self, policy: Policy) -> WorkingCalendar:
        """The calendar a policy's clock runs on."""
        return self.calendar.around_the_clock() if policy.calendar == "24x7" else self.calendar


def load_policies(path: str | Path | None = None) -> PolicySet:
    """Read and check a policy file (the shipped default when ``path`` is None)."""
    return _load(str(Path(path).resolve()) if path else str(DEFAULT_POLICY_FILE))


@lru_cache(maxsize=8)
def _load(path: str) -> PolicySet:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    _no_unknown_keys(raw, _TOP_KEYS, path, "top level")
    calendar = _read_calendar(raw.get("calendar", {}), path)
    life = raw.get("life_safety", {})
    _no_unknown_keys(life, {"categories", "special_groups"}, path, "[life_safety]")
    defaults = raw.get("defaults", {})
    _no_unknown_keys(defaults, _DEFAULT_KEYS, path, "[defaults]")
    entries = raw.get("policy", [])
    if not isinstance(entries, list) or not entries:
        raise PolicyError(f"{path}: no [[policy]] entries")
    policies = tuple(_read_policy(e, defaults, path, i) for i, e in enumerate(entries, 1))
    _check_fallbacks(policies, path)
    emergency = raw.get("emergency", False)
    if not isinstance(emergency, bool):
        raise PolicyError(f"{path}: key 'emergency' must be true or false")
    return PolicySet(
        policies=policies,
        calendar=calendar,
        life_safety_categories=frozenset(_strings(life, "categories", path, "[life_safety]")),
        life_safety_groups=frozenset(_strings(life, "special_groups", path, "[life_safety]")),
        emergency=emergency,
        source=path,
        zones=_read_zones(raw.get("zones", {}), path),
    )


def _no_unknown_keys(table: Any, allowed: set[str], path: str, where: str) -> None:
    if not isinstance(table, dict):
        raise PolicyError(f"{path}: {where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def _strings(table: dict, key: str, path: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{path}: key '{key}' in {where} must be a list of strings")
    return value


def _read_policy(entry: Any, defaults: dict, path: str, index: int) -> Policy:
    where = f"[[policy]] #{index}"
    _no_unknown_keys(entry, _POLICY_KEYS, path, where)
    values = {**defaults, **entry}
    where = f"[[policy]] #{index} ({values.get('name', 'unnamed')!r})"
    for key in ("name", "urgency", "respond_within", "resolve_within", "accept_within"):
        if key not in values:
            raise PolicyError(f"{path}: {where} is missing key '{key}'")

    def duration(key: str) -> Duration:
        try:
            return Duration.parse(values[key])
        except ValueError as exc:
            raise PolicyError(f"{path}: {where} key '{key}': {exc}") from exc

    calendar = values.get("calendar", "working")
    if calendar not in CALENDAR_KINDS:
        raise PolicyError(f"{path}: {where} key 'calendar' must be one of {CALENDAR_KINDS}")
    share = values.get("warn_share", 0.8)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise PolicyError(f"{path}: {where} key 'warn_share' must be a number between 0 and 1")
    life_safety = values.get("life_safety")
    if life_safety is not None and not isinstance(life_safety, bool):
        raise PolicyError(f"{path}: {where} key 'life_safety' must be true or false")
    return Policy(
        name=str(values["name"]),
        urgency=str(values["urgency"]),
        accept_within=duration("accept_within"),
        respond_within=duration("respond_within"),
        resolve_within=duration("resolve_within"),
        calendar=calendar,
        warn_share=float(share),
        categories=frozenset(_strings(values, "categories", path, where)),
        channels=frozenset(_strings(values, "channels", path, where)),
        life_safety=life_safety,
        zh=str(values.get("zh", "")),
        en=str(values.get("en", "")),
        milestones=_read_milestones(entry.get("milestones", []), path, where),
    )


def _read_milestones(entries: Any, path: str, where: str) -> tuple[Milestone, ...]:
    """A policy's milestones: each a table of code, zh, en and ``at`` (from the receipt), codes
    unique, listed in the order they fall due (strictly later each), none later than 24 h."""
    if not isinstance(entries, list):
        raise PolicyError(f"{path}: {where} key 'milestones' must be a list of tables")
    found: list[Milestone] = []
    for number, entry in enumerate(entries, 1):
        here = f"{where} milestone #{number}"
        _no_unknown_keys(entry, _MILESTONE_KEYS, path, here)
        code = entry.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            raise PolicyError(f"{path}: {here} key 'code' must be lower-case letters, digits or _ "
                              "(at most 32, starting with a letter)")
        if not isinstance(entry.get("zh"), str) or not entry["zh"].strip():
            raise PolicyError(f"{path}: {here} ({code!r}) needs a Chinese name 'zh'")
        try:
            at = Duration.parse(entry.get("at"))
        except ValueError as exc:
            raise PolicyError(f"{path}: {here} ({code!r}) key 'at': {exc}") from exc
        if at.unit != "minutes" or at.amount > 24 * 60:
            raise PolicyError(f"{path}: {here} ({code!r}) key 'at' must be minutes or hours, at most 24h")
        if any(m.code == code for m in found):
            raise PolicyError(f"{path}: {where} milestone code {code!r} is used twice")
        if found and at.amount <= found[-1].at.amount:
            raise PolicyError(f"{path}: {here} ({code!r}) falls due at {at}, not after "
                              f"{found[-1].code!r} at {found[-1].at}; list milestones in the order they fall due")
        found.append(Milestone(code, at, entry["zh"].strip(), str(entry.get("en", "")).strip()))
    return tuple(found)


def _read_zones(table: Any, path: str) -> dict[str, ZoneRaise]:
    _no_unknown_keys(table, set(ZONE_LEVELS), path, "[zones]")
    zones = {}
    for level, entry in table.items():
        where = f"[zones.{level}]"
        _no_unknown_keys(entry, {"urgent", "at_least"}, path, where)
        at_least = entry.get("at_least") or None
        if at_least is not None and at_least not in URGENCY_ORDER:
            raise PolicyError(f"{path}: {where} key 'at_least' must be one of {URGENCY_ORDER} (or empty)")
        zones[level] = ZoneRaise(frozenset(_strings(entry, "urgent", path, where)), at_least)
    return zones


def _check_fallbacks(policies: tuple[Policy, ...], path: str) -> None:
    names = [p.name for p in policies]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise PolicyError(f"{path}: policy names used twice: {duplicates}")
    for urgency in sorted({p.urgency for p in policies}):
        if not any(p.urgency == urgency and p.specificity() == 0 for p in policies):
            raise PolicyError(
                f"{path}: urgency {urgency!r} has no policy without conditions "
                "(no 'categories', no 'life_safety'); every order needs a fallback"
            )


def _read_calendar(table: Any, path: str) -> WorkingCalendar:
    _no_unknown_keys(table, _CALENDAR_KEYS, path, "[calendar]")

    def clock(text: Any, key: str) -> time:
        try:
            hours, minutes = str(text).split(":")
            return time(int(hours), int(minutes))
        except ValueError as exc:
            raise PolicyError(f"{path}: [calendar] key '{key}': {text!r} is not HH:MM") from exc

    def dates(key: str) -> frozenset[date]:
        try:
            return frozenset(
                v if isinstance(v, date) else date.fromisoformat(v) for v in table.get(key, [])
            )
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"{path}: [calendar] key '{key}' must list YYYY-MM-DD dates") from exc

    periods = []
    for text in _strings(table, "working_hours", path, "[calendar]") or ["09:00-17:00"]:
        match = _PERIOD.match(text)
        if not match:
            raise PolicyError(f"{path}: [calendar] key 'working_hours': {text!r} is not HH:MM-HH:MM")
        periods.append((clock(match[1], "working_hours"), clock(match[2], "working_hours")))
    cutoff = table.get("late_cutoff")
    outside = table.get("outside_known_years", "weekends")
    if outside not in OUTSIDE_YEAR_CHOICES:
        raise PolicyError(
            f"{path}: [calendar] key 'outside_known_years' must be one of {OUTSIDE_YEAR_CHOICES}"
        )
    try:
        return WorkingCalendar(
            timezone=str(table.get("timezone", "Asia/Shanghai")),
            working_hours=tuple(periods),
            late_cutoff=clock(cutoff, "late_cutoff") if cutoff is not None else None,
            extra_holidays=dates("extra_holidays"),
            extra_workdays=dates("extra_workdays"),
            outside_known_years=outside,
        )
    except CalendarError as exc:
        raise PolicyError(f"{path}: [calendar]: {exc}") from exc

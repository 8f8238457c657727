"""What the console shows whom, and how it reads deadlines and history. Pure: values in, values out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cityline.orders.rules import FINAL, Status
from cityline.web.texts import DEFAULT_LANGUAGE, LANGUAGES


@dataclass(frozen=True)
class Page:
    name: str  # key under [page] in the language files
    path: str
    needs: frozenset[str]  # every one of these permissions


PAGES = (
    Page("intake", "/intake", frozenset({"orders:create"})),
    Page("queue", "/queue", frozenset({"orders:dispatch"})),
    Page("inbox", "/inbox", frozenset({"orders:handle"})),
    Page("visits", "/visits", frozenset({"orders:visit"})),
    # Chasing deadlines means seeing the figures and being able to move an order elsewhere.
    Page("board", "/board", frozenset({"analytics:read", "orders:dispatch"})),
    Page("situation", "/situation", frozenset({"analytics:read"})),
    Page("briefings", "/briefings", frozenset({"analytics:read"})),
    Page("orders", "/orders", frozenset({"orders:read"})),
    # Epidemic work (epidemic_pages.py): figures for those who watch the city, passes for the
    # command and grid workers, and checking a pass at a gate for everyone who may verify.
    Page("command", "/epidemic/command", frozenset({"epidemic:read"})),
    Page("coverage", "/epidemic/coverage", frozenset({"epidemic:read"})),
    Page("passes", "/epidemic/passes", frozenset({"epidemic:passes"})),
    Page("verify", "/epidemic/verify", frozenset({"epidemic:verify"})),
    # Cases and clusters (outbreak_pages.py) name people: the command and grid workers.
    Page("cases", "/epidemic/cases", frozenset({"epidemic:persons"})),
    Page("clusters", "/epidemic/clusters", frozenset({"epidemic:persons"})),
    # Road checkpoints (checkpoint_pages.py): registering at the roadside on a phone, and the counts.
    Page("checkpoint_register", "/checkpoints/register", frozenset({"checkpoints:register"})),
    Page("checkpoints", "/checkpoints", frozenset({"checkpoints:read"})),
    # Inspection findings (inspection_pages.py): the patrol worker's phone form, and the
    # findings with their counts for everyone who reads orders.
    Page("patrol", "/inspection/patrol", frozenset({"inspection:record"})),
    Page("inspection", "/inspection", frozenset({"orders:read"})),
    # The administrator's (admin_pages.py): who may sign in, the organisation, the dispatch
    # catalogue and the audit log.
    Page("users", "/admin/users", frozenset({"users:admin"})),
    Page("units", "/admin/units", frozenset({"units:write"})),
    Page("catalogue", "/admin/catalogue", frozenset({"catalogue:write"})),
    Page("audit", "/admin/audit", frozenset({"audit:read"})),
)
PAGES_BY_NAME = {p.name: p for p in PAGES}
# Where each role starts its day; the first of the user's roles in this order wins.
HOME_BY_ROLE = (("operator", "intake"), ("dispatcher", "queue"), ("unit_handler", "inbox"),
                ("supervisor", "board"), ("analyst", "situation"), ("admin", "orders"),
                ("commander", "command"), ("grid_worker", "coverage"),
                ("inspector", "patrol"))
DUE_SOON = timedelta(hours=4)
UNIT_DONE = frozenset({Status.REPLIED, Status.VISITED}) | FINAL  # nothing left for the unit to do


def may_open(page: Page, permissions: Iterable[str]) -> bool:
    return page.needs <= frozenset(permissions)


def pages_for(permissions: Iterable[str]) -> list[Page]:
    """The pages a user's permissions open, in menu order."""
    held = frozenset(permissions)
    return [p for p in PAGES if may_open(p, held)]


def home_for(roles: Iterable[str], permissions: Iterable[str]) -> Page | None:
    """The page a user lands on after signing in; None when no page is open to them."""
    held, allowed = frozenset(roles), pages_for(permissions)
    for role, name in HOME_BY_ROLE:
        if role in held and PAGES_BY_NAME[name] in allowed:
            return PAGES_BY_NAME[name]
    return allowed[0] if allowed else None


def pick_language(query: str | None, cookie: str | None) -> str:
    """``?lang=`` beats the remembered choice; Chinese unless English was chosen."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    return DEFAULT_LANGUAGE


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only a path on this site may follow the sign-in (no open redirect to another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def is_foreign(language: str | None) -> bool:
    return bool(language) and language != "zh"


@dataclass(frozen=True)
class Clock:
    """The deadline an order is racing now, seen from the unit handling it."""

    kind: str | None  # accept | resolve, or None when no clock runs
    due: datetime | None
    seconds_left: int | None  # negative when overdue
    state: str  # ok | due_soon | overdue | paused | none


def unit_clock(status: str, paused: bool, accept_by: datetime | None, resolve_by: datetime | None,
               now: datetime, soon: timedelta = DUE_SOON) -> Clock:
    """A dispatched order races its accept deadline, an accepted one its resolution deadline;
    once replied, the unit's clock has stopped. A paused order shows no countdown."""
    if status in UNIT_DONE:
        return Clock(None, None, None, "none")
    if status == "dispatched" and accept_by and not paused:
        return _clock("accept", accept_by, now, soon)
    return resolution_clock(paused, resolve_by, now, soon)


def resolution_clock(paused: bool, resolve_by: datetime | None, now: datetime,
                     soon: timedelta = DUE_SOON) -> Clock:
    """The deadline the caller was promised, as the supervisor chases it."""
    if paused:
        return Clock("resolve", None, None, "paused")
    return _clock("resolve", resolve_by, now, soon) if resolve_by else Clock(None, None, None, "none")


def _clock(kind: str, due: datetime, now: datetime, soon: timedelta) -> Clock:
    left = int((due - now).total_seconds())
    state = "overdue" if left < 0 else "due_soon" if left <= soon.total_seconds() else "ok"
    return Clock(kind, due, left, state)


def span_parts(seconds: int) -> list[tuple[str, int]]:
    """A duration as at most two units, largest first: [("days", 1), ("hours", 3)]."""
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [(u, n) for u, n in (("days", days), ("hours", hours), ("minutes", mins)) if n]
    return parts[:2] or [("minutes", 0)]


@dataclass(frozen=True)
class Fact:
    """One detail of a history entry: a label key and a value, with how to name the value."""

    label: str  # key in the language files
    value: str
    names: str | None = None  # "taxonomy", or a language-file section ("satisfaction", "status")


def event_facts(action: str, data: Mapping[str, Any]) -> list[Fact]:
    """The details worth showing in an order's history for one event."""
    facts: list[Fact] = []
    triage = data.get("triage") or {}
    after = data.get("after") if action in ("labels_confirmed", "labels_corrected") else None
    labels = after or (triage if action in ("received", "triaged") else {})
    for name in ("category", "urgency"):
        if labels.get(name):
            facts.append(Fact(f"field.{name}", labels[name], "taxonomy"))
    place = data.get("place") or {}
    if place.get("district"):
        facts.append(Fact("intake.place", " ".join(p for p in (place["district"], place.get("street")) if p)))
    if data.get("channel"):
        facts.append(Fact("field.channel", data["channel"], "channel"))
    if data.get("unit"):
        facts.append(Fact("field.unit", data["unit"]))
    for name in ("reason", "text", "into"):
        if data.get(name):
            facts.append(Fact("field.reply" if (name, action) == ("text", "reply") else
                              "field.answer" if name == "text" else f"field.{name}", str(data[name])))
    if data.get("milestone"):
        facts.append(Fact("field.milestone", str(data["milestone"])))
    if data.get("satisfaction"):
        facts.append(Fact("field.satisfaction", data["satisfaction"], "satisfaction"))
    if data.get("article"):
        facts.append(Fact("order.article", f"{data['article']} v{data.get('article_version', '')}".strip()))
    return facts

"""The daily briefing (快报): what yesterday's calls say, built from the analytics export.

``build_briefing(dataset, day)`` runs the briefing's SQL (``queries.py``) over the
day files of the export, discovers the concrete problems inside the day's large
categories (``discover.py``), finds the emerging issues (``emerging.py``) and
returns a :class:`Briefing`, which renders as the JSON of formats.md §3
(:meth:`Briefing.as_json`), as HTML and as PDF (``render.py``).

Figures (all for the local day ``day``):

- totals: orders received, epidemic-related (category ``EPI.*``) and their share;
  relative change against the day before and the same calendar day a year
  earlier (null when that day has no orders);
- categories: every category's orders, share of the day, change on the day before;
- issues: inside each large category (at least ``LARGE_SHARE`` of the day and
  ``LARGE_MIN`` orders, at most ``LARGE_CATEGORIES`` of them), the problems the
  orders' words separate, with their counts and representative orders;
- emerging: ``emerging.py``; hotspots: the streets with most orders;
- service: dispatched during the day; answered directly on the call (received
  that day); on-time rate of the orders resolved (replied or closed) during the
  day that had a deadline; overdue: orders unresolved at the day's end past
  their deadline, whenever received; resolution rate: of the dispatched orders
  closed during the day, those never reopened and not rated unsatisfied
  (解决率); satisfaction rate: of the orders closed with a rating, satisfied or
  basically satisfied (满意 + 基本满意);
- units: per unit, orders dispatched to it during the day, its on-time and
  satisfaction rates on the same definitions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from cityline.analytics.alarms import Rule
from cityline.analytics.dataset import Dataset
from cityline.analytics.discover import CONTEXT_SAMPLE, discover
from cityline.analytics.emerging import LOOKBACK, Emerging, category_name, find_emerging
from cityline.analytics.queries import (
    CATEGORY_COUNTS,
    CATEGORY_ORDERS,
    DAILY_TOTALS,
    ORDER_TEXTS,
    PLACE_COUNTS,
    PLACE_NAMES,
    SERVICE,
    UNIT_NAMES,
    Source,
    Window,
    open_source,
)
from cityline.analytics.table import day_bounds
from cityline.analytics.titles import Candidate, place_parts, title_for
from cityline.privacy import mask_text

LARGE_SHARE = 0.05
LARGE_MIN = 20
LARGE_CATEGORIES = 6
CONTEXT_DAYS = 7  # days of a category's orders its words are learned from
ISSUE_MIN = 3
HOTSPOTS_SHOWN = 10
CURVE_DAYS = 30


@dataclass
class Issue:
    title: str
    keywords: list[str]
    category: str
    count: int
    order_ids: list[str]
    examples: list[str] = field(default_factory=list)  # texts of the representative orders
    members: list[str] = field(default_factory=list)  # every order of the problem that day
    example: dict | None = None  # the quoted order its title is drawn from (titles.py)
    central: list[str] = field(default_factory=list)  # the orders its title may be drawn from, best first
    member_terms: list[tuple[str, ...]] = field(default_factory=list)  # the terms of its orders
    subject: str = "市民"

    def as_json(self) -> dict:
        return {"title": self.title, "keywords": self.keywords, "category": self.category,
                "count": self.count, "order_ids": self.order_ids, "example": self.example}


@dataclass
class Briefing:
    day: date
    timezone: str
    totals: dict
    categories: list[dict]
    issues: list[Issue]
    emerging: list[Emerging]
    hotspots: list[dict]
    service: dict
    units: list[dict]
    curve: list[tuple[date, int, int]]  # (day, received, epidemic) for the volume chart
    districts: list[tuple[str | None, int]]  # orders per district (None: no place known)
    generated_at: datetime
    placement: dict = field(default_factory=dict)  # how the day's orders were placed (_placement)

    def as_json(self) -> dict:
        """formats.md §3."""
        return {
            "date": self.day.isoformat(), "timezone": self.timezone, "totals": self.totals,
            "categories": self.categories, "issues": [i.as_json() for i in self.issues],
            "emerging": [e.as_json() for e in self.emerging], "hotspots": self.hotspots,
            "service": self.service, "units": self.units, "placement": self.placement,
        }

    def to_html(self) -> str:
        return self.to_html_in("zh")

    def to_html_in(self, lang: str) -> str:
        """The HTML with its labels in ``lang`` (zh or en)."""
        from cityline.analytics.render import briefing_html

        return briefing_html(self, lang)

    def to_pdf(self, lang: str = "zh") -> bytes:
        from cityline.analytics.render import briefing_pdf

        return briefing_pdf(self, lang)


def year_earlier(day: date) -> date:
    """The same calendar day a year before (29 February becomes the 28th)."""
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def build_briefing(dataset: Dataset, day: date, *, rule: Rule = Rule(), timezone: str | None = None,
                   now: datetime | None = None, engine: str | None = None) -> Briefing:
    """The briefing of ``day`` from the export in ``dataset`` (see the module doc), its SQL run
    on ``engine`` (duckdb or spark; default: the ``analytics_engine`` setting)."""
    from threadpoolctl import threadpool_limits

    from cityline.config import get_settings

    settings = get_settings()
    # The matrices here are small; a second BLAS thread only spins against DuckDB's
    # threads (measured: 3.1 s -> 2.0 s for a briefing over 10 M orders on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        return _build(dataset, day, rule, timezone or settings.timezone, now, engine or settings.analytics_engine)


def _build(dataset: Dataset, day: date, rule: Rule, timezone: str, now: datetime | None, engine: str) -> Briefing:
    first = day - timedelta(days=LOOKBACK)
    source = open_source(dataset, Window(first, day, (year_earlier(day),)), engine=engine)
    try:
        received = {r[0]: (r[1], r[2]) for r in source.rows(DAILY_TOTALS, first=first, last=day)}
        last_year = source.rows(DAILY_TOTALS, first=year_earlier(day), last=year_earlier(day))
        totals = _totals(day, received, last_year[0][1] if last_year else 0)
        categories = _categories(source, day, totals["received"])
        issues = _issues(source, day, categories, totals["received"])
        emerging = find_emerging(source, day, {d: v[0] for d, v in received.items()}, rule)
        give_titles(source, day, issues, emerging)
        hotspots, districts, placement = _places(source.rows(PLACE_COUNTS, day=day))
    finally:
        source.close()
    service, units = _service(dataset, day, engine)
    days = [day - timedelta(days=n) for n in range(CURVE_DAYS - 1, -1, -1)]
    curve = [(d, *received.get(d, (0, 0))) for d in days]
    return Briefing(day, timezone, totals, categories, issues, emerging, hotspots, service, units, curve,
                    districts, now or datetime.now(UTC), placement)


def _places(rows: list[tuple]) -> tuple[list[dict], list[tuple[str | None, int]], dict]:
    """From the day's (district, street, placed_by, orders): the hotspots (the streets with most
    orders), the orders per district (None: not placed), and how orders were placed: by their
    own district (given, or read from address, text or grid at intake), by their unit's, handled
    by a city-level unit (city-wide, no district to give), and not at all."""
    streets: Counter[tuple[str, str | None]] = Counter()
    districts: Counter[str | None] = Counter()
    how: Counter[str | None] = Counter()
    for district, street, placed_by, n in rows:
        if district is not None:
            streets[(district, street)] += n
        districts[district] += n
        how[placed_by] += n
    ranked = sorted(streets.items(), key=lambda s: (-s[1], s[0][0], s[0][1] is None, s[0][1] or ""))
    hotspots = [{"district": d, "street": s, "count": int(n)} for (d, s), n in ranked[:HOTSPOTS_SHOWN]]
    total, unplaced = sum(how.values()), how["city"] + how[None]
    placement = {"by_order": int(how["order"]), "by_unit": int(how["unit"]), "city_wide": int(how["city"]),
                 "unknown": int(how[None]), "unplaced_share": round(unplaced / total, 4) if total else 0.0}
    by_district = sorted(districts.items(), key=lambda d: (-d[1], d[0] or ""))
    return hotspots, [(d, int(n)) for d, n in by_district], placement


def _change(now: int, before: int) -> float | None:
    return round((now - before) / before, 4) if before else None


def _totals(day: date, received: dict[date, tuple[int, int]], last_year: int) -> dict:
    count, epidemic = received.get(day, (0, 0))
    previous = received.get(day - timedelta(days=1), (0, 0))[0]
    return {"received": int(count), "epidemic_related": int(epidemic),
            "epidemic_share": round(epidemic / count, 4) if count else 0.0,
            "vs_previous_day": _change(count, previous),
            "vs_same_day_last_year": _change(count, last_year)}


def _categories(source: Source, day: date, received: int) -> list[dict]:
    rows = source.rows(CATEGORY_COUNTS, day=day, previous=day - timedelta(days=1))
    return [{"code": code, "name": category_name(code), "count": int(today),
             "share": round(today / received, 4) if received else 0.0,
             "vs_previous_day": _change(int(today), int(previous))}
            for code, today, previous in rows if today]


def _issues(source: Source, day: date, categories: list[dict], received: int) -> list[Issue]:
    import pyarrow as pa

    large = [c["code"] for c in categories
             if c["count"] >= LARGE_MIN and c["count"] >= LARGE_SHARE * received][:LARGE_CATEGORIES]
    if not large:
        return []
    source.register("wanted", pa.table({"category": large}))
    rows = source.orders(CATEGORY_ORDERS, first=day - timedelta(days=CONTEXT_DAYS - 1), last=day,
                         per_category=CONTEXT_SAMPLE)
    by_category: dict[str, list] = {code: [] for code in large}
    for row in rows:
        by_category[row.category].append(row)
    issues: list[Issue] = []
    for code in large:
        pool = by_category[code]
        today = [r for r in pool if r.day == day]
        for found in discover([r.terms for r in today], context=[r.terms for r in pool]):
            if len(found.members) < ISSUE_MIN:
                continue
            issues.append(Issue(
                title="", keywords=list(found.keywords), category=code, count=len(found.members),
                order_ids=[today[i].number for i in found.representatives],
                members=[today[i].number for i in found.members],
                central=[today[i].number for i in found.central],
                member_terms=[today[i].terms for i in found.members]))
    return issues


def give_titles(source: Source, day: date, issues: list[Issue], emerging: list[Emerging]) -> None:
    """Every problem's and emerging issue's title and example, drawn from its central orders
    (``titles.py``), and the problems' example texts; the texts are read in one statement."""
    wanted = [number for item in [*issues, *emerging] for number in [*item.order_ids, *item.central]]
    candidates = order_candidates(source, day, wanted)
    for issue in issues:  # a briefing travels: phone and ID numbers in a text are masked
        issue.examples = [mask_text(candidates[n].text if n in candidates else "") for n in issue.order_ids]
    for item in [*issues, *emerging]:
        title = title_for([candidates[n] for n in item.central if n in candidates], item.member_terms,
                          item.keywords, item.subject)
        item.title, item.example = title.title, title.example_json()


def order_candidates(source: Source, day: date, numbers: list[str]) -> dict[str, Candidate]:
    """The day's orders ``numbers`` with their texts and the place names a title leaves out."""
    import pyarrow as pa

    source.register("chosen", pa.table({"number": pa.array(numbers, pa.string())}))
    places = place_parts(name for (name,) in source.rows(PLACE_NAMES))
    return {number: Candidate(number, text or "", places | place_parts((district, street)))
            for number, text, district, street in source.rows(ORDER_TEXTS, day=day)}


def _service(dataset: Dataset, day: date, engine: str) -> tuple[dict, list[dict]]:
    start, end = day_bounds(day)
    source = open_source(dataset, Window(day, day), service=True, engine=engine)
    try:
        rows = source.rows(SERVICE, start=start, end=end, day=day)
        names = dict(source.rows(UNIT_NAMES))
    finally:
        source.close()
    whole = next((r for r in rows if r[0] == 1), None)
    (dispatched, direct, judged, on_time, overdue, closed, resolved, rated, satisfied) = (
        int(v or 0) for v in (whole[2:] if whole else [0] * 9))
    service = {"dispatched": dispatched, "on_time_rate": _rate(on_time, judged), "overdue": overdue,
               "resolution_rate": _rate(resolved, closed), "satisfaction_rate": _rate(satisfied, rated),
               "answered_directly": direct}
    lines = [{"unit": names.get(r[1], r[1]), "code": r[1], "received": int(r[2] or 0),
              "on_time_rate": _rate(int(r[5] or 0), int(r[4] or 0)),
              "satisfaction_rate": _rate(int(r[10] or 0), int(r[9] or 0))}
             for r in rows if r[0] == 0 and r[1] is not None and (r[2] or r[4])]
    return service, sorted(lines, key=lambda u: (-u["received"], u["code"]))


def _rate(part: int, whole: int) -> float | None:
    """A ratio, or None when there was nothing to judge (no order due, closed or rated)."""
    return round(part / whole, 4) if whole else None

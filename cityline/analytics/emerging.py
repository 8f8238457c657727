"""Emerging issues (苗头性、倾向性问题): small or new problems growing faster than their history.

Two kinds of series are watched every day, over the last ``LOOKBACK`` days:

- **terms**: for every word used by at least ``MIN_COUNT`` orders today, the
  number of orders a day that use it (any category). A new problem brings new
  words ("二房东", "转租" …) that rise together; alarming terms whose orders
  overlap are one issue (``alarms.group_terms``), and an issue needs at least
  ``MIN_TERMS`` of them, because one word rising alone is usually chance — unless
  that word alone is beyond 10^−``Rule.min_lone_surprise`` (callers who each name a
  new problem in their own words often share only its one key word: "交通卡").
  When it began is the start of its Kleinberg burst (``detect.kleinberg_bursts``).
- **places**: every category in every district. An alarm here that an issue of
  terms already explains (half its orders or more) is not repeated; its district
  joins that issue's places. When it began is the CUSUM change point.

Whether a series alarms is ``alarms.judge`` (method, minimum count, ratio, and
Poisson surprise); an issue's score is the highest Poisson surprise among its
series (−log10 of the chance of so many orders at the expected rate).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from cityline.analytics.alarms import Rule, group_terms, judge
from cityline.analytics.detect import change_point, kleinberg_bursts
from cityline.analytics.discover import MERGE_AT, context_rows, merge_groups
from cityline.analytics.queries import (
    CATEGORY_ORDERS,
    CELL_SERIES,
    ORDERS_WITH_TERMS,
    TERM_SERIES,
    TERMS_OF_DAY,
    OrderRow,
    Source,
)
from cityline.analytics.titles import CANDIDATES
from cityline.taxonomy import load_taxonomy

LOOKBACK = 35  # days of history: a 28-day baseline, a 2-day guard band, and room for C3
MIN_TERMS = 2
SHOWN = 3  # representative orders per issue
PLACES = 3


@dataclass
class Emerging:
    title: str  # given by the briefing (brief.give_titles): a sentence drawn from its orders
    keywords: list[str]
    category: str | None
    count: int
    first_seen: date
    score: float
    places: list[str]
    order_ids: list[str]
    members: set[str] = field(default_factory=set)  # every order of the day in the issue
    source: str = "terms"  # "terms" or "places"
    growth: float = 0.0  # recent orders over what the long baseline expected
    example: dict | None = None  # the quoted order its title is drawn from (titles.py)
    central: list[str] = field(default_factory=list)  # the orders its title may be drawn from, best first
    member_terms: list[tuple[str, ...]] = field(default_factory=list)  # the terms of its orders
    subject: str = "市民"  # who the title says reported it ("徐汇区市民" for a district's rise)

    def as_json(self) -> dict:
        return {"title": self.title, "keywords": self.keywords, "category": self.category,
                "count": self.count, "first_seen": self.first_seen.isoformat(),
                "score": round(self.score, 2), "places": self.places, "order_ids": self.order_ids,
                "example": self.example}


@dataclass(frozen=True)
class History:
    """The window's days, the orders received on each, and their day of week."""

    days: list[date]
    totals: np.ndarray

    @classmethod
    def of(cls, day: date, received: dict[date, int]) -> History:
        days = [day - timedelta(days=LOOKBACK - i) for i in range(LOOKBACK + 1)]
        return cls(days, np.array([received.get(d, 0) for d in days], dtype=np.float64))

    @property
    def weekdays(self) -> np.ndarray:
        return np.array([d.weekday() for d in self.days])

    def matrix(self, keys: Sequence, cells: Sequence[tuple]) -> np.ndarray:
        """Counts per key (row) and day (column) from (key, day, count) cells, one per key and
        day (a GROUP BY's rows); filled by index arrays, as the cells run to tens of thousands."""
        matrix = np.zeros((len(keys), len(self.days)))
        if cells:
            position = {k: i for i, k in enumerate(keys)}
            column = {d: i for i, d in enumerate(self.days)}
            cell_keys, cell_days, counts = zip(*cells, strict=True)
            matrix[np.fromiter(map(position.__getitem__, cell_keys), np.intp, len(cells)),
                   np.fromiter(map(column.__getitem__, cell_days), np.intp, len(cells))] = counts
        return matrix


def find_emerging(source: Source, day: date, received: dict[date, int], rule: Rule = Rule(),
                  limit: int = 10) -> list[Emerging]:
    """The day's emerging issues, highest score first."""
    history = History.of(day, received)
    if history.totals[-1] == 0:
        return []
    issues = term_issues(source, day, history, rule)
    issues += [cell for cell in place_issues(source, day, history, rule) if not _explained(cell, issues)]
    # Newest first: a problem that went from nothing to a handful of calls is what a
    # briefing exists to catch; a big topic surging is already in the categories.
    return sorted(issues, key=lambda i: (-i.growth, -i.score, i.keywords))[:limit]


def term_issues(source: Source, day: date, history: History, rule: Rule) -> list[Emerging]:
    candidates = [term for term, _ in source.rows(TERMS_OF_DAY, day=day, min_count=rule.min_count)]
    if not candidates:
        return []
    candidates.sort()
    source.register("candidates", pa.table({"term": candidates}))
    rows = source.rows(TERM_SERIES, first=history.days[0], last=day)
    matrix = history.matrix(candidates, rows)
    verdict = judge(matrix, history.totals, history.weekdays, rule)
    alarmed = [int(i) for i in np.flatnonzero(verdict.alarm)]
    if not alarmed:
        return []
    words = [candidates[i] for i in alarmed]
    today = source.orders(ORDERS_WITH_TERMS, first=day, last=day, terms=words)
    users = [{row.number for row in today if word in row.terms} for word in words]
    issues = []
    groups = join_phrasings([g for g in group_terms(users)
                             if len(g) >= MIN_TERMS or verdict.surprise[alarmed[g[0]]] >= rule.min_lone_surprise],
                            words, today)
    # A word alarming alone whose orders another issue mostly holds is that issue's word.
    lone_words = [len(group) == 1 for group in groups]
    for group in groups:
        ranked = sorted(group, key=lambda g: -verdict.surprise[alarmed[g]])
        main = alarmed[ranked[0]]
        members = set().union(*(users[g] for g in group))
        chosen = [row for row in today if row.number in members]
        keywords = [words[g] for g in ranked] + shared_terms([r.terms for r in chosen],
                                                             {words[g] for g in ranked})
        first_seen = _burst_start(history, matrix[main], verdict.expected[main])
        central = _ranked(chosen, keywords)
        issues.append(Emerging(
            title="", keywords=keywords[:6], category=_majority(r[1] for r in chosen), count=len(members),
            first_seen=first_seen, score=float(verdict.surprise[alarmed[ranked[0]]]),
            places=_places(chosen), order_ids=central[:SHOWN], members=members, source="terms",
            growth=float(verdict.growth[main]), central=central, member_terms=[r.terms for r in chosen]))
    return [issue for issue, lone in zip(issues, lone_words, strict=True)
            if not (lone and any(len(issue.members & other.members) * 2 >= len(issue.members)
                                 for other in issues if other is not issue))]


def join_phrasings(groups: list[list[int]], words: Sequence[str],
                   rows: Sequence[OrderRow]) -> list[list[int]]:
    """Join groups of alarming terms that are phrasings of one problem: groups whose orders'
    words keep the same company (``discover.merge_groups``, as problems are joined).

    Each order stands for the group with most of its alarming words in it, so a new
    problem's few orders that also use a word of a bigger rising problem ("减免") stay
    the new problem's own.
    """
    if len(groups) < 2:
        return groups
    group_of = {words[w]: g for g, group in enumerate(groups) for w in group}
    labels = np.array([_best_group(r.terms, group_of) for r in rows])
    merged = merge_groups(context_rows([r.terms for r in rows]), labels, MERGE_AT)
    joined: dict[int, list[int]] = {}
    for position, group in enumerate(groups):
        mine = merged[labels == position]
        joined.setdefault(int(mine[0]) if len(mine) else -1 - position, []).extend(group)
    return sorted(joined.values(), key=lambda g: (-len(g), g))


def _best_group(terms: Sequence[str], group_of: dict[str, int]) -> int:
    """The group with most of the order's alarming words (the first such group on a tie; -1:
    none). ``group_of``: each alarming word's group (the groups share no word)."""
    hits = Counter(group_of[t] for t in set(terms) if t in group_of)
    return min(hits, key=lambda g: (-hits[g], g)) if hits else -1


def place_issues(source: Source, day: date, history: History, rule: Rule) -> list[Emerging]:
    rows = source.rows(CELL_SERIES, first=history.days[0], last=day)
    keys = sorted({(r[0], r[1]) for r in rows if r[2] == day and r[3] >= rule.min_count})
    if not keys:
        return []
    wanted = set(keys)
    cells = [((category, district), on, n) for category, district, on, n in rows if (category, district) in wanted]
    matrix = history.matrix(keys, cells)
    # A district's category that grows a little every day is the city's trend in that district,
    # not a new problem: the ramp rule is for new words (alarms.Rule.min_rise_surprise).
    verdict = judge(matrix, history.totals, history.weekdays, replace(rule, min_rise_surprise=math.inf))
    alarmed = [int(i) for i in np.flatnonzero(verdict.alarm)]
    if not alarmed:
        return []
    categories = sorted({keys[i][0] for i in alarmed})
    source.register("wanted", pa.table({"category": categories}))
    orders = source.orders(CATEGORY_ORDERS, first=day, last=day, per_category=0)
    issues = []
    for i in alarmed:
        category, district = keys[i]
        inside = [o for o in orders if o.category == category and o.district == district]
        rest = [o for o in orders if o.category == category and o.district != district]
        keywords = distinctive_terms([o.terms for o in inside], [o.terms for o in rest])
        series = matrix[i]
        spread = max(float(np.std(series[:-3])), 1.0)
        start = change_point(series, float(verdict.expected[i]), 0.5 * spread)
        streets = Counter(o.street for o in inside if o.street).most_common(PLACES - 1)
        central = _ranked(inside, keywords)
        issues.append(Emerging(
            title="", keywords=keywords, category=category, count=len(inside),
            first_seen=history.days[start], score=float(verdict.surprise[i]),
            places=[district] + [f"{district}{street}" for street, _ in streets],
            order_ids=central[:SHOWN], members={o.number for o in inside},
            source="places", growth=float(verdict.growth[i]), central=central,
            member_terms=[o.terms for o in inside], subject=f"{district}市民"))
    return issues


def distinctive_terms(inside: Sequence[Sequence[str]], rest: Sequence[Sequence[str]],
                      top: int = 4) -> list[str]:
    """Terms the inside orders use more than the rest (share × log-ratio), most distinctive first."""
    if not inside:
        return []
    share_in = Counter(t for terms in inside for t in set(terms))
    share_out = Counter(t for terms in rest for t in set(terms))
    scored = []
    for term, count in share_in.items():
        p_in = count / len(inside)
        p_out = share_out[term] / len(rest) if rest else 0.0
        if count >= 2 and p_in > p_out:
            scored.append((p_in * np.log((p_in + 0.01) / (p_out + 0.01)), term))
    return [term for _, term in sorted(scored, key=lambda s: (-s[0], s[1]))[:top]]


def shared_terms(docs: Sequence[Sequence[str]], known: set[str], share: float = 0.6,
                 top: int = 3) -> list[str]:
    """Words most of the orders use besides the alarming ones: what the issue is about."""
    counts = Counter(t for terms in docs for t in set(terms) if t not in known)
    floor = max(2, share * len(docs))
    return [t for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top] if n >= floor]


def _burst_start(history: History, hits: np.ndarray, expected: float) -> date:
    """The first day of the burst that today is in (Kleinberg), else the CUSUM change point."""
    burst = kleinberg_bursts(hits, history.totals)
    if burst[-1]:
        start = len(burst) - 1
        while start > 0 and burst[start - 1]:
            start -= 1
        return history.days[start]
    spread = max(float(np.std(hits[:-3])), 1.0)
    return history.days[change_point(hits, expected, 0.5 * spread)]


def _places(rows: Sequence[OrderRow]) -> list[str]:
    """Where the issue's orders of the day came from, most first."""
    counts = Counter((r.district, r.street) for r in rows if r.district)
    return [f"{district}{street or ''}" for (district, street), _ in counts.most_common(PLACES)]


def _ranked(rows: Sequence[OrderRow], keywords: Sequence[str]) -> list[str]:
    """Orders using most of the keywords, oldest number first among equals, distinct word sets
    (a place issue's rows carry no text): the first SHOWN are its representatives, the first
    CANDIDATES what its title may be drawn from."""
    ranked = sorted(rows, key=lambda r: (-len(set(r.terms) & set(keywords)), r.number))
    chosen, seen = [], set()
    for row in ranked:
        key = row.text if row.text is not None else row.terms
        if key not in seen:
            seen.add(key)
            chosen.append(row.number)
        if len(chosen) == CANDIDATES:
            break
    return chosen


def _majority(values) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def category_name(code: str) -> str:
    try:
        return load_taxonomy().name(code)
    except (KeyError, ValueError):
        return code


def _explained(cell: Emerging, issues: list[Emerging]) -> bool:
    for issue in issues:
        if issue.source == "terms" and len(cell.members & issue.members) * 2 >= len(cell.members):
            district = cell.places[0]
            if not any(p.startswith(district) for p in issue.places):
                issue.places.append(district)
            return True
    return False

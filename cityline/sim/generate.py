"""Generate hotline orders: ``generate("2020", scale=0.05)`` yields import-format rows.

Each row is a dict with the columns of the order import format (formats.md §1) as
they appear in JSON Lines, plus ``returned`` and ``returned_from`` for orders that
went to a wrong unit first. Rows come day by day, in time order. A day is computed
as arrays (numpy) and only turned into dicts at the end.

``until`` stops the simulation at a moment of the scenario (the orders received up
to it, each as far as it had got by then); ``shift_weeks`` moves every time written
(and the day in ``external_id``) by whole weeks, so weekdays keep their meaning: the
demo replays the outbreak with its peak this week (``cityline.sim.timeshift``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import islice

import numpy as np

from cityline.sim.catalogue import problems
from cityline.sim.context import Context, build_context
from cityline.sim.draws import DayCore, DayDraws, day_core, day_draws
from cityline.sim.foreign import compose_foreign, foreign_kit
from cityline.sim.outcomes import Outcomes, simulate_outcomes
from cityline.sim.places import addresses
from cityline.sim.plan import day_rng
from cityline.sim.routing import Lookups, build_lookups, unit_speeds, units, wrong_units
from cityline.sim.texts import GROUPS, KINDS, STYLES, assemble_texts, objects

COLUMNS = (
    "external_id", "received_at", "channel", "text", "address", "caller_phone", "language",
    "kind", "category", "urgency", "special_groups", "district", "street", "unit",
    "dispatched_at", "replied_at", "closed_at", "satisfaction",
)
ROW_KEYS = (*COLUMNS, "returned", "returned_from")
PHONE_PREFIXES = ("1380000", "1390000", "1370000", "1500000", "1860000", "1880000")
NO_PHONE_SHARE = 0.03


def generate(
    scenario: str = "2020",
    scale: float = 1.0,
    seed: int = 1,
    start: date | None = None,
    end: date | None = None,
    *,
    until: datetime | None = None,
    shift_weeks: int = 0,
) -> Iterator[dict]:
    """Yield one dict per order, day by day, in time order (see the module doc)."""
    ctx = build_context(scenario, scale, seed, start, end, until)
    lookup = build_lookups(ctx)
    for row in range(len(ctx.plan.days)):
        yield from day_rows(ctx, lookup, row, shift_weeks)


def day_rows(ctx: Context, lookup: Lookups, row: int, shift_weeks: int = 0) -> Iterator[dict]:
    """The orders of the plan's ``row``-th day received up to the simulated moment."""
    day = ctx.plan.days[row]
    core = day_core(ctx, row)
    if not len(core.problem):
        return
    draws = day_draws(ctx, row, core)
    received = day.toordinal() * 86400 + core.seconds
    outcome = simulate_outcomes(
        day_rng(ctx.plan.seed, ctx.spec.name, day, "outcomes"),
        received, draws.urgency, draws.direct, draws.kind == KINDS.index("complaint"),
        unit_speeds(ctx, core.problem, draws.street), float(ctx.load[row]), ctx.now,
    )
    received_by_now = int(np.searchsorted(received, ctx.now, side="right"))  # received is ascending
    yield from islice(_rows(ctx, lookup, day, core, draws, outcome, received, shift_weeks), received_by_now)


def _rows(ctx: Context, lookup: Lookups, day: date, core: DayCore, draws: DayDraws,
          outcome: Outcomes, received: np.ndarray, shift_weeks: int) -> Iterator[dict]:
    n = len(core.problem)
    placed = draws.street >= 0
    street = np.maximum(draws.street, 0)
    owner = np.where(placed, ctx.streets.district_of[street], -1)
    address, place = addresses(draws.street, draws.place_pick, draws.style == STYLES.index("operator"))
    texts = assemble_texts(core.problem, draws.kind, draws.urgency == 0, draws.groups, draws.style,
                           draws.dialect, draws.typo, draws.text_random, place)
    _foreign_texts(ctx, core, draws, owner, texts)
    languages = lookup.languages[draws.language + 1].tolist()
    group_sets = _group_sets()
    prefix = f"S{ctx.spec.name}-{day + timedelta(weeks=shift_weeks):%Y%m%d}-"
    shift = shift_weeks * 7 * 86400
    columns = zip(
        _external_ids(prefix, n),
        stamps(received, shift),
        lookup.channels[draws.channel].tolist(),
        texts.tolist(),
        address.tolist(),
        caller_phones(draws.place_pick[:, 3]),
        languages,
        lookup.kinds[draws.kind].tolist(),
        lookup.categories[core.problem].tolist(),
        lookup.urgencies[draws.urgency].tolist(),
        draws.groups.tolist(),
        np.where(placed, lookup.districts[owner], None).tolist(),
        np.where(placed, lookup.streets[street], None).tolist(),
        units(ctx, lookup, core.problem, draws.street, owner, draws.direct).tolist(),
        stamps(outcome.dispatched, shift),
        stamps(outcome.replied, shift),
        stamps(outcome.closed, shift),
        lookup.satisfaction[outcome.satisfaction + 1].tolist(),
        outcome.returned.tolist(),
        wrong_units(ctx, lookup, core.problem, draws.street, owner, draws.wrong_pick,
                    outcome.returned).tolist(),
        strict=True,
    )
    for (external_id, received_at, channel, text, address_text, phone, language, kind,
         category, urgency, groups, district, street_name, unit, dispatched_at, replied_at,
         closed_at, satisfaction, returned, returned_from) in columns:
        yield {
            "external_id": external_id,
            "received_at": received_at,
            "channel": channel,
            "text": text,
            "address": address_text,
            "caller_phone": phone,
            "language": language,
            "kind": kind,
            "category": category,
            "urgency": urgency,
            "special_groups": ["foreigner"] if language != "zh" else list(group_sets[groups]),
            "district": district,
            "street": street_name,
            "unit": unit,
            "dispatched_at": dispatched_at,
            "replied_at": replied_at,
            "closed_at": closed_at,
            "satisfaction": satisfaction,
            "returned": returned,
            "returned_from": returned_from,
        }


def _foreign_texts(ctx: Context, core: DayCore, draws: DayDraws, owner: np.ndarray,
                   texts: np.ndarray) -> None:
    """Replace the texts of foreign-language callers by their own words."""
    catalogue = problems()
    languages = foreign_kit().languages
    for row in np.flatnonzero(draws.language >= 0).tolist():
        district = int(owner[row])
        english = ctx.streets.district_en[district] if district >= 0 else ""
        texts[row] = compose_foreign(catalogue[core.problem[row]].id,
                                     languages[draws.language[row]], english,
                                     draws.text_random[row].tolist())


def caller_phones(numbers: np.ndarray) -> list[str | None]:
    """Fake callers: a few prefixes and four digits, so some numbers call again."""
    prefixes = objects(PHONE_PREFIXES)
    phone = prefixes[numbers % len(prefixes)] + _digits()[numbers // 7 % 10000]
    return np.where(numbers % 1000 < NO_PHONE_SHARE * 1000, None, phone).tolist()


@lru_cache(maxsize=1)
def _group_sets() -> tuple[tuple[str, ...], ...]:
    """Bit mask over GROUPS -> the group codes it holds."""
    return tuple(
        tuple(g for bit, g in enumerate(GROUPS) if mask >> bit & 1)
        for mask in range(1 << len(GROUPS))
    )


@lru_cache(maxsize=1)
def _clock() -> np.ndarray:
    return objects([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(86400)])


@lru_cache(maxsize=1)
def _digits() -> np.ndarray:
    return objects([f"{i:04d}" for i in range(10000)])


@lru_cache(maxsize=8)
def _sequence_numbers(size: int) -> np.ndarray:
    return objects([f"{i:06d}" for i in range(1, size + 1)])


def _external_ids(prefix: str, n: int) -> list[str]:
    size = max(1024, 1 << (n - 1).bit_length())  # a few cached sizes serve every day
    return (prefix + _sequence_numbers(size)[:n]).tolist()


def stamps(seconds: np.ndarray, shift: int = 0) -> list[str | None]:
    """Local seconds since 0001-01-01, moved by ``shift`` seconds, as ISO 8601 with the
    Shanghai offset (-1: None)."""
    known = seconds >= 0
    if not known.any():
        return [None] * len(seconds)
    seconds = np.where(known, seconds + shift, -1)
    days, rest = np.divmod(np.where(known, seconds, seconds.max()), 86400)
    first, last = int(days.min()), int(days.max())
    prefixes = objects([date.fromordinal(d).isoformat() for d in range(first, last + 1)])
    text = prefixes[days - first] + _clock()[rest]
    return np.where(known, text, None).tolist()

"""One day's orders as arrays: which problem, when, who, where, how.

All random choices of a day are drawn here in bulk, from streams seeded by
(seed, scenario, day, purpose). The problem and time of each order come from their
own stream, so the simulator's truth (which order belongs to which problem) can be
recomputed without assembling any text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityline.sim.calendar import hourly_probabilities
from cityline.sim.context import GROUPS, PLACE_RATE, Context
from cityline.sim.foreign import foreign_kit
from cityline.sim.plan import day_rng
from cityline.sim.texts import RANDOM_COLUMNS, STYLES

CHANNEL_TIPOFF_SHARE = 0.25  # of tip-offs (kind "report") sent through the tip-off channel
DIALECT_SHARE = 0.07  # of callers speaking in their own words
TYPO_SHARE = 0.04
# Styles by channel: phone calls are written up by operators or taken down as said;
# web, app, WeChat and e-mail are typed by the caller.
PHONE_STYLES = {"short": 0.1, "operator": 0.55, "caller": 0.29, "long": 0.06}
WRITTEN_STYLES = {"short": 0.12, "written": 0.88}
LONG_KINDS = (1, 2)  # help, complaint: the kinds that turn into long complaints


@dataclass(frozen=True)
class DayCore:
    problem: np.ndarray  # problem index per order, in time order
    seconds: np.ndarray  # seconds after local midnight, ascending


@dataclass(frozen=True)
class DayDraws:
    kind: np.ndarray
    urgency: np.ndarray
    groups: np.ndarray  # bit mask over GROUPS
    language: np.ndarray  # -1: Chinese; else index into the foreign languages
    street: np.ndarray  # street index, -1 when the order has no place
    channel: np.ndarray  # index into the scenario's channels
    style: np.ndarray  # index into texts.STYLES
    dialect: np.ndarray
    typo: np.ndarray
    direct: np.ndarray
    wrong_pick: np.ndarray  # random integers to choose a wrong unit for misroutes
    place_pick: np.ndarray  # random integers for address and place phrase choices
    text_random: np.ndarray  # orders x RANDOM_COLUMNS non-negative integers


def day_core(ctx: Context, row: int) -> DayCore:
    counts = ctx.plan.counts[row]
    rng = day_rng(ctx.plan.seed, ctx.spec.name, ctx.plan.days[row], "orders")
    problem = np.repeat(np.arange(len(counts)), counts)
    n = len(problem)
    hours = rng.choice(24, size=n, p=hourly_probabilities())
    seconds = hours * 3600 + rng.integers(0, 3600, size=n)
    order = np.argsort(seconds, kind="stable")
    return DayCore(problem[order], seconds[order])


def day_draws(ctx: Context, row: int, core: DayCore) -> DayDraws:
    rng = day_rng(ctx.plan.seed, ctx.spec.name, ctx.plan.days[row], "attributes")
    p = core.problem
    n = len(p)
    kind = _from_cdf(rng, ctx.kind_cdf[p])
    urgency = _from_cdf(rng, ctx.urgency_cdf[p])
    drawn = rng.random((n, len(GROUPS))) < ctx.group_chance[p]
    groups = drawn @ (1 << np.arange(len(GROUPS)))
    # an epidemic problem that touches a vulnerable person is more often urgent
    raise_it = (groups > 0) & ctx.epidemic[p] & (urgency == 1) & (rng.random(n) < 0.35)
    urgency = np.where(raise_it, 0, urgency)
    language = _languages(ctx, rng, p)
    groups = np.where(language >= 0, 0, groups)
    street = _streets(ctx, rng, p, ctx.plan.days[row].toordinal())
    channel = _channels(ctx, rng, kind)
    style = _styles(ctx, rng, channel, kind)
    direct = (kind == 0) & (rng.random(n) < ctx.answerable[p])
    caller_style = (style == STYLES.index("caller")) | (style == STYLES.index("long"))
    return DayDraws(
        kind=kind,
        urgency=urgency,
        groups=groups,
        language=language,
        street=street,
        channel=channel,
        style=style,
        dialect=caller_style & (rng.random(n) < DIALECT_SHARE),
        typo=rng.random(n) < TYPO_SHARE,
        direct=direct,
        wrong_pick=rng.integers(0, 2**31, size=n),
        place_pick=rng.integers(0, 2**31, size=(n, 4)),
        text_random=rng.integers(0, 2**31, size=(n, RANDOM_COLUMNS)),
    )


def _from_cdf(rng: np.random.Generator, cdf: np.ndarray) -> np.ndarray:
    u = rng.random(len(cdf))
    return np.minimum((u[:, None] > cdf).sum(axis=1), cdf.shape[1] - 1)


def _languages(ctx: Context, rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    kit = foreign_kit()
    shares = np.asarray(kit.language_shares) / sum(kit.language_shares)
    foreign = ctx.foreign_topic[p] & (rng.random(len(p)) < ctx.spec.foreign_share)
    picked = rng.choice(len(shares), size=len(p), p=shares)
    return np.where(foreign, picked, -1)


def _streets(ctx: Context, rng: np.random.Generator, p: np.ndarray, day: int) -> np.ndarray:
    n = len(p)
    table = ctx.streets
    street = rng.choice(len(table.streets), size=n, p=table.probabilities)
    has_place = rng.random(n) < PLACE_RATE[ctx.scope[p]]
    concentrate = rng.random(n)
    for problem, (start, chosen, share) in ctx.signals.items():
        hit = (p == problem) & (day >= start) & (concentrate < share)
        street = np.where(hit, chosen[rng.integers(0, len(chosen), size=n)], street)
        has_place |= hit
    return np.where(has_place, street, -1)


def _channels(ctx: Context, rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    names = list(ctx.spec.channels)
    shares = np.asarray(list(ctx.spec.channels.values()))
    channel = rng.choice(len(names), size=len(kind), p=shares / shares.sum())
    tipoff = (kind == 3) & (rng.random(len(kind)) < CHANNEL_TIPOFF_SHARE)
    return np.where(tipoff, len(names), channel)  # len(names) stands for "tipoff"


def _styles(ctx: Context, rng: np.random.Generator, channel: np.ndarray,
            kind: np.ndarray) -> np.ndarray:
    n = len(channel)
    phone = channel == list(ctx.spec.channels).index("phone")
    by_phone = _choose(rng, PHONE_STYLES, n)
    written = _choose(rng, WRITTEN_STYLES, n)
    style = np.where(phone, by_phone, written)
    style = np.where(channel == len(ctx.spec.channels), STYLES.index("operator"), style)
    too_long = (style == STYLES.index("long")) & ~np.isin(kind, LONG_KINDS)
    return np.where(too_long, STYLES.index("caller"), style)


def _choose(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    codes = np.array([STYLES.index(s) for s in shares])
    weights = np.asarray(list(shares.values()))
    return codes[rng.choice(len(codes), size=n, p=weights / weights.sum())]

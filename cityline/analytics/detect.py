"""Early warning on daily counts: EARS C1/C2/C3, ESSENCE regression and EWMA. Pure.

Every function takes a matrix of daily counts (one row a series — a category in
a district, or the orders using a term — one column a day, oldest first) and
returns, for every day, what the series was expected to be and how surprising
the day was. Nothing here knows about orders; ``emerging.py`` decides what to
count and which alarms become emerging issues.

Methods (all one-sided: only rises matter):

- **EARS C1** (CDC's Early Aberration Reporting System; Hutwagner et al., 2003,
  *J Urban Health* 80:i89): the baseline is the 7 days before today; the statistic
  is (y − mean) / sd; alarm above 3.
- **EARS C2**: the same with a 2-day guard band (baseline days t−9 … t−3), so a
  rise that began yesterday does not hide inside its own baseline.
- **EARS C3**: the sum of the C2 excesses over 1 on today and the two days
  before (max(0, C2 − 1)); alarm above 2. Catches a rise that stays moderate for
  several days.
- **ESSENCE regression** (Burkom, 2003; the CDC/JHU-APL ESSENCE system, ported to
  Python in CDC's ``pynssp``): ordinary least squares on a 28-day baseline with a
  2-day guard band, with a linear trend and day-of-week terms (the hotline is
  quieter at weekends). The statistic is the studentised prediction error, alarm
  above the one-sided Student t quantile for p < 0.01 (df = 28 − 8 = 20).
  As in ESSENCE, where the model explains the baseline poorly (adjusted R² < 0.6)
  the EWMA statistic is used instead.
- **EWMA** (Hunter, 1986; ESSENCE's variant): exponentially weighted moving
  average with smoothing 0.4, against the mean and sd of the 28-day baseline
  with the 2-day guard; alarm above 3 sd of the smoothed value.
- **Kleinberg bursts** (Kleinberg, 2002, *Bursty and hierarchical structure in
  streams*): a two-state automaton over the share of a series in each day's
  total, solved exactly by dynamic programming (:func:`kleinberg_bursts`); used to
  tell when a burst of a term began.

Small counts: at the demo's scale a new problem is a handful of orders a day and
a quiet series has a standard deviation of zero. So every spread has a Poisson
floor, sqrt(max(expected, RATE_FLOOR)): a count can never be more regular than
chance. ``poisson_surprise`` gives −log10 of the exact Poisson tail P(Y ≥ y),
used as the comparable score of an alarm and, with a minimum count, as the guard
against the many series tested every day (``emerging.py``).

Published comparisons (Watkins et al., 2008; Wang et al., 2009) found C1–C3
sensitive only to large signals on day one, EWMA faster on gradual rises; our
own measurements on injected signals are in ``tests/analytics/measure_detection.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RATE_FLOOR = 0.5  # orders a day below which a baseline is not trusted to be that quiet
GUARD = 2  # days between the baseline and today (C2, C3, regression, EWMA)
SHORT_BASELINE = 7  # EARS
LONG_BASELINE = 28  # ESSENCE regression and EWMA
EWMA_SMOOTHING = 0.4
MIN_ADJUSTED_R2 = 0.6
T_CRITICAL_P01_DF20 = 2.528  # one-sided Student t, p = 0.01, 20 degrees of freedom
THRESHOLDS = {"C1": 3.0, "C2": 3.0, "C3": 2.0, "REGRESSION": T_CRITICAL_P01_DF20, "EWMA": 3.0}
METHODS = tuple(THRESHOLDS)


@dataclass(frozen=True)
class Detection:
    """Per series and day: the expected count and the method's statistic (NaN without history)."""

    method: str
    expected: np.ndarray
    statistic: np.ndarray

    @property
    def threshold(self) -> float:
        return THRESHOLDS[self.method]

    def alarms(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(self.statistic, nan=-np.inf) > self.threshold


def poisson_floor(expected: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(expected, RATE_FLOOR))


def _windows(counts: np.ndarray, length: int, guard: int) -> tuple[np.ndarray, np.ndarray]:
    """For each day t ≥ length + guard: the baseline days [t−guard−length, t−guard) as a 3-D view."""
    series, days = counts.shape
    first = length + guard
    if days <= first - 1:
        return np.empty((series, 0, length)), np.arange(0)
    view = np.lib.stride_tricks.sliding_window_view(counts, length, axis=1)
    targets = np.arange(first, days)
    return view[:, targets - guard - length, :], targets


def ears(counts: np.ndarray, method: str = "C2") -> Detection:
    """EARS C1, C2 or C3 for every series and day."""
    counts = np.asarray(counts, dtype=np.float64)
    if method == "C3":
        c2 = ears(counts, "C2")
        excess = np.nan_to_num(np.maximum(c2.statistic - 1.0, 0.0), nan=0.0)
        total = excess + np.roll(excess, 1, axis=1) + np.roll(excess, 2, axis=1)
        statistic = np.full(counts.shape, np.nan)
        statistic[:, 2:] = total[:, 2:]
        statistic[np.isnan(c2.statistic)] = np.nan
        return Detection("C3", c2.expected, statistic)
    guard = {"C1": 0, "C2": GUARD}[method]
    baseline, targets = _windows(counts, SHORT_BASELINE, guard)
    expected = np.full(counts.shape, np.nan)
    statistic = np.full(counts.shape, np.nan)
    if len(targets):
        mean = baseline.mean(axis=2)
        spread = np.maximum(baseline.std(axis=2, ddof=1), poisson_floor(mean))
        expected[:, targets] = mean
        statistic[:, targets] = (counts[:, targets] - mean) / spread
    return Detection(method, expected, statistic)


def ewma(counts: np.ndarray, smoothing: float = EWMA_SMOOTHING) -> Detection:
    """The smoothed count against its 28-day baseline (2-day guard)."""
    counts = np.asarray(counts, dtype=np.float64)
    smoothed = np.empty_like(counts)
    if counts.shape[1]:
        smoothed[:, 0] = counts[:, 0]
    for day in range(1, counts.shape[1]):
        smoothed[:, day] = smoothing * counts[:, day] + (1 - smoothing) * smoothed[:, day - 1]
    baseline, targets = _windows(counts, LONG_BASELINE, GUARD)
    expected = np.full(counts.shape, np.nan)
    statistic = np.full(counts.shape, np.nan)
    if len(targets):
        mean = baseline.mean(axis=2)
        spread = np.maximum(baseline.std(axis=2, ddof=1), poisson_floor(mean))
        scale = spread * math.sqrt(smoothing / (2 - smoothing))
        expected[:, targets] = mean
        statistic[:, targets] = (smoothed[:, targets] - mean) / scale
    return Detection("EWMA", expected, statistic)


def regression(counts: np.ndarray, weekdays: np.ndarray) -> Detection:
    """ESSENCE-style regression (trend + day of week) with the EWMA fallback.

    ``weekdays`` gives the day of week (0 = Monday) of every column.
    """
    counts = np.asarray(counts, dtype=np.float64)
    baseline, targets = _windows(counts, LONG_BASELINE, GUARD)
    expected = np.full(counts.shape, np.nan)
    statistic = np.full(counts.shape, np.nan)
    fallback = ewma(counts)
    for position, target in enumerate(targets):
        days = np.arange(target - GUARD - LONG_BASELINE, target - GUARD)
        design = _design(days, weekdays[days], target - GUARD - LONG_BASELINE)
        fit_x, today_x = design[:-1], design[-1]
        y = baseline[:, position, :]  # series x 28
        inverse = np.linalg.pinv(fit_x.T @ fit_x)
        beta = y @ (fit_x @ inverse)  # series x parameters
        residual = y - beta @ fit_x.T
        dof = LONG_BASELINE - fit_x.shape[1]
        variance = (residual ** 2).sum(axis=1) / dof
        predicted = np.maximum(beta @ today_x, 0.0)
        spread = np.maximum(np.sqrt(variance * (1 + today_x @ inverse @ today_x)),
                            poisson_floor(predicted))
        stat = (counts[:, target] - predicted) / spread
        poor = _adjusted_r2(y, residual, fit_x.shape[1]) < MIN_ADJUSTED_R2
        expected[:, target] = np.where(poor, fallback.expected[:, target], predicted)
        statistic[:, target] = np.where(poor, fallback.statistic[:, target] * (
            T_CRITICAL_P01_DF20 / THRESHOLDS["EWMA"]), stat)
    return Detection("REGRESSION", expected, statistic)


def _design(days: np.ndarray, weekday: np.ndarray, origin: int) -> np.ndarray:
    """Intercept, trend, and six day-of-week indicators (Monday is the reference), for the
    28 baseline days and, last, today (after the two guard days)."""
    today = days[-1] + GUARD + 1
    all_days = np.append(days, today)
    all_weekdays = np.append(weekday, (weekday[-1] + GUARD + 1) % 7)
    columns = [np.ones(len(all_days)), (all_days - origin) / LONG_BASELINE]
    columns += [(all_weekdays == d).astype(float) for d in range(1, 7)]
    return np.stack(columns, axis=1)


def _adjusted_r2(y: np.ndarray, residual: np.ndarray, parameters: int) -> np.ndarray:
    n = y.shape[1]
    total = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    explained = 1 - (residual ** 2).sum(axis=1) / np.where(total > 0, total, 1.0)
    adjusted = 1 - (1 - explained) * (n - 1) / (n - parameters)
    return np.where(total > 0, adjusted, 0.0)


def detect(counts: np.ndarray, method: str, weekdays: np.ndarray | None = None) -> Detection:
    """One method by name (see METHODS)."""
    if method in ("C1", "C2", "C3"):
        return ears(counts, method)
    if method == "EWMA":
        return ewma(counts)
    if method == "REGRESSION":
        if weekdays is None:
            raise ValueError("the regression needs the day of week of every column")
        return regression(counts, weekdays)
    raise ValueError(f"unknown detection method {method!r}; known: {', '.join(METHODS)}")


def poisson_surprise(observed: np.ndarray, expected: np.ndarray, floor: float = RATE_FLOOR) -> np.ndarray:
    """−log10 P(Y ≥ observed) for Y ~ Poisson(max(expected, floor)); 0 when observed ≤ 0
    or the expectation is unknown (infinite)."""
    observed = np.round(np.asarray(observed, dtype=np.float64)).astype(np.int64)
    rate = np.maximum(np.nan_to_num(np.asarray(expected, dtype=np.float64), nan=np.inf, posinf=np.inf),
                      floor)
    result = np.zeros(observed.shape)
    for index in zip(*np.nonzero((observed > 0) & np.isfinite(rate) & (rate > 0)), strict=True):
        result[index] = -math.log10(max(_poisson_upper_tail(int(observed[index]), float(rate[index])),
                                        1e-300))
    return result


def _poisson_upper_tail(k: int, rate: float) -> float:
    """P(Y ≥ k) for Y ~ Poisson(rate), summed in log space from k upwards (stable for big k)."""
    log_term = -rate + k * math.log(rate) - math.lgamma(k + 1)
    total, term = 0.0, log_term
    for step in range(k, k + 1000):
        total += math.exp(term)
        term += math.log(rate) - math.log(step + 1)
        if term < log_term - 40:
            break
    return min(total, 1.0)


def change_point(series: np.ndarray, expected: float, slack: float) -> int:
    """Where the current rise began: the day after the CUSUM of (y − expected − slack) was last 0.

    Returns an index into ``series`` (the last index when today alone is high).
    """
    level = 0.0
    start = len(series) - 1
    for day, value in enumerate(series):
        level = max(0.0, level + value - expected - slack)
        if level == 0.0:
            start = day + 1
    return min(start, len(series) - 1)


def kleinberg_bursts(hits: np.ndarray, totals: np.ndarray, ratio: float = 3.0,
                     cost: float = 1.0) -> np.ndarray:
    """Kleinberg's two-state burst automaton over daily shares; True on burst days.

    State 0 emits at the series' overall share p0, state 1 at ``ratio`` × p0; entering
    the burst state costs ``cost`` × ln(days). The cheapest state sequence (Viterbi)
    marks the burst days.
    """
    hits = np.asarray(hits, dtype=np.float64)
    totals = np.maximum(np.asarray(totals, dtype=np.float64), hits)
    if not len(hits) or hits.sum() == 0:
        return np.zeros(len(hits), dtype=bool)
    p0 = hits.sum() / max(totals.sum(), 1.0)
    rates = np.clip(np.array([p0, ratio * p0]), 1e-9, 1 - 1e-9)  # a term in every order is no burst
    emit = -(hits[:, None] * np.log(rates) + (totals - hits)[:, None] * np.log(1 - rates))
    enter = cost * math.log(max(len(hits), 2))
    best = emit[0] + np.array([0.0, enter])
    back = np.zeros((len(hits), 2), dtype=int)
    for day in range(1, len(hits)):
        stay0, from1 = best[0], best[1]
        to1 = min(best[0] + enter, best[1])
        back[day] = [0 if stay0 <= from1 else 1, 0 if best[0] + enter < best[1] else 1]
        best = np.array([min(stay0, from1), to1]) + emit[day]
    state = int(np.argmin(best))
    path = np.zeros(len(hits), dtype=bool)
    for day in range(len(hits) - 1, -1, -1):
        path[day] = state == 1
        state = back[day, state]
    return path

"""What happens to an order after the call: dispatch, reply, return visit, satisfaction.

Pure array arithmetic (numpy): values in, values out. Times are whole seconds on a
local (Asia/Shanghai) clock counted from 0001-01-01, so a day's start is its
ordinal times 86,400. Delays are log-normal around medians a hotline would
recognise, grow when the line is overloaded, and depend on the unit (some units are
slower than others); a few orders go to the wrong unit first and come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTE, HOUR, DAY = 60, 3600, 86400
URGENCIES = ("urgent", "sub_urgent", "normal")
SATISFACTION = ("satisfied", "basic", "unsatisfied")
# Deadlines the hotline holds units to: urgent within 2 hours, others within 2 days.
DEADLINE = np.array([2 * HOUR, 2 * DAY, 2 * DAY])

# Median minutes and spread (sigma of the log) by urgency: urgent, sub-urgent, normal.
DISPATCH_MEDIAN = np.array([4.0, 12.0, 25.0])
DISPATCH_SIGMA = np.array([0.6, 0.7, 0.8])
HANDLING_MEDIAN = np.array([55.0, 10 * 60.0, 18 * 60.0])
HANDLING_SIGMA = np.array([0.75, 0.8, 0.85])
RETURN_VISIT_MEDIAN = 5 * 60.0
MISROUTE_RATE = 0.04
STUCK_RATE = 0.02  # orders that sit with a unit many times longer than usual


@dataclass(frozen=True)
class Outcomes:
    dispatched: np.ndarray  # seconds, -1 when not dispatched (yet)
    replied: np.ndarray  # seconds, -1 when not replied (yet)
    closed: np.ndarray  # seconds, -1 when still open
    satisfaction: np.ndarray  # index into SATISFACTION, -1 when none
    returned: np.ndarray  # bool: sent to a wrong unit first, which returned it
    direct: np.ndarray  # bool: answered on the call, never dispatched
    overdue: np.ndarray  # bool: replied (or still open) past its deadline


def simulate_outcomes(rng: np.random.Generator, received: np.ndarray, urgency: np.ndarray,
                      direct: np.ndarray, complaint: np.ndarray, unit_speed: np.ndarray,
                      load: float, now: int) -> Outcomes:
    """Outcomes of one day's orders.

    ``urgency`` holds indexes into :data:`URGENCIES`; ``direct`` marks consultations
    answered on the call; ``unit_speed`` multiplies each order's handling time;
    ``load`` is the day's traffic over its ordinary level (1 = an ordinary day);
    ``now`` is the end of the simulated period: anything later has not happened yet.
    """
    n = len(received)
    surge = 1.0 + 0.35 * np.log(max(load, 1.0))
    misroute = rng.random(n) < MISROUTE_RATE * (1 + 0.5 * (surge - 1))
    returned = misroute & ~direct
    dispatch = _lognormal(rng, DISPATCH_MEDIAN[urgency] * surge, DISPATCH_SIGMA[urgency])
    redispatch = np.where(returned, _lognormal(rng, np.full(n, 6 * 60.0), 0.8), 0.0)
    stuck = np.where(rng.random(n) < STUCK_RATE, 8.0, 1.0)
    handling = _lognormal(rng, HANDLING_MEDIAN[urgency] * unit_speed * stuck, HANDLING_SIGMA[urgency])
    visit = np.maximum(_lognormal(rng, np.full(n, RETURN_VISIT_MEDIAN), 1.0), 10.0)
    on_call = rng.uniform(2, 12, n)

    dispatched = received + dispatch * MINUTE
    replied = dispatched + (redispatch + handling) * MINUTE
    closed = replied + visit * MINUTE
    answered = received + on_call * MINUTE
    # answered on the call: closed at intake, never dispatched, no unit reply
    dispatched = np.where(direct, -1, dispatched)
    replied = np.where(direct, -1, replied)
    closed = np.where(direct, answered, closed)

    overdue = ~direct & ((replied - received) > DEADLINE[urgency])  # replied is -1 when direct
    satisfaction = _satisfaction(rng, overdue, returned, complaint, direct)
    dispatched, replied, closed = (np.where(t > now, -1, t).astype(np.int64)
                                   for t in (dispatched, replied, closed))
    satisfaction = np.where(closed < 0, -1, satisfaction)
    return Outcomes(dispatched, replied, closed, satisfaction, returned, direct, overdue)


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma) -> np.ndarray:
    return median * np.exp(rng.standard_normal(len(median)) * sigma)


def _satisfaction(rng: np.random.Generator, overdue: np.ndarray, returned: np.ndarray,
                  complaint: np.ndarray, direct: np.ndarray) -> np.ndarray:
    """Return-visit verdicts: worse when late, bounced between units, or a complaint."""
    n = len(overdue)
    satisfied = np.full(n, 0.74)
    satisfied -= 0.26 * overdue + 0.12 * returned + 0.08 * complaint
    satisfied = np.where(direct, 0.86, satisfied)
    unsatisfied = 0.09 + 0.7 * (0.74 - satisfied) * (~direct)
    u = rng.random(n)
    verdict = np.where(u < satisfied, 0, np.where(u < 1 - unsatisfied, 1, 2))
    not_reached = rng.random(n) < 0.18  # the return visit found nobody
    return np.where(not_reached, -1, verdict)

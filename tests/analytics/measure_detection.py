"""Measure emerging-issue detection on the simulator: false alarms per quiet week, and
detection delay of the injected signals, for every detection method.

    .venv/bin/python -m tests.analytics.measure_detection --scale 0.02 --seeds 1,2,3

Quiet weeks are the seven weeks before the outbreak (2019-12-02 .. 2020-01-19). The
simulated city does change in them — the Spring Festival lifts wage and travel
topics from early January and the first epidemic calls trickle in — so an alarm
there counts as false only when the truth says its problem was not rising
(``truth.py``). The delay of a signal is the first day an emerging issue made
mostly of the signal's problem appears, minus the day the scenario starts it; a
signal missed in its first two weeks counts as missed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date, timedelta

from cityline.analytics.alarms import MIN_LONE_SURPRISE, MIN_RISE_SURPRISE, Rule
from cityline.analytics.dataset import Dataset
from cityline.analytics.detect import METHODS
from cityline.analytics.emerging import LOOKBACK, find_emerging
from cityline.analytics.queries import DAILY_TOTALS, Source, Window
from cityline.sim.scenarios import load_scenario
from tests.analytics.simdata import SimData, sim_export
from tests.analytics.truth import Truth

QUIET = (date(2019, 12, 2), date(2020, 1, 19))
HISTORY_FROM = date(2019, 10, 1)
UNTIL = date(2020, 2, 29)
SIGNAL_DAYS = 14


@dataclass
class Measured:
    method: str
    quiet_alarms: int = 0
    false_alarms: int = 0
    false_by_week: list[int] = field(default_factory=list)
    delays: dict[str, int | None] = field(default_factory=dict)

    @property
    def weeks(self) -> float:
        return ((QUIET[1] - QUIET[0]).days + 1) / 7


def build(scale: float, seed: int) -> SimData:
    """The simulated 2020 scenario from HISTORY_FROM to UNTIL as an analytics export, with its truth."""
    return sim_export(scale, seed, ((HISTORY_FROM, UNTIL),))


def issues_on(dataset: Dataset, day: date, rule: Rule):
    source = Source(dataset, Window(day - timedelta(days=LOOKBACK), day))
    try:
        received = {r[0]: r[1] for r in source.rows(DAILY_TOTALS, first=day - timedelta(days=LOOKBACK),
                                                     last=day)}
        return find_emerging(source, day, received, rule)
    finally:
        source.close()


def measure(data: SimData, method: str, rise: float = MIN_RISE_SURPRISE, lone: float = MIN_LONE_SURPRISE) -> Measured:
    dataset, truth = data.dataset, data.truth
    rule = Rule(method=method, min_rise_surprise=rise, min_lone_surprise=lone)
    result = Measured(method)
    day, week_false = QUIET[0], 0
    while day <= QUIET[1]:
        for issue in issues_on(dataset, day, rule):
            result.quiet_alarms += 1
            problem = truth.problem_of(issue.members)
            if problem is None or not truth.rising(problem, day):
                result.false_alarms += 1
                week_false += 1
        if (day - QUIET[0]).days % 7 == 6:
            result.false_by_week.append(week_false)
            week_false = 0
        day += timedelta(days=1)
    for signal in load_scenario("2020").signals:
        result.delays[signal.problem] = signal_delay(dataset, truth, signal.problem, signal.start, rule)
    return result


def signal_delay(dataset: Dataset, truth: Truth, problem: str, start: date, rule: Rule) -> int | None:
    for offset in range(SIGNAL_DAYS + 1):
        day = start + timedelta(days=offset)
        if any(truth.problem_of(i.members) == problem for i in issues_on(dataset, day, rule)):
            return offset
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--lone", type=float, default=MIN_LONE_SURPRISE,
                        help="the surprise at which one alarming term alone is an issue (inf: never)")
    parser.add_argument("--rise", type=float, default=MIN_RISE_SURPRISE,
                        help="the long-baseline surprise that alarms without the method (inf: never)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    for method in args.methods.split(","):
        for seed in seeds:
            found = measure(build(args.scale, seed), method, args.rise, args.lone)
            delays = ", ".join(f"{p}: {'missed' if d is None else f'{d} d'}" for p, d in found.delays.items())
            print(f"{method:10s} rise {args.rise} lone {args.lone} scale {args.scale} seed {seed}: quiet alarms {found.quiet_alarms} "
                  f"({found.quiet_alarms / found.weeks:.2f}/week), false {found.false_alarms} "
                  f"({found.false_alarms / found.weeks:.2f}/week, worst week {max(found.false_by_week)}); "
                  f"delays {delays}", flush=True)


if __name__ == "__main__":
    main()

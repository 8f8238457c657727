"""How early the briefing flags new problems that outsiders wrote, injected into a background.

    .venv/bin/python -m tests.analytics.measure_outsider_signals SIGNALS.jsonl [--background sim|outsider]

``SIGNALS.jsonl``: one call a line, ``{"signal": "S1", "seq": 1, "text": "…", "address": "…" or null,
"channel": "phone"}``, each signal's calls numbered in the order they arrive. Written by people
who never saw cityline (``outsider_signals/README.md``): the briefing's emerging issues were
measured only on the simulator's own signals before.

Each signal's calls arrive over ten days from its start (1, 2, 2, 3, 4, 5, 6, 7, 7, 8 a day;
more calls than that are dropped, fewer end it sooner), the signals' starts two days apart. A
call becomes an order as an import would make it: labels from the shipped triage model, the
place read from its address or text. The background is

* ``sim``: the simulator's 2020 scenario at ``--scale`` from 2019-10-01 to 2019-12-31, the
  signals starting on 2019-12-09 (the scenario's own problems start in 2020);
* ``outsider``: the retired outsiders' triage sets (``eval/fresh``, ~3,200 calls written by
  hand by five people), ``--per-day`` of them drawn at random for each of 70 days with their
  own labels, the signals starting on the 45th day: nothing in this background rises, so
  every emerging issue not made of a signal is a false alarm.

Printed: per signal, the first day an emerging issue is mostly its calls (the delay from its
start, and how many of its calls had arrived), and the title the briefing gave it; then
every other emerging issue from the first signal's start on (and, for ``outsider``, in the 14
days before it) — false alarms, or the simulator's own movements.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa

from cityline.analytics.alarms import MIN_LONE_SURPRISE, MIN_RISE_SURPRISE, Rule
from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.export import export_tables
from cityline.analytics.table import orders_from_rows
from cityline.intake.service import locate
from cityline.sim import generate, units_rows
from cityline.triage.service import default_triager

ROOT = Path(__file__).parents[2]
ARRIVALS = (1, 2, 2, 3, 4, 5, 6, 7, 7, 8)  # a signal's calls a day from its start
STAGGER = 2  # days between the signals' starts
SIM_HISTORY = (date(2019, 10, 1), date(2019, 12, 31))
SIM_START = date(2019, 12, 9)
OUTSIDER_DAYS = 70
OUTSIDER_START = 44  # the first signal's day, counted from the background's first day
FLAGGED_SHARE = 0.5  # an emerging issue is a signal's when at least half its orders are


@dataclass(frozen=True)
class Call:
    signal: str
    seq: int
    text: str
    address: str | None
    channel: str


def read_signals(path: Path) -> dict[str, list[Call]]:
    calls: dict[str, list[Call]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            call = Call(raw["signal"], int(raw["seq"]), raw["text"], raw.get("address") or None,
                        raw.get("channel") or "phone")
        except (ValueError, KeyError, TypeError) as wrong:
            raise SystemExit(f"{path}: line {n}: {wrong}") from wrong
        calls.setdefault(call.signal, []).append(call)
    return {s: sorted(c, key=lambda call: call.seq) for s, c in sorted(calls.items())}


def schedule(signals: dict[str, list[Call]], first: date) -> dict[str, list[tuple[date, Call]]]:
    """Each signal's calls with the day each arrives."""
    planned = {}
    for k, (signal, calls) in enumerate(signals.items()):
        days = [first + timedelta(days=k * STAGGER + d) for d, n in enumerate(ARRIVALS) for _ in range(n)]
        planned[signal] = list(zip(days, calls, strict=False))
    return planned


def signal_rows(planned: dict[str, list[tuple[date, Call]]], rng: random.Random) -> list[dict]:
    """The signals' calls as import rows, labelled and placed as an import labels and places them."""
    calls = [(day, call) for each in planned.values() for day, call in each]
    results = default_triager().classify_many([call.text for _, call in calls], None)
    rows = []
    for (day, call), result in zip(calls, results, strict=True):
        place = locate(call.address, call.text) or {}
        rows.append({
            "external_id": f"SIG-{call.signal}-{call.seq:02d}", "received_at": _moment(day, rng),
            "channel": call.channel, "text": call.text, "address": call.address,
            "kind": result.kind.value, "category": result.category.value, "urgency": result.urgency.value,
            "special_groups": list(result.special_groups), "language": result.language,
            "district": place.get("district"), "street": place.get("street")})
    return rows


def sim_background(scale: float, seed: int) -> list[dict]:
    return list(generate("2020", scale=scale, seed=seed, start=SIM_HISTORY[0], end=SIM_HISTORY[1]))


def outsider_background(first: date, per_day: int, rng: random.Random) -> list[dict]:
    """``per_day`` calls a day drawn from the retired outsiders' sets, with their own labels."""
    pool = [json.loads(line) for path in sorted((ROOT / "eval" / "fresh").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for d in range(OUTSIDER_DAYS):
        day = first + timedelta(days=d)
        for n in range(rng.randint(int(per_day * 0.8), int(per_day * 1.2))):
            item = rng.choice(pool)
            rows.append({
                "external_id": f"BG-{day:%Y%m%d}-{n:05d}", "received_at": _moment(day, rng), "channel": "phone",
                "text": item["text"], "kind": item["kind"], "category": item["category"],
                "urgency": item["urgency"], "special_groups": item.get("special_groups") or [],
                "language": item.get("language"), "district": item.get("district"), "street": item.get("street")})
    return rows


def _moment(day: date, rng: random.Random) -> str:
    return (datetime.combine(day, time(8)) + timedelta(seconds=rng.randrange(12 * 3600))).isoformat()


def export(rows: list[dict], folder: Path) -> Dataset:
    units = pa.Table.from_pylist([{k: u.get(k) for k in ("code", "name", "kind", "district", "street")}
                                  for u in units_rows()])
    export_tables(orders_from_rows(enumerate(rows, 1)), folder, units=units)
    return Dataset(folder)


def owner(members: set[str]) -> str | None:
    """The signal at least half an emerging issue's orders belong to."""
    signals = Counter(m.split("-")[1] for m in members if m.startswith("SIG-"))
    if not signals:
        return None
    signal, n = signals.most_common(1)[0]
    return signal if n >= FLAGGED_SHARE * len(members) else None


def measure(dataset: Dataset, planned: dict[str, list[tuple[date, Call]]], watch_from: date, rule: Rule) -> None:
    starts = {s: calls[0][0] for s, calls in planned.items()}
    last = max(day for calls in planned.values() for day, _ in calls)
    found: dict[str, tuple[date, str]] = {}
    others = []
    day = watch_from
    while day <= last:
        for issue in build_briefing(dataset, day, rule=rule).emerging:
            signal = owner(issue.members)
            if signal is None:
                others.append((day, issue))
            elif signal not in found:
                found[signal] = (day, issue.title)
        day += timedelta(days=1)
    flagged = 0
    for signal, start in starts.items():
        if signal in found:
            on, title = found[signal]
            arrived = sum(1 for d, _ in planned[signal] if d <= on)
            flagged += 1
            print(f"{signal}: starts {start}, flagged {on} (day {(on - start).days}, {arrived} calls so far): {title}")
        else:
            print(f"{signal}: starts {start}, not flagged in its {len(ARRIVALS)} days ({len(planned[signal])} calls)")
    print(f"flagged {flagged} of {len(starts)}; "
          f"mean delay {sum((found[s][0] - starts[s]).days for s in found) / max(flagged, 1):.1f} days")
    print(f"other emerging issues from {watch_from} to {last}: {len(others)}")
    for on, issue in others:
        print(f"  {on} {issue.count} orders: {issue.title} ({'、'.join(issue.keywords[:4])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("signals", type=Path)
    parser.add_argument("--background", choices=("sim", "outsider"), default="sim")
    parser.add_argument("--scale", type=float, default=0.1, help="of the simulator's scenario (sim)")
    parser.add_argument("--per-day", type=int, default=600, help="background calls a day (outsider)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lone", type=float, default=MIN_LONE_SURPRISE,
                        help="the surprise at which one alarming term alone is an issue (inf: never)")
    parser.add_argument("--rise", type=float, default=MIN_RISE_SURPRISE,
                        help="the long-baseline surprise that alarms without the method (inf: never)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    signals = read_signals(args.signals)
    if args.background == "sim":
        start = SIM_START
        background, watch_from = sim_background(args.scale, args.seed), SIM_START
    else:
        first = date(2022, 1, 1)
        start = first + timedelta(days=OUTSIDER_START)
        background, watch_from = outsider_background(first, args.per_day, rng), start - timedelta(days=14)
    planned = schedule(signals, start)
    rows = background + signal_rows(planned, rng)
    with tempfile.TemporaryDirectory() as folder:
        dataset = export(rows, Path(folder))
        print(f"{len(background):,} background orders ({args.background}), "
              f"{sum(len(c) for c in planned.values())} signal calls in {len(planned)} signals")
        measure(dataset, planned, watch_from, Rule(min_rise_surprise=args.rise, min_lone_surprise=args.lone))


if __name__ == "__main__":
    main()

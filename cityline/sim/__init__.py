"""Workload simulator: hotline orders for a city over a period, with its own truth.

Public entry points::

    from cityline.sim import generate, daily_plan, write_orders, write_truth
    rows = generate("2020", scale=0.05, seed=1)        # dicts in the import format
    write_orders(rows, "orders.jsonl")                  # or .csv
    write_truth("truth.json", "2020", scale=0.05, seed=1)
    daily_plan("2020").total(date(2020, 1, 27))         # calibration on counts
    write_epidemic("epidemic/", "2022", scale=0.05, seed=1)  # residents … risk areas (formats §6)

``units_rows()`` / ``write_units_csv(path)`` give the handling-unit tree the orders
are dispatched to. The command line is ``cityline sim generate`` (``cityline.sim.cli``).
"""

from cityline.sim.epidemic import write_epidemic
from cityline.sim.generate import COLUMNS, generate
from cityline.sim.plan import DailyPlan, daily_plan
from cityline.sim.scenarios import SCENARIOS
from cityline.sim.truth import read_truth_orders, write_truth
from cityline.sim.units import units_rows, write_units_csv
from cityline.sim.writers import write_orders

__all__ = [
    "COLUMNS",
    "SCENARIOS",
    "DailyPlan",
    "daily_plan",
    "generate",
    "read_truth_orders",
    "units_rows",
    "write_orders",
    "write_truth",
    "write_epidemic",
    "write_units_csv",
]

"""``cityline sim``: generate a simulated workload for demos, tests and benchmarks."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer

from cityline.sim.generate import generate as generate_orders
from cityline.sim.scenarios import SCENARIOS
from cityline.sim.truth import write_truth
from cityline.sim.units import write_units_csv
from cityline.sim.writers import write_orders

app = typer.Typer(help="Simulate hotline workloads (orders, units and the simulator's truth).",
                  no_args_is_help=True)


@app.callback()
def main() -> None:
    """Simulate hotline workloads."""


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


@app.command()
def generate(
    scenario: str = typer.Option("2020", help=f"Which outbreak: {', '.join(SCENARIOS)}."),
    scale: float = typer.Option(0.05, help="Share of the real volume (1.0 = calibrated size)."),
    seed: int = typer.Option(1, help="Same seed, same orders."),
    out: Path = typer.Option(Path("orders.jsonl"), help="Orders file: .jsonl or .csv."),
    truth: Path | None = typer.Option(None, help="Write the simulator's truth here (JSON)."),
    units: Path | None = typer.Option(None, help="Write the handling units here (CSV)."),
    start: str | None = typer.Option(None, help="First day (YYYY-MM-DD); default: scenario's."),
    end: str | None = typer.Option(None, help="Last day (YYYY-MM-DD); default: scenario's."),
) -> None:
    """Generate orders in the import format, and optionally the truth and the unit tree."""
    first, last = _day(start, "--start"), _day(end, "--end")
    began = time.perf_counter()
    try:
        count = write_orders(generate_orders(scenario, scale, seed, first, last), out)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    seconds = time.perf_counter() - began
    typer.echo(f"{count} orders -> {out} ({seconds:.1f} s, {count / max(seconds, 1e-9):,.0f}/s)")
    if truth is not None:
        mapping = write_truth(truth, scenario, scale, seed, first, last)
        typer.echo(f"truth -> {truth} (orders -> problems: {mapping})")
    if units is not None:
        typer.echo(f"{write_units_csv(units)} units -> {units}")

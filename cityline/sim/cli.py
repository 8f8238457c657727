"""``cityline sim``: generate a simulated workload for demos, tests and benchmarks."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer

from cityline.sim.epidemic import load_epidemic, write_epidemic
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
    epidemic: Path | None = typer.Option(None, help=(
        "Also write the scenario's epidemic data into this folder (2022 only): residents, tests, scans, "
        "trips, cases and risk areas for `cityline epidemic import`, the callers of these orders in "
        "the ledger.")),
) -> None:
    """Generate orders in the import format, and optionally the truth, the unit tree and the
    epidemic data."""
    first, last = _day(start, "--start"), _day(end, "--end")
    if epidemic is not None:
        try:
            load_epidemic(scenario)  # before the orders: say at once that the scenario has none
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--epidemic") from None
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
    if epidemic is not None:
        began = time.perf_counter()
        written = write_epidemic(epidemic, scenario, scale, seed, first, last)
        seconds = time.perf_counter() - began
        for kind, (path, rows) in written.items():
            typer.echo(f"{rows} {kind} -> {path}")
        typer.echo(f"epidemic data: {sum(rows for _, rows in written.values())} rows in {seconds:.1f} s; "
                   f"import them in this order with `cityline epidemic import KIND FILE`")

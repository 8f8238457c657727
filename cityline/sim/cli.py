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


@app.command()
def covasim(
    agents: int = typer.Option(20_000, min=10, help="covasim's population (pop_size)."),
    days: int = typer.Option(60, min=3, help="Days to simulate (day 0 = 2022-03-01)."),
    seed: int = typer.Option(1, help="covasim's rand_seed; same seed, same files."),
    out: Path = typer.Option(Path("covasim"), help="Folder for the §6 files and the truth."),
    report: bool = typer.Option(False, "--report", help=(
        "Import the files into a new database in OUT/cityline-db, trace every case's contacts and "
        "print precision, recall and the share of infections found.")),
    as_json: bool = typer.Option(False, "--json", help="With --report: the figures as one JSON object."),
) -> None:
    """Ground truth from covasim (pip install -e ".[covasim]"): its people, contact layers and
    infection log as residents, scans, trips and cases (formats §6), with the truth beside them."""
    import json

    from cityline.sim.covasim_bridge import bridge, run_covasim, write_bridge

    say = (lambda _: None) if as_json else typer.echo
    began = time.perf_counter()
    try:
        snap = run_covasim(agents, days, seed)
    except ModuleNotFoundError as error:
        if error.name != "covasim":
            raise
        raise typer.BadParameter('covasim is not installed: pip install -e ".[covasim]"') from None
    simulated = time.perf_counter() - began
    made = bridge(snap)
    for kind, (path, rows) in write_bridge(snap, made, out).items():
        say(f"{rows} {kind} -> {path}")
    say(f"covasim {snap.version}: {agents} agents x {days} days in {simulated:.1f} s; "
        f"{len(made.cases)} cases; truth -> {out / 'truth_edges.csv'}, {out / 'truth_infections.csv'}")
    if not report:
        return
    from cityline.sim.covasim_check import check

    found = check(made, out, say=say) | {"agents": agents, "days": days, "seed": seed,
                                         "covasim_seconds": round(simulated, 1)}
    if as_json:
        typer.echo(json.dumps(found))
        return
    typer.echo(f"{found['cases']} cases: precision {found['precision']:.4f} "
               f"({found['true_found']}/{found['contacts_found']}), recall {found['recall']:.4f} "
               f"({found['true_found']}/{found['contacts_true']}), infections found {found['infections_share']:.4f} "
               f"({found['infections_found']}/{found['infections']}); import {found['import_seconds']} s, "
               f"tracing {found['trace_seconds']} s")

"""`cityline triage …`: evaluate, train, list, activate and roll back triage models."""

from __future__ import annotations

import json
import random
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Triage: kind, category, urgency, special groups and language of orders.")
console = Console()


@app.command("eval")
def eval_command(
    file: Path = typer.Argument(..., help="Labelled JSON Lines file (formats.md §2)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    rules_only: bool = typer.Option(False, "--rules-only", help="The lexicon alone: no trained or shipped model."),
) -> None:
    """Report triage quality on a labelled file; texts are classified without their labels."""
    from cityline.triage.evaluation import evaluate, read_eval_file

    try:
        lines = read_eval_file(file)
    except ValueError as error:
        _fail(str(error))
    report = evaluate(lines, _triager(rules_only))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)


@app.command("train")
def train_command(
    holdout: float = typer.Option(0.1, help="Share of the centre's own records kept aside to measure the model."),
    file: Path | None = typer.Option(None, "--file", help="Train on a labelled JSON Lines file instead of the store."),
    seed: int = typer.Option(12345, help="Seed of the held-out draw."),
    without_history: bool = typer.Option(
        False, "--without-shipped", help="Learn from the store (or --file) alone, without the shipped seed history."
    ),
) -> None:
    """Train on the shipped seed history and the labelled orders in the store; make it the active model."""
    from cityline.db import default_sessionmaker, transaction
    from cityline.triage.history import read_records, shipped_records
    from cityline.triage.service import training_records

    if not 0.0 <= holdout < 1.0:
        _fail("--holdout must be at least 0 and below 1")
    factory = default_sessionmaker()
    if file is not None:
        try:
            own = read_records(file)
        except ValueError as error:
            _fail(str(error))
    else:
        with transaction(factory) as session:
            own = training_records(session)
    shipped = [] if without_history else list(shipped_records())
    if len(own) + len(shipped) < 20:
        _fail(f"only {len(own)} labelled orders to learn from; at least 20 are needed")
    # Only the centre's own, fully labelled orders are kept aside: they are what the model is for.
    shuffled = own[:]
    random.Random(seed).shuffle(shuffled)
    complete = [r for r in shuffled if r.kind and r.category and r.urgency]
    held_out = complete[: int(len(own) * holdout)]
    learn_from = shipped + [r for r in shuffled if not any(r is h for h in held_out)]
    console.print(
        f"training on {len(learn_from)} orders ({len(shipped)} shipped, {len(learn_from) - len(shipped)} "
        f"the centre's own), measuring on {len(held_out)} kept aside …",
        soft_wrap=True,
    )
    _train_and_save(factory, learn_from, held_out, len(shipped))


def _train_and_save(factory, learn_from: list, held_out: list, shipped: int) -> None:
    from cityline.db import transaction
    from cityline.triage.evaluation import evaluate
    from cityline.triage.model import train
    from cityline.triage.service import save_model

    model = train(learn_from)
    metrics = {"trained_on": len(learn_from), "shipped": shipped, "held_out": len(held_out)}
    if held_out:
        from cityline.triage.classifier import Triager

        candidate = Triager(model=model, model_version="new model")
        metrics.update(evaluate([_as_line(r) for r in held_out], candidate, places=False))
    with transaction(factory) as session:
        row = save_model(session, model, metrics)
        console.print(f"saved model-{row.version} (active)")
    if held_out:
        _print_report(metrics)


@app.command("crossval")
def crossval_command(
    folds: int = typer.Option(5, help="Number of folds."),
    seed: int = typer.Option(7, help="Seed of the random cut into folds."),
    file: Path | None = typer.Option(None, "--file", help="Labelled JSON Lines file instead of the shipped history."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Held-out quality of a trained model blended with the lexicon, by k-fold cross-validation."""
    from cityline.triage.crossval import cross_validate
    from cityline.triage.history import read_records, shipped_records

    try:
        records = read_records(file) if file is not None else list(shipped_records())
        report = cross_validate(records, folds, seed)
    except ValueError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)


@app.command("models")
def models_command() -> None:
    """List the stored model versions."""
    from cityline.db import default_sessionmaker, transaction
    from cityline.triage.service import list_versions

    with transaction(default_sessionmaker()) as session:
        rows = list_versions(session)
        table = Table("version", "created (UTC)", "trained on", "category macro-F1", "urgent recall", "active")
        for row in rows:
            metrics = row.metrics or {}
            table.add_row(
                f"model-{row.version}",
                row.created_at.strftime("%Y-%m-%d %H:%M"),
                str(row.trained_on),
                _number(metrics.get("category", {}).get("macro_f1")),
                _number(metrics.get("urgency", {}).get("per_label", {}).get("urgent", {}).get("recall")),
                "yes" if row.is_active else "",
            )
    if not rows:
        console.print(
            "no trained models yet: the model learnt from the shipped seed history is in use "
            "(run `cityline triage train`)"
        )
        return
    console.print(table)


@app.command("activate")
def activate_command(version: str = typer.Argument(..., help="Version number, e.g. 3 or model-3.")) -> None:
    """Make a stored version the active model."""
    from cityline.db import default_sessionmaker, transaction
    from cityline.triage.service import NoModelError, activate

    try:
        number = int(version.removeprefix("model-"))
    except ValueError:
        _fail(f"not a model version: {version!r} (expected e.g. 3 or model-3)")
    try:
        with transaction(default_sessionmaker()) as session:
            row = activate(session, number)
            console.print(f"model-{row.version} is now active")
    except NoModelError as error:
        _fail(str(error))


@app.command("rollback")
def rollback_command() -> None:
    """Go back to the version before the active one."""
    from cityline.db import default_sessionmaker, transaction
    from cityline.triage.service import NoModelError, rollback

    try:
        with transaction(default_sessionmaker()) as session:
            row = rollback(session)
            console.print(f"rolled back: model-{row.version} is now active")
    except NoModelError as error:
        _fail(str(error))


def _triager(rules_only: bool):
    from cityline.triage.classifier import Triager

    if rules_only:
        return Triager()
    from sqlalchemy.exc import SQLAlchemyError

    from cityline.db import default_sessionmaker, transaction
    from cityline.triage.service import active_triager, default_triager

    try:
        with transaction(default_sessionmaker()) as session:
            return active_triager(session)
    except SQLAlchemyError:
        # No database (or no model table yet): the model learnt from the shipped history answers.
        return default_triager()


def _as_line(record):
    from cityline.triage.evaluation import EvalLine

    return EvalLine(
        "", record.text, record.kind, record.category, record.urgency,
        list(record.special_groups or ()), record.language or "zh", None, None,
    )


def _print_report(report: dict) -> None:
    table = Table("field", "accuracy", "macro-F1", "notes")
    for name in ("category", "kind", "urgency"):
        part = report[name]
        note = ""
        if name == "urgency" and "urgent" in part["per_label"]:
            urgent = part["per_label"]["urgent"]
            note = f"urgent recall {urgent['recall']:.3f}, precision {urgent['precision']:.3f}"
        table.add_row(name, _number(part["accuracy"]), _number(part["macro_f1"]), note)
    groups = report["special_groups"]
    table.add_row("special groups", "", "", f"micro-F1 {groups['micro_f1']:.3f}")
    for name in ("language", "district", "street"):
        if name in report:
            table.add_row(name, _number(report[name]["accuracy"]), "", report[name].get("note", ""))
    console.print(f"{report.get('n', 0)} orders, model {report.get('model_version', '?')}, "
                  f"{report.get('texts_per_second', 0):.0f} texts/s")
    console.print(table)


def _number(value) -> str:
    return "" if value is None else f"{value:.3f}"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)

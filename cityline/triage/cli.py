"""`cityline triage …`: evaluate, train, list, activate and roll back triage models."""

from __future__ import annotations

import json
import random
import time
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
    holdout: float = typer.Option(
        0.1, help="Share of the centre's own records kept aside and reported on (the gate does not use them)."
    ),
    file: Path | None = typer.Option(None, "--file", help="Train on a labelled JSON Lines file instead of the store."),
    seed: int = typer.Option(12345, help="Seed of the draw of the centre's own records kept aside."),
    without_history: bool = typer.Option(
        False, "--without-shipped", help="Learn from the store (or --file) alone, without the shipped seed history."
    ),
    force: bool = typer.Option(
        False, "--force", help="Make the new model active even if it does worse than the active one."
    ),
) -> None:
    """Train on the shipped history and the store's labelled orders; the new model becomes active only if it
    does at least as well as the active one on the held-back orders (triage/README.md, "The gate")."""
    from cityline.db import transaction
    from cityline.runtime import sessions
    from cityline.triage import gate
    from cityline.triage.history import read_records, shipped_records
    from cityline.triage.service import training_records

    if not 0.0 <= holdout < 1.0:
        _fail("--holdout must be at least 0 and below 1")
    factory = sessions()
    if file is not None:
        try:
            own = read_records(file)
        except ValueError as error:
            _fail(str(error))
    else:
        with transaction(factory) as session:
            own = training_records(session)
    judge = gate.held_back(shipped_records())
    shipped = [] if without_history else gate.learnable(shipped_records(), judge)
    # The centre's own, fully labelled orders kept aside are reported on: they are what the model is for.
    shuffled = own[:]
    random.Random(seed).shuffle(shuffled)
    complete = [r for r in shuffled if r.kind and r.category and r.urgency]
    kept_aside = complete[: int(len(own) * holdout)]
    own_rest = [r for r in shuffled if not any(r is k for k in kept_aside)]
    own_learn = gate.learnable(own_rest, judge)
    if dropped := len(own_rest) - len(own_learn):
        console.print(f"left out {dropped} of the centre's own orders: their texts are among the held-back ones")
    if len(own_learn) + len(shipped) < 20:
        _fail(f"only {len(own_learn)} labelled orders to learn from; at least 20 are needed")
    console.print(
        f"training on {len(own_learn) + len(shipped)} orders ({len(shipped)} shipped, {len(own_learn)} the "
        f"centre's own), judging on {len(judge)} held-back guideline-labelled orders, reporting on "
        f"{len(kept_aside)} of the centre's own kept aside …",
        soft_wrap=True,
    )
    metrics = {"source": "cityline triage train", "shipped": len(shipped), "held_out": len(kept_aside)}
    outcome = gate.train_behind_gate(factory, [*shipped, *own_learn], judge, force=force, metrics=metrics,
                                     report_on=kept_aside)
    _print_gate(outcome)
    if outcome.report:
        console.print(f"model-{outcome.version} on the centre's own {len(kept_aside)} orders kept aside "
                      "(reported, not used by the gate):")
        _print_report(outcome.report)


def _print_gate(outcome) -> None:
    from cityline.triage.gate import FIGURES

    table = Table(f"on {outcome.judged_on} held-back orders", "new model", outcome.incumbent_name)
    for name, label in FIGURES:
        table.add_row(label, _number(getattr(outcome.candidate, name), 4),
                      _number(getattr(outcome.incumbent, name), 4))
    console.print(table)
    console.print(f"saved {outcome.summary()}", soft_wrap=True)
    if not outcome.active:
        console.print(f"`cityline triage activate {outcome.version}` (or training with --force) would use it anyway",
                      soft_wrap=True)


@app.command("retrain")
def retrain_command(
    once: bool = typer.Option(False, "--once", help="Run once and stop (for cron or a systemd timer)."),
    force: bool = typer.Option(False, "--force", help="Make the new model active even if the gate would not."),
) -> None:
    """Retrain on operators' corrections behind the gate, when there are corrections no model learnt from yet:
    once with --once, else every CITYLINE_TRIAGE_RETRAIN_HOURS."""
    from cityline.config import get_settings
    from cityline.runtime import sessions
    from cityline.triage.retrain import retrain

    hours = get_settings().triage_retrain_hours
    while True:
        result = retrain(sessions(), force=force)
        if result is None:
            console.print("no corrections since the newest model: nothing to learn")
        else:
            console.print(f"{_counted(result.corrections, 'correction')} since {result.report['previous']}")
            _print_gate(result.outcome)
            _print_outcomes(result.report)
        if once:
            return
        console.print(f"next retrain in {hours:g} h")
        time.sleep(hours * 3600)


@app.command("corrections-report")
def corrections_report_command(
    version: str | None = typer.Argument(None, help="Model version (3 or model-3); default: the newest retrained."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Which operators' corrections a retrain learnt, and for each the previous and the new model's call."""
    from cityline.db import read_transaction
    from cityline.runtime import sessions
    from cityline.triage.retrain import stored_report
    from cityline.triage.service import NoModelError

    number = None
    if version is not None:
        try:
            number = int(version.removeprefix("model-"))
        except ValueError:
            _fail(f"not a model version: {version!r} (expected e.g. 3 or model-3)")
    try:
        with read_transaction(sessions()) as session:
            row, report = stored_report(session, number)
            gate, label, active = row.metrics.get("gate", {}), row.label, row.is_active
    except NoModelError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps({"model": label, "active": active, "gate": gate, **report}, ensure_ascii=False))
        return
    state = "active" if active else "inactive"
    console.print(f"{label} ({state}) learnt {_counted(report['count'], 'correction')} since {report['previous']}; gate: "
                  f"{gate.get('reason', '?')}", soft_wrap=True)
    for item in report["items"]:
        console.print(f"{item['number']}  {item['text']}", soft_wrap=True)
        table = Table("field", "operator", "was", report["previous"], label, "outcome")
        for found in item["fields"]:
            table.add_row(found["field"], _shown(found["operator"]), _shown(found["was"]),
                          _shown(found["old_model"]), _shown(found["new_model"]), found["outcome"])
        console.print(table)
    _print_outcomes(report)


def _print_outcomes(report: dict) -> None:
    counts = ", ".join(f"{name} {count}" for name, count in report["outcomes"].items())
    console.print(f"corrected fields: {counts}")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _shown(label) -> str:
    return ",".join(label) if isinstance(label, list) else str(label)


@app.command("crossval")
def crossval_command(
    folds: int = typer.Option(5, help="Number of folds."),
    seed: int = typer.Option(7, help="Seed of the random cut into folds."),
    file: Path | None = typer.Option(None, "--file", help="Labelled JSON Lines file instead of the shipped history."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    leave_out: list[Path] = typer.Option(  # noqa: B008
        [], "--leave-out", help="Instead of folds: per file (one writer's labelled orders), a model learnt from the "
                                "shipped history and the other files, never from that file's texts, scored on it."),
) -> None:
    """Held-out quality of a trained model blended with the lexicon, by k-fold cross-validation
    (or leaving one writer's file out at a time)."""
    from cityline.triage.crossval import cross_validate, leave_one_set_out
    from cityline.triage.history import read_records, shipped_records

    try:
        if leave_out:
            reports = leave_one_set_out({path.stem: read_records(path) for path in leave_out}, shipped_records())
        else:
            records = read_records(file) if file is not None else list(shipped_records())
            report = cross_validate(records, folds, seed)
    except ValueError as error:
        _fail(str(error))
    if leave_out and as_json:
        typer.echo(json.dumps(reports, ensure_ascii=False))
    elif leave_out:
        for name, found in reports.items():
            console.print(f"{name} left out:")
            _print_report(found)
    elif as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)


@app.command("models")
def models_command() -> None:
    """List the stored model versions."""
    from cityline.db import transaction
    from cityline.runtime import sessions
    from cityline.triage.service import list_versions

    with transaction(sessions()) as session:
        rows = list_versions(session)
        table = Table("version", "created (UTC)", "trained on", "category macro-F1", "urgent recall", "gate",
                      "active")
        for row in rows:
            macro_f1, recall, gate = _listed_figures(row.metrics or {})
            table.add_row(
                f"model-{row.version}",
                row.created_at.strftime("%Y-%m-%d %H:%M"),
                str(row.trained_on),
                _number(macro_f1),
                _number(recall),
                gate,
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
    from cityline.db import transaction
    from cityline.runtime import sessions
    from cityline.triage.service import NoModelError, activate

    try:
        number = int(version.removeprefix("model-"))
    except ValueError:
        _fail(f"not a model version: {version!r} (expected e.g. 3 or model-3)")
    try:
        with transaction(sessions()) as session:
            row = activate(session, number)
            console.print(f"model-{row.version} is now active")
    except NoModelError as error:
        _fail(str(error))


@app.command("rollback")
def rollback_command() -> None:
    """Go back to the version before the active one."""
    from cityline.db import transaction
    from cityline.runtime import sessions
    from cityline.triage.service import NoModelError, rollback

    try:
        with transaction(sessions()) as session:
            row = rollback(session)
            console.print(f"rolled back: model-{row.version} is now active")
    except NoModelError as error:
        _fail(str(error))


def _listed_figures(metrics: dict) -> tuple[float | None, float | None, str]:
    """(category macro-F1, urgent recall, the gate's call): on the held-back orders for models trained
    behind the gate, else on whatever the model was measured on when it was stored."""
    if gate := metrics.get("gate"):
        scores = gate["candidate"]
        call = ("forced" if gate["forced"] else "passed") if gate["activated"] else "held back"
        return scores["category_macro_f1"], scores["urgent_recall"], f"{call} vs {gate['incumbent']}"
    urgent = metrics.get("urgency", {}).get("per_label", {}).get("urgent", {})
    return (metrics.get("category", {}).get("macro_f1", metrics.get("category_macro_f1")),
            urgent.get("recall", metrics.get("urgent_recall")), "")


def _triager(rules_only: bool):
    from cityline.triage.classifier import Triager

    if rules_only:
        return Triager()
    from sqlalchemy.exc import SQLAlchemyError

    from cityline.db import transaction
    from cityline.runtime import sessions
    from cityline.triage.service import active_triager, default_triager

    try:
        with transaction(sessions()) as session:
            return active_triager(session)
    except SQLAlchemyError:
        # No database (or no model table yet): the model learnt from the shipped history answers.
        return default_triager()


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
    if "needs_confirmation" in report:
        console.print(f"asked to confirm: {report['needs_confirmation']:.3f} of the orders")
    if "confirmation" in report:  # cross-validation: what the calibration changes
        found = report["confirmation"]
        for name in ("raw", "calibrated"):
            console.print(f"{name} confidences below {found['threshold']}: asked {found[name]['share_asked']:.3f}, "
                          f"wrong among not asked {found[name]['wrong_among_not_asked']:.3f}")


def _number(value, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)

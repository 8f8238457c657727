"""Learning from operators' corrections: a retrain behind the gate, and what the corrections changed.

An operator's correction of triage (``orders.service.set_labels``) stores the new
labels on the order (``triage_source = "corrected"``, so ``service.training_records``
learns from it) and a ``labels_corrected`` event. :func:`retrain` closes the loop:
when corrections were recorded after the newest stored model, it trains on the
shipped history and the store's labelled orders through ``gate.train_behind_gate``
(so a worse model is stored but never activated) and stores with the new model a
**corrections report**: each correction learnt since the previous model, with the
previous model's and the new model's call on that text for each field the operator
changed — fixed, still wrong, already right, or now wrong.

Which corrections are new: those whose event id is above the last one the newest
model with a report learnt from (``metrics["corrections"]["through_event"]``); when no
model has a report yet, those recorded after the newest stored model was made (all
of them when none is stored). A model the gate held back counts too: retraining on
the same orders would give the same model.

``cityline triage retrain`` runs it once (for cron) or every
``CITYLINE_TRIAGE_RETRAIN_HOURS``; ``cityline triage corrections-report`` shows a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import read_transaction
from cityline.privacy import mask_text
from cityline.triage.classifier import Triager, TriageResult
from cityline.triage.model import LabelledText
from cityline.triage.models import TriageModelVersion

FIELDS = ("kind", "category", "urgency", "special_groups", "language")
CORRECTED = "labels_corrected"  # the event an operator's correction writes
SOURCE = "cityline triage retrain"


@dataclass(frozen=True)
class Correction:
    """One operator's correction: the order, its text and the labels before and after."""

    event_id: int
    number: str
    text: str
    at: datetime
    actor: str
    before: dict
    after: dict

    @property
    def changed(self) -> list[str]:
        return [name for name in FIELDS if _value(self.before.get(name)) != _value(self.after.get(name))]


# --- pure ---------------------------------------------------------------------------------------

def _value(label):
    """Labels compared as values: special groups in any order are the same."""
    return tuple(sorted(label)) if isinstance(label, list | tuple) else label


def _shown(label):
    return sorted(label) if isinstance(label, list | tuple) else label


def _call(result: TriageResult, name: str):
    field = getattr(result, name)
    if name == "special_groups":
        return sorted(field)
    return field if isinstance(field, str) else field.value


def outcome(wanted, old, new) -> str:
    """What retraining did to one corrected field."""
    old_right, new_right = _value(old) == _value(wanted), _value(new) == _value(wanted)
    if new_right:
        return "already right" if old_right else "fixed"
    return "now wrong" if old_right else "still wrong"


def report_items(corrections: Sequence[Correction], old: Sequence[TriageResult],
                 new: Sequence[TriageResult]) -> list[dict]:
    """Per correction, per field the operator changed: the label, both models' calls, the outcome.
    The text is shown masked (phone and ID numbers), like every text cityline shows."""
    items = []
    for correction, before, after in zip(corrections, old, new, strict=True):
        fields = []
        for name in correction.changed:
            wanted = correction.after.get(name)
            fields.append({"field": name, "operator": _shown(wanted), "was": _shown(correction.before.get(name)),
                           "old_model": _call(before, name),
                           "new_model": _call(after, name),
                           "outcome": outcome(wanted, _call(before, name), _call(after, name))})
        items.append({"event_id": correction.event_id, "number": correction.number,
                      "text": mask_text(correction.text), "at": correction.at.isoformat(),
                      "actor": correction.actor, "fields": fields})
    return items


def tally(items: Sequence[dict]) -> dict[str, int]:
    counts = {"fixed": 0, "still wrong": 0, "already right": 0, "now wrong": 0}
    for item in items:
        for field in item["fields"]:
            counts[field["outcome"]] += 1
    return counts


# --- reads --------------------------------------------------------------------------------------

def last_learnt(session: Session) -> tuple[int | None, datetime | None]:
    """(the last correction event the newest model with a report learnt from, or None;
    when no model has a report, the time the newest stored model was made, or None)."""
    rows = session.execute(select(TriageModelVersion.version, TriageModelVersion.created_at,
                                  TriageModelVersion.metrics).order_by(TriageModelVersion.version.desc())).all()
    for _version, _created, metrics in rows:
        through = (metrics or {}).get("corrections", {}).get("through_event")
        if through is not None:
            return int(through), None
    return None, (rows[0][1] if rows else None)


def corrections_since(session: Session, after_event: int | None = None,
                      after_time: datetime | None = None) -> list[Correction]:
    """The operators' corrections recorded after ``after_event`` (an event id) or, without it,
    after ``after_time``; all of them when neither is given. Oldest first."""
    from cityline.orders.models import Order, OrderEvent

    query = (select(OrderEvent.id, Order.number, Order.text, OrderEvent.at, OrderEvent.actor, OrderEvent.data)
             .join(Order, Order.id == OrderEvent.order_id)
             .where(OrderEvent.action == CORRECTED).order_by(OrderEvent.id))
    if after_event is not None:
        query = query.where(OrderEvent.id > after_event)
    elif after_time is not None:
        query = query.where(OrderEvent.at > after_time)
    return [Correction(event_id, number, text, at, actor, (data or {}).get("before", {}), (data or {}).get("after", {}))
            for event_id, number, text, at, actor, data in session.execute(query)]


def new_corrections(session: Session) -> list[Correction]:
    """The corrections no stored model has learnt from yet."""
    return corrections_since(session, *last_learnt(session))


# --- the retrain ----------------------------------------------------------------------------------

@dataclass
class RetrainResult:
    corrections: int  # learnt since the previous model
    outcome: object  # gate.GateOutcome
    report: dict  # stored as metrics["corrections"]


def retrain(factory: sessionmaker[Session], *, shipped: Sequence[LabelledText] | None = None,
            judge: Sequence[LabelledText] | None = None, force: bool = False) -> RetrainResult | None:
    """Train behind the gate when there are corrections no stored model learnt from; None otherwise.

    ``shipped`` and ``judge`` default to the shipped history's learnable part and its held-back
    fifth (as ``cityline triage train`` uses them); a centre with its own history may pass others.
    """
    from cityline.triage import gate
    from cityline.triage.history import shipped_records
    from cityline.triage.service import active_triager, training_records

    if judge is None:
        judge = gate.held_back(shipped_records())
    if shipped is None:
        shipped = gate.learnable(shipped_records(), judge)
    with read_transaction(factory) as session:
        corrections = new_corrections(session)
        if not corrections:
            return None
        # Learn up to the newest correction read here; one recorded while training waits for the next run.
        through = max(c.event_id for c in corrections)
        own = training_records(session)
        previous = active_triager(session)
    texts = [c.text for c in corrections]
    old_calls = previous.classify_many(texts)
    found: dict = {}

    def measure(candidate: Triager) -> dict:
        items = report_items(corrections, old_calls, candidate.classify_many(texts))
        found["report"] = {"since_event": min(c.event_id for c in corrections) - 1, "through_event": through,
                           "previous": previous.model_version, "count": len(items), "outcomes": tally(items),
                           "items": items}
        return {"corrections": found["report"]}

    metrics = {"source": SOURCE, "shipped": len(shipped)}
    result = gate.train_behind_gate(factory, [*shipped, *gate.learnable(own, judge)], judge, force=force,
                                    metrics=metrics, measure=measure)
    return RetrainResult(len(corrections), result, found["report"])


def stored_report(session: Session, version: int | None = None) -> tuple[TriageModelVersion, dict]:
    """The corrections report stored with model ``version`` (default: the newest model that has one)."""
    from cityline.triage.service import NoModelError

    query = select(TriageModelVersion).order_by(TriageModelVersion.version.desc())
    if version is not None:
        query = query.where(TriageModelVersion.version == version)
    for row in session.scalars(query):
        if "corrections" in (row.metrics or {}):
            return row, row.metrics["corrections"]
        if version is not None:
            raise NoModelError(f"model-{version} was not trained by a retrain on corrections: it has no report")
    if version is not None:
        raise NoModelError(f"no triage model version {version}")
    newest = session.scalar(select(func.max(TriageModelVersion.version)))
    raise NoModelError("no model has been retrained on corrections yet" +
                       (f" (newest: model-{newest})" if newest else "") + "; run `cityline triage retrain --once`")

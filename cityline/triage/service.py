"""Triage models in the database and the training data in the order store.

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityline.generations import Cached
from cityline.once import built_once
from cityline.triage.classifier import Triager
from cityline.triage.history import SHIPPED_VERSION, shipped_model
from cityline.triage.model import LabelledText, TrainedModel
from cityline.triage.models import TriageModelVersion

# Orders whose labels a person gave or confirmed; "model" labels are our own guesses.
TRAINING_SOURCES = ("manual", "import", "corrected")


class NoModelError(LookupError):
    """Raised when a model version asked for does not exist."""


def save_model(session: Session, model: TrainedModel, metrics: dict, *, active: bool = True) -> TriageModelVersion:
    """Store ``model`` as the next version; make it the active one unless ``active`` is False
    (training goes through ``gate.train_behind_gate``, which decides)."""
    latest = session.scalar(select(func.max(TriageModelVersion.version))) or 0
    row = TriageModelVersion(
        version=latest + 1,
        trained_on=model.trained_on,
        metrics=metrics,
        blob=model.to_bytes(),
        is_active=False,
    )
    session.add(row)
    session.flush()
    return activate(session, row.version) if active else row


def activate(session: Session, version: int) -> TriageModelVersion:
    """Make ``version`` the active model (and no other)."""
    row = session.scalar(select(TriageModelVersion).where(TriageModelVersion.version == version))
    if row is None:
        known = list_versions(session)
        listed = ", ".join(str(v.version) for v in known) or "none yet"
        raise NoModelError(f"no triage model version {version}; stored versions: {listed}")
    for other in session.scalars(select(TriageModelVersion).where(TriageModelVersion.is_active)):
        other.is_active = False
    row.is_active = True
    session.flush()
    return row


def rollback(session: Session) -> TriageModelVersion:
    """Activate the version before the active one, skipping versions the gate held back (gate.py):
    those were never in use, so going back to one of them is not a rollback."""
    active = active_version(session)
    if active is None:
        raise NoModelError("no active triage model to roll back from (the shipped seed model is in use)")
    earlier = session.execute(  # not the blobs: only which versions the gate let through
        select(TriageModelVersion.version, TriageModelVersion.metrics)
        .where(TriageModelVersion.version < active.version)
        .order_by(TriageModelVersion.version.desc())
    )
    previous = next((v for v, metrics in earlier if (metrics or {}).get("gate", {}).get("activated", True)), None)
    if previous is None:
        raise NoModelError(f"model-{active.version} is the oldest version the gate let through; nothing to roll "
                           "back to (`cityline triage activate N` activates any version)")
    return activate(session, previous)


def list_versions(session: Session) -> list[TriageModelVersion]:
    return list(session.scalars(select(TriageModelVersion).order_by(TriageModelVersion.version)))


def active_version(session: Session) -> TriageModelVersion | None:
    return session.scalar(select(TriageModelVersion).where(TriageModelVersion.is_active))


def _active_row(session: Session) -> tuple[int, int] | None:
    row = session.execute(
        select(TriageModelVersion.id, TriageModelVersion.version).where(TriageModelVersion.is_active)
    ).first()
    return (row.id, row.version) if row else None


# Every create asks which model is active: read again only after a version was stored or
# activated (in any process), not for every order.
_active = Cached(_active_row, "triage")


def active_triager(session: Session) -> Triager:
    """A Triager with the active model, or with the model learnt from the shipped history
    (``default_triager``) when the database has none."""
    row = _active.get(session)
    if row is None:
        return default_triager()
    row_id, version = row
    bind = session.get_bind()
    return _model_triager(str(bind.url), row_id, version, lambda: _blob(session, row_id))


def _blob(session: Session, row_id: int) -> bytes:
    return session.scalar(select(TriageModelVersion.blob).where(TriageModelVersion.id == row_id))


@built_once
def default_triager() -> Triager:
    """The lexicon blended with the model learnt from the shipped seed and centre history
    (history.py): built on first use, then kept for the life of the process."""
    return Triager(model=shipped_model(), model_version=SHIPPED_VERSION)


_model_cache: dict[tuple[str, int, int], Triager] = {}
# Concurrent first requests parse the blob once; and without it a thread could find its
# key cleared by another between the check and the read (KeyError).
_model_lock = threading.Lock()


def _model_triager(database: str, row_id: int, version: int, load) -> Triager:
    """One Triager per database and active version, so the blob is read and parsed once."""
    key = (database, row_id, version)
    found = _model_cache.get(key)
    if found is not None:
        return found
    with _model_lock:
        if key not in _model_cache:
            model = TrainedModel.from_bytes(load())
            if len(_model_cache) >= 4:
                _model_cache.clear()
            _model_cache[key] = Triager(model=model, model_version=f"model-{version}")
        return _model_cache[key]


def training_records(session: Session) -> list[LabelledText]:
    """Labelled orders from the store: entered, imported or corrected by people."""
    from cityline.orders.models import Order

    rows = session.execute(
        select(Order.text, Order.kind, Order.category, Order.urgency, Order.special_groups, Order.language)
        .where(Order.triage_source.in_(TRAINING_SOURCES))
        .where(Order.category.is_not(None))
        .order_by(Order.id)
    )
    return [
        LabelledText(text, kind, category, urgency, tuple(groups or ()), language)
        for text, kind, category, urgency, groups, language in rows
    ]

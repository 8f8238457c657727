"""The labelled history cityline ships, and the model learnt from it.

Two JSON Lines files in ``data/`` (formats.md §2), labelled by the labelling
guidelines (eval/GUIDELINES.md):

- ``seed.jsonl`` — cityline's "first day" history: about 1,100 orders written
  for it by hand, covering every kind, category, urgency, special group and
  language, in operators' summaries and callers' own words;
- ``centre_history.jsonl`` — this centre's own labelled orders (its development
  set and the evaluation sets retired from held-out use; data/README.md).
  A deployment replaces it with its own.

A centre with no trained model of its own triages with the model learnt from
these (built once, on first use); ``cityline triage train`` learns from them
together with the labelled orders in the store.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cityline.triage.model import LabelledText, TrainedModel, train

DATA = Path(__file__).with_name("data")
SEED_FILE = DATA / "seed.jsonl"
CENTRE_HISTORY_FILE = DATA / "centre_history.jsonl"
SHIPPED_VERSION = "seed"  # how results of the shipped model name it (model_version)


def read_records(path: Path) -> list[LabelledText]:
    """The labelled orders of one JSON Lines file (a bad line is reported by number and reason)."""
    from cityline.triage.evaluation import read_eval_file

    return [
        LabelledText(line.text, line.kind, line.category, line.urgency, tuple(line.special_groups), line.language)
        for line in read_eval_file(path)
    ]


@lru_cache(maxsize=1)
def shipped_records() -> tuple[LabelledText, ...]:
    """The seed and the centre's own history, read once."""
    return tuple(read_records(SEED_FILE) + read_records(CENTRE_HISTORY_FILE))


@lru_cache(maxsize=1)
def shipped_model() -> TrainedModel:
    """The model learnt from the shipped history (a second or two, once per process)."""
    return train(shipped_records())

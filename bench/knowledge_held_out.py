"""Knowledge search quality on the retired spoken-question sets, each judged as if unseen.

Run: .venv/bin/python bench/knowledge_held_out.py [--words-only] [--misses]

The starter articles are imported into a fresh SQLite database; then every set of
``eval/knowledge/questions*.jsonl`` is ranked through ``SearchIndex.search`` as the API ranks
(the question's vector from the model, words fused with meaning, at most 3 articles), and
top-1 / top-3 printed per set. The outsiders' sets (2, 3, 4) are also the shipped phrasings
(``cityline/knowledge/phrasings.jsonl``, ``learning.shipped_phrasings``), so each is judged
leave-one-set-out: with the phrasings of the other outsiders' sets only, never its own. The
labelled set (``questions.jsonl``) is in no phrasing, so it is judged with them all. Also
printed: the same without any phrasings (what the articles alone give), and the English
questions' share found, since they are ranked across languages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityline.db import make_engine, make_sessionmaker, transaction, utcnow  # noqa: E402
from cityline.knowledge import search, semantic  # noqa: E402
from cityline.knowledge.files import import_records, read_records  # noqa: E402
from cityline.knowledge.index import IndexedArticle, SearchIndex  # noqa: E402
from cityline.schema import create_all  # noqa: E402

EVAL = ROOT / "eval" / "knowledge"
LABELLED = "questions"
OUTSIDERS = ("questions2", "questions3", "questions4")  # the writers of the shipped phrasings
_ENGLISH = re.compile(r"[\u4e00-\u9fff]")


def read_set(name: str) -> list[dict]:
    path = EVAL / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def phrasings_without(held_out: str) -> dict[str, tuple[str, ...]]:
    """Article id → the outsiders' questions of every set but ``held_out``."""
    found: dict[str, list[str]] = {}
    for name in OUTSIDERS:
        if name != held_out:
            for row in read_set(name):
                found.setdefault(row["external_id"], []).append(" ".join(row["query"].split()))
    return {article: tuple(dict.fromkeys(questions)) for article, questions in found.items()}


def rank(index: SearchIndex, rows: list[dict]) -> list[list[str]]:
    return [[h.article.external_id for h in index.search(
        r["query"], limit=3, query_vector=semantic.embed_query(r["query"]) if index.by_meaning else None)]
        for r in rows]


def shares(rows: list[dict], ranked: list[list[str]]) -> str:
    if not rows:
        return "—"
    top1 = sum(ids[:1] == [r["external_id"]] for r, ids in zip(rows, ranked, strict=True)) / len(rows)
    top3 = sum(r["external_id"] in ids for r, ids in zip(rows, ranked, strict=True)) / len(rows)
    return f"{top1:.3f} / {top3:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words-only", action="store_true", help="rank by words alone (no model)")
    parser.add_argument("--misses", action="store_true", help="print every question not ranked first")
    args = parser.parse_args()
    if args.words_only:
        os.environ["CITYLINE_KNOWLEDGE_SEMANTIC"] = "false"
    started, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'kb.db'}")
        create_all(engine)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            import_records(session, read_records(ROOT / "cityline" / "knowledge" / "data"), actor="bench",
                           now=utcnow())
        with transaction(sessions) as session:
            shipped = search.published_articles(session)
            titles = {a.external_id: a.title for a in shipped}
            plain = [replace(a, phrasings=()) for a in shipped]
            print(f"ranked by {'words only' if args.words_only else 'words and meaning'}; "
                  "top-1 / top-3 (English questions)")
            for name in (LABELLED, *OUTSIDERS):
                rows = read_set(name)
                english = [i for i, r in enumerate(rows) if not _ENGLISH.search(r["query"])]
                line = []
                for label, articles in (("no phrasings", plain), ("phrasings of the other sets", [
                        replace(a, phrasings=phrasings_without(name).get(a.external_id, ())) for a in plain])):
                    index = _index(session, articles)
                    ranked = rank(index, rows)
                    line.append(f"{label} {shares(rows, ranked)} "
                                f"({shares([rows[i] for i in english], [ranked[i] for i in english])})")
                    if args.misses and label != "no phrasings":
                        for r, ids in zip(rows, ranked, strict=True):
                            if ids[:1] != [r["external_id"]]:
                                print(f"  miss {name}: {r['query']} | {r['external_id']} {titles[r['external_id']]}"
                                      f" | got {', '.join(ids)}")
                print(f"{name} (n={len(rows)}, {len(english)} English): " + "; ".join(line))
        engine.dispose()
    print(f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _index(session, articles: list[IndexedArticle]) -> SearchIndex:
    return SearchIndex(articles, search.vectors_of(session, articles))


if __name__ == "__main__":
    main()

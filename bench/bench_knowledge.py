"""Knowledge search speed with 10,000 articles, against the words-only path and a brute-force scan
measured in the same run; and what the embedding model costs and gives on the starter articles.

Run: .venv/bin/python bench/bench_knowledge.py [--articles 10000] [--searches 1200] [--baseline 200]

The 10,000 articles are the starter knowledge base varied: each copy moves to
one of the city's districts, keeps a random subset of the question variants and
has words of the answer swapped for their colloquial forms, so the vocabulary
and the lengths are those of real articles and every query meets thousands of
near-duplicates. They are imported through the real import into a SQLite file,
and each search goes through ``cityline.knowledge.search.search`` as the API
does: the revision read from the database, the query analysed and (with the
model) embedded, the index scored, dates checked. Queries are the labelled
spoken questions of ``eval/knowledge/questions.jsonl``, cycled.

With the embedding model (``knowledge.semantic``): embedding the 10,000 copies'
bodies would take the model about 20 minutes of CPU (0.12 s a body), so each
copy's body is given its original's vector, stored under the copy's own text
digest before the import (which then embeds nothing new); a copy differs from its
original by a district's name and a few colloquial words. The question variants
are the originals' texts, embedded once. The matrix searched has a row per text
of every copy, so the search's cost is the real one. The first pass over the
labelled questions embeds each question (cold); later passes find it in the
query cache: both are printed, with the CPU time per search (the machine is
shared, and wall time includes waiting for a core), and the words-only path on
the same index in the same run (the index's search without the question's vector).
Then one article is edited and published again, and the next search, which rebuilds
the index from the one it replaces, is timed.

The baseline, in the same run on the same queries and articles, is what one
would write without an index: analyse the query the same way, then scan every
article's token set and score the overlap by the same term weights. The ratio
is the baseline's median over the index's median. Also printed: how often the
right article (any copy of it) is still in the top 3 among the 10,000.

Then, on the starter articles: what importing them costs by words only and with
the model (a fresh database, texts not yet embedded by this process), and top-1 /
top-3 of the labelled set by words only and by words and meaning. (The outsiders' sets ship
as phrasings now: ``bench/knowledge_held_out.py`` judges each with the others' only.)

Then what learning from answered consultations (``knowledge.learning``) is worth,
on the starter articles: the labelled questions are split in two halves (each
article's questions alternately), one half is taken as consultations answered
from their article, and the other half is searched with and without them; then
the halves swap. Only questions never learnt from count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityline.config import get_settings  # noqa: E402
from cityline.db import make_engine, make_sessionmaker, transaction, utcnow  # noqa: E402
from cityline.knowledge import search, semantic  # noqa: E402
from cityline.knowledge.files import import_records, read_records  # noqa: E402
from cityline.knowledge.index import IndexedArticle, SearchIndex  # noqa: E402
from cityline.knowledge.models import Embedding  # noqa: E402
from cityline.knowledge.text import analyse, default_synonyms, tokens  # noqa: E402
from cityline.schema import create_all  # noqa: E402

DATA = ROOT / "cityline" / "knowledge" / "data"
EVAL = ROOT / "eval" / "knowledge" / "questions.jsonl"
DISTRICTS = ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区", "嘉定区",
             "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区"]


def varied(records: list[dict], count: int, rng: random.Random) -> list[tuple[str, dict]]:
    """``count`` articles made from the starter ones (ids keep the original as a prefix)."""
    swaps = [(term, form) for form, term in default_synonyms().phrases if form != term]
    result = []
    for n in range(count):
        base = records[n % len(records)]
        district = rng.choice(DISTRICTS)
        questions = list(base.get("questions") or [])
        rng.shuffle(questions)
        answer = base["answer"]
        for term, form in rng.sample(swaps, 40):
            if term in answer and rng.random() < 0.5:
                answer = answer.replace(term, form, 1)
        result.append((f"gen {n}", {**base, "external_id": f"{base['external_id']}~{n:05d}",
                                    "title": f"{district}：{base['title']}",
                                    "questions": questions[: rng.randint(1, max(1, len(questions)))],
                                    "answer": f"{district}居民：{answer}"}))
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def brute_force(query: str, articles: list[tuple[str, frozenset[str]]], rarity, limit: int = 3) -> list[str]:
    """No index: score every article's token set against the query, keep the best."""
    wanted = {t: rarity(t) for t in analyse(query).tokens}
    scored = [(sum(w for t, w in wanted.items() if t in toks), ext) for ext, toks in articles]
    scored.sort(reverse=True)
    return [ext for score, ext in scored[:limit] if score > 0]


def ranks(index: SearchIndex, rows: list[dict], today: date | None = None) -> tuple[float, float]:
    """(top-1, top-3) share of ``rows`` whose article ``index`` ranks first / in the top 3
    (by meaning too when the index has vectors)."""
    found = [[h.article.external_id for h in index.search(
        r["query"], limit=3, today=today,
        query_vector=semantic.embed_query(r["query"]) if index.by_meaning else None)] for r in rows]
    return (sum(ids[:1] == [r["external_id"]] for r, ids in zip(rows, found, strict=True)) / len(rows),
            sum(r["external_id"] in ids for r, ids in zip(rows, found, strict=True)) / len(rows))


def read_set(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fresh_database(tmp: str, name: str):
    engine = make_engine(f"sqlite:///{Path(tmp) / name}")
    create_all(engine)
    return engine, make_sessionmaker(engine)


def model_on(on: bool) -> None:
    os.environ["CITYLINE_KNOWLEDGE_SEMANTIC"] = "true" if on else "false"
    get_settings.cache_clear()
    semantic.reset()


def starter_cost_and_quality(tmp: str) -> None:
    """Import the starter articles by words only and with the model (nothing embedded yet), then rank both sets."""
    for on in (False, True):
        model_on(on)
        engine, sessions = fresh_database(tmp, f"starter-{on}.db")
        before = semantic.embedded["passages"]
        started, cpu = time.perf_counter(), time.process_time()
        with transaction(sessions) as session:
            import_records(session, read_records(DATA), actor="bench", now=utcnow())
        print(f"starter import ({'with the model' if on else 'words only'}): "
              f"{time.perf_counter() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, "
              f"{semantic.embedded['passages'] - before} texts embedded")
        if not on:
            engine.dispose()
    with sessions() as session:
        index = search.index_for(session)
    today = search.today_local()
    rows = read_set(EVAL)
    words, both = ranks(SearchIndex(index.articles), rows, today), ranks(index, rows, today)
    print(f"labelled set (n={len(rows)}): words only top1={words[0]:.3f} top3={words[1]:.3f}; "
          f"words and meaning top1={both[0]:.3f} top3={both[1]:.3f}")
    engine.dispose()


def copies_take_their_originals_vectors(sessions, starter: list[dict], records: list[tuple[str, dict]]) -> None:
    """Store each copy's body under its own digest with its original's vector (see the module's note)."""
    bodies = {r["external_id"]: semantic.body_text(r["title"], r["answer"]) for r in starter}
    with transaction(sessions) as session:
        found = semantic.store(session, [*bodies.values(), *{q for r in starter for q in r.get("questions") or []}])
        copies = {semantic.digest(semantic.body_text(copy["title"], copy["answer"])):
                  found[semantic.digest(bodies[copy["external_id"].split("~")[0]])] for _where, copy in records}
        session.add_all(Embedding(model=semantic.MODEL, digest=d, vector=v.astype("<f4").tobytes())
                        for d, v in copies.items() if d not in found)


def learning_gain(starter: list[dict], queries: list[dict], vectors: dict | None) -> None:
    """Top-1 / top-3 on held-out halves of the labelled questions, without and with learning."""
    seen: dict[str, int] = {}
    halves: tuple[list[dict], list[dict]] = ([], [])
    for q in queries:
        seen[q["external_id"]] = seen.get(q["external_id"], -1) + 1
        halves[seen[q["external_id"]] % 2].append(q)
    articles = [IndexedArticle(r["external_id"], 1, r["title"], tuple(r.get("questions") or []), r["answer"],
                               r.get("category")) for r in starter]
    plain = SearchIndex(articles, vectors)
    totals = {"without": [0.0, 0.0], "with": [0.0, 0.0]}
    for learnt, tested in (halves, halves[::-1]):
        by_article: dict[str, list[str]] = {}
        for q in learnt:
            by_article.setdefault(q["external_id"], []).append(q["query"])
        taught = SearchIndex([IndexedArticle(**{**a.__dict__, "learnt": tuple(by_article.get(a.external_id, ()))})
                              for a in articles], vectors)
        for name, index in (("without", plain), ("with", taught)):
            top1, top3 = ranks(index, tested)
            totals[name][0] += top1 * len(tested)
            totals[name][1] += top3 * len(tested)
    for name, (top1, top3) in totals.items():
        print(f"held-out halves{' (words and meaning)' if vectors is not None else ''}, {name} learning "
              f"from the other half: top1={top1 / len(queries):.3f} "
              f"top3={top3 / len(queries):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=1_200)
    parser.add_argument("--baseline", type=int, default=200, help="queries for the brute-force scan")
    args = parser.parse_args()
    rng = random.Random(12345)
    starter = [record for _where, record in read_records(DATA)]
    queries = read_set(EVAL)

    with tempfile.TemporaryDirectory() as tmp:
        starter_cost_and_quality(tmp)
        engine, sessions = fresh_database(tmp, "bench.db")
        records = varied(starter, args.articles, rng)
        if semantic.available():
            copies_take_their_originals_vectors(sessions, starter, records)
        started = time.perf_counter()
        with transaction(sessions) as session:
            report = import_records(session, iter(records), actor="bench", now=utcnow())
        imported = time.perf_counter() - started
        assert not report.bad, report.bad[:3]

        semantic.forget_queries()  # the first pass embeds every question, as new questions would be
        with sessions() as session:
            started = time.perf_counter()
            index = search.index_for(session)
            built = time.perf_counter() - started
            today = search.today_local()
            timings, cpu, words, hits = [], [], [], 0
            for n in range(args.searches):
                q = queries[n % len(queries)]
                started, cpu_started = time.perf_counter(), time.process_time()
                found = search.search(session, q["query"], limit=3, today=today)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                started = time.perf_counter()
                index.search(q["query"], limit=3, today=today)
                words.append((time.perf_counter() - started) * 1000)
                if n < len(queries):
                    hits += any(h.article.external_id.split("~")[0] == q["external_id"] for h in found)

        # One article edited and published again: the next search rebuilds the index from the
        # one it replaces (the other articles' tokens and vectors are not read or cut again).
        edited = {**records[0][1], "answer": records[0][1]["answer"] + "（已更新）"}
        with transaction(sessions) as session:
            import_records(session, iter([("edited", edited)]), actor="bench", now=utcnow())
        with sessions() as session:
            started = time.perf_counter()
            search.search(session, queries[0]["query"], limit=3, today=today)
            rebuilt = time.perf_counter() - started

        token_sets = [(a.external_id, frozenset(tokens(" ".join([a.title, *a.questions, a.answer]))))
                      for a in index.articles]
        baseline = []
        for n in range(args.baseline):
            started = time.perf_counter()
            brute_force(queries[n % len(queries)]["query"], token_sets, index.rarity)
            baseline.append((time.perf_counter() - started) * 1000)
        engine.dispose()

    cold = min(len(queries), len(timings))

    def line(name: str, values: list[float]) -> str:
        return (f"{name}: n={len(values)}  p50={percentile(values, 0.5):.2f} ms  "
                f"p95={percentile(values, 0.95):.2f} ms  max={max(values):.2f} ms")

    print(f"articles: {len(index)} (imported in {imported:.1f} s, index built in {built:.2f} s, "
          f"ranked by {'words and meaning' if index.by_meaning else 'words only'}, "
          f"{index.texts_embedded} texts in the matrix)")
    print(line("search (end to end)", timings))
    print(line("  first pass, each question embedded (cold)", timings[:cold]))
    print(line("  later passes, question vectors cached", timings[cold:] or timings))
    print(line("  CPU time per search, cold", cpu[:cold]))
    print(line("  CPU time per search, all", cpu))
    print(f"after one article was edited, the first search (rebuilding the index) took {rebuilt:.2f} s")
    print(f"load average (1, 5, 15 min) at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(line("words only (same index, no question vector)", words))
    print(f"ratio (search p50 / words-only p50): {statistics.median(timings) / statistics.median(words):.1f}x, "
          f"cold p95 / words-only p95: {percentile(timings[:cold], 0.95) / percentile(words, 0.95):.1f}x")
    print(line("baseline (scan all articles)", baseline))
    print(f"ratio (baseline p50 / search p50): {statistics.median(baseline) / statistics.median(timings):.1f}x")
    print(f"labelled questions with the right article (any copy) in the top 3 among {len(index)}: "
          f"{hits / cold:.3f}")
    print(f"budget: p95 <= 50 ms -> {'met' if percentile(timings, 0.95) <= 50 else 'NOT met'} "
          f"(cold: {'met' if percentile(timings[:cold], 0.95) <= 50 else 'NOT met'})")
    published = [r for r in starter if r.get("status", "published") == "published"]
    learning_gain(published, queries, None)
    if semantic.available():
        texts = [t for r in published for t in semantic.article_texts(r["title"], r.get("questions") or [], r["answer"])]
        vectors = dict(zip(map(semantic.digest, texts), semantic.embed_passages(texts), strict=True))
        learnt = [q["query"] for q in queries]
        vectors.update(zip(map(semantic.digest, learnt), semantic.embed_passages(learnt), strict=True))
        learning_gain(published, queries, vectors)


if __name__ == "__main__":
    main()

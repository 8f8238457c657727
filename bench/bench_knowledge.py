"""Knowledge search speed with 10,000 articles, against a brute-force scan measured in the same run.

Run: .venv/bin/python bench/bench_knowledge.py [--articles 10000] [--searches 1200] [--baseline 200]

The 10,000 articles are the starter knowledge base varied: each copy moves to
one of the city's districts, keeps a random subset of the question variants and
has words of the answer swapped for their colloquial forms, so the vocabulary
and the lengths are those of real articles and every query meets thousands of
near-duplicates. They are imported through the real import into a SQLite file,
and each search goes through ``cityline.knowledge.search.search`` as the API
does: the revision read from the database, the query analysed, the index
scored, dates checked. Queries are the labelled spoken questions of
``eval/knowledge/questions.jsonl``, cycled.

The baseline, in the same run on the same queries and articles, is what one
would write without an index: analyse the query the same way, then scan every
article's token set and score the overlap by the same term weights. The ratio
is the baseline's median over the index's median. Also printed: how often the
right article (any copy of it) is still in the top 3 among the 10,000.

Then what learning from answered consultations (``knowledge.learning``) is worth,
on the starter articles: the labelled questions are split in two halves (each
article's questions alternately), one half is taken as consultations answered
from their article, and the other half is searched with and without them; then
the halves swap. Only questions never learnt from are counted.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityline.db import make_engine, make_sessionmaker, transaction, utcnow  # noqa: E402
from cityline.knowledge import search  # noqa: E402
from cityline.knowledge.files import import_records, read_records  # noqa: E402
from cityline.knowledge.index import IndexedArticle, SearchIndex  # noqa: E402
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


def ranks(index: SearchIndex, rows: list[dict]) -> tuple[float, float]:
    """(top-1, top-3) share of ``rows`` whose article ``index`` ranks first / in the top 3."""
    found = [[h.article.external_id for h in index.search(r["query"], limit=3)] for r in rows]
    return (sum(ids[:1] == [r["external_id"]] for r, ids in zip(rows, found, strict=True)) / len(rows),
            sum(r["external_id"] in ids for r, ids in zip(rows, found, strict=True)) / len(rows))


def learning_gain(starter: list[dict], queries: list[dict]) -> None:
    """Top-1 / top-3 on held-out halves of the labelled questions, without and with learning."""
    seen: dict[str, int] = {}
    halves: tuple[list[dict], list[dict]] = ([], [])
    for q in queries:
        seen[q["external_id"]] = seen.get(q["external_id"], -1) + 1
        halves[seen[q["external_id"]] % 2].append(q)
    articles = [IndexedArticle(r["external_id"], 1, r["title"], tuple(r.get("questions") or []), r["answer"],
                               r.get("category")) for r in starter]
    plain = SearchIndex(articles)
    totals = {"without": [0.0, 0.0], "with": [0.0, 0.0]}
    for learnt, tested in (halves, halves[::-1]):
        by_article: dict[str, list[str]] = {}
        for q in learnt:
            by_article.setdefault(q["external_id"], []).append(q["query"])
        taught = SearchIndex([IndexedArticle(**{**a.__dict__, "learnt": tuple(by_article.get(a.external_id, ()))})
                              for a in articles])
        for name, index in (("without", plain), ("with", taught)):
            top1, top3 = ranks(index, tested)
            totals[name][0] += top1 * len(tested)
            totals[name][1] += top3 * len(tested)
    for name, (top1, top3) in totals.items():
        print(f"held-out halves, {name} learning from the other half: top1={top1 / len(queries):.3f} "
              f"top3={top3 / len(queries):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=1_200)
    parser.add_argument("--baseline", type=int, default=200, help="queries for the brute-force scan")
    args = parser.parse_args()
    rng = random.Random(12345)
    starter = [record for _where, record in read_records(DATA)]
    queries = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        create_all(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        with transaction(sessions) as session:
            report = import_records(session, iter(varied(starter, args.articles, rng)), actor="bench",
                                    now=utcnow())
        imported = time.perf_counter() - started
        assert not report.bad, report.bad[:3]

        with sessions() as session:
            started = time.perf_counter()
            index = search.index_for(session)
            built = time.perf_counter() - started
            timings, hits = [], 0
            for n in range(args.searches):
                q = queries[n % len(queries)]
                started = time.perf_counter()
                found = search.search(session, q["query"], limit=3)
                timings.append((time.perf_counter() - started) * 1000)
                if n < len(queries):
                    hits += any(h.article.external_id.split("~")[0] == q["external_id"] for h in found)

        token_sets = [(a.external_id, frozenset(tokens(" ".join([a.title, *a.questions, a.answer]))))
                      for a in index.articles]
        baseline = []
        for n in range(args.baseline):
            started = time.perf_counter()
            brute_force(queries[n % len(queries)]["query"], token_sets, index.rarity)
            baseline.append((time.perf_counter() - started) * 1000)
        engine.dispose()

    print(f"articles: {len(index)} (imported in {imported:.1f} s, index built in {built:.2f} s)")
    print(f"search (index, end to end): n={len(timings)}  p50={percentile(timings, 0.5):.2f} ms  "
          f"p95={percentile(timings, 0.95):.2f} ms  max={max(timings):.2f} ms")
    print(f"baseline (scan all articles): n={len(baseline)}  p50={percentile(baseline, 0.5):.2f} ms  "
          f"p95={percentile(baseline, 0.95):.2f} ms  max={max(baseline):.2f} ms")
    print(f"ratio (baseline p50 / index p50): {statistics.median(baseline) / statistics.median(timings):.1f}x")
    print(f"labelled questions with the right article (any copy) in the top 3 among {len(index)}: "
          f"{hits / min(len(queries), args.searches):.3f}")
    print(f"budget: p95 <= 50 ms -> {'met' if percentile(timings, 0.95) <= 50 else 'NOT met'}")
    learning_gain([r for r in starter if r.get("status", "published") == "published"], queries)


if __name__ == "__main__":
    main()

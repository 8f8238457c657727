"""Address parsing speed: cityline's parse_address against jionlp's parse_location.

Run: .venv/bin/python bench/bench_geo.py [--seconds 3]

Both parse the same texts (our labelled set in tests/geo/data/addresses.jsonl, plus
eval/triage_dev.jsonl when present) in the same run, on one core; the figures are
texts per second after each side has built its data once (build times printed too),
and the ratio. District and street accuracy of both on the labelled texts are
printed alongside, so speed is never read without quality.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityline.geo import parse_address  # noqa: E402


def load_texts() -> list[dict]:
    rows = []
    for path in (ROOT / "tests/geo/data/addresses.jsonl", ROOT / "eval/triage_dev.jsonl"):
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def rate(parse, texts: list[str], seconds: float) -> tuple[float, int]:
    """Texts per second, cycling through the texts for about ``seconds``."""
    done, start = 0, time.perf_counter()
    while True:
        for text in texts:
            parse(text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done


def jionlp_parser():
    with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
        import jionlp

    def parse(text: str) -> dict:
        return jionlp.parse_location(text, town_village=True)

    return parse


def accuracy(rows: list[dict], district_of, street_of) -> tuple[float, float]:
    scores = []
    for field, get in (("district", district_of), ("street", street_of)):
        labelled = [r for r in rows if r.get(field)]
        scores.append(sum(get(r["text"]) == r[field] for r in labelled) / max(1, len(labelled)))
    return scores[0], scores[1]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=3.0, help="time per side")
    seconds = options.parse_args().seconds
    rows = load_texts()
    texts = [r["text"] for r in rows]
    print(f"{len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} characters")

    start = time.perf_counter()
    parse_address("徐汇区漕河泾街道")
    parse_address("Xuhui District")  # builds the Latin-letter forms too
    ours_build = time.perf_counter() - start
    start = time.perf_counter()
    theirs = jionlp_parser()
    theirs("上海市徐汇区漕河泾街道")
    theirs_build = time.perf_counter() - start

    ours, n_ours = rate(parse_address, texts, seconds)
    base, n_base = rate(theirs, texts, seconds)
    print(f"build once: cityline {ours_build:.2f} s, jionlp {theirs_build:.2f} s")
    print(f"cityline parse_address : {ours:10.0f} texts/s  ({n_ours} parses)")
    print(f"jionlp parse_location  : {base:10.0f} texts/s  ({n_base} parses)")
    print(f"ratio                  : {ours / base:10.1f} x")

    ours_acc = accuracy(rows, lambda t: parse_address(t).district, lambda t: parse_address(t).street)
    base_acc = accuracy(rows, lambda t: theirs(t).get("county"), lambda t: theirs(t).get("town"))
    print(f"accuracy (district, street): cityline {ours_acc[0]:.3f}, {ours_acc[1]:.3f}; "
          f"jionlp {base_acc[0]:.3f}, {base_acc[1]:.3f}")


if __name__ == "__main__":
    main()

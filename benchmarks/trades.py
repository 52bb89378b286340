"""Trades benchmark: CPV suggestions and keyword matching against the labelled set.

    python benchmarks/trades.py [--fixtures tests/fixtures/trades] [--repeat 5]
    (or: python -m benchmarks.trades …, from the project root)

The labelled set (`tests/fixtures/trades/`, see its README): activity descriptions of ESS
structures, French and English, each with the CPV groups a person would accept for it, and
keyword / tender-text pairs that must match or must not. For each description the suggestions
of the diagnostic's CPV step (`reference.cpv_search.cpv_search`, limit 5, the same whatever the
interface language) are compared with the accepted groups:
- `top3_hit_rate`: share of descriptions with an acceptable code among the first three shown
  (a description shown nothing counts as a miss);
- `top5_precision`: acceptable codes shown / codes shown, over all descriptions (at most five
  each; fewer is fine: no suggestion is better than a wrong one);
- `keyword_accuracy`: share of keyword pairs the matching keyword rule answers as labelled;
- `p99_ms`: 99th percentile of the time to read one description (search cache off, reference
  tables loaded once before timing; `index_build_s` is that loading).
Targets: top3_hit_rate ≥ 0.95, top5_precision ≥ 0.80, keyword_accuracy ≥ 0.98, p99_ms ≤ 20.
Prints one JSON object; `misses` and `wrong` list the descriptions and codes that missed, and
`keyword_errors` the pairs answered wrong; `held_out` gives the two rates for the descriptions
written after the search was tuned on the others, and not tuned on (the `written` column).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not __package__:
    # Run as a file, this folder comes first on sys.path and this very file would shadow
    # nothing, but the project's packages must be found: look in the project root.
    sys.path[0] = str(ROOT)

from matching.keywords import TenderText, keyword_tokens, text_tokens  # noqa: E402
from reference import cpv_search as search  # noqa: E402
from reference.cpv import cpv_is_within  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "trades"
LIMIT = 5


@dataclass(frozen=True)
class Description:
    lang: str
    structure: str
    text: str
    accept: tuple[str, ...]  # "77310000": that code and below; "=77300000": that code only
    held_out: bool = False  # written after the search was tuned, and not tuned on


@dataclass(frozen=True)
class KeywordPair:
    keyword: str
    text: str
    match: bool


def load_descriptions(folder: Path = FIXTURES) -> list[Description]:
    with (folder / "descriptions.csv").open(encoding="utf-8", newline="") as handle:
        return [
            Description(row["lang"], row["structure"], row["description"],
                        tuple(row["accept"].split()), row.get("written") == "held-out")
            for row in csv.DictReader(handle)
        ]


def load_pairs(folder: Path = FIXTURES) -> list[KeywordPair]:
    with (folder / "keyword_pairs.csv").open(encoding="utf-8", newline="") as handle:
        return [
            KeywordPair(row["keyword"], row["text"], row["match"] == "yes")
            for row in csv.DictReader(handle)
        ]


def acceptable(code: str, accept: tuple[str, ...]) -> bool:
    for group in accept:
        if group.startswith("="):
            if code == group[1:]:
                return True
        elif cpv_is_within(code, group):
            return True
    return False


def keyword_matches(pair: KeywordPair) -> bool:
    """The matching keyword rule, as the alerts apply it to a tender's title."""
    return TenderText([text_tokens(pair.text)], sources=[pair.text]).has(
        keyword_tokens(pair.keyword)
    )


def evaluate(descriptions: list[Description], pairs: list[KeywordPair]) -> dict:
    """The quality figures (no timing): what the pytest test asserts and the benchmark prints."""
    result = _evaluate(descriptions, pairs)
    held_out = [d for d in descriptions if d.held_out]
    if held_out:
        part = _evaluate(held_out, [])
        result["held_out"] = {key: part[key] for key in
                              ("descriptions", "top3_hit_rate", "top5_precision")}
    return result


def _evaluate(descriptions: list[Description], pairs: list[KeywordPair]) -> dict:
    hits, shown, good = 0, 0, 0
    misses, wrong = [], []
    for description in descriptions:
        codes = [c.code for c in search.cpv_search(description.text, limit=LIMIT)]
        ok = [acceptable(code, description.accept) for code in codes]
        if any(ok[:3]):
            hits += 1
        else:
            misses.append(f"{description.lang}: {description.text}")
        shown += len(codes)
        good += sum(ok)
        wrong += [
            f"{description.text} -> {code}" for code, fine in zip(codes, ok, strict=True) if not fine
        ]
    keyword_errors = [
        f"{pair.keyword!r} / {pair.text!r}: expected {'match' if pair.match else 'no match'}"
        for pair in pairs
        if keyword_matches(pair) != pair.match
    ]
    return {
        "descriptions": len(descriptions),
        "descriptions_fr": sum(d.lang == "fr" for d in descriptions),
        "descriptions_en": sum(d.lang == "en" for d in descriptions),
        "top3_hit_rate": round(hits / len(descriptions), 4) if descriptions else 0.0,
        "top5_precision": round(good / shown, 4) if shown else 0.0,
        "codes_shown": shown,
        "keyword_pairs": len(pairs),
        "keyword_accuracy": round(1 - len(keyword_errors) / len(pairs), 4) if pairs else 0.0,
        "misses": misses,
        "wrong": wrong,
        "keyword_errors": keyword_errors,
    }


def time_descriptions(descriptions: list[Description], repeat: int) -> list[float]:
    """Seconds per description, uncached (each run reads the text from scratch)."""
    uncached = search._cpv_search.__wrapped__  # the lru_cache would time dictionary look-ups
    times = []
    for _ in range(repeat):
        for description in descriptions:
            start = time.perf_counter()
            uncached(description.text, LIMIT)
            times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the set")
    args = parser.parse_args(argv)
    descriptions, pairs = load_descriptions(args.fixtures), load_pairs(args.fixtures)
    start = time.perf_counter()
    search.cpv_search("entretien des espaces verts")  # loads the tables and the label index
    build = time.perf_counter() - start
    result = evaluate(descriptions, pairs)
    times = time_descriptions(descriptions, args.repeat)
    result.update(
        p99_ms=round(1000 * percentile(times, 0.99), 2),
        p50_ms=round(1000 * percentile(times, 0.50), 2),
        max_ms=round(1000 * max(times), 2),
        index_build_s=round(build, 3),
        timed_runs=len(times),
    )
    order = ["descriptions", "top3_hit_rate", "top5_precision", "keyword_pairs",
             "keyword_accuracy", "p99_ms"]
    result = {**{key: result[key] for key in order}, **result}
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()

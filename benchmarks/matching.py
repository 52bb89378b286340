"""Matching benchmark: the profile index against brute force on realistic random data.

    python benchmarks/matching.py --tenders 2000 --profiles 100000 --seed 1

Profiles and tenders are drawn from the real CPV tree and département list (reference/):
profiles with 1-8 CPV codes around one or two trades at various levels, 1-10 départements around a
home département, a whole region, or all of France, a few keywords taken from label words, some
excluded keywords and capacities; tenders with 1-3 CPV codes, lots, 0-2 départements, a
description, some reserved, some past their deadline, cancelled or awarded.

The index matches every tender (`match_s`). Brute force (`brute_force_match`, every profile
evaluated) is extrapolated, stratified by rule 1 because its cost is all or nothing: on the tenders
that are closed (cancelled, awarded, past their deadline) it returns at once and is run on all of
them; on the open ones it evaluates every profile and is run on a systematic sample (every k-th
open tender, `brute_sample_tenders` of them). `brute_s` = time on the closed ones + mean time per
sampled open tender x open tenders. (A plain sample of all tenders gives the same expectation but
swings by ±20 % with how many closed tenders it happens to catch.) `identical` says whether the
index gave exactly the same matches (same structures, scores and reasons) on every tender brute
force ran on. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

if not __package__:
    # Run as a file, this folder comes first on sys.path and this very file would shadow the
    # `matching` package: look in the project root instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from matching.engine import brute_force_match, is_open  # noqa: E402
from matching.index import ProfileIndex  # noqa: E402
from matching.profile import Profile  # noqa: E402
from reference.cpv import all_cpv, cpv_get, cpv_level  # noqa: E402
from reference.families import (  # noqa: E402
    DISABILITY_FAMILIES,
    FAMILY_CODES,
    RESERVED_FAMILIES,
    SIAE_FAMILIES,
)
from reference.geography import all_departements, all_regions  # noqa: E402
from reference.text import STOPWORDS, fold  # noqa: E402
from tenders.model import Lot, NoticeKind, Reserved, Tender  # noqa: E402

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
T = TypeVar("T")

# Divisions where ESS structures mostly work (green spaces, cleaning and waste, building, catering,
# business and social services, training, repair, transport, textiles, food, furniture, IT…).
ESS_DIVISIONS = (
    "77 90 45 55 79 85 80 98 50 60 18 15 39 72 92 71 63 64 03 44 37 33 22 19 70 75 73".split()
)
OTHER_FAMILIES = (*(code for code in FAMILY_CODES if code not in RESERVED_FAMILIES), None)
GENERIC_LABELS = 10  # a word in more CPV labels than this is not drawn as a keyword
TITLE_OPENINGS = (
    "Marché de",
    "Accord-cadre pour",
    "Prestations de",
    "Travaux de",
    "Fourniture et",
    "Consultation pour",
)
FILLER = (
    "Le présent marché a pour objet les prestations décrites ci-dessous pour le compte de la "
    "collectivité. Les prestations seront exécutées sur le territoire de la commune et de ses "
    "établissements. La consultation est passée selon la procédure adaptée. Les candidats "
    "remettront un mémoire technique et une attestation de visite des sites."
).split()


class World:
    """The real reference data, arranged for drawing."""

    def __init__(self) -> None:
        self.codes = [c.code for c in all_cpv()]
        self.by_division: dict[str, list[str]] = defaultdict(list)
        for code in self.codes:
            self.by_division[code[:2]].append(code)
        self.divisions = sorted(self.by_division)
        self.ess_divisions = [d for d in ESS_DIVISIONS if d in self.by_division]
        self.departements = [d.code for d in all_departements()]
        self.region_of = {d.code: d.region_code for d in all_departements()}
        self.regions = {r.code: list(r.departements) for r in all_regions()}
        stop = STOPWORDS["fr"]
        # Label words people would type as keywords: 4+ letters, not a stopword.
        self.label_words = {
            c.code: [w for w in c.label_fr.replace(",", " ").split() if len(w) >= 4]
            for c in all_cpv()
        }
        # A word found in many labels ("services", "travaux", "équipements") says nothing of a
        # trade: people type "élagage" or "espaces verts", so those are left out.
        # Nor are the words of notices' boilerplate ("prestations", "collectivité").
        boilerplate = {fold(w) for w in FILLER} | {fold(w) for w in TITLE_OPENINGS}
        frequency: dict[str, int] = defaultdict(int)
        for words in self.label_words.values():
            for word in {fold(w) for w in words}:
                frequency[word] += 1
        self.label_words = {
            code: [
                w
                for w in words
                if fold(w) not in stop
                and fold(w) not in boilerplate
                and "'" not in w
                and frequency[fold(w)] <= GENERIC_LABELS
            ]
            for code, words in self.label_words.items()
        }

    def label(self, code: str) -> str:
        cpv = cpv_get(code)
        return cpv.label_fr if cpv else code

    def division(self, rng: random.Random, ess_share: float = 0.8) -> str:
        pool = self.ess_divisions if rng.random() < ess_share else self.divisions
        return rng.choice(pool)

    def at_level(self, rng: random.Random, code: str, weights: tuple[float, ...]) -> str:
        """`code` cut to a random level (2 = division … 8 = itself), kept only if it exists."""
        level = rng.choices((2, 3, 4, 5, 8), weights=weights)[0]
        for size in range(min(level, cpv_level(code)), 1, -1):
            candidate = code[:size].ljust(8, "0")
            if cpv_get(candidate):
                return candidate
        return code

    def keyword(self, rng: random.Random, code: str) -> str | None:
        words = self.label_words.get(code) or []
        if not words:
            return None
        start = rng.randrange(len(words))
        size = 1 if rng.random() < 0.7 else 2
        text = " ".join(words[start : start + size])
        return text.lower() if rng.random() < 0.8 else text


def drawn(rng: random.Random, steps: tuple[tuple[float, T], ...], otherwise: T) -> T:
    """One draw: the value of the first step whose cumulative probability exceeds it."""
    roll = rng.random()
    return next((value for below, value in steps if roll < below), otherwise)


def make_profiles(world: World, rng: random.Random, count: int) -> list[Profile]:
    profiles = []
    for structure_id in range(1, count + 1):
        trades = [world.division(rng) for _ in range(1 if rng.random() < 0.7 else 2)]
        codes: list[str] = []
        for _ in range(rng.randint(1, 8)):
            base = rng.choice(world.by_division[rng.choice(trades)])
            code = world.at_level(rng, base, (0.1, 0.25, 0.3, 0.2, 0.15))
            if code not in codes:
                codes.append(code)
        home = rng.choice(world.departements)
        region_depts = world.regions[world.region_of[home]]
        area = rng.random()
        all_france = area < 0.04
        if all_france:
            depts: list[str] = []
        elif area < 0.25:
            depts = list(region_depts)
        else:
            depts = [home]
            for _ in range(rng.randint(0, 9)):
                pool = region_depts if rng.random() < 0.7 else world.departements
                choice = rng.choice(pool)
                if choice not in depts:
                    depts.append(choice)
        keywords = []
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            keyword = world.keyword(rng, rng.choice(codes))
            if keyword and keyword not in keywords:
                keywords.append(keyword)
        excluded = []
        if rng.random() < 0.2:
            keyword = world.keyword(rng, rng.choice(world.codes))
            if keyword:
                excluded.append(keyword)
        family_roll = rng.random()
        if family_roll < 0.3:
            family = rng.choice(sorted(SIAE_FAMILIES))
        elif family_roll < 0.4:
            family = rng.choice(sorted(DISABILITY_FAMILIES))
        else:
            family = rng.choice(OTHER_FAMILIES)
        capacity = None
        if rng.random() < 0.5:
            capacity = int(math.exp(rng.uniform(math.log(20_000), math.log(2_000_000))))
        profiles.append(
            Profile(
                structure_id=structure_id,
                name=f"Structure {structure_id}",
                family=family,
                cpv_codes=tuple(codes),
                departements=tuple(depts),
                all_france=all_france,
                keywords=tuple(keywords),
                excluded_keywords=tuple(excluded),
                max_contract_value=capacity,
            )
        )
    return profiles


def make_tenders(world: World, rng: random.Random, count: int) -> list[Tender]:
    tenders = []
    for number in range(count):
        division = world.division(rng, ess_share=0.7)
        codes: list[str] = []
        for _ in range(rng.randint(1, 3)):
            base = rng.choice(world.by_division[division])
            code = world.at_level(rng, base, (0.08, 0.12, 0.3, 0.25, 0.25))
            if code not in codes:
                codes.append(code)
        lots = []
        for lot_number in range(rng.choice((0, 0, 0, 2, 3, 4))):
            lot_code = world.at_level(
                rng, rng.choice(world.by_division[division]), (0.0, 0.1, 0.3, 0.3, 0.3)
            )
            value = None
            if rng.random() < 0.5:
                value = float(int(math.exp(rng.uniform(math.log(5_000), math.log(2_000_000)))))
            lots.append(Lot(str(lot_number + 1), world.label(lot_code), [lot_code], value))
        description = " ".join(
            [world.label(code) + "." for code in codes]
            + FILLER[: rng.randint(10, len(FILLER))]
            + [world.label(lot.cpv_codes[0]) + "." for lot in lots]
        )
        area = rng.random()
        if area < 0.05:  # national (ministries, national bodies): matches every area
            depts = []
        else:
            depts = [rng.choice(world.departements)]
            if area > 0.85:
                depts.append(rng.choice(world.departements))
        kind = drawn(
            rng,
            ((0.9, NoticeKind.CALL), (0.94, NoticeKind.RECTIFICATION), (0.97, NoticeKind.AWARD)),
            NoticeKind.CANCELLATION,
        )
        reserved = drawn(
            rng,
            ((0.05, Reserved.SIAE), (0.08, Reserved.DISABILITY), (0.10, Reserved.BOTH)),
            Reserved.NONE,
        )
        value = None
        if rng.random() < 0.6:
            value = float(int(math.exp(rng.uniform(math.log(10_000), math.log(10_000_000)))))
        tenders.append(
            Tender(
                source="bench",
                source_id=str(number),
                title=f"{rng.choice(TITLE_OPENINGS)} {world.label(codes[0]).lower()}",
                buyer="Commune",
                description=description,
                kind=kind,
                cpv_codes=codes,
                departements=depts,
                deadline=NOW + timedelta(days=rng.randint(-10, 60) if rng.random() < 0.85 else -1),
                estimated_value=value,
                lots=lots,
                reserved=reserved,
                social_clause=rng.random() < 0.15,
            )
        )
    return tenders


def peak_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024


def run(tender_count: int, profile_count: int, seed: int, brute_sample: int) -> dict:
    rng = random.Random(seed)
    started = time.perf_counter()
    world = World()
    profiles = make_profiles(world, rng, profile_count)
    tenders = make_tenders(world, rng, tender_count)
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    index = ProfileIndex(profiles)
    index_build_s = time.perf_counter() - started
    # The profiles and the index live as long as the process: keep them out of the cyclic
    # garbage collector's full passes, which would otherwise walk millions of objects again
    # and again (what a long-running `centrale match` worker should do as well).
    gc.freeze()

    open_positions = [i for i, tender in enumerate(tenders) if is_open(tender, NOW)]
    closed_positions = [i for i, tender in enumerate(tenders) if not is_open(tender, NOW)]
    step = max(1, len(open_positions) // max(1, brute_sample))
    sample = open_positions[::step][:brute_sample]
    # As `centrale match` does: each tender's matches are used (stored) and dropped; only the
    # results of the tenders brute force also runs on are kept here, for the comparison.
    checked = set(sample) | set(closed_positions)
    results: dict[int, list] = {}
    pairs = tenders_with_matches = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for position, tender in enumerate(tenders):
        found = index.match(tender, NOW)
        pairs += len(found)
        tenders_with_matches += bool(found)
        if position in checked:
            results[position] = found
    match_s = time.perf_counter() - started
    match_cpu_s = time.process_time() - cpu_started

    def brute_over(positions: list[int]) -> tuple[dict[int, list], float, float]:
        started, cpu_started = time.perf_counter(), time.process_time()
        found = {i: brute_force_match(profiles, tenders[i], NOW) for i in positions}
        return found, time.perf_counter() - started, time.process_time() - cpu_started

    brute, brute_sample_s, brute_sample_cpu_s = brute_over(sample)
    brute_closed, closed_s, closed_cpu_s = brute_over(closed_positions)
    per_open = len(open_positions) / max(1, len(sample))
    brute_s = brute_sample_s * per_open + closed_s
    brute_cpu_s = brute_sample_cpu_s * per_open + closed_cpu_s
    brute.update(brute_closed)

    index_pairs = {(i, m.structure_id) for i in brute for m in results[i]}
    brute_pairs = {(i, m.structure_id) for i in brute for m in brute[i]}
    return {
        "tenders": tender_count,
        "profiles": profile_count,
        "pairs": pairs,
        "index_build_s": round(index_build_s, 3),
        "match_s": round(match_s, 3),
        "brute_s": round(brute_s, 3),
        "speedup": round(brute_s / match_s, 1) if match_s else None,
        "identical": index_pairs == brute_pairs and all(results[i] == brute[i] for i in brute),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "seed": seed,
        "brute_sample_tenders": len(sample),
        "brute_sample_s": round(brute_sample_s, 3),
        "brute_method": (
            f"brute_force_match on every {step}th open tender ({len(sample)} of "
            f"{len(open_positions)}) and on all {len(closed_positions)} closed ones; brute_s = "
            "closed seconds + mean seconds per sampled open tender x open tenders"
        ),
        "sample_pairs": len(brute_pairs),
        # CPU seconds of this process: the same measures, less sensitive to a shared machine.
        "match_cpu_s": round(match_cpu_s, 3),
        "brute_cpu_s": round(brute_cpu_s, 3),
        "open_tenders": len(open_positions),
        "tenders_with_matches": tenders_with_matches,
        "generate_s": round(generate_s, 3),
        "gc_frozen_after_build": True,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenders", type=int, default=2000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--brute-sample", type=int, default=40, help="tenders also matched by brute force"
    )
    args = parser.parse_args(argv)
    result = run(args.tenders, args.profiles, args.seed, args.brute_sample)
    print(json.dumps(result))
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

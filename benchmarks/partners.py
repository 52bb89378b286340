"""Partner suggestions benchmark: matching.partner_index against brute force.

    python benchmarks/partners.py --profiles 100000 --requests 1000 --seed 1

Profiles are drawn from the real CPV tree and département list: 1-4 CPV codes at various levels
in one or two of the divisions where ESS structures work, 1-3 départements around a home one
(about 3 % all of France), every family, about 10 % "not interested" in consortia, readiness
0-100, some with public contracts won. Each request is a random requester and a tender (1-3
codes, one département, lots half the time, random lacks, a few interested and searching
structures). The index is built once (`index_build_s`) and asked for every request
(`p50_ms`, `p99_ms`); brute force (`suggest_brute`, every profile scored) runs on the first
`--brute` requests (`brute_p50_ms`), and `identical` says whether both gave exactly the same
suggestions there. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

if not __package__:
    # Run as a file, this folder comes first on sys.path: look in the project root instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from matching.partner_index import PartnerIndex  # noqa: E402
from matching.partners import Need, PartnerProfile, suggest_brute  # noqa: E402
from reference.cpv import all_cpv  # noqa: E402
from reference.families import FAMILY_CODES  # noqa: E402
from reference.geography import all_departements  # noqa: E402

ESS_DIVISIONS = "77 90 45 55 79 85 80 98 50 60 18 15 39 72 92 71 63 64 03 44".split()
LACKS = ("trade", "lot", "area", "capacity")


def codes_by_division() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for code in all_cpv():
        if code.code[:2] in ESS_DIVISIONS:
            out.setdefault(code.code[:2], []).append(code.code)
    return out


def make_profile(rng: random.Random, sid: int, codes: dict[str, list[str]],
                 deps: list[str]) -> PartnerProfile:
    divisions = rng.sample(ESS_DIVISIONS, rng.choice((1, 1, 2)))
    cpv = tuple(rng.choice(codes[rng.choice(divisions)]) for _ in range(rng.randint(1, 4)))
    home = rng.randrange(len(deps))
    near = tuple(deps[(home + k) % len(deps)] for k in range(rng.randint(1, 3)))
    return PartnerProfile(
        structure_id=sid, member_id=sid, name=f"Structure {sid}",
        family=rng.choice(FAMILY_CODES), siae_type=None, cpv_codes=cpv, departements=near,
        all_france=rng.random() < 0.03, capacity=rng.choice((None, 40e3, 100e3, 500e3, 2e6)),
        readiness_score=rng.randint(0, 100), experience=rng.random() < 0.3,
        consortium_roles=("no",) if rng.random() < 0.1 else (rng.choice(
            ("lead", "cocontractor", "subcontractor")),))


def make_need(rng: random.Random, profiles: list[PartnerProfile],
              codes: dict[str, list[str]], deps: list[str]) -> Need:
    requester = rng.choice(profiles)
    division = rng.choice(ESS_DIVISIONS)
    cpv = tuple(rng.choice(codes[division]) for _ in range(rng.randint(1, 3)))
    lots = ()
    if rng.random() < 0.5:
        lots = tuple((str(n), f"Lot {n}", (rng.choice(codes[rng.choice(ESS_DIVISIONS)]),))
                     for n in range(1, rng.randint(2, 5)))
    some = lambda: frozenset(rng.choice(profiles).structure_id  # noqa: E731
                             for _ in range(rng.randint(0, 3)))
    return Need(requester=requester, cpv_codes=cpv, departements=(rng.choice(deps),),
                lots=lots, lots_wanted=(lots[0][0],) if lots and rng.random() < 0.5 else (),
                lacks=frozenset(rng.sample(LACKS, rng.randint(0, 3))),
                role=rng.choice(("lead", "cocontractor", "subcontractor")),
                interested=some(), searching=some(), declined=some(), asked=some())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--brute", type=int, default=50, help="requests also run brute force")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    codes = codes_by_division()
    deps = [d.code for d in all_departements()]
    profiles = [make_profile(rng, sid, codes, deps) for sid in range(1, args.profiles + 1)]
    needs = [make_need(rng, profiles, codes, deps) for _ in range(args.requests)]

    started = time.perf_counter()
    index = PartnerIndex(profiles)
    build_s = time.perf_counter() - started
    timings, answers = [], []
    for need in needs:
        started = time.perf_counter()
        answers.append(index.suggest(need))
        timings.append((time.perf_counter() - started) * 1000)
    brute_timings, identical = [], True
    for need, answer in list(zip(needs, answers, strict=True))[:args.brute]:
        started = time.perf_counter()
        expected = suggest_brute(need, profiles)
        brute_timings.append((time.perf_counter() - started) * 1000)
        identical = identical and expected == answer
    result = {"profiles": args.profiles, "requests": args.requests,
              "p50_ms": round(statistics.median(timings), 3),
              "p99_ms": round(percentile(timings, 0.99), 3),
              "brute_p50_ms": round(statistics.median(brute_timings), 3) if brute_timings
              else None,
              "identical": identical, "brute_requests": len(brute_timings),
              "index_build_s": round(build_s, 2),
              "suggested_mean": round(statistics.mean(len(a) for a in answers), 2)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

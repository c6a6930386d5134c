"""Benchmark: evaluate() over random valid referrals (facts files as dicts, validated on each call).

    .venv/bin/python benchmarks/bench_evaluate.py [--n 10000] [--seed 20240607] [--profile]

The fact sets are generated first with a seeded ``random.Random`` (same sets every run), then timed.
Prints one JSON line: n, seconds, evaluations_per_s, and the statuses drawn. Target: ≥ 5,000/s on one
core.
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# The eligible referral and the resolution of contradictions are the test suite's (tests/strategies.py),
# so that the benchmark's referrals are valid under the same protocol the tests check.
from strategies import eligible_facts, make_consistent  # noqa: E402

from criteria import evaluate  # noqa: E402
from criteria.codes import (  # noqa: E402
    CARDIAC_CONDITIONS,
    DMARDS,
    EULAR_ACR_2019_ITEMS,
    LN_CLASSES,
    SLEDAI_2K_WEIGHTS,
)
from criteria.facts import BOOLEAN_FACTS  # noqa: E402

NUMBERS = {  # fact -> (low, high) from criteria.md
    "age_years": (0, 120), "weight_kg": (5, 250), "height_cm": (40, 230), "soc_months": (0, 240),
    "gc_peak_mg_kg_day": (0, 60), "gc_peak_mg_day": (0, 3000), "gc_taper_floor_mg_kg_day": (0, 60),
    "lvef_percent": (5, 95), "egfr": (1, 250), "ast_x_uln": (0, 100), "alt_x_uln": (0, 100),
    "bilirubin_x_uln": (0, 100), "spo2_percent": (50, 100),
}
# Typical values and values at the rules' thresholds, drawn 90 % of the time (uniform draws over the
# valid ranges would make nearly every referral ineligible).
NEAR = {
    "age_years": (4, 5, 8, 10, 12, 14, 16, 18, 19), "weight_kg": (20, 35, 50), "height_cm": (120, 140, 160),
    "soc_months": (3, 6, 12, 24), "gc_peak_mg_kg_day": (0.5, 1, 2, 2), "gc_peak_mg_day": (30, 59, 60, 937.5),
    "gc_taper_floor_mg_kg_day": (0.2, 0.5, 1), "lvef_percent": (54, 55, 62, 65, 68), "egfr": (29.9, 30, 90, 110, 120),
    "ast_x_uln": (0.5, 1, 3, 3.1), "alt_x_uln": (0.5, 1, 3, 3.1), "bilirubin_x_uln": (0.3, 0.5, 2, 2.1),
    "spo2_percent": (91, 92, 97, 98, 99),
}
INTEGERS = {"sledai_2k": (0, 105), "ln_chronicity_index": (0, 12)}
SEROLOGY = ("hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna")
LISTS = {"dmards": DMARDS, "ln_classes": LN_CLASSES, "cardiac_conditions": CARDIAC_CONDITIONS,
         "sledai_2k_items": tuple(SLEDAI_2K_WEIGHTS)}
# Most facts are benign: a referral that fails everything is not a realistic workload.
USUALLY_FALSE = set(BOOLEAN_FACTS) - {"sle_eular_acr_2019", "gc_high_dose", "hcq", "target_not_reached",
                                 "apheresis_suitable", "agrees_contraception", "childbearing_potential"}


def random_facts(rng: random.Random) -> dict[str, Any]:
    """One valid facts file. Half are random referrals (most of them ineligible); the other half an
    eligible referral with up to three facts forgotten and up to two changed, so that every status and
    the missing-item logic get their share of the work."""
    if rng.random() < 0.5:
        return make_consistent(_random_values(rng))
    f = eligible_facts()
    for key in rng.sample(sorted(f), rng.randint(0, 3)):
        del f[key]
    other = _random_values(rng)
    for key in rng.sample(sorted(other), min(len(other), rng.randint(0, 2))):
        f[key] = other[key]
    return make_consistent(f)


def _random_values(rng: random.Random) -> dict[str, Any]:
    """Each fact known with probability 0.9, within its range and codes (contradictions resolved by the
    caller); now and then a partial item list (items not assessed), as protocol 2 allows."""
    f: dict[str, Any] = {}

    def known() -> bool:
        return rng.random() < 0.9

    for key, (lo, hi) in NUMBERS.items():
        if known():
            near = NEAR.get(key)
            f[key] = rng.choice(near) if near and rng.random() < 0.9 else round(rng.uniform(lo, hi), 1)
    for key, (lo, hi) in INTEGERS.items():
        if known():
            f[key] = rng.randint(lo, hi)
    for key in BOOLEAN_FACTS:
        if known():
            f[key] = rng.random() < (0.02 if key in USUALLY_FALSE else 0.9)
    for key in SEROLOGY:
        if known():
            f[key] = "positive" if rng.random() < 0.03 else "negative"
    for key, codes in LISTS.items():
        if known():
            size = 0 if key == "cardiac_conditions" and rng.random() < 0.9 else rng.randint(0, 3)
            f[key] = rng.sample(codes, size)
    if "sledai_2k_items" in f and rng.random() < 0.3:
        f["sledai_2k_unknown"] = rng.sample(tuple(SLEDAI_2K_WEIGHTS), 2)
    if known():
        f["sex"] = rng.choice(("female", "male"))
    if rng.random() < 0.5:
        f["eular_acr_2019"] = {"ana_ge_1_80": rng.random() < 0.95,
                               "items": rng.sample(tuple(EULAR_ACR_2019_ITEMS), rng.randint(2, 8))}
        if rng.random() < 0.3:
            f["eular_acr_2019"]["unknown_items"] = rng.sample(tuple(EULAR_ACR_2019_ITEMS), 2)
    if rng.random() < 0.5:
        f["creatinine_unit"] = rng.choice(("mg/dL", "umol/L"))
        mg_dl = round(rng.uniform(0.2, 1.5), 2)
        f["creatinine"] = mg_dl if f["creatinine_unit"] == "mg/dL" else round(mg_dl * 88.4, 1)
    return f


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=20240607)
    p.add_argument("--profile", action="store_true", help="print a cProfile of the run to stderr")
    args = p.parse_args(argv)

    rng = random.Random(args.seed)
    fact_sets = [random_facts(rng) for _ in range(args.n)]
    for facts in fact_sets[:5]:  # warm-up (imports, pydantic schema caches)
        evaluate(facts)

    statuses: collections.Counter[str] = collections.Counter()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    for facts in fact_sets:
        statuses[evaluate(facts).status] += 1
    seconds = time.perf_counter() - start
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)

    print(json.dumps({
        "benchmark": "evaluate", "n": args.n, "seconds": round(seconds, 4),
        "evaluations_per_s": round(args.n / seconds), "statuses": dict(sorted(statuses.items())),
        "seed": args.seed, "python": platform.python_version(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

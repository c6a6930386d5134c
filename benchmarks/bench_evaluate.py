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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from criteria import calculators, evaluate  # noqa: E402
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
    "gc_peak_mg_kg_day": (0, 30), "gc_taper_floor_mg_kg_day": (0, 30), "lvef_percent": (5, 95),
    "egfr": (1, 250), "ast_x_uln": (0, 100), "alt_x_uln": (0, 100), "bilirubin_x_uln": (0, 100),
    "spo2_percent": (50, 100),
}
# Typical values and values at the rules' thresholds, drawn 90 % of the time (uniform draws over the
# valid ranges would make nearly every referral ineligible).
NEAR = {
    "age_years": (4, 5, 8, 10, 12, 14, 16, 18, 19), "weight_kg": (20, 35, 50), "height_cm": (120, 140, 160),
    "soc_months": (3, 6, 12, 24), "gc_peak_mg_kg_day": (0.5, 1, 2, 2), "gc_taper_floor_mg_kg_day": (0.2, 0.5, 1),
    "lvef_percent": (54, 55, 62, 65, 68), "egfr": (29.9, 30, 90, 110, 120),
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


ELIGIBLE: dict[str, Any] = {
    "age_years": 10, "sex": "female", "childbearing_potential": True, "agrees_contraception": True,
    "pregnant": False, "weight_kg": 30, "height_cm": 140, "sle_eular_acr_2019": True, "sledai_2k": 12,
    "intolerant_to_conventional": False, "soc_months": 12, "gc_high_dose": True, "hcq": True,
    "dmards": ["mycophenolate", "cyclophosphamide"], "target_not_reached": True, "ln_classes": ["IV"],
    "cns_lupus": False, "refractory_cytopenia": False, "steroid_dependent": False, "lvef_percent": 62,
    "ecg_significant_abnormality": False, "egfr": 95, "ast_x_uln": 1.0, "alt_x_uln": 1.0,
    "bilirubin_x_uln": 0.5, "spo2_percent": 98, "severe_lung_disease": False, "apheresis_suitable": True,
    "prior_cell_therapy": False, "cns_event_60d": False, "cns_damage_or_severe_seizures": False,
    "dialysis_3m": False, "ln_chronicity_index": 2, "renal_fibrosis_extensive": False,
    "nephropathy_needs_intensification": False, "cardiac_conditions": [], "non_sle_immunosuppression": False,
    "active_infection": False, "transplant_3m": False, "gvhd_grade2_2w": False, "hbsag": "negative",
    "hbcab": "negative", "hcv_ab": "negative", "hiv_ab": "negative", "syphilis": "negative",
    "cmv_dna": "negative", "mas_1m": False, "live_vaccine_4w": False, "malignancy_or_severe_disease": False,
    "other_trial_3m": False,
}


def random_facts(rng: random.Random) -> dict[str, Any]:
    """One valid facts file. Half are random referrals (most of them ineligible); the other half an
    eligible referral with up to three facts forgotten and up to two changed, so that every status and
    the missing-item logic get their share of the work."""
    if rng.random() < 0.5:
        return _resolve(_random_values(rng))
    f = dict(ELIGIBLE)
    for key in rng.sample(sorted(f), rng.randint(0, 3)):
        del f[key]
    other = _random_values(rng)
    for key in rng.sample(sorted(other), min(len(other), rng.randint(0, 2))):
        f[key] = other[key]
    if f.get("creatinine") is not None and f.get("creatinine_unit") is None:
        del f["creatinine"]
    return _resolve(f)


def _random_values(rng: random.Random) -> dict[str, Any]:
    """Each fact known with probability 0.9, within its range and codes (contradictions not resolved)."""
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
    if known():
        f["sex"] = rng.choice(("female", "male"))
    if rng.random() < 0.5:
        f["eular_acr_2019"] = {"ana_ge_1_80": rng.random() < 0.95,
                               "items": rng.sample(tuple(EULAR_ACR_2019_ITEMS), rng.randint(2, 8))}
    if rng.random() < 0.5:
        f["creatinine_unit"] = rng.choice(("mg/dL", "umol/L"))
        mg_dl = round(rng.uniform(0.2, 1.5), 2)
        f["creatinine"] = mg_dl if f["creatinine_unit"] == "mg/dL" else round(mg_dl * 88.4, 1)
    return f


def _resolve(f: dict[str, Any]) -> dict[str, Any]:
    # The contradictions of criteria.md resolved: derived facts follow their inputs.
    if f.get("sex") == "male":
        f["childbearing_potential"] = False
    if f.get("pregnant") and (f.get("sex") == "male" or f.get("childbearing_potential") is False):
        f["pregnant"] = False
    if "sledai_2k_items" in f and "sledai_2k" in f:
        f["sledai_2k"] = calculators.sledai_2k(f["sledai_2k_items"])
    if "eular_acr_2019" in f and "sle_eular_acr_2019" in f:
        e = f["eular_acr_2019"]
        f["sle_eular_acr_2019"] = calculators.eular_acr_2019(e["ana_ge_1_80"], e["items"]).classified
    if "gc_peak_mg_kg_day" in f and "gc_high_dose" in f:
        f["gc_high_dose"] = f["gc_peak_mg_kg_day"] >= 1
    if "gc_taper_floor_mg_kg_day" in f and "steroid_dependent" in f:
        f["steroid_dependent"] = f["gc_taper_floor_mg_kg_day"] >= 0.5
    if "creatinine" in f and "height_cm" in f and "egfr" in f:
        calc = calculators.schwartz_bedside_egfr(f["height_cm"], f["creatinine"], f["creatinine_unit"])
        if 1 <= calc <= 250:
            f["egfr"] = round(calc, 3)
        else:
            del f["egfr"]
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

"""Reusable test data for the eligibility engine (criteria.md, "Facts").

``valid_facts()`` is a hypothesis strategy of facts files (dicts) that the facts model must accept: every
value in its range and code list, and none of the contradictions of criteria.md (a calculator input that
disagrees with its fact, a male with childbearing potential, a pregnancy without childbearing potential,
creatinine without a unit). Numbers lean towards the thresholds of the rules, so that both sides of
every boundary are drawn often.

``eligible_facts()`` is one complete referral that is eligible (only the screening-visit items pending).

Import as ``from strategies import valid_facts`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from criteria import calculators
from criteria.codes import (
    CARDIAC_CONDITIONS,
    DMARDS,
    EULAR_ACR_2019_ITEMS,
    LN_CLASSES,
    SLEDAI_2K_WEIGHTS,
)
from criteria.facts import BOOLEAN_FACTS

# Deterministic and quick: use as a decorator, ``@SETTINGS`` (or ``settings(SETTINGS, max_examples=...)``).
SETTINGS = settings(
    max_examples=250, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# fact -> (low, high, boundary values of the rules inside the range), from the table of criteria.md.
NUMBER_RANGES: dict[str, tuple[float, float, tuple[float, ...]]] = {
    "age_years": (0, 120, (4, 5, 18, 19)),
    "weight_kg": (5, 250, ()),
    "height_cm": (40, 230, ()),
    "soc_months": (0, 240, (5.9, 6)),
    "gc_peak_mg_kg_day": (0, 60, (0.99, 1)),
    "gc_peak_mg_day": (0, 3000, (59, 60)),
    "gc_taper_floor_mg_kg_day": (0, 60, (0.49, 0.5)),
    "lvef_percent": (5, 95, (54, 55)),
    "egfr": (1, 250, (29.9, 30)),
    "ast_x_uln": (0, 100, (3.0, 3.1)),
    "alt_x_uln": (0, 100, (3.0, 3.1)),
    "bilirubin_x_uln": (0, 100, (2.0, 2.1)),
    "spo2_percent": (50, 100, (91, 92)),
}
INTEGER_RANGES: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "sledai_2k": (0, 105, (7, 8)),
    "ln_chronicity_index": (0, 12, (6, 7)),
}
SEROLOGY_FACTS = ("hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna")
LIST_FACTS: dict[str, tuple[str, ...]] = {
    "dmards": DMARDS,
    "ln_classes": LN_CLASSES,
    "cardiac_conditions": CARDIAC_CONDITIONS,
    "sledai_2k_items": tuple(SLEDAI_2K_WEIGHTS),
    "sledai_2k_unknown": tuple(SLEDAI_2K_WEIGHTS),
}
CREATININE_MG_DL = (0.05, 20.0)


def _number(lo: float, hi: float, edges: tuple[float, ...]) -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from((lo, hi, *edges)),
        st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False),
        st.integers(min_value=int(lo), max_value=int(hi)).map(float),
    )


def _integer(lo: int, hi: int, edges: tuple[int, ...]) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from((lo, hi, *edges)), st.integers(min_value=lo, max_value=hi))


def _codes(codes: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    # Duplicates are allowed in a facts file (they count once).
    return st.lists(st.sampled_from(codes), max_size=4)


def _value_strategies() -> dict[str, st.SearchStrategy[Any]]:
    out: dict[str, st.SearchStrategy[Any]] = {}
    for key, (lo, hi, edges) in NUMBER_RANGES.items():
        out[key] = _number(lo, hi, edges)
    for key, (ilo, ihi, iedges) in INTEGER_RANGES.items():
        out[key] = _integer(ilo, ihi, iedges)
    for key in BOOLEAN_FACTS:
        out[key] = st.booleans()
    for key in SEROLOGY_FACTS:
        out[key] = st.sampled_from(("positive", "negative"))
    for key, codes in LIST_FACTS.items():
        out[key] = _codes(codes)
    out["sex"] = st.sampled_from(("female", "male"))
    out["eular_acr_2019"] = st.fixed_dictionaries(
        {},
        optional={
            "ana_ge_1_80": st.one_of(st.none(), st.booleans()),
            "items": st.one_of(st.none(), st.lists(st.sampled_from(tuple(EULAR_ACR_2019_ITEMS)),
                                                   max_size=6)),
            "unknown_items": st.one_of(st.none(), st.lists(st.sampled_from(tuple(EULAR_ACR_2019_ITEMS)),
                                                           max_size=3)),
        },
    )
    return out


VALUES = _value_strategies()


def _add_creatinine(draw: st.DrawFn, facts: dict[str, Any]) -> None:
    """Now and then a serum creatinine with its unit; with a height, often one that puts the bedside
    Schwartz eGFR just below or above I4b's 30."""
    if not draw(st.booleans()):
        return
    height = facts.get("height_cm")
    if height is not None and draw(st.booleans()):
        target = draw(st.sampled_from((29.5, 29.9, 30.0, 30.1, 30.4)))  # eGFR ≈ target
        mg_dl = min(19.9, max(0.06, calculators.SCHWARTZ_BEDSIDE_K * height / target))
    else:
        mg_dl = draw(st.one_of(
            st.sampled_from((0.3, 0.7, 1.0, 1.94, 5.0)),
            st.floats(min_value=0.06, max_value=19.9, allow_nan=False, allow_infinity=False),
        ))
    unit = draw(st.sampled_from(("mg/dL", "umol/L")))
    facts["creatinine_unit"] = unit
    facts["creatinine"] = mg_dl if unit == "mg/dL" else mg_dl * calculators.UMOL_PER_MG_DL_CREATININE


@st.composite
def valid_facts(draw: st.DrawFn, *, min_keys: int = 0, null_ratio: float = 0.1) -> dict[str, Any]:
    """A facts file the facts model accepts: each fact absent, ``null`` now and then, or a valid value."""
    keys = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, min_size=min_keys))
    facts: dict[str, Any] = {}
    for key in sorted(keys):
        if null_ratio and draw(st.floats(0, 1)) < null_ratio:
            facts[key] = None
        else:
            facts[key] = draw(VALUES[key])
    _add_creatinine(draw, facts)
    return make_consistent(facts, draw)


@st.composite
def near_eligible_facts(draw: st.DrawFn) -> dict[str, Any]:
    """``eligible_facts()`` with a few facts forgotten or changed to other valid values: all three
    statuses are drawn often (random facts alone are almost never eligible)."""
    facts = eligible_facts()
    dropped = draw(st.lists(st.sampled_from(sorted(facts)), unique=True, max_size=3))
    facts = drop_keys(facts, set(dropped))
    changed = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=3))
    for key in changed:
        facts[key] = draw(VALUES[key])
    _add_creatinine(draw, facts)
    return make_consistent(facts, draw)


def make_consistent(facts: dict[str, Any], draw: st.DrawFn | None = None) -> dict[str, Any]:
    """Resolve the contradictions of criteria.md the way a careful referrer would (the derived fact
    follows its input; pregnancy is dropped when impossible). Returns ``facts``, changed in place."""
    # sex and childbearing potential; pregnancy.
    if facts.get("sex") == "male" and facts.get("childbearing_potential"):
        facts["childbearing_potential"] = False
    if facts.get("pregnant") and (facts.get("sex") == "male" or facts.get("childbearing_potential") is False):
        facts["pregnant"] = False
    # Calculator inputs decide their facts; a code is present or not assessed, not both.
    items = facts.get("sledai_2k_items")
    if items is not None and facts.get("sledai_2k_unknown"):
        facts["sledai_2k_unknown"] = [c for c in facts["sledai_2k_unknown"] if c not in items]
    if items is not None and facts.get("sledai_2k") is not None:
        r = calculators.sledai_2k_range(items, facts.get("sledai_2k_unknown") or ())
        facts["sledai_2k"] = min(max(facts["sledai_2k"], r.low), r.high)
    score = _sledai_low(facts)
    if score is not None and score >= 5 and facts.get("target_not_reached") is False:
        facts["target_not_reached"] = True
    eular = facts.get("eular_acr_2019")
    if eular is not None and eular.get("items") is not None and eular.get("unknown_items"):
        eular["unknown_items"] = [c for c in eular["unknown_items"] if c not in eular["items"]]
    if eular is not None and facts.get("sle_eular_acr_2019") is not None:
        r = calculators.eular_acr_2019_range(eular.get("ana_ge_1_80"), eular.get("items"),
                                             eular.get("unknown_items") or ())
        classified = r.classified if r is not None else (False if eular.get("ana_ge_1_80") is False else None)
        if classified is not None:
            facts["sle_eular_acr_2019"] = classified
    _consistent_dose(facts)
    if facts.get("gc_taper_floor_mg_kg_day") is not None and facts.get("steroid_dependent") is not None:
        facts["steroid_dependent"] = facts["gc_taper_floor_mg_kg_day"] >= 0.5
    # Creatinine needs its unit; a given eGFR must be within 1 mL/min/1.73 m² of bedside Schwartz.
    if facts.get("creatinine") is not None and facts.get("creatinine_unit") is None:
        del facts["creatinine"]
    if (facts.get("creatinine") is not None and facts.get("height_cm") is not None
            and facts.get("egfr") is not None):
        calc = calculators.schwartz_bedside_egfr(facts["height_cm"], facts["creatinine"],
                                                 facts["creatinine_unit"])
        delta = draw(st.sampled_from((-0.9, -0.5, 0.0, 0.5, 0.9))) if draw else 0.0
        egfr = min(250.0, max(1.0, calc + delta))
        if abs(egfr - calc) <= 0.95:
            facts["egfr"] = egfr
        else:
            del facts["egfr"]
    return facts


def _sledai_low(facts: dict[str, Any]) -> int | None:
    items = facts.get("sledai_2k_items")
    if items is not None:
        return calculators.sledai_2k_range(items, facts.get("sledai_2k_unknown") or ()).low
    return facts.get("sledai_2k")


def _consistent_dose(facts: dict[str, Any]) -> None:
    """mg/day within 5 % of mg/kg/day × weight; gc_high_dose as the figures decide it."""
    per_kg, per_day, weight = (facts.get(k) for k in ("gc_peak_mg_kg_day", "gc_peak_mg_day", "weight_kg"))
    if per_kg is not None and per_day is not None and weight is not None \
            and abs(per_day - per_kg * weight) > 0.05 * per_kg * weight:
        if per_kg * weight <= 3000:
            facts["gc_peak_mg_day"] = per_day = per_kg * weight
        else:
            del facts["gc_peak_mg_day"]
            per_day = None
    if weight is not None:
        per_day = per_day if per_day is not None else (per_kg * weight if per_kg is not None else None)
        per_kg = per_kg if per_kg is not None else (per_day / weight if per_day is not None else None)
    if facts.get("gc_high_dose") is None or (per_kg is None and per_day is None):
        return
    high = (per_kg is not None and per_kg >= 1) or (per_day is not None and per_day >= 60)
    if high:
        facts["gc_high_dose"] = True
    elif per_kg is not None and per_day is not None:
        facts["gc_high_dose"] = False


def drop_keys(facts: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    """``facts`` without ``dropped`` (a referral that knows less), still valid: creatinine goes with its
    unit."""
    out = {k: v for k, v in facts.items() if k not in dropped}
    if out.get("creatinine") is not None and out.get("creatinine_unit") is None:
        del out["creatinine"]
    return out


def eligible_facts() -> dict[str, Any]:
    """A complete referral that meets every inclusion and no exclusion: a 10-year-old girl after
    menarche with biopsy-proven class IV lupus nephritis, refractory to 12 months of standard care."""
    return {
        "age_years": 10, "sex": "female", "childbearing_potential": True, "agrees_contraception": True,
        "pregnant": False, "weight_kg": 30, "height_cm": 140,
        "sle_eular_acr_2019": True, "sledai_2k": 12,
        "intolerant_to_conventional": False, "soc_months": 12, "gc_high_dose": True, "hcq": True,
        "dmards": ["mycophenolate", "cyclophosphamide"], "target_not_reached": True,
        "ln_classes": ["IV"], "cns_lupus": False, "refractory_cytopenia": False, "steroid_dependent": False,
        "lvef_percent": 62, "ecg_significant_abnormality": False, "egfr": 95,
        "ast_x_uln": 1.0, "alt_x_uln": 1.0, "bilirubin_x_uln": 0.5, "spo2_percent": 98,
        "severe_lung_disease": False, "apheresis_suitable": True,
        "prior_cell_therapy": False, "cns_event_60d": False, "cns_damage_or_severe_seizures": False,
        "dialysis_3m": False, "ln_chronicity_index": 2, "renal_fibrosis_extensive": False,
        "cardiac_conditions": [], "other_major_organ": False,
        "non_sle_immunosuppression": False, "active_infection": False, "transplant_3m": False,
        "gvhd_grade2_2w": False, "hbsag": "negative", "hbcab": "negative", "hcv_ab": "negative",
        "hiv_ab": "negative", "syphilis": "negative", "cmv_dna": "negative", "mas_1m": False,
        "live_vaccine_4w": False, "malignancy_or_severe_disease": False, "other_trial_3m": False,
    }

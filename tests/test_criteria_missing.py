"""The missing items of an incomplete outcome are minimal: only facts that can still change a verdict
(criteria.md, "Outcome"), each with a reason a physician understands."""

import copy
import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import SETTINGS, eligible_facts, near_eligible_facts, valid_facts

from criteria import CRITERIA, Facts, evaluate
from criteria.evaluate import context
from criteria.logic import Expr
from criteria.protocol import BY_ID


def missing(o, cid):
    items = [m for m in o.missing if m.criterion == cid]
    assert len(items) <= 1
    return items[0] if items else None


def test_hbv_dna_not_asked_when_both_antigens_negative():
    o = evaluate({"hbsag": "negative", "hbcab": "negative"})
    assert o.criteria["E9a"] == "clear"
    assert missing(o, "E9a") is None
    assert "hbv_dna" not in o.missing_facts


def test_hbv_dna_asked_because_hbcab_positive():
    o = evaluate({"hbsag": "negative", "hbcab": "positive"})
    m = missing(o, "E9a")
    assert m.facts == ["hbv_dna"]
    assert m.reason == "HBV-DNA: needed because HBcAb is positive"


def test_hbv_dna_asked_because_hbsag_positive_without_hbcab():
    # HBsAg positive already makes HBV-DNA decisive; HBcAb can no longer change E9a.
    m = missing(evaluate({"hbsag": "positive"}), "E9a")
    assert m.facts == ["hbv_dna"]
    assert "HBsAg is positive" in m.reason


def test_hbv_one_antigen_negative_other_unknown():
    m = missing(evaluate({"hbsag": "negative"}), "E9a")
    assert m.facts == ["hbcab", "hbv_dna"]


def test_hbv_dna_negative_needs_no_antigen():
    o = evaluate({"hbv_dna": "negative"})
    assert o.criteria["E9a"] == "clear"
    assert not {"hbsag", "hbcab"} & set(o.missing_facts)


def test_hcv_rna_not_asked_when_antibody_negative():
    o = evaluate({"hcv_ab": "negative"})
    assert o.criteria["E9b"] == "clear" and missing(o, "E9b") is None
    m = missing(evaluate({"hcv_ab": "positive"}), "E9b")
    assert m.facts == ["hcv_rna"]
    assert m.reason == "HCV-RNA: needed because HCV antibody is positive"


def test_chronicity_index_not_asked_without_biopsy_proven_ln():
    o = evaluate({"ln_classes": []})
    m = missing(o, "E3b")
    assert m.facts == ["renal_fibrosis_extensive"]
    assert "ln_chronicity_index" not in o.missing_facts


def test_chronicity_index_asked_with_biopsy_proven_ln_but_not_the_classes_again():
    o = evaluate({"ln_classes": ["IV"]})
    m = missing(o, "E3b")
    # The classes are known: asking for them again cannot change E3b.
    assert m.facts == ["ln_chronicity_index", "renal_fibrosis_extensive"]


def test_chronicity_index_and_classes_asked_when_neither_known():
    m = missing(evaluate({}), "E3b")
    assert m.facts == ["ln_chronicity_index", "ln_classes", "renal_fibrosis_extensive"]


def test_nothing_asked_for_i2c_when_intolerant():
    o = evaluate({"intolerant_to_conventional": True})
    assert o.criteria["I2c"] == "met" and missing(o, "I2c") is None
    assert not {"soc_months", "hcq", "dmards", "gc_high_dose", "target_not_reached"} & set(o.missing_facts)


def test_i2c_asks_the_refractory_parts_still_unknown_with_the_known_ones_as_reason():
    o = evaluate({"intolerant_to_conventional": False, "soc_months": 12, "hcq": True})
    m = missing(o, "I2c")
    assert m.facts == ["gc_high_dose", "dmards", "target_not_reached"]
    assert "standard-of-care therapy 12 months ≥ 6 months" in m.reason
    assert "hydroxychloroquine: yes" in m.reason
    # The peak dose would decide gc_high_dose: the reason says so.
    assert "can be calculated from the peak glucocorticoid dose" in m.reason


def test_i6_asks_only_childbearing_potential_for_a_girl():
    m = missing(evaluate({"sex": "female"}), "I6")
    assert m.facts == ["childbearing_potential"]
    assert m.reason == "childbearing potential: needed because sex is female"
    m = missing(evaluate({}), "I6")
    assert m.facts == ["sex", "childbearing_potential"]


def test_a_known_pregnancy_implies_childbearing_potential():
    # The facts model refuses a pregnancy for a male or without childbearing potential, so neither sex
    # nor childbearing potential can change I6 any more: not asked.
    o = evaluate({"pregnant": True})
    assert o.criteria["E11"] == "excluded"
    assert o.criteria["I6"] == "pending"
    assert missing(o, "I6") is None
    o = evaluate({"pregnant": True, "agrees_contraception": False})
    assert o.criteria["I6"] == "not_met"
    (f,) = [f for f in o.failures if f.criterion == "I6"]
    assert f.facts == ["pregnant", "agrees_contraception"]


def test_i3_nothing_asked_once_met():
    o = evaluate({"cns_lupus": True})
    assert missing(o, "I3") is None
    # ln_classes is still asked, but for E3b only.
    assert not {"refractory_cytopenia", "steroid_dependent"} & set(o.missing_facts)
    assert [m.criterion for m in o.missing if "ln_classes" in m.facts] == ["E3b"]


def test_derived_facts_are_not_asked_and_hints_name_the_calculator():
    o = evaluate({"sledai_2k_items": ["seizure"], "gc_peak_mg_kg_day": 2})
    assert "sledai_2k" not in o.missing_facts
    assert "gc_high_dose" not in o.missing_facts
    m = missing(evaluate({}), "I4b")
    assert m.facts == ["egfr"]
    assert "serum creatinine and height (bedside Schwartz)" in m.reason
    m = missing(evaluate({}), "I2b")
    assert "SLEDAI-2K descriptors" in m.reason


def test_only_unknown_criteria_have_missing_items():
    o = evaluate({"age_years": 10, "sex": "male", "hbsag": "negative"})
    assert [m.criterion for m in o.missing] == [c for c, v in o.criteria.items() if v == "unknown"]
    for m in o.missing:
        assert m.facts, m
        assert ": needed" in m.reason


def test_a_complete_referral_asks_nothing():
    assert evaluate(eligible_facts()).missing == []


def test_ineligible_outcome_still_lists_missing_items():
    # ineligible when something fails; the other unknown criteria are still reported.
    o = evaluate({"age_years": 30})
    assert o.status == "ineligible"
    assert o.failed == ["I1"]
    assert "I2a" in [m.criterion for m in o.missing]


# --- Minimality and completeness, checked by brute force -------------------------------------------
# A listed fact can change the verdict: some assignment of the criterion's listed facts (each a few
# representative values, or still unknown) gives different verdicts for two values of that fact.

CANDIDATES: dict[str, tuple[Any, ...]] = {
    "age_years": (4, 10, 19), "sex": ("female", "male"), "sle_eular_acr_2019": (True, False),
    "sledai_2k": (4, 10), "soc_months": (3, 12), "dmards": ([], ["methotrexate", "mycophenolate"]),
    "ln_classes": ([], ["IV"], ["II"]), "lvef_percent": (50, 60), "egfr": (20, 60),
    "ast_x_uln": (1, 4), "alt_x_uln": (1, 4), "bilirubin_x_uln": (1, 3), "spo2_percent": (85, 98),
    "ln_chronicity_index": (2, 8), "cardiac_conditions": ([], ["mi_6m"]),
    # The weight from one end of its valid range to the other: a weight of 5 kg brings 10 mg/day to 2
    # mg/kg/day, one of 250 kg brings 0.5 mg/kg/day to 125 mg/day.
    "gc_peak_mg_kg_day": (0.5, 1.5), "gc_peak_mg_day": (30, 70), "weight_kg": (5, 20, 80, 250),
    **dict.fromkeys(("hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna"),
                    ("positive", "negative")),
}


def candidates(key):
    if key == "eular_acr_2019.items":
        return (None, [], ["renal_class_iii_or_iv"], ["fever"])
    return (None, *CANDIDATES.get(key, (True, False)))


def with_value(facts: dict, key: str, value) -> dict:
    """``facts`` with ``key`` set; a part of a calculator input (criteria.md: ``sledai_2k_items.CODE``,
    ``eular_acr_2019.items.CODE``, ``eular_acr_2019.ana_ge_1_80``) set inside it: an item present (True)
    or absent (False) leaves the not-assessed list."""
    if value is None:
        return facts
    out = copy.deepcopy(facts)
    if key.startswith("sledai_2k_items."):
        code = key.split(".")[1]
        out["sledai_2k_unknown"] = [c for c in out.get("sledai_2k_unknown") or [] if c != code]
        if value:
            out["sledai_2k_items"] = [*(out.get("sledai_2k_items") or []), code]
    elif key.startswith("eular_acr_2019."):
        eular = out.setdefault("eular_acr_2019", {})
        part = key.split(".", 1)[1]
        if part.startswith("items."):
            code = part.split(".")[1]
            eular["unknown_items"] = [c for c in eular.get("unknown_items") or [] if c != code]
            if value:
                eular["items"] = [*(eular.get("items") or []), code]
        else:
            eular[part] = value
    else:
        out[key] = value
    return out


def verdict(facts: dict, cid: str) -> str | None:
    try:
        valid = Facts.model_validate(facts)
    except ValidationError:  # e.g. a male with childbearing potential: not a possible referral
        return None
    return BY_ID[cid].judge(context(valid)).verdict


def can_change(facts: dict, cid: str, key: str, others: list[str]) -> bool:
    for values in itertools.product(*(candidates(k) for k in others)):
        base = facts
        for k, v in zip(others, values, strict=True):
            base = with_value(base, k, v)
        seen = {verdict(with_value(base, key, v), cid) for v in candidates(key)}
        seen.discard(None)
        if len(seen) > 1:
            return True
    return False


def check_minimal(facts: dict) -> None:
    o = evaluate(facts)
    known = Facts.model_validate(facts).known()
    for m in o.missing:
        assert o.criteria[m.criterion] == "unknown"
        for key in m.facts:
            assert key not in known, (m, "asks a known fact")
            assert key not in o.calculated, (m, "asks a calculated fact")
            others = [k for k in m.facts if k != key]
            assert can_change(facts, m.criterion, key, others), (m.criterion, key, "cannot change it")


def check_complete(facts: dict) -> None:
    """Every unknown fact of an unknown rule that can change its verdict is listed (calculator inputs
    excepted: the derived fact is listed instead, with a hint)."""
    o = evaluate(facts)
    known = set(Facts.model_validate(facts).known()) | set(o.calculated)
    for c in CRITERIA:
        if o.criteria[c.id] != "unknown" or not isinstance(c.rule, Expr):
            continue
        (m,) = [m for m in o.missing if m.criterion == c.id]
        unlisted = [k for k in sorted(c.facts - known) if k not in m.facts]
        if c.id == "E3b" and facts.get("ln_classes") == [] and "ln_chronicity_index" in unlisted:
            # criteria.md: with no biopsy-proven LN an unknown chronicity index counts as not high and
            # is not asked for (a known one still counts, and is not unlisted: it is known).
            unlisted.remove("ln_chronicity_index")
        for key in unlisted:
            assert not can_change(facts, c.id, key, m.facts), (c.id, key, "should be asked")


HAND_PICKED = [
    {},
    {"hbsag": "negative", "hbcab": "negative"},
    {"hbsag": "negative", "hbcab": "positive"},
    {"hcv_ab": "positive"},
    {"ln_classes": []},
    {"ln_classes": ["IV"]},
    {"renal_fibrosis_extensive": False},
    {"intolerant_to_conventional": False, "soc_months": 12},
    {"soc_months": 3},
    {"sex": "female"},
    {"sex": "male"},
    {"lvef_percent": 60},
    {"spo2_percent": 98},
]


def test_missing_items_are_minimal_and_complete_hand_picked():
    for facts in HAND_PICKED:
        check_minimal(facts)
        check_complete(facts)


# Found by the property below on some runs (its examples depend on PYTHONHASHSEED), kept as they were drawn.
def test_no_weight_is_asked_that_no_valid_weight_can_use():
    # High dose given as yes, peak 0 mg/day: 0 mg/kg/day whatever the weight, so every weight (5–250 kg)
    # contradicts the "yes"; only a mg/kg/day figure can still agree with it.
    facts = {"active_infection": None, "age_years": None, "agrees_contraception": None, "alt_x_uln": None,
             "apheresis_suitable": None, "gc_high_dose": True, "gc_peak_mg_day": 0}
    check_minimal(facts)
    check_complete(facts)
    m = missing(evaluate(facts), "I2c")
    assert "gc_peak_mg_kg_day" in m.facts and "weight_kg" not in m.facts
    # The same below 5 mg/day (under 1 mg/kg/day even at 5 kg) or 0.24 mg/kg/day (under 60 mg/day at 250 kg).
    for figure in ({"gc_peak_mg_day": 4.9}, {"gc_peak_mg_kg_day": 0.2}, {"gc_peak_mg_kg_day": 0}):
        facts = {"gc_high_dose": True, **figure}
        check_minimal(facts)
        check_complete(facts)
        assert "weight_kg" not in missing(evaluate(facts), "I2c").facts, facts
    # Where some valid weight can agree, or nothing given says which way, the weight is asked.
    for facts in ({"gc_high_dose": True, "gc_peak_mg_day": 5}, {"gc_high_dose": True, "gc_peak_mg_day": 10},
                  {"gc_high_dose": True, "gc_peak_mg_kg_day": 0.24}, {"gc_high_dose": True, "gc_peak_mg_kg_day": 0.5},
                  {"gc_high_dose": False, "gc_peak_mg_day": 0}, {"gc_peak_mg_day": 0}, {"gc_peak_mg_kg_day": 0.1}):
        check_minimal(facts)
        check_complete(facts)
        assert "weight_kg" in missing(evaluate(facts), "I2c").facts, facts


def test_a_known_chronicity_index_counts_without_biopsy_proven_ln():
    # With no biopsy-proven LN the index is not asked for; given, it is known, and it counts (criteria.md, E3b).
    facts = {"active_infection": None, "age_years": None, "agrees_contraception": None, "ln_chronicity_index": 0,
             "ln_classes": []}
    check_minimal(facts)
    check_complete(facts)
    assert missing(evaluate(facts), "E3b").facts == ["renal_fibrosis_extensive"]
    assert evaluate({"ln_chronicity_index": 8, "ln_classes": []}).criteria["E3b"] == "excluded"


@SETTINGS
@given(st.one_of(valid_facts(), near_eligible_facts()))
def test_missing_items_are_minimal_and_complete_property(facts):
    check_minimal(facts)
    check_complete(facts)

"""The facts model refuses what criteria.md calls an error: unknown keys, wrong types, out-of-range
values, unknown codes and contradictory facts, with a message naming the key(s)."""

import json

import pytest
from pydantic import ValidationError

from criteria import FACT_KEYS, Facts, evaluate


def error_text(facts) -> str:
    with pytest.raises(ValidationError) as info:
        Facts.model_validate(facts)
    return str(info.value)


def errors(facts) -> list[dict]:
    with pytest.raises(ValidationError) as info:
        Facts.model_validate(facts)
    return info.value.errors()


# --- Keys ----------------------------------------------------------------------------------------------
SPEC_KEYS = {
    "age_years", "sex", "childbearing_potential", "weight_kg", "height_cm", "sle_eular_acr_2019",
    "eular_acr_2019", "sledai_2k", "sledai_2k_items", "sledai_2k_unknown", "soc_months", "gc_high_dose",
    "gc_peak_mg_kg_day", "gc_peak_mg_day", "hcq", "dmards", "target_not_reached", "intolerant_to_conventional",
    "ln_classes", "cns_lupus", "refractory_cytopenia", "other_major_organ", "steroid_dependent",
    "gc_taper_floor_mg_kg_day", "lvef_percent", "ecg_significant_abnormality", "egfr", "creatinine",
    "creatinine_unit", "ast_x_uln", "alt_x_uln", "bilirubin_x_uln", "spo2_percent", "severe_lung_disease",
    "apheresis_suitable", "agrees_contraception", "prior_cell_therapy", "cns_event_60d",
    "cns_damage_or_severe_seizures", "dialysis_3m", "ln_chronicity_index", "renal_fibrosis_extensive",
    "cardiac_conditions", "non_sle_immunosuppression", "active_infection", "transplant_3m", "gvhd_grade2_2w",
    "hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna", "mas_1m",
    "live_vaccine_4w", "malignancy_or_severe_disease", "pregnant", "other_trial_3m",
}


def test_fact_keys_are_those_of_the_spec():
    assert set(FACT_KEYS) == SPEC_KEYS


@pytest.mark.parametrize("key", ["age", "Age_years", "hbsag ", "egfr_ml_min", "eular"])
def test_unknown_key_is_an_error(key):
    (e,) = errors({key: 1})
    assert e["loc"] == (key,)
    assert e["type"] == "extra_forbidden"


def test_unknown_key_inside_the_eular_object():
    (e,) = errors({"eular_acr_2019": {"ana_ge_1_80": True, "items": [], "ana_titer": 160}})
    assert e["loc"] == ("eular_acr_2019", "ana_titer")


def test_null_and_absent_mean_unknown():
    assert Facts.model_validate(dict.fromkeys(SPEC_KEYS)).known() == {}
    assert evaluate(dict.fromkeys(SPEC_KEYS)) == evaluate({})


# --- Types ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value"), [
    ("age_years", "10"), ("age_years", True), ("age_years", [10]),
    ("sledai_2k", 8.0), ("sledai_2k", 8.5), ("sledai_2k", "8"),
    ("ln_chronicity_index", 3.0),
    ("hcq", "yes"), ("hcq", 1), ("hcq", "true"), ("pregnant", 0),
    ("sex", "f"), ("sex", "Female"), ("sex", True),
    ("hbsag", True), ("hbsag", "pos"), ("hbsag", "Positive"), ("hbv_dna", "detectable"),
    ("dmards", "methotrexate"), ("cardiac_conditions", "mi_6m"), ("ln_classes", "IV"), ("ln_classes", [4]),
    ("sledai_2k_items", {"seizure": True}),
    ("eular_acr_2019", True), ("eular_acr_2019", {"ana_ge_1_80": "yes", "items": []}),
    ("eular_acr_2019", {"items": "fever"}),
    ("creatinine_unit", "mg/dl"), ("creatinine_unit", "mmol/L"),
])
def test_wrong_type_is_an_error(key, value):
    errs = errors({key: value})
    assert errs and all(e["loc"][0] == key for e in errs)


def test_integers_are_accepted_for_numbers():
    assert Facts.model_validate({"age_years": 10, "egfr": 90}).age_years == 10.0


@pytest.mark.parametrize(("given", "completed"), [(4.9, 4), (5, 5), (12.99, 12), (18, 18), (18.9, 18),
                                                  (119.5, 119), (0.5, 0)])
def test_a_fractional_age_is_floored_to_completed_years(given, completed):
    assert Facts.model_validate({"age_years": given}).known() == {"age_years": completed}


def test_a_fractional_age_is_range_checked_before_flooring():
    (e,) = errors({"age_years": 120.5})
    assert e["loc"] == ("age_years",) and e["type"] == "less_than_equal"


@pytest.mark.parametrize("value", [True, False, None])
def test_the_dropped_key_is_an_error_that_says_why_even_when_null(value):
    (e,) = errors({"nephropathy_needs_intensification": value, "age_years": 10})
    assert e["type"] == "dropped_key"
    assert "nephropathy_needs_intensification" in e["msg"] and "protocol 2" in e["msg"]
    assert "investigator" in e["msg"] and "E3c" in e["msg"]


# --- Ranges (criteria.md, "Facts") ---------------------------------------------------------------------
RANGES = [
    ("age_years", 0, 120), ("weight_kg", 5, 250), ("height_cm", 40, 230), ("sledai_2k", 0, 105),
    ("soc_months", 0, 240), ("gc_peak_mg_kg_day", 0, 60), ("gc_peak_mg_day", 0, 3000),
    ("gc_taper_floor_mg_kg_day", 0, 60),
    ("lvef_percent", 5, 95), ("egfr", 1, 250), ("ast_x_uln", 0, 100), ("alt_x_uln", 0, 100),
    ("bilirubin_x_uln", 0, 100), ("spo2_percent", 50, 100), ("ln_chronicity_index", 0, 12),
]


@pytest.mark.parametrize(("key", "lo", "hi"), RANGES)
def test_range_limits_are_accepted(key, lo, hi):
    assert getattr(Facts.model_validate({key: lo}), key) == lo
    assert getattr(Facts.model_validate({key: hi}), key) == hi


@pytest.mark.parametrize(("key", "lo", "hi"), RANGES)
def test_out_of_range_is_an_error(key, lo, hi):
    step = 1 if key in ("sledai_2k", "ln_chronicity_index") else 0.01
    for value in (lo - step, hi + step):
        (e,) = errors({key: value})
        assert e["loc"] == (key,)
        assert e["type"] in ("greater_than_equal", "less_than_equal")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_errors(value):
    (e,) = errors({"lvef_percent": value})
    assert e["loc"] == ("lvef_percent",)


@pytest.mark.parametrize(("value", "unit", "ok"), [
    (0.05, "mg/dL", True), (20, "mg/dL", True), (0.049, "mg/dL", False), (20.1, "mg/dL", False),
    # 0.05 mg/dL × 88.4 = 4.42 µmol/L; 20 mg/dL × 88.4 = 1768 µmol/L
    (4.5, "umol/L", True), (1768, "umol/L", True), (4.4, "umol/L", False), (1780, "umol/L", False),
    # A value in mg/dL given as µmol/L is far out of range: 0.7 µmol/L = 0.0079 mg/dL.
    (0.7, "umol/L", False),
])
def test_creatinine_range_in_either_unit(value, unit, ok):
    facts = {"creatinine": value, "creatinine_unit": unit}
    if ok:
        Facts.model_validate(facts)
    else:
        text = error_text(facts)
        assert "creatinine" in text and "0.05–20 mg/dL" in text


def test_creatinine_zero_or_negative_is_an_error():
    for value in (0, -1):
        (e,) = errors({"creatinine": value, "creatinine_unit": "mg/dL"})
        assert e["loc"] == ("creatinine",)


# --- Codes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value"), [
    ("dmards", ["hydroxychloroquine"]), ("dmards", ["MMF"]), ("dmards", ["methotrexate", "anifrolumab"]),
    ("cardiac_conditions", ["heart_failure"]), ("ln_classes", ["VII"]), ("ln_classes", ["iv"]),
    ("sledai_2k_items", ["headache"]), ("sledai_2k_items", ["low_c3_or_c4"]),
    ("eular_acr_2019", {"ana_ge_1_80": True, "items": ["rash"]}),
    # SLEDAI-2K descriptors are not 2019 EULAR/ACR items, and the other way round.
    ("eular_acr_2019", {"ana_ge_1_80": True, "items": ["arthritis"]}),
])
def test_unknown_code_is_an_error(key, value):
    errs = errors({key: value})
    assert errs and all(e["loc"][0] == key for e in errs)
    assert all(e["type"] == "literal_error" for e in errs)


def test_duplicate_codes_count_once():
    f = Facts.model_validate({"dmards": ["methotrexate", "methotrexate"], "ln_classes": ["IV", "IV"]})
    assert f.dmards == ["methotrexate"] and f.ln_classes == ["IV"]


def test_eular_items_may_be_unknown():
    # criteria.md gives {"ana_ge_1_80": bool, "items": [...]}; items may be absent while ANA is asked.
    f = Facts.model_validate({"eular_acr_2019": {"ana_ge_1_80": False}})
    assert f.eular_acr_2019.items is None
    assert evaluate(f).criteria["I2a"] == "not_met"
    assert evaluate({"eular_acr_2019": {"ana_ge_1_80": True}}).criteria["I2a"] == "unknown"


# --- Contradictions ------------------------------------------------------------------------------------
CONTRADICTIONS = [
    # calculator input vs its fact: seizure 8 ≠ 4
    ({"sledai_2k_items": ["seizure"], "sledai_2k": 4}, ("sledai_2k_items", "sledai_2k")),
    # arthritis 4 + rash 2 + fever 1 = 7 ≠ 8
    ({"sledai_2k_items": ["arthritis", "rash", "fever"], "sledai_2k": 8}, ("sledai_2k_items", "sledai_2k")),
    ({"sledai_2k_items": [], "sledai_2k": 2}, ("sledai_2k_items", "sledai_2k")),
    # ANA negative: not classified, but classification given
    ({"eular_acr_2019": {"ana_ge_1_80": False}, "sle_eular_acr_2019": True},
     ("eular_acr_2019", "sle_eular_acr_2019")),
    # ANA positive, renal class III/IV 10 + fever 2 = 12 ≥ 10: classified, but not classified given
    ({"eular_acr_2019": {"ana_ge_1_80": True, "items": ["renal_class_iii_or_iv", "fever"]},
      "sle_eular_acr_2019": False}, ("eular_acr_2019", "sle_eular_acr_2019")),
    # ANA positive, 9 points: not classified
    ({"eular_acr_2019": {"ana_ge_1_80": True, "items": ["acute_pericarditis", "low_c3_or_c4"]},
      "sle_eular_acr_2019": True}, ("eular_acr_2019", "sle_eular_acr_2019")),
    ({"gc_peak_mg_kg_day": 0.99, "gc_peak_mg_day": 29.7, "gc_high_dose": True},
     ("gc_peak_mg_kg_day", "gc_peak_mg_day", "gc_high_dose")),
    ({"gc_peak_mg_kg_day": 0.99, "weight_kg": 30, "gc_high_dose": True}, ("gc_peak_mg_kg_day", "gc_high_dose")),
    ({"gc_peak_mg_day": 60, "gc_high_dose": False}, ("gc_peak_mg_day", "gc_high_dose")),
    # The 5 % dose contradiction: 1 mg/kg/day × 40 kg = 40 mg/day; 42.1 is more than 5 % (2 mg) above.
    ({"gc_peak_mg_kg_day": 1, "weight_kg": 40, "gc_peak_mg_day": 42.1},
     ("gc_peak_mg_kg_day", "weight_kg", "gc_peak_mg_day")),
    ({"gc_peak_mg_kg_day": 1, "weight_kg": 40, "gc_peak_mg_day": 37.9},
     ("gc_peak_mg_kg_day", "weight_kg", "gc_peak_mg_day")),
    # SLEDAI-2K ≥ 5 means not in LLDAS (criteria.md, "Target not reached").
    ({"sledai_2k": 5, "target_not_reached": False}, ("sledai_2k", "target_not_reached")),
    ({"sledai_2k_items": ["arthritis", "fever"], "target_not_reached": False},
     ("sledai_2k_items", "target_not_reached")),
    ({"sledai_2k_items": ["arthritis", "fever"], "sledai_2k_unknown": ["rash"], "target_not_reached": False},
     ("sledai_2k_items", "target_not_reached")),
    # A descriptor both present and not assessed; a given score outside the range.
    ({"sledai_2k_items": ["arthritis"], "sledai_2k_unknown": ["arthritis"]},
     ("sledai_2k_items", "sledai_2k_unknown")),
    ({"sledai_2k_items": ["arthritis"], "sledai_2k_unknown": ["rash"], "sledai_2k": 7},
     ("sledai_2k_items", "sledai_2k_unknown", "sledai_2k")),
    ({"sledai_2k_items": ["arthritis"], "sledai_2k_unknown": ["rash"], "sledai_2k": 3},
     ("sledai_2k_items", "sledai_2k")),
    ({"eular_acr_2019": {"ana_ge_1_80": True, "items": ["fever"], "unknown_items": ["fever"]}},
     ("eular_acr_2019.items", "eular_acr_2019.unknown_items")),
    # A range that cannot reach 10 decides: not classified.
    ({"eular_acr_2019": {"ana_ge_1_80": True, "items": ["fever"], "unknown_items": ["low_c3_and_c4"]},
      "sle_eular_acr_2019": True}, ("eular_acr_2019", "sle_eular_acr_2019")),
    ({"gc_peak_mg_kg_day": 1, "gc_high_dose": False}, ("gc_peak_mg_kg_day", "gc_high_dose")),
    ({"gc_taper_floor_mg_kg_day": 0.5, "steroid_dependent": False},
     ("gc_taper_floor_mg_kg_day", "steroid_dependent")),
    ({"gc_taper_floor_mg_kg_day": 0.49, "steroid_dependent": True},
     ("gc_taper_floor_mg_kg_day", "steroid_dependent")),
    # 0.413 × 140 / 0.7 = 82.6; 84 differs by 1.4 > 1
    ({"creatinine": 0.7, "creatinine_unit": "mg/dL", "height_cm": 140, "egfr": 84}, ("creatinine", "egfr")),
    ({"creatinine": 0.7, "creatinine_unit": "mg/dL", "height_cm": 140, "egfr": 81.5}, ("creatinine", "egfr")),
    # 61.88 µmol/L = 0.7 mg/dL: the same 82.6
    ({"creatinine": 61.88, "creatinine_unit": "umol/L", "height_cm": 140, "egfr": 80}, ("creatinine", "egfr")),
    ({"sex": "male", "childbearing_potential": True}, ("sex", "childbearing_potential")),
    ({"sex": "male", "pregnant": True}, ("sex", "pregnant")),
    ({"childbearing_potential": False, "pregnant": True}, ("childbearing_potential", "pregnant")),
    ({"creatinine": 0.7}, ("creatinine", "creatinine_unit")),
    ({"creatinine": 0.7, "height_cm": 140, "egfr": 82.6}, ("creatinine", "creatinine_unit")),
]


@pytest.mark.parametrize(("facts", "keys"), CONTRADICTIONS)
def test_contradiction_is_an_error_naming_both_keys(facts, keys):
    text = error_text(facts)
    for key in keys:
        assert key in text


@pytest.mark.parametrize(("facts", "keys"), CONTRADICTIONS)
def test_contradiction_is_refused_by_evaluate_too(facts, keys):
    with pytest.raises(ValidationError):
        evaluate(facts)


def test_egfr_contradiction_message_shows_both_values():
    text = error_text({"creatinine": 0.7, "creatinine_unit": "mg/dL", "height_cm": 140, "egfr": 84})
    assert "egfr = 82.6" in text and "egfr = 84" in text
    assert "creatinine_unit" in text and "height_cm" in text


@pytest.mark.parametrize("facts", [
    {"sledai_2k_items": ["seizure", "rash"], "sledai_2k": 10},                        # 8 + 2 = 10
    {"eular_acr_2019": {"ana_ge_1_80": True, "items": ["renal_class_iii_or_iv"]}, "sle_eular_acr_2019": True},
    # ANA unknown with 12 points: undecided, so either answer is consistent
    {"eular_acr_2019": {"items": ["renal_class_iii_or_iv", "fever"]}, "sle_eular_acr_2019": True},
    {"eular_acr_2019": {"items": ["renal_class_iii_or_iv", "fever"]}, "sle_eular_acr_2019": False},
    {"gc_peak_mg_kg_day": 1, "gc_high_dose": True},
    # Undecided dose figures leave gc_high_dose unknown: either given value is consistent.
    {"gc_peak_mg_kg_day": 0.99, "gc_high_dose": True},
    {"gc_peak_mg_day": 59, "gc_high_dose": True},
    # Within 5 %: 1 mg/kg/day × 40 kg = 40; 42 and 38 are 5 % apart exactly.
    {"gc_peak_mg_kg_day": 1, "weight_kg": 40, "gc_peak_mg_day": 42},
    {"gc_peak_mg_kg_day": 1, "weight_kg": 40, "gc_peak_mg_day": 38},
    # Ranges apply to the values given, not to derived ones: 60 mg/kg/day × 70 kg = 4,200 mg/day.
    {"gc_peak_mg_kg_day": 60, "weight_kg": 70},
    # SLEDAI-2K below 5 says nothing about LLDAS; a range whose low is below 5 neither.
    {"sledai_2k": 4, "target_not_reached": False},
    {"sledai_2k": 4, "target_not_reached": True},
    {"sledai_2k_items": ["arthritis"], "sledai_2k_unknown": ["rash"], "target_not_reached": False},
    # A given score inside the range.
    {"sledai_2k_items": ["arthritis"], "sledai_2k_unknown": ["rash"], "sledai_2k": 5},
    # Without items, not-assessed descriptors give no range.
    {"sledai_2k_unknown": ["rash"], "sledai_2k": 30},
    # An undecided EULAR/ACR range: either classification is consistent.
    {"eular_acr_2019": {"ana_ge_1_80": True, "items": ["fever"], "unknown_items": ["renal_class_iii_or_iv"]},
     "sle_eular_acr_2019": False},
    {"gc_taper_floor_mg_kg_day": 0.49, "steroid_dependent": False},
    # Within the 1 mL/min/1.73 m² tolerance of 82.6: 81.6 and 83.6
    {"creatinine": 0.7, "creatinine_unit": "mg/dL", "height_cm": 140, "egfr": 83.6},
    {"creatinine": 0.7, "creatinine_unit": "mg/dL", "height_cm": 140, "egfr": 81.6},
    # Without height no eGFR is calculated: nothing to contradict
    {"creatinine": 0.7, "creatinine_unit": "mg/dL", "egfr": 20},
    # A unit without a value is harmless
    {"creatinine_unit": "mg/dL"},
    {"sex": "male", "childbearing_potential": False, "pregnant": False},
    {"sex": "female", "childbearing_potential": True, "pregnant": True},
    {"pregnant": True},
])
def test_consistent_facts_are_accepted(facts):
    Facts.model_validate(facts)
    evaluate(facts)


def test_facts_are_frozen():
    f = Facts.model_validate({"age_years": 10})
    with pytest.raises(ValidationError):
        f.age_years = 30


def test_known_round_trips_through_json():
    facts = {"age_years": 10, "dmards": ["methotrexate"], "eular_acr_2019": {"ana_ge_1_80": True,
                                                                              "items": ["fever"]},
             "creatinine": 50, "creatinine_unit": "umol/L", "hbsag": "negative"}
    known = Facts.model_validate(facts).known()
    assert Facts.model_validate_json(json.dumps(known)).known() == known

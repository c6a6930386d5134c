"""Every rule of criteria.md at its boundaries, on an otherwise eligible referral.

Each case changes one or two facts of ``eligible_facts()`` and checks the verdict of the criterion, the
status, and that a failure names the value and the threshold ("LVEF 54 % < 55 %").
"""

import pytest
from strategies import eligible_facts

from criteria import CRITERION_IDS, evaluate


def outcome_with(**changes):
    facts = eligible_facts()
    for key, value in changes.items():
        if value is ...:
            facts.pop(key, None)
        else:
            facts[key] = value
    return evaluate(facts)


def test_baseline_is_eligible_with_the_screening_items_pending():
    o = evaluate(eligible_facts())
    assert o.status == "eligible"
    assert o.failed == [] and o.missing == []
    # criteria.md: pending for the screening visit: I6 (girl of childbearing potential), I7, E11, E13.
    assert o.pending == ["I6", "I7", "E3c", "E11", "E13"]
    assert set(o.criteria) == set(CRITERION_IDS)


# (criterion, changes, expected verdict, text the failure must show)
BOUNDARIES = [
    # I1: 5 ≤ age ≤ 18
    ("I1", {"age_years": 4}, "not_met", "age 4 years < 5 years"),
    # A fractional age is completed years: floored (4.9 is 4, 18.9 is 18).
    ("I1", {"age_years": 4.9}, "not_met", "age 4 years < 5 years"),
    ("I1", {"age_years": 5}, "met", None),
    ("I1", {"age_years": 18}, "met", None),
    ("I1", {"age_years": 18.9}, "met", None),
    ("I1", {"age_years": 19}, "not_met", "age 19 years > 18 years"),
    ("I1", {"age_years": 0}, "not_met", "age 0 years < 5 years"),
    # I2a
    ("I2a", {"sle_eular_acr_2019": False}, "not_met",
     "meets the 2019 EULAR/ACR SLE classification: no"),
    ("I2a", {"sle_eular_acr_2019": True}, "met", None),
    # I2b: SLEDAI-2K ≥ 8
    ("I2b", {"sledai_2k": 7}, "not_met", "SLEDAI-2K 7 < 8"),
    ("I2b", {"sledai_2k": 8}, "met", None),
    ("I2b", {"sledai_2k": 0}, "not_met", "SLEDAI-2K 0 < 8"),
    # I2c: ≥ 6 months, ≥ 2 DMARDs
    ("I2c", {"soc_months": 5.9}, "not_met", "standard-of-care therapy 5.9 months < 6 months"),
    ("I2c", {"soc_months": 6}, "met", None),
    ("I2c", {"dmards": ["mycophenolate"]}, "not_met", "the standard-care path fails: 1 DMARD (mycophenolate) < 2"),
    ("I2c", {"dmards": ["mycophenolate", "mycophenolate"]}, "not_met", "1 DMARD (mycophenolate) < 2"),
    ("I2c", {"dmards": ["mycophenolate", "rituximab"]}, "met", None),
    ("I2c", {"dmards": ["telitacicept", "other"]}, "met", None),
    ("I2c", {"dmards": ["other"]}, "not_met", "1 DMARD (other) < 2"),
    ("I2c", {"hcq": False}, "not_met", "hydroxychloroquine: no"),
    ("I2c", {"gc_high_dose": False}, "not_met", "high-dose glucocorticoids"),
    # With SLEDAI-2K ≥ 5 the target cannot be reached: only without a score can "in LLDAS" fail I2c.
    ("I2c", {"target_not_reached": False, "sledai_2k": ...}, "not_met", "not in LLDAS or remission now: no"),
    ("I2c", {"soc_months": 2, "intolerant_to_conventional": True}, "met", None),
    # I2c through the peak dose calculator input: ≥ 1 mg/kg/day or ≥ 60 mg/day is high dose (30 kg).
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_kg_day": 0.99}, "not_met",
     "high-dose glucocorticoids: no (peak dose 0.99 mg/kg/day < 1 and 29.7 mg/day < 60)"),
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_kg_day": 1}, "met", None),
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_day": 29}, "not_met",
     "high-dose glucocorticoids: no (peak dose 0.97 mg/kg/day < 1 and 29 mg/day < 60)"),
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_day": 59, "weight_kg": 70}, "not_met",
     "high-dose glucocorticoids: no (peak dose 0.84 mg/kg/day < 1 and 59 mg/day < 60)"),
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_day": 60, "weight_kg": 70}, "met", None),
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_day": 60, "weight_kg": ...}, "met", None),
    # A methylprednisolone pulse: 30 mg/kg/day methylprednisolone is 37.5 prednisone-equivalent.
    ("I2c", {"gc_high_dose": ..., "gc_peak_mg_kg_day": 37.5}, "met", None),
    # I3: LN III/IV/V, CNS lupus, refractory cytopenia, or steroid dependence
    ("I3", {"ln_classes": ["II"]}, "not_met", "biopsy-proven lupus nephritis classes: II (none of III, IV, V)"),
    ("I3", {"ln_classes": ["VI"]}, "not_met", "(none of III, IV, V)"),
    ("I3", {"ln_classes": []}, "not_met", "biopsy-proven lupus nephritis classes: none (none of III, IV, V)"),
    ("I3", {"ln_classes": ["III"]}, "met", None),
    ("I3", {"ln_classes": ["II", "V"]}, "met", None),
    ("I3", {"ln_classes": [], "cns_lupus": True}, "met", None),
    ("I3", {"ln_classes": [], "refractory_cytopenia": True}, "met", None),
    ("I3", {"ln_classes": [], "steroid_dependent": True}, "met", None),
    ("I3", {"ln_classes": [], "other_major_organ": True}, "met", None),
    ("I3", {"ln_classes": ["II"]}, "not_met", "other active major organ involvement: no"),
    # I3b through the taper floor: ≥ 0.5 mg/kg/day is steroid dependence.
    ("I3", {"ln_classes": [], "steroid_dependent": ..., "gc_taper_floor_mg_kg_day": 0.5}, "met", None),
    ("I3", {"ln_classes": [], "steroid_dependent": ..., "gc_taper_floor_mg_kg_day": 0.49}, "not_met",
     "steroid dependence (no taper below 0.5 mg/kg/day): no (flared at 0.49 mg/kg/day < 0.5)"),
    # I4a: LVEF ≥ 55 %, no significant ECG abnormality
    ("I4a", {"lvef_percent": 54}, "not_met", "LVEF 54 % < 55 %"),
    ("I4a", {"lvef_percent": 54.9}, "not_met", "LVEF 54.9 % < 55 %"),
    ("I4a", {"lvef_percent": 55}, "met", None),
    ("I4a", {"ecg_significant_abnormality": True}, "not_met", "significant ECG abnormality: yes"),
    # I4b: eGFR ≥ 30
    ("I4b", {"egfr": 29.9}, "not_met", "eGFR 29.9 mL/min/1.73 m² < 30 mL/min/1.73 m²"),
    ("I4b", {"egfr": 30}, "met", None),
    # I4c: AST, ALT ≤ 3 × ULN; bilirubin ≤ 2 × ULN
    ("I4c", {"ast_x_uln": 3.0}, "met", None),
    ("I4c", {"ast_x_uln": 3.1}, "not_met", "AST 3.1 × ULN > 3 × ULN"),
    ("I4c", {"alt_x_uln": 3.0}, "met", None),
    ("I4c", {"alt_x_uln": 3.1}, "not_met", "ALT 3.1 × ULN > 3 × ULN"),
    ("I4c", {"bilirubin_x_uln": 2.0}, "met", None),
    ("I4c", {"bilirubin_x_uln": 2.1}, "not_met", "total bilirubin 2.1 × ULN > 2 × ULN"),
    # I4d: no severe lung disease, SpO2 ≥ 92 %
    ("I4d", {"spo2_percent": 91}, "not_met", "SpO2 on room air 91 % < 92 %"),
    ("I4d", {"spo2_percent": 92}, "met", None),
    ("I4d", {"severe_lung_disease": True}, "not_met", "severe lung disease: yes"),
    # I5: apheresis
    ("I5", {"apheresis_suitable": False}, "not_met", "suitable for leukapheresis: no"),
    ("I5", {"apheresis_suitable": ...}, "pending", None),
    # I6: contraception
    ("I6", {"agrees_contraception": False}, "not_met", "agrees to effective contraception: no"),
    ("I6", {"sex": "male", "childbearing_potential": False, "agrees_contraception": False}, "met", None),
    ("I6", {"childbearing_potential": False, "agrees_contraception": False}, "met", None),
    ("I6", {"agrees_contraception": ...}, "pending", None),
    # E1 … E13: a true fact excludes, a false one clears.
    ("E1", {"prior_cell_therapy": True}, "excluded", "prior CAR-T or genetically modified cell therapy: yes"),
    ("E2a", {"cns_event_60d": True}, "excluded", "CNS lupus needing intervention in the last 60 days: yes"),
    ("E2b", {"cns_damage_or_severe_seizures": True}, "excluded", "structural CNS damage"),
    ("E3a", {"dialysis_3m": True}, "excluded", "dialysis in the last 3 months: yes"),
    # E3b: chronicity index > 6/12
    ("E3b", {"ln_chronicity_index": 6}, "clear", None),
    ("E3b", {"ln_chronicity_index": 7}, "excluded", "LN chronicity index 7/12 > 6/12"),
    ("E3b", {"ln_chronicity_index": 12}, "excluded", "LN chronicity index 12/12 > 6/12"),
    ("E3b", {"renal_fibrosis_extensive": True}, "excluded", "extensive renal fibrosis: yes"),
    # E3c: the investigator's judgement, always pending.
    ("E3c", {}, "pending", None),
    # E4: any cardiac condition
    ("E4", {"cardiac_conditions": ["mi_6m"]}, "excluded", "cardiac conditions: mi_6m"),
    ("E4", {"cardiac_conditions": ["severe_arrhythmia", "hypotension_pressors"]}, "excluded",
     "cardiac conditions: severe_arrhythmia, hypotension_pressors"),
    ("E4", {"cardiac_conditions": []}, "clear", None),
    # E5: severe lung disease or SpO2 < 92 %
    ("E5", {"spo2_percent": 91}, "excluded", "SpO2 on room air 91 % < 92 %"),
    ("E5", {"spo2_percent": 91.9}, "excluded", "SpO2 on room air 91.9 % < 92 %"),
    ("E5", {"spo2_percent": 92}, "clear", None),
    ("E5", {"severe_lung_disease": True}, "excluded", "severe lung disease: yes"),
    ("E6", {"non_sle_immunosuppression": True}, "excluded", "long-term immunosuppression"),
    ("E7", {"active_infection": True}, "excluded", "active infection in the last week: yes"),
    ("E8", {"transplant_3m": True}, "excluded", "transplant in the last 3 months: yes"),
    ("E8", {"gvhd_grade2_2w": True}, "excluded", "acute GVHD grade ≥ 2 in the last 2 weeks: yes"),
    # E9a/E9b/E9c: serology (the full three-valued tables are in test_criteria_logic.py)
    ("E9a", {"hbcab": "positive", "hbv_dna": "positive"}, "excluded", "HBcAb is positive"),
    ("E9a", {"hbcab": "positive", "hbv_dna": "negative"}, "clear", None),
    ("E9b", {"hcv_ab": "positive", "hcv_rna": "positive"}, "excluded", "HCV-RNA is positive"),
    ("E9b", {"hcv_ab": "positive", "hcv_rna": "negative"}, "clear", None),
    ("E9c", {"hiv_ab": "positive"}, "excluded", "HIV antibody is positive"),
    ("E9c", {"syphilis": "positive"}, "excluded", "syphilis (treponemal test) is positive"),
    ("E9c", {"cmv_dna": "positive"}, "excluded", "CMV-DNA is positive"),
    ("E10", {"mas_1m": True}, "excluded", "macrophage activation syndrome in the last month: yes"),
    ("E10", {"live_vaccine_4w": True}, "excluded", "live vaccine in the last 4 weeks: yes"),
    ("E10", {"malignancy_or_severe_disease": True}, "excluded", "malignancy"),
    # E11: pregnancy
    ("E11", {"pregnant": True}, "excluded", "known pregnancy: yes"),
    ("E11", {"childbearing_potential": False}, "clear", None),
    ("E11", {"sex": "male", "childbearing_potential": ...}, "clear", None),
    ("E11", {"pregnant": ...}, "pending", None),
    ("E12", {"other_trial_3m": True}, "excluded", "another clinical trial in the last 3 months: yes"),
]


TWINS = {"I4d": {"E5"}, "E5": {"I4d"}}


@pytest.mark.parametrize(("cid", "changes", "verdict", "shown"), BOUNDARIES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(BOUNDARIES)])
def test_boundary(cid, changes, verdict, shown):
    o = outcome_with(**changes)
    assert o.criteria[cid] == verdict
    if verdict in ("not_met", "excluded"):
        assert o.status == "ineligible"
        # I4d and E5 read the same facts (severe lung disease, SpO2): they fail together.
        assert set(o.failed) == {cid} | TWINS.get(cid, set())
        (failure,) = [f for f in o.failures if f.criterion == cid]
        assert any(shown in reason for reason in failure.reasons), failure.reasons
        # The facts that decided the failure include the one that changed (or its calculator input).
        assert set(failure.facts) & {k for k in changes if changes[k] is not ...}
    else:
        assert o.status == "eligible"
        assert cid not in o.failed


# The criterion IDs of criteria.md ("Three-valued rules"), in the protocol's order.
SPEC_IDS = ["I1", "I2a", "I2b", "I2c", "I3", "I4a", "I4b", "I4c", "I4d", "I5", "I6", "I7",
            "E1", "E2a", "E2b", "E3a", "E3b", "E3c", "E4", "E5", "E6", "E7", "E8", "E9a", "E9b", "E9c",
            "E10", "E11", "E12", "E13"]


def test_criterion_ids_are_those_of_the_spec():
    assert list(CRITERION_IDS) == SPEC_IDS


def test_every_criterion_has_a_boundary_case():
    assert {c[0] for c in BOUNDARIES} | {"I7", "E13"} == set(CRITERION_IDS)


def test_i7_and_e13_are_always_pending():
    o = evaluate({})
    assert o.criteria["I7"] == o.criteria["E13"] == "pending"
    o = evaluate(eligible_facts())
    assert o.criteria["I7"] == o.criteria["E13"] == "pending"
    assert {p.criterion: p.reason for p in o.pending_details}.keys() >= {"I7", "E13"}


def test_every_failure_is_listed_not_only_the_first():
    o = outcome_with(age_years=19, lvef_percent=54, ast_x_uln=3.1, prior_cell_therapy=True, spo2_percent=91)
    assert o.status == "ineligible"
    assert o.failed == ["I1", "I4a", "I4c", "I4d", "E1", "E5"]
    reasons = {f.criterion: "; ".join(f.reasons) for f in o.failures}
    assert reasons["I1"] == "age 19 years > 18 years"
    assert reasons["I4a"] == "LVEF 54 % < 55 %"
    assert reasons["I4c"] == "AST 3.1 × ULN > 3 × ULN"
    assert reasons["I4d"] == "SpO2 on room air 91 % < 92 %"
    assert reasons["E5"] == "SpO2 on room air 91 % < 92 %"


def test_failure_lists_every_deciding_fact():
    # I4c with AST and bilirubin both too high: both named, with values and thresholds.
    o = outcome_with(ast_x_uln=4, bilirubin_x_uln=2.5)
    (f,) = o.failures
    assert f.criterion == "I4c"
    assert f.facts == ["ast_x_uln", "bilirubin_x_uln"]
    assert f.reasons == ["AST 4 × ULN > 3 × ULN", "total bilirubin 2.5 × ULN > 2 × ULN"]


def test_egfr_boundary_through_bedside_schwartz():
    # 0.413 × 100 / 1.3 = 31.77 → met; 0.413 × 100 / 1.4 = 29.50 → not met.
    o = outcome_with(egfr=..., height_cm=100, creatinine=1.3, creatinine_unit="mg/dL")
    assert o.criteria["I4b"] == "met"
    # SLEDAI-2K 12 of the baseline gives target_not_reached (≥ 5) too.
    assert o.calculated == {"egfr": 31.8, "target_not_reached": True}
    o = outcome_with(egfr=..., height_cm=100, creatinine=1.4, creatinine_unit="mg/dL")
    assert o.criteria["I4b"] == "not_met"
    (f,) = o.failures
    assert f.reasons == ["eGFR 29.5 mL/min/1.73 m² (calculated from serum creatinine) < 30 mL/min/1.73 m²"]
    assert f.facts == ["egfr", "creatinine", "creatinine_unit", "height_cm"]
    # The same creatinine in µmol/L: 1.4 × 88.4 = 123.76 µmol/L.
    o = outcome_with(egfr=..., height_cm=100, creatinine=123.76, creatinine_unit="umol/L")
    assert o.criteria["I4b"] == "not_met"


def test_lower_egfr_decides_when_lab_and_calculated_values_are_both_given():
    # 0.413 × 100 / 1.4 = 29.5 calculated; a lab eGFR of 30.4 is within 1 mL/min/1.73 m² (no
    # contradiction). Adding either value to the other must not turn a failed I4b into a pass: the lower
    # one decides.
    calculated_only = outcome_with(egfr=..., height_cm=100, creatinine=1.4, creatinine_unit="mg/dL")
    both = outcome_with(egfr=30.4, height_cm=100, creatinine=1.4, creatinine_unit="mg/dL")
    assert calculated_only.criteria["I4b"] == both.criteria["I4b"] == "not_met"
    assert [f.reasons for f in both.failures] == [
        ["eGFR 29.5 mL/min/1.73 m² (calculated from serum creatinine) < 30 mL/min/1.73 m²"]]
    # The reverse: 0.413 × 100 / 1.36 = 30.37 calculated, lab eGFR 29.5 (0.87 apart): the lab value decides.
    lab_only = outcome_with(egfr=29.5)
    both = outcome_with(egfr=29.5, height_cm=100, creatinine=1.36, creatinine_unit="mg/dL")
    assert lab_only.criteria["I4b"] == both.criteria["I4b"] == "not_met"
    assert [f.reasons for f in both.failures] == [["eGFR 29.5 mL/min/1.73 m² < 30 mL/min/1.73 m²"]]
    assert "egfr" not in both.calculated


def test_sledai_2k_boundary_through_its_descriptors():
    # arthritis 4 + rash 2 + fever 1 = 7 → not met; arthritis 4 + rash 2 + alopecia 2 = 8 → met
    o = outcome_with(sledai_2k=..., sledai_2k_items=["arthritis", "rash", "fever"])
    assert o.criteria["I2b"] == "not_met"
    assert o.failures[0].reasons == ["SLEDAI-2K 7 (calculated from SLEDAI-2K descriptors) < 8"]
    assert o.failures[0].facts == ["sledai_2k", "sledai_2k_items"]
    o = outcome_with(sledai_2k=..., sledai_2k_items=["arthritis", "rash", "alopecia"])
    assert o.criteria["I2b"] == "met"
    assert o.calculated == {"sledai_2k": 8, "target_not_reached": True}


def test_eular_acr_boundary_through_its_items():
    # ANA ≥ 1:80; acute pericarditis 6 + low C3 and C4 4 = 10 → classified; with low C3 or C4 3: 9 → not
    o = outcome_with(sle_eular_acr_2019=..., eular_acr_2019={
        "ana_ge_1_80": True, "items": ["acute_pericarditis", "low_c3_and_c4"]})
    assert o.criteria["I2a"] == "met"
    o = outcome_with(sle_eular_acr_2019=..., eular_acr_2019={
        "ana_ge_1_80": True, "items": ["acute_pericarditis", "low_c3_or_c4"]})
    assert o.criteria["I2a"] == "not_met"
    assert o.failures[0].facts == ["sle_eular_acr_2019", "eular_acr_2019"]
    # A negative ANA alone fails I2a.
    o = outcome_with(sle_eular_acr_2019=..., eular_acr_2019={"ana_ge_1_80": False})
    assert o.criteria["I2a"] == "not_met"


def test_readings_of_the_listing_are_stated():
    notes = " ".join(evaluate({}).notes)
    assert "I4b" in notes and "≥ 30" in notes
    assert "I1" in notes and "18" in notes

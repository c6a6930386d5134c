"""Calculators (criteria/calculators.py) against worked values from their published sources.

Every expected value below is worked out by hand in the comment next to it, from the source's weights
or formula (not from the code under test).
"""

import pytest

from criteria import calculators
from criteria.codes import EULAR_ACR_2019_ITEMS, SLEDAI_2K_WEIGHTS

# --- SLEDAI-2K -----------------------------------------------------------------------------------------
# Gladman DD, Ibañez D, Urowitz MB. Systemic lupus erythematosus disease activity index 2000.
# J Rheumatol 2002;29:288-91. Descriptor weights: 8 (seizure, psychosis, organic brain syndrome, visual
# disturbance, cranial nerve disorder, lupus headache, CVA, vasculitis), 4 (arthritis, myositis, urinary
# casts, hematuria, proteinuria, pyuria), 2 (rash, alopecia, mucosal ulcers, pleurisy, pericarditis, low
# complement, increased DNA binding), 1 (fever, thrombocytopenia, leukopenia). Score = sum.

GLADMAN_2002_WEIGHTS = {
    **dict.fromkeys(("seizure", "psychosis", "organic_brain_syndrome", "visual_disturbance",
                     "cranial_nerve_disorder", "lupus_headache", "cva", "vasculitis"), 8),
    **dict.fromkeys(("arthritis", "myositis", "urinary_casts", "hematuria", "proteinuria", "pyuria"), 4),
    **dict.fromkeys(("rash", "alopecia", "mucosal_ulcers", "pleurisy", "pericarditis", "low_complement",
                     "increased_dna_binding"), 2),
    **dict.fromkeys(("fever", "thrombocytopenia", "leukopenia"), 1),
}


def test_sledai_2k_weights_are_gladman_2002():
    assert SLEDAI_2K_WEIGHTS == GLADMAN_2002_WEIGHTS


@pytest.mark.parametrize(("items", "score"), [
    ([], 0),
    (["fever"], 1),
    # Lupus nephritis flare: proteinuria 4 + hematuria 4 + low complement 2 + increased DNA binding 2 = 12
    (["proteinuria", "hematuria", "low_complement", "increased_dna_binding"], 12),
    # Mucocutaneous and musculoskeletal only: arthritis 4 + rash 2 + alopecia 2 = 8 (I2b's threshold)
    (["arthritis", "rash", "alopecia"], 8),
    # One point short: arthritis 4 + rash 2 + fever 1 = 7
    (["arthritis", "rash", "fever"], 7),
    # A single CNS descriptor: seizure 8
    (["seizure"], 8),
    # Every descriptor: 8 × 8 + 6 × 4 + 7 × 2 + 3 × 1 = 64 + 24 + 14 + 3 = 105, the scale's maximum
    (list(GLADMAN_2002_WEIGHTS), 105),
])
def test_sledai_2k_worked_scores(items, score):
    assert calculators.sledai_2k(items) == score


def test_sledai_2k_counts_a_descriptor_once():
    # arthritis 4 (listed twice, counted once) + fever 1 = 5
    assert calculators.sledai_2k(["arthritis", "arthritis", "fever"]) == 5


def test_sledai_2k_rejects_an_unknown_descriptor():
    with pytest.raises(KeyError):
        calculators.sledai_2k(["headache"])


# --- 2019 EULAR/ACR ------------------------------------------------------------------------------------
# Aringer M, Costenbader K, Daikh D, et al. 2019 European League Against Rheumatism/American College of
# Rheumatology classification criteria for systemic lupus erythematosus. Arthritis Rheumatol
# 2019;71:1400-12 (also Ann Rheum Dis 2019;78:1151-9). Entry criterion ANA ≥ 1:80; additive criteria
# weighted 2–10; only the highest weighted criterion of each domain counts; classified with ≥ 10 points
# and at least one clinical criterion.

ARINGER_2019 = {
    "fever": ("constitutional", 2),
    "leukopenia": ("hematologic", 3), "thrombocytopenia": ("hematologic", 4),
    "autoimmune_hemolysis": ("hematologic", 4),
    "delirium": ("neuropsychiatric", 2), "psychosis": ("neuropsychiatric", 3),
    "seizure": ("neuropsychiatric", 5),
    "non_scarring_alopecia": ("mucocutaneous", 2), "oral_ulcers": ("mucocutaneous", 2),
    "subacute_cutaneous_or_discoid_lupus": ("mucocutaneous", 4),
    "acute_cutaneous_lupus": ("mucocutaneous", 6),
    "pleural_or_pericardial_effusion": ("serosal", 5), "acute_pericarditis": ("serosal", 6),
    "joint_involvement": ("musculoskeletal", 6),
    "proteinuria_gt_0_5g": ("renal", 4), "renal_class_ii_or_v": ("renal", 8),
    "renal_class_iii_or_iv": ("renal", 10),
    "antiphospholipid_antibodies": ("antiphospholipid", 2),
    "low_c3_or_c4": ("complement", 3), "low_c3_and_c4": ("complement", 4),
    "anti_dsdna_or_anti_sm": ("sle_specific_antibodies", 6),
}


def test_eular_acr_2019_items_are_aringer_2019():
    assert EULAR_ACR_2019_ITEMS == ARINGER_2019


@pytest.mark.parametrize(("items", "total", "classified"), [
    # fever 2 + hematologic max(leukopenia 3, thrombocytopenia 4) = 4 + joint involvement 6 = 12 ≥ 10
    (["fever", "leukopenia", "thrombocytopenia", "joint_involvement"], 12, True),
    # Highest per domain only: mucocutaneous max(oral ulcers 2, alopecia 2, acute cutaneous 6) = 6
    # + complement max(low C3 or C4 3, low C3 and C4 4) = 4 → 10: exactly the threshold
    (["oral_ulcers", "non_scarring_alopecia", "acute_cutaneous_lupus", "low_c3_or_c4", "low_c3_and_c4"],
     10, True),
    # acute pericarditis 6 + low C3 or C4 3 = 9 < 10
    (["acute_pericarditis", "low_c3_or_c4"], 9, False),
    # Biopsy class III/IV lupus nephritis alone: 10 (with ANA it classifies on its own)
    (["renal_class_iii_or_iv"], 10, True),
    # Renal domain counts once: max(proteinuria 4, class II/V 8, class III/IV 10) = 10, + fever 2 = 12
    (["proteinuria_gt_0_5g", "renal_class_ii_or_v", "renal_class_iii_or_iv", "fever"], 12, True),
    # Immunologic only: anti-dsDNA 6 + low C3 and C4 4 + antiphospholipid 2 = 12 ≥ 10, but no clinical
    # criterion: not classified
    (["anti_dsdna_or_anti_sm", "low_c3_and_c4", "antiphospholipid_antibodies"], 12, False),
    # Seizure 5 + psychosis (same domain, 3 → not added) + delirium (2, not added) = 5, + anti-dsDNA 6 = 11
    (["seizure", "psychosis", "delirium", "anti_dsdna_or_anti_sm"], 11, True),
    ([], 0, False),
])
def test_eular_acr_2019_worked_totals_with_positive_ana(items, total, classified):
    result = calculators.eular_acr_2019(True, items)
    assert result.total == total
    assert result.classified is classified


def test_eular_acr_2019_domain_scores_keep_the_highest_item():
    result = calculators.eular_acr_2019(True, ["leukopenia", "autoimmune_hemolysis", "oral_ulcers"])
    # hematologic max(3, 4) = 4; mucocutaneous 2
    assert result.domain_scores == {"hematologic": 4, "mucocutaneous": 2}
    assert result.has_clinical_item is True


def test_eular_acr_2019_ana_is_the_entry_criterion():
    items = ["renal_class_iii_or_iv", "anti_dsdna_or_anti_sm", "joint_involvement"]  # 10 + 6 + 6 = 22
    assert calculators.eular_acr_2019(False, items).classified is False
    assert calculators.eular_acr_2019(True, items).classified is True
    # ANA unknown: the points alone cannot classify …
    assert calculators.eular_acr_2019(None, items).classified is None
    # … but too few points decide without it: fever 2 + joint involvement 6 = 8 < 10.
    assert calculators.eular_acr_2019(None, ["fever", "joint_involvement"]).classified is False
    # … as does the lack of a clinical criterion: anti-dsDNA 6 + low C3 and C4 4 = 10, immunologic only.
    assert calculators.eular_acr_2019(None, ["anti_dsdna_or_anti_sm", "low_c3_and_c4"]).classified is False


def test_eular_acr_2019_items_not_yet_known():
    # A negative ANA decides alone; otherwise nothing is decided yet.
    assert calculators.eular_acr_2019(False, None).classified is False
    assert calculators.eular_acr_2019(True, None).classified is None
    assert calculators.eular_acr_2019(None, None).classified is None


def test_eular_acr_2019_counts_a_repeated_item_once():
    # joint involvement 6 (twice, counted once) + fever 2 = 8 < 10
    result = calculators.eular_acr_2019(True, ["joint_involvement", "joint_involvement", "fever"])
    assert (result.total, result.classified) == (8, False)


# --- Bedside Schwartz ----------------------------------------------------------------------------------
# Schwartz GJ, Muñoz A, Schneider MF, et al. New equations to estimate GFR in children with CKD.
# J Am Soc Nephrol 2009;20:629-37. Bedside formula: eGFR (mL/min/1.73 m²) = 0.413 × height (cm) /
# serum creatinine (mg/dL), IDMS-traceable (enzymatic) creatinine. 1 mg/dL creatinine = 88.4 µmol/L.


@pytest.mark.parametrize(("height_cm", "creatinine", "unit", "egfr"), [
    # 0.413 × 140 = 57.82; 57.82 / 0.7 = 82.6
    (140, 0.7, "mg/dL", 82.6),
    # 0.7 mg/dL × 88.4 = 61.88 µmol/L; 36.5092 × 140 / 61.88 = 82.6
    (140, 61.88, "umol/L", 82.6),
    # 0.413 × 120 = 49.56; 49.56 / 0.5 = 99.12
    (120, 0.5, "mg/dL", 99.12),
    # 0.413 × 100 = 41.3; 41.3 / 1.5 = 27.5333… (below I4b's 30)
    (100, 1.5, "mg/dL", 27.5333),
    # 1.5 mg/dL = 132.6 µmol/L: the same 27.5333…
    (100, 132.6, "umol/L", 27.5333),
    # 0.413 × 160 = 66.08; 66.08 / 2.2026… = 30.0 → creatinine 2.20267 mg/dL puts eGFR at 30.0
    (160, 2.2026666667, "mg/dL", 30.0),
])
def test_schwartz_bedside_worked_values(height_cm, creatinine, unit, egfr):
    assert calculators.schwartz_bedside_egfr(height_cm, creatinine, unit) == pytest.approx(egfr, abs=1e-3)


def test_schwartz_micromolar_shortcut():
    # criteria.md: 0.413 × 88.4 = 36.5092 ≈ 36.5, so eGFR ≈ 36.5 × height / creatinine (µmol/L).
    # 36.5 × 130 / 50 = 94.9; the exact constant gives 36.5092 × 130 / 50 = 94.924
    assert calculators.schwartz_bedside_egfr(130, 50, "umol/L") == pytest.approx(94.924, abs=1e-3)
    assert calculators.schwartz_bedside_egfr(130, 50, "umol/L") == pytest.approx(36.5 * 130 / 50, abs=0.05)


def test_creatinine_conversion():
    # 88.4 µmol/L = 1 mg/dL; 176.8 µmol/L = 2 mg/dL
    assert calculators.creatinine_mg_dl(88.4, "umol/L") == pytest.approx(1.0)
    assert calculators.creatinine_mg_dl(176.8, "umol/L") == pytest.approx(2.0)
    assert calculators.creatinine_mg_dl(0.9, "mg/dL") == 0.9
    with pytest.raises(ValueError, match="mmol/L"):
        calculators.creatinine_mg_dl(0.1, "mmol/L")


# --- Prednisone equivalents ----------------------------------------------------------------------------
# Standard glucocorticoid equivalence tables (e.g. Liu D et al., Allergy Asthma Clin Immunol 2013;9:30,
# table 1), as criteria.md: 5 mg prednisone = 5 mg prednisolone = 4 mg methylprednisolone = 4 mg
# triamcinolone = 20 mg hydrocortisone = 25 mg cortisone = 0.75 mg dexamethasone = 0.75 mg betamethasone.


@pytest.mark.parametrize(("drug", "mg", "prednisone_mg"), [
    ("prednisone", 5, 5),
    ("prednisolone", 30, 30),
    ("methylprednisolone", 4, 5),       # 4 mg × 5/4 = 5
    ("methylprednisolone", 40, 50),     # 40 × 5/4 = 50
    ("triamcinolone", 8, 10),           # 8 × 5/4 = 10
    ("hydrocortisone", 20, 5),          # 20 × 5/20 = 5
    ("hydrocortisone", 100, 25),        # 100 × 5/20 = 25
    ("cortisone", 25, 5),               # 25 × 5/25 = 5
    ("dexamethasone", 0.75, 5),         # 0.75 × 5/0.75 = 5
    ("dexamethasone", 3, 20),           # 3 × 5/0.75 = 20
    ("betamethasone", 0.75, 5),
])
def test_prednisone_equivalents(drug, mg, prednisone_mg):
    assert calculators.prednisone_equivalent_mg(drug, mg) == pytest.approx(prednisone_mg)


def test_prednisone_mg_kg_day():
    # Methylprednisolone 40 mg/day = 50 mg prednisone; / 25 kg = 2 mg/kg/day (≥ 1: high dose).
    assert calculators.prednisone_mg_kg_day("methylprednisolone", 40, 25) == pytest.approx(2.0)
    # Dexamethasone 1.5 mg/day = 10 mg prednisone; / 40 kg = 0.25 mg/kg/day.
    assert calculators.prednisone_mg_kg_day("dexamethasone", 1.5, 40) == pytest.approx(0.25)
    # Prednisolone 15 mg/day in a 30 kg child: 0.5 mg/kg/day, the steroid-dependence line of I3b.
    assert calculators.prednisone_mg_kg_day("prednisolone", 15, 30) == pytest.approx(0.5)


def test_unknown_glucocorticoid_is_refused():
    with pytest.raises(KeyError):
        calculators.prednisone_equivalent_mg("budesonide", 9)

"""Three-valued (Kleene) logic: the truth tables, and the combinations of criteria.md that rest on them
(HBV, HCV, I2c, I3, I6/E11, unknown versus false)."""

import itertools

import pytest

from criteria import evaluate
from criteria.logic import k_and, k_not, k_or

T, F, U = True, False, None

# Kleene's strong three-valued logic (criteria.md, "Three-valued rules").
AND_TABLE = {
    (T, T): T, (T, F): F, (T, U): U,
    (F, T): F, (F, F): F, (F, U): F,
    (U, T): U, (U, F): F, (U, U): U,
}
OR_TABLE = {
    (T, T): T, (T, F): T, (T, U): T,
    (F, T): T, (F, F): F, (F, U): U,
    (U, T): T, (U, F): U, (U, U): U,
}


@pytest.mark.parametrize(("a", "b"), list(AND_TABLE))
def test_kleene_and_or(a, b):
    assert k_and([a, b]) is AND_TABLE[a, b]
    assert k_or([a, b]) is OR_TABLE[a, b]


def test_kleene_not():
    assert k_not(T) is F and k_not(F) is T and k_not(U) is U


def test_kleene_empty_and_long():
    assert k_and([]) is T and k_or([]) is F
    assert k_and([T, U, T, F, U]) is F
    assert k_and([T, U, T]) is U
    assert k_or([F, U, F]) is U
    assert k_or([F, U, T, U]) is T


def test_kleene_de_morgan():
    for a, b in itertools.product((T, F, U), repeat=2):
        assert k_not(k_and([a, b])) is k_or([k_not(a), k_not(b)])


# --- E9a: excluded if (HBsAg+ or HBcAb+) and HBV-DNA+; clear if both antigens are negative or HBV-DNA -.
SERO = {"+": "positive", "-": "negative", "?": None}
E9A = {
    # HBsAg HBcAb HBV-DNA
    "+++": "excluded", "++-": "clear", "++?": "unknown",
    "+-+": "excluded", "+--": "clear", "+-?": "unknown",
    "+?+": "excluded", "+?-": "clear", "+??": "unknown",
    "-++": "excluded", "-+-": "clear", "-+?": "unknown",
    "--+": "clear", "---": "clear", "--?": "clear",
    "-?+": "unknown", "-?-": "clear", "-??": "unknown",
    "?++": "excluded", "?+-": "clear", "?+?": "unknown",
    "?-+": "unknown", "?--": "clear", "?-?": "unknown",
    "??+": "unknown", "??-": "clear", "???": "unknown",
}


def _sero(keys, code):
    return {k: SERO[c] for k, c in zip(keys, code, strict=True) if SERO[c] is not None}


@pytest.mark.parametrize("code", sorted(E9A))
def test_e9a_hbv(code):
    o = evaluate(_sero(("hbsag", "hbcab", "hbv_dna"), code))
    assert o.criteria["E9a"] == E9A[code]


def test_e9a_table_is_complete():
    assert len(E9A) == 27


# --- E9b: excluded if HCV-Ab+ and HCV-RNA+; clear if either is negative.
E9B = {
    "++": "excluded", "+-": "clear", "+?": "unknown",
    "-+": "clear", "--": "clear", "-?": "clear",
    "?+": "unknown", "?-": "clear", "??": "unknown",
}


@pytest.mark.parametrize("code", sorted(E9B))
def test_e9b_hcv(code):
    assert evaluate(_sero(("hcv_ab", "hcv_rna"), code)).criteria["E9b"] == E9B[code]


# --- E9c: excluded if any of HIV-Ab, syphilis, CMV-DNA is positive; clear if all three are negative.
@pytest.mark.parametrize("code", ["".join(p) for p in itertools.product("+-?", repeat=3)])
def test_e9c(code):
    expected = "excluded" if "+" in code else "clear" if code == "---" else "unknown"
    assert evaluate(_sero(("hiv_ab", "syphilis", "cmv_dna"), code)).criteria["E9c"] == expected


# --- I2c: intolerant OR (soc ≥ 6 AND gc_high_dose AND hcq AND ≥ 2 DMARDs AND target not reached).
REFRACTORY = {"soc_months": 12, "gc_high_dose": True, "hcq": True,
              "dmards": ["methotrexate", "mycophenolate"], "target_not_reached": True}
REFRACTORY_FALSE = {"soc_months": 3, "gc_high_dose": False, "hcq": False, "dmards": ["methotrexate"],
                    "target_not_reached": False}


@pytest.mark.parametrize("intolerant", [T, F, U])
@pytest.mark.parametrize("refractory", ["all true", "one false", "one unknown", "all unknown"])
def test_i2c_combinations(intolerant, refractory):
    facts = {} if intolerant is None else {"intolerant_to_conventional": intolerant}
    if refractory == "all true":
        facts |= REFRACTORY
        conj = T
    elif refractory == "one false":
        facts |= {**REFRACTORY, "hcq": False}
        conj = F
    elif refractory == "one unknown":
        facts |= {k: v for k, v in REFRACTORY.items() if k != "target_not_reached"}
        conj = U
    else:
        conj = U
    expected = {T: "met", F: "not_met", U: "unknown"}[k_or([intolerant, conj])]
    assert evaluate(facts).criteria["I2c"] == expected


@pytest.mark.parametrize("key", sorted(REFRACTORY))
def test_i2c_each_refractory_part_alone_fails_it(key):
    facts = {**REFRACTORY, key: REFRACTORY_FALSE[key], "intolerant_to_conventional": False}
    o = evaluate(facts)
    assert o.criteria["I2c"] == "not_met"
    (f,) = [f for f in o.failures if f.criterion == "I2c"]
    # Both the false intolerance and the failing part are named.
    assert f.facts == ["intolerant_to_conventional", key]


def test_i2c_one_false_part_decides_even_with_others_unknown():
    # soc_months 3 < 6 makes the refractory branch false whatever hcq etc. are; intolerance still unknown.
    o = evaluate({"soc_months": 3})
    assert o.criteria["I2c"] == "unknown"
    (m,) = [m for m in o.missing if m.criterion == "I2c"]
    assert m.facts == ["intolerant_to_conventional"]
    o = evaluate({"soc_months": 3, "intolerant_to_conventional": False})
    assert o.criteria["I2c"] == "not_met"


# --- I3: I3a (LN III/IV/V, CNS lupus, refractory cytopenia, other major organ) OR I3b (steroid dependence).
@pytest.mark.parametrize(("facts", "verdict"), [
    ({"ln_classes": ["IV"]}, "met"),
    ({"ln_classes": ["II"]}, "unknown"),
    ({"ln_classes": ["II"], "cns_lupus": False, "refractory_cytopenia": False, "steroid_dependent": False},
     "unknown"),
    ({"ln_classes": ["II"], "cns_lupus": False, "refractory_cytopenia": False, "other_major_organ": False,
      "steroid_dependent": False}, "not_met"),
    ({"ln_classes": ["II"], "cns_lupus": False, "refractory_cytopenia": False, "other_major_organ": True,
      "steroid_dependent": False}, "met"),
    ({"ln_classes": [], "cns_lupus": False, "refractory_cytopenia": False}, "unknown"),
    ({"cns_lupus": True}, "met"),
    ({"steroid_dependent": True}, "met"),
    ({"ln_classes": [], "cns_lupus": False, "refractory_cytopenia": False, "other_major_organ": False,
      "gc_taper_floor_mg_kg_day": 0.2}, "not_met"),
])
def test_i3_combinations(facts, verdict):
    assert evaluate(facts).criteria["I3"] == verdict


# --- Unknown versus false.
@pytest.mark.parametrize(("cid", "key", "true_verdict", "false_verdict"), [
    ("E1", "prior_cell_therapy", "excluded", "clear"),
    ("E2a", "cns_event_60d", "excluded", "clear"),
    ("E2b", "cns_damage_or_severe_seizures", "excluded", "clear"),
    ("E3a", "dialysis_3m", "excluded", "clear"),
    ("E6", "non_sle_immunosuppression", "excluded", "clear"),
    ("E7", "active_infection", "excluded", "clear"),
    ("E12", "other_trial_3m", "excluded", "clear"),
    ("I2a", "sle_eular_acr_2019", "met", "not_met"),
])
def test_unknown_is_neither_true_nor_false(cid, key, true_verdict, false_verdict):
    assert evaluate({key: True}).criteria[cid] == true_verdict
    assert evaluate({key: False}).criteria[cid] == false_verdict
    assert evaluate({}).criteria[cid] == "unknown"
    assert evaluate({key: None}).criteria[cid] == "unknown"  # null means unknown too


@pytest.mark.parametrize(("facts", "cid", "verdict"), [
    # AND: a false part decides despite an unknown one; otherwise unknown.
    ({"lvef_percent": 50}, "I4a", "not_met"),
    ({"lvef_percent": 60}, "I4a", "unknown"),
    ({"ecg_significant_abnormality": True}, "I4a", "not_met"),
    ({"lvef_percent": 60, "ecg_significant_abnormality": False}, "I4a", "met"),
    ({"ast_x_uln": 5}, "I4c", "not_met"),
    ({"ast_x_uln": 1, "alt_x_uln": 1}, "I4c", "unknown"),
    ({"severe_lung_disease": False}, "I4d", "unknown"),
    ({"spo2_percent": 85}, "I4d", "not_met"),
    # OR: a true part decides despite unknown ones; all false is clear; otherwise unknown.
    ({"severe_lung_disease": True}, "E5", "excluded"),
    ({"spo2_percent": 85}, "E5", "excluded"),
    ({"spo2_percent": 98}, "E5", "unknown"),
    ({"spo2_percent": 98, "severe_lung_disease": False}, "E5", "clear"),
    ({"transplant_3m": False}, "E8", "unknown"),
    ({"gvhd_grade2_2w": True}, "E8", "excluded"),
    ({"transplant_3m": False, "gvhd_grade2_2w": False}, "E8", "clear"),
    ({"mas_1m": False, "live_vaccine_4w": False}, "E10", "unknown"),
    ({"mas_1m": False, "live_vaccine_4w": False, "malignancy_or_severe_disease": False}, "E10", "clear"),
    ({"live_vaccine_4w": True}, "E10", "excluded"),
    ({}, "E4", "unknown"),
    ({"renal_fibrosis_extensive": False}, "E3b", "unknown"),
    ({"ln_classes": [], "renal_fibrosis_extensive": False}, "E3b", "clear"),
    ({"ln_classes": ["III"], "renal_fibrosis_extensive": False}, "E3b", "unknown"),
    # A known chronicity index always counts, biopsy-proven LN or not.
    ({"ln_classes": [], "ln_chronicity_index": 8}, "E3b", "excluded"),
    ({"ln_classes": [], "ln_chronicity_index": 3, "renal_fibrosis_extensive": False}, "E3b", "clear"),
    ({"ln_chronicity_index": 7}, "E3b", "excluded"),
    ({"age_years": 10}, "I1", "met"),
    ({}, "I1", "unknown"),
    ({}, "I2b", "unknown"),
    ({}, "I4b", "unknown"),
])
def test_kleene_rules(facts, cid, verdict):
    assert evaluate(facts).criteria[cid] == verdict


# --- I5, I6 and E11: pending verdicts.
@pytest.mark.parametrize(("value", "verdict"), [(T, "met"), (F, "not_met"), (U, "pending")])
def test_i5(value, verdict):
    facts = {} if value is None else {"apheresis_suitable": value}
    assert evaluate(facts).criteria["I5"] == verdict


# sex, childbearing potential, agrees to contraception -> I6
I6 = [
    ("male", U, U, "met"),
    ("male", F, F, "met"),
    ("female", F, F, "met"),
    ("female", T, T, "pending"),
    ("female", T, U, "pending"),
    ("female", T, F, "not_met"),
    ("female", U, T, "unknown"),
    ("female", U, F, "unknown"),
    (U, U, U, "unknown"),
    (U, U, T, "unknown"),
    # Without childbearing potential I6 is met whatever the sex (README: "I6" reading).
    (U, F, U, "met"),
    # Childbearing potential implies a girl after menarche.
    (U, T, U, "pending"),
    (U, T, F, "not_met"),
]


@pytest.mark.parametrize(("sex", "cbp", "agrees", "verdict"), I6)
def test_i6(sex, cbp, agrees, verdict):
    facts = {k: v for k, v in (("sex", sex), ("childbearing_potential", cbp),
                                ("agrees_contraception", agrees)) if v is not None}
    assert evaluate(facts).criteria["I6"] == verdict


# sex, childbearing potential, pregnant -> E11
E11 = [
    (U, U, U, "pending"),
    (U, U, T, "excluded"),
    (U, U, F, "pending"),
    ("female", T, T, "excluded"),
    ("female", T, F, "pending"),
    ("female", U, U, "pending"),
    ("female", F, U, "clear"),
    ("female", F, F, "clear"),
    ("male", U, U, "clear"),
    ("male", F, F, "clear"),
    (U, F, U, "clear"),
]


@pytest.mark.parametrize(("sex", "cbp", "pregnant", "verdict"), E11)
def test_e11(sex, cbp, pregnant, verdict):
    facts = {k: v for k, v in (("sex", sex), ("childbearing_potential", cbp), ("pregnant", pregnant))
             if v is not None}
    o = evaluate(facts)
    assert o.criteria["E11"] == verdict
    if verdict == "pending":
        assert "E11" in o.pending


def test_pending_is_not_unknown():
    # Pending items never make a referral incomplete.
    facts = {"apheresis_suitable": None}
    o = evaluate(facts)
    assert "I5" in o.pending and "I5" not in [m.criterion for m in o.missing]

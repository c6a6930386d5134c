"""The calculators the conversation offers when a score is unknown: SLEDAI-2K descriptors, 2019 EULAR/ACR
ANA and items, eGFR from creatinine and height, the peak glucocorticoid dose, and the taper floor.
Expected values are worked by hand in the comments."""

from __future__ import annotations

import pytest
from conversation_script import Conversation, eligible_answers, run_answers, start
from said import said

from conversations.dialogue import engine
from criteria import evaluate


def finish(**overrides: str) -> Conversation:
    conv = run_answers(eligible_answers(**overrides))
    assert conv.final().outcome == evaluate(conv.facts)
    return conv


# ---- SLEDAI-2K ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("items", "score", "verdict"), [
    # arthritis 4 + rash 2 + alopecia 2 = 8: I2b's threshold
    ("arthritis, rash, alopecia", 8, "met"),
    # arthritis 4 + rash 2 + fever 1 = 7
    ("arthritis, rash, fever", 7, "not_met"),
    # by number: 13 proteinuria 4 + 12 hematuria 4 + 20 low complement 2 + 21 increased DNA binding 2 = 12
    ("13, 12, 20, 21", 12, "met"),
    # labels as shown, with their weights: seizure 8
    ("seizure (8)", 8, "met"),
    ("none", 0, "not_met"),
])
def test_sledai_items_give_the_score(items, score, verdict):
    conv = finish(sledai_2k="unknown", sledai_2k_items=items)
    i = conv.asked.index("sledai_2k")
    assert conv.asked[i + 1] == "sledai_2k_items"
    outcome = conv.final().outcome
    assert outcome.calculated["sledai_2k"] == score
    assert outcome.criteria["I2b"] == verdict
    assert "sledai_2k" not in conv.facts.known()  # the score is derived, not stored as an answer
    if verdict == "not_met":
        assert outcome.failures[0].facts == ["sledai_2k", "sledai_2k_items"]
        assert outcome.failures[0].reasons == [f"SLEDAI-2K {score} (calculated from SLEDAI-2K descriptors) < 8"]


@pytest.mark.parametrize(("items", "score_range", "verdict"), [
    # Complement and anti-dsDNA not yet measured: 4 + 2 = 6, up to 10: I2b unknown, never a hard fail.
    ("arthritis, rash, ?low complement, ?increased dna binding", [6, 10], "unknown"),
    # Not assessed, but the present ones already reach 8: met.
    ("arthritis, proteinuria, ?fever", [8, 9], "met"),
    # Even with every unassessed descriptor present the score stays below 8: not met.
    ("arthritis, ?rash, ?fever", [4, 7], "not_met"),
])
def test_sledai_descriptors_not_assessed_give_a_range(items, score_range, verdict):
    conv = finish(sledai_2k="unknown", sledai_2k_items=items)
    outcome = conv.final().outcome
    assert outcome.calculated["sledai_2k"] == score_range
    assert outcome.criteria["I2b"] == verdict
    known = conv.facts.known()
    assert known["sledai_2k_unknown"] and not set(known["sledai_2k_unknown"]) & set(known["sledai_2k_items"])
    if verdict == "unknown":
        (m,) = [m for m in outcome.missing if m.criterion == "I2b"]
        assert m.facts == ["sledai_2k_items.low_complement", "sledai_2k_items.increased_dna_binding"]
        assert m.reason.startswith("SLEDAI-2K 6–10 (low complement and increased DNA binding (anti-dsDNA) not "
                                   "assessed)")
    if verdict == "not_met":
        assert outcome.failures[0].reasons == ["SLEDAI-2K 4–7 (rash and fever not assessed) < 8"]


def test_a_range_of_5_or_more_means_not_in_lldas_and_the_lldas_question_is_skipped():
    conv = finish(sledai_2k="unknown", sledai_2k_items="arthritis, proteinuria, ?fever")
    assert "target_not_reached" not in conv.asked
    assert conv.final().outcome.calculated["target_not_reached"] is True


def test_a_range_below_5_asks_the_lldas_question_positively():
    conv = run_answers(eligible_answers(sledai_2k="unknown", sledai_2k_items="arthritis, ?proteinuria"),
                       stop_at="target_not_reached")
    assert conv.question.text == "Is the child in LLDAS or remission now?"
    assert "cLLDAS" in said(conv.send(engine.Command("help")).outputs[0])
    # "No, not in LLDAS" (a child who responded and relapsed) is target_not_reached: I2c can be met.
    conv.send("no")
    assert conv.facts.known()["target_not_reached"] is True


def test_sledai_items_unknown_leaves_i2b_missing_with_its_calculator_hint():
    conv = finish(sledai_2k="unknown", sledai_2k_items="unknown")
    outcome = conv.final().outcome
    assert outcome.status == "incomplete"
    missing = {m.criterion: m for m in outcome.missing}
    assert missing["I2b"].facts == ["sledai_2k"]
    assert "SLEDAI-2K descriptors" in missing["I2b"].reason


# ---- 2019 EULAR/ACR -------------------------------------------------------------------------------------------

def test_the_biopsy_classes_are_asked_once_and_give_the_renal_items():
    """Issue 12: the EULAR/ACR renal biopsy items were asked, then the biopsy classes again."""
    conv = finish(sle_eular_acr_2019="unknown", ln_classes="IV", **{"eular_acr_2019.ana_ge_1_80": "yes",
                                                                      "eular_acr_2019.items": "leukopenia"})
    items = next(q for q in conv.questions() if q.fact == "eular_acr_2019.items")
    assert not {"renal_class_iii_or_iv", "renal_class_ii_or_v"} & {c.value for c in items.choices}
    assert conv.asked.count("ln_classes") == 1
    outcome = conv.final().outcome
    # leukopenia 3 + renal biopsy class III or IV 10 (from class IV) = 13 >= 10
    assert outcome.calculated["eular_acr_2019_total"] == 13 and outcome.criteria["I2a"] == "met"


@pytest.mark.parametrize(("ana", "items", "classified", "total"), [
    # acute cutaneous lupus 6 + anti-dsDNA 6 = 12 >= 10, with a clinical item
    ("yes", "acute cutaneous lupus, anti-dsDNA or anti-Sm antibodies", True, 12),
    # only the highest item of a domain counts: thrombocytopenia 4 (not + leukopenia 3) + joints 6 = 10
    ("yes", "thrombocytopenia, leukopenia, joint_involvement", True, 10),
    # leukopenia 3 + joints 6 = 9 < 10
    ("yes", "leukopenia, joint involvement", False, 9),
    # immunologic only: anti-dsDNA 6 + low C3 and C4 4 = 10, but no clinical item
    ("yes", "anti_dsdna_or_anti_sm, low C3 and low C4", False, 10),
    # ANA unknown and a total below 10: not classified whatever the ANA
    # (by number as shown: without the two renal biopsy items, which the classes decide, 17 is low C3 or C4)
    ("unknown", "fever, 17", False, 5),
    ("yes", "none", False, 0),
    # Complement not yet measured: leukopenia 3 + joints 6 = 9, up to 13 with low C3 and C4: unknown, never
    # a hard "not classified" (protocol 2)
    ("yes", "leukopenia, joint involvement, ?low C3 and low C4", None, [9, 13]),
    # ...but a range that cannot reach 10 decides: 3 + 2 = 5, at most 9 with low C3 and C4
    ("yes", "leukopenia, oral ulcers, ?low C3 and low C4", False, [5, 9]),
])
def test_eular_calculator(ana, items, classified, total):
    # No biopsy-proven LN, so that the renal biopsy items (which the classes decide) add nothing; CNS
    # lupus is the major organ involvement.
    conv = finish(sle_eular_acr_2019="unknown", ln_classes="none", cns_lupus="yes",
                  **{"eular_acr_2019.ana_ge_1_80": ana, "eular_acr_2019.items": items})
    i = conv.asked.index("sle_eular_acr_2019")
    assert conv.asked[i + 1:i + 5] == ["eular_acr_2019.ana_ge_1_80", "ln_classes", "cns_lupus", "eular_acr_2019.items"]
    outcome = conv.final().outcome
    # SLEDAI-2K 12 of the eligible answers implies target_not_reached (≥ 5).
    assert outcome.calculated == {"eular_acr_2019_total": total, "target_not_reached": True,
                                  **({} if classified is None else {"sle_eular_acr_2019": classified})}
    assert outcome.criteria["I2a"] == {True: "met", False: "not_met", None: "unknown"}[classified]
    if classified is None:
        (m,) = [m for m in outcome.missing if m.criterion == "I2a"]
        assert m.facts == ["eular_acr_2019.items.low_c3_and_c4"]
        assert "2019 EULAR/ACR total 9–13 (low C3 and low C4 not assessed)" in m.reason


def test_a_negative_ana_decides_alone():
    conv = finish(sle_eular_acr_2019="unknown", **{"eular_acr_2019.ana_ge_1_80": "no"})
    assert "eular_acr_2019.items" not in conv.asked
    assert conv.final().outcome.failed == ["I2a"]
    assert conv.facts.known()["eular_acr_2019"] == {"ana_ge_1_80": False}


def test_ana_unknown_with_enough_items_leaves_i2a_unknown():
    # acute cutaneous lupus 6 + joints 6 = 12: classified only if ANA >= 1:80, which is unknown.
    conv = finish(sle_eular_acr_2019="unknown", **{"eular_acr_2019.ana_ge_1_80": "unknown",
                                                    "eular_acr_2019.items": "11, 14"})
    outcome = conv.final().outcome
    assert outcome.status == "incomplete" and outcome.criteria["I2a"] == "unknown"
    assert [m.criterion for m in outcome.missing] == ["I2a"]


def test_eular_help_says_it_was_derived_in_adults():
    conv = run_answers(eligible_answers(), stop_at="sle_eular_acr_2019")
    help_text = said(conv.send(engine.Command("help")).outputs[0])
    assert "adults" in help_text and "pediatric" in help_text


# ---- eGFR (bedside Schwartz) ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("creatinine", "height", "egfr"), [
    # 0.413 × 145 / 0.6 = 99.81
    ("0.6 mg/dL", "145", 99.8),
    # 0.413 × 145 / (53 / 88.4) = 59.885 × 88.4 / 53 = 99.88
    ("53 umol/L", "145 cm", 99.9),
    ("53 µmol/L", "145", 99.9),
    ("53 μmol/l", "145", 99.9),
    # 0.413 × 160 / 3 = 22.03
    ("3 mg/dL", "160", 22.0),
    # 0.413 × 120 / 1,2 = 41.3
    ("1,2 mg/dl", "120", 41.3),
])
def test_egfr_from_creatinine_and_height(creatinine, height, egfr):
    conv = finish(egfr="unknown", creatinine=creatinine, height_cm=height)
    i = conv.asked.index("egfr")
    assert conv.asked[i + 1:i + 3] == ["creatinine", "height_cm"]
    outcome = conv.final().outcome
    assert outcome.calculated["egfr"] == egfr
    assert outcome.criteria["I4b"] == ("met" if egfr >= 30 else "not_met")
    known = conv.facts.known()
    assert "egfr" not in known and known["creatinine_unit"] in ("mg/dL", "umol/L")


def test_low_calculated_egfr_fails_i4b_with_every_input_named():
    conv = finish(egfr="unknown", creatinine="3 mg/dL", height_cm="150")
    outcome = conv.final().outcome
    assert outcome.failed == ["I4b"]
    assert outcome.failures[0].facts == ["egfr", "creatinine", "creatinine_unit", "height_cm"]
    # Announced as soon as the height made it certain.
    i = next(k for k, r in enumerate(conv.results) if any(
        isinstance(o, engine.OutcomeReached) and o.outcome.failed for o in r.outputs))
    assert conv.results[i - 1].state.current == "height_cm"


def test_creatinine_unknown_skips_height():
    conv = finish(egfr="unknown", creatinine="unknown")
    assert "height_cm" not in conv.asked
    assert [m.criterion for m in conv.final().outcome.missing] == ["I4b"]


def test_creatinine_bare_number_is_asked_again_for_its_unit():
    conv = run_answers(eligible_answers(egfr="unknown"), stop_at="creatinine")
    before = conv.state
    result = conv.send("1.2")
    assert isinstance(result.outputs[0], engine.Reprompt) and "Which unit is 1.2?" in said(result.outputs[0])
    assert result.state == before
    conv.send("1.2 mg/dL")
    assert conv.state.current == "height_cm"


# ---- peak glucocorticoid dose ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("drug", "mg", "weight", "mg_day", "mg_kg", "high"), [
    # prednisone 40 mg/day / 30 kg = 1.333
    ("prednisone", "40", "30", 40, 1.333, True),
    # methylprednisolone 24 mg = 24 × 5/4 = 30 mg prednisone; / 30 kg = 1.0: the threshold counts
    ("methylprednisolone", "24 mg/day", "30 kg", 30, 1.0, True),
    # by number (3 = methylprednisolone): 20 mg = 25 mg prednisone; / 30 kg = 0.833
    ("3", "20 mg", "30", 25, 0.833, False),
    # dexamethasone 3 mg = 3 × 5/0.75 = 20 mg prednisone; / 25 kg = 0.8
    ("dexamethasone", "3", "25", 20, 0.8, False),
    # hydrocortisone 200 mg = 200 × 5/20 = 50 mg prednisone; / 10 kg = 5.0
    ("Hydrocortisone", "200", "10", 50, 5.0, True),
    # prednisolone 0 mg: none
    ("prednisolone", "0", "30", 0, 0.0, False),
])
def test_peak_glucocorticoid_dose(drug, mg, weight, mg_day, mg_kg, high):
    conv = finish(gc_high_dose="unknown", gc_peak_drug=drug, gc_drug_mg_day=mg, weight_kg=weight)
    i = conv.asked.index("gc_high_dose")
    # Below 60 mg/day the weight decides (mg/kg/day): it is asked.
    assert conv.asked[i + 1:i + 4] == ["gc_peak_drug", "gc_drug_mg_day", "weight_kg"]
    known = conv.facts.known()
    # The drug's dose is stored as the spec's prednisone-equivalent mg/day; mg/kg/day is calculated.
    assert known["gc_peak_mg_day"] == pytest.approx(mg_day)
    assert "gc_peak_mg_kg_day" not in known
    assert known["weight_kg"] == float(weight.split()[0])
    outcome = conv.final().outcome
    assert outcome.calculated["gc_peak_mg_kg_day"] == pytest.approx(mg_kg, abs=0.05)
    assert outcome.calculated["gc_high_dose"] is high
    assert outcome.criteria["I2c"] == ("met" if high else "not_met")
    if not high:
        assert {"gc_peak_mg_day", "weight_kg"} <= set(outcome.failures[0].facts)


@pytest.mark.parametrize(("drug", "mg", "mg_day"), [
    # A methylprednisolone pulse: 750 mg = 937.5 mg prednisone-equivalent, far above 60 mg/day.
    ("methylprednisolone", "750", 937.5),
    # The pediatric maximum: a 70 kg adolescent on 60 mg/day prednisone (below 1 mg/kg/day) is high dose.
    ("prednisone", "60 mg/day", 60),
])
def test_60_mg_a_day_or_more_is_high_dose_without_asking_the_weight(drug, mg, mg_day):
    conv = finish(gc_high_dose="unknown", gc_peak_drug=drug, gc_drug_mg_day=mg)
    assert "weight_kg" not in conv.asked
    assert conv.facts.known()["gc_peak_mg_day"] == mg_day
    outcome = conv.final().outcome
    assert outcome.calculated["gc_high_dose"] is True and outcome.criteria["I2c"] == "met"
    # High dose only through mg/day, the mg/kg/day unknown: a flag for the investigator.
    assert [f.criterion for f in outcome.flags] == ["I2c"] and "60 mg/day" in outcome.flags[0].text


def test_59_mg_a_day_needs_the_weight():
    conv = finish(gc_high_dose="unknown", gc_peak_drug="prednisone", gc_drug_mg_day="59", weight_kg="70")
    assert "weight_kg" in conv.asked
    outcome = conv.final().outcome
    assert outcome.calculated["gc_high_dose"] is False and outcome.criteria["I2c"] == "not_met"


def test_peak_dose_drug_unknown_skips_the_dose_and_weight():
    conv = finish(gc_high_dose="unknown", gc_peak_drug="unknown")
    assert not {"gc_drug_mg_day", "weight_kg"} & set(conv.asked)
    assert conv.final().outcome.criteria["I2c"] == "unknown"


def test_peak_dose_mg_unknown_skips_the_weight():
    conv = finish(gc_high_dose="unknown", gc_peak_drug="prednisone", gc_drug_mg_day="unknown")
    assert "weight_kg" not in conv.asked
    assert "gc_peak_mg_day" not in conv.facts.known()


def test_peak_dose_help_gives_the_equivalents():
    conv = run_answers(eligible_answers(gc_high_dose="unknown"), stop_at="gc_peak_drug")
    assert "4 mg methylprednisolone" in said(conv.send(engine.Command("help")).outputs[0])


# ---- taper floor (steroid dependence) -------------------------------------------------------------------------

@pytest.mark.parametrize(("floor", "dependent"), [("0.6 mg/kg/day", True), ("0.5", True), ("0,3", False)])
def test_taper_floor_decides_steroid_dependence(floor, dependent):
    # No LN III-V, no CNS lupus, no refractory cytopenia: I3 rests on steroid dependence.
    conv = finish(ln_classes="none", cns_lupus="no", refractory_cytopenia="no", other_major_organ="no",
                  steroid_dependent="unknown", gc_taper_floor_mg_kg_day=floor)
    i = conv.asked.index("steroid_dependent")
    assert conv.asked[i + 1:i + 3] == ["gc_taper_tried", "gc_taper_floor_mg_kg_day"]
    outcome = conv.final().outcome
    assert outcome.calculated["steroid_dependent"] is dependent
    assert outcome.criteria["I3"] == ("met" if dependent else "not_met")


def test_taper_floor_is_asked_only_after_a_taper_that_ended_in_a_flare():
    conv = finish(ln_classes="none", cns_lupus="no", refractory_cytopenia="no", other_major_organ="no",
                  steroid_dependent="unknown", gc_taper_tried="no")
    assert "gc_taper_tried" in conv.asked and "gc_taper_floor_mg_kg_day" not in conv.asked
    assert conv.final().outcome.criteria["I3"] == "unknown"


def test_taper_floor_is_not_asked_when_i3_is_already_met():
    conv = finish(steroid_dependent="unknown")  # LN class IV meets I3
    assert "steroid_dependent" not in conv.asked and "gc_taper_floor_mg_kg_day" not in conv.asked


def test_every_calculator_in_one_conversation():
    conv = finish(sle_eular_acr_2019="unknown", sledai_2k="unknown", gc_high_dose="unknown", egfr="unknown",
                  ln_classes="none", cns_lupus="no", refractory_cytopenia="no", other_major_organ="no",
                  steroid_dependent="unknown")
    outcome = conv.final().outcome
    assert outcome.status == "eligible"
    # ELIGIBLE_ANSWERS: items 6 + 6; SLEDAI 4 + 4 + 2 = 10 (so not in LLDAS); prednisone 40 / 30 kg;
    # 0.413 × 145 / 0.6; 0.6 ≥ 0.5
    assert outcome.calculated == {"sledai_2k": 10, "target_not_reached": True, "sle_eular_acr_2019": True,
                                  "eular_acr_2019_total": 12, "gc_peak_mg_kg_day": 1.3, "gc_high_dose": True,
                                  "steroid_dependent": True, "egfr": 99.8}
    assert "target_not_reached" not in conv.asked


def test_calculator_questions_carry_help():
    conv = start()
    for_help = run_answers(eligible_answers(sledai_2k="unknown"), conv, stop_at="sledai_2k_items")
    assert "glossary" in said(for_help.send(engine.Command("help")).outputs[0])

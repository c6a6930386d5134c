"""Whole conversations, scripted: eligible, each kind of ineligible, incomplete, and the questions the
engine must never ask. Each ends with the outcome ``evaluate`` gives for the facts the engine stored."""

from __future__ import annotations

import pytest
from conversation_script import (
    ELIGIBLE_GIRL_12,
    Conversation,
    eligible_answers,
    run_answers,
    run_script,
    start,
)
from said import said

from conversations.dialogue import engine
from criteria import evaluate

MAX_QUESTIONS_ELIGIBLE = 35


def agrees_with_evaluate(conv: Conversation) -> engine.OutcomeReached:
    final = conv.final()
    assert final.outcome == evaluate(conv.facts)
    return final


# ---- eligible -----------------------------------------------------------------------------------------------

def test_eligible_girl_of_12_in_30_questions():
    conv = run_script(ELIGIBLE_GIRL_12)
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "eligible"
    assert final.outcome.failed == [] and final.outcome.missing == []
    # What stays for the screening visit: I5 confirmed here, so I6, I7, E3c (the investigator's
    # judgement since protocol 2), E11, E13.
    assert final.outcome.pending == ["I6", "I7", "E3c", "E11", "E13"]
    assert conv.asked == [fact for fact, _ in ELIGIBLE_GIRL_12]
    # The question count the issues ask us to report: 31 under protocol 1; protocol 2 drops the LLDAS
    # question for her (SLEDAI-2K 12 ≥ 5 implies the target is not reached).
    assert conv.answered == len(ELIGIBLE_GIRL_12) == 30
    assert "target_not_reached" not in conv.asked
    assert conv.answered <= MAX_QUESTIONS_ELIGIBLE
    assert conv.announcements() == [] and conv.reprompts() == []
    assert conv.facts.known()["age_years"] == 12 and conv.facts.known()["dmards"] == [
        "mycophenolate", "cyclophosphamide"]


# Issue 12's question counts, answered as physicians answer when the question invites it.
BLOCKED = {"alt_x_uln", "bilirubin_x_uln", "hbcab", "hcv_ab", "hiv_ab", "syphilis", "cmv_dna"}


def as_blocks(script: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The script with "all normal" for the liver values and "all negative" for the serology."""
    shortcut = {"ast_x_uln": "all normal", "hbsag": "all negative"}
    return [(fact, shortcut.get(fact, text)) for fact, text in script if fact not in BLOCKED]


def test_eligible_girl_of_12_in_at_most_24_questions():
    conv = run_script(as_blocks(ELIGIBLE_GIRL_12))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "eligible" and final.outcome.missing == []
    assert len(conv.asked) == 23 <= 24
    assert conv.facts.known()["cmv_dna"] == "negative" and conv.facts.known()["bilirubin_x_uln"] == 1.0
    # The first question said how many there could be at most, and none said more than the one before.
    bounds = [q.number + q.remaining for q in conv.questions()]
    assert bounds == sorted(bounds, reverse=True) and bounds[-1] == 23


def test_girl_of_14_with_class_iv_nephritis_and_eular_items_in_at_most_30_questions():
    answers = {**dict(as_blocks(ELIGIBLE_GIRL_12)), "age_years": "14", "sle_eular_acr_2019": "unknown",
               "eular_acr_2019.ana_ge_1_80": "yes",
               # The renal biopsy item is not asked: the classes (IV) given just before decide it.
               "eular_acr_2019.items": "malar rash, arthritis, proteinuria > 0.5 g/24 h, low C3 and low C4, "
                                       "anti-dsDNA or anti-Sm antibodies"}
    conv = run_answers(answers)
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "eligible"
    assert final.outcome.calculated["eular_acr_2019_total"] >= 10
    assert len(conv.asked) <= 30, conv.asked


def test_back_after_a_block_answer_takes_the_whole_answer_back():
    script = as_blocks(ELIGIBLE_GIRL_12)
    conv = run_script(script[:script.index(("hbsag", "all negative")) + 1])
    assert conv.facts.known()["syphilis"] == "negative"
    conv.send(engine.Command("back"))
    assert conv.state.current == "hbsag"
    assert not {"hbsag", "hbcab", "syphilis", "cmv_dna"} & set(conv.facts.known())


def test_change_n_asks_that_answer_again_and_keeps_the_others():
    conv = run_script(ELIGIBLE_GIRL_12)
    n = [e.q for e in conv.state.history].index("soc_months") + 1
    result = conv.send(engine.Change(n))  # soc_months, 12
    assert conv.state.phase == "asking" and conv.state.current == "soc_months"
    assert f"Changing answer {n}" in said(result.outputs[0])
    result = conv.send("8 weeks")
    assert [e.type for e in result.events][:1] == ["answer_corrected"]
    assert result.events[0].payload["old"]["facts"] == {"soc_months": 12.0}
    final = conv.final()
    assert final.outcome.status == "ineligible" and "I2c" in final.outcome.failed  # 1.8 months < 6
    assert conv.facts.known()["dmards"] == ["mycophenolate", "cyclophosphamide"], "the other answers stay"


def test_every_accepted_answer_is_echoed_before_the_next_question():
    conv = run_script(ELIGIBLE_GIRL_12[:8])
    accepted = [o for o in conv.outputs if isinstance(o, engine.Accepted)]
    assert [a.fact for a in accepted] == [fact for fact, _ in ELIGIBLE_GIRL_12[:8]]
    assert accepted[-1].facts == {"intolerant_to_conventional": False}


def test_the_first_question_is_the_age():
    conv = start()
    assert isinstance(conv.last.outputs[0], engine.Info) and "referral ID" in said(conv.last.outputs[0])
    q = conv.question
    assert q.fact == "age_years" and q.kind == "number" and q.number == 1 and q.seq == 1
    assert conv.state.history == [] and conv.state.phase == "asking"


def test_progress_counts_up_and_remaining_down():
    conv = run_script(ELIGIBLE_GIRL_12)
    qs = [o for o in conv.outputs if isinstance(o, engine.Question)]
    assert [q.number for q in qs] == list(range(1, 31))
    remaining = [q.remaining for q in qs]
    assert remaining[-1] == 0 and remaining[0] >= 29
    assert all(b <= a for a, b in zip(remaining, remaining[1:], strict=False))


def test_age_knock_out_needs_one_question():
    conv = start()
    result = conv.answer("age_years", "4")
    announced = [o for o in result.outputs if isinstance(o, engine.OutcomeReached)]
    assert len(announced) == 1 and not announced[0].final
    assert announced[0].outcome.status == "ineligible" and announced[0].outcome.failed == ["I1"]
    assert announced[0].outcome.failures[0].reasons == ["age 4 years < 5 years"]
    assert conv.answered == 1
    # The physician may continue: the next question follows the announcement.
    assert isinstance(result.outputs[-1], engine.Question) and result.outputs[-1].fact == "sex"


@pytest.mark.parametrize("age", ["19", "4", "0", "120"])
def test_age_outside_5_to_18(age):
    conv = run_answers(eligible_answers(age_years=age))
    final = agrees_with_evaluate(conv)
    assert final.outcome.failed == ["I1"]
    assert [o.outcome.failed for o in conv.announcements()] == [["I1"]]


@pytest.mark.parametrize("age", ["5", "18", "18 years"])
def test_age_bounds_are_included(age):
    assert agrees_with_evaluate(run_answers(eligible_answers(age_years=age))).outcome.status == "eligible"


# ---- each kind of ineligible --------------------------------------------------------------------------------

def failing_after(overrides: dict[str, str], failed: list[str], decisive: str) -> Conversation:
    """Run with the eligible answers changed by ``overrides``; the outcome fails exactly ``failed``, and
    the announcement comes right after the answer to ``decisive``."""
    conv = run_answers(eligible_answers(**overrides))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "ineligible"
    assert final.outcome.failed == failed
    for r, before in zip(conv.results[1:], conv.results[:-1], strict=True):
        if any(isinstance(o, engine.OutcomeReached) and o.outcome.failed for o in r.outputs):
            assert before.state.current == decisive, f"announced after {before.state.current}, not {decisive}"
            announcement = next(o for o in r.outputs if isinstance(o, engine.OutcomeReached))
            assert set(failed) & set(announcement.outcome.failed)
            break
    else:
        raise AssertionError("ineligibility was never announced")
    return conv


@pytest.mark.parametrize(("key", "criterion"), [
    ("prior_cell_therapy", "E1"), ("cns_event_60d", "E2a"), ("cns_damage_or_severe_seizures", "E2b"),
    ("dialysis_3m", "E3a"), ("renal_fibrosis_extensive", "E3b"),
    ("non_sle_immunosuppression", "E6"), ("active_infection", "E7"), ("transplant_3m", "E8"),
    ("gvhd_grade2_2w", "E8"), ("mas_1m", "E10"), ("live_vaccine_4w", "E10"),
    ("malignancy_or_severe_disease", "E10"), ("other_trial_3m", "E12"), ("pregnant", "E11"),
])
def test_exclusion_from_the_checklist(key, criterion):
    conv = failing_after({"exclusion_checklist": key}, [criterion], "exclusion_checklist")
    failure = conv.final().outcome.failures[0]
    assert failure.facts == [key]
    # The other items answered by naming only this one are stored as "no".
    known = conv.facts.known()
    assert known[key] is True and known["other_trial_3m" if key != "other_trial_3m" else "mas_1m"] is False


def test_e3c_is_never_asked_and_stays_pending():
    conv = run_script(ELIGIBLE_GIRL_12)
    checklist = next(o for o in conv.outputs if isinstance(o, engine.Question) and o.fact == "exclusion_checklist")
    assert "nephropathy_needs_intensification" not in [c.value for c in checklist.choices]
    e3c = next(p for p in conv.final().outcome.pending_details if p.criterion == "E3c")
    assert "investigator" in e3c.reason


def test_exclusion_checklist_by_numbers_names_two_criteria():
    conv = failing_after({"exclusion_checklist": "1, 7"}, ["E1", "E7"], "exclusion_checklist")
    ann = conv.announcements()[0]
    assert ann.outcome.failed == ["E1", "E7"]


def test_i2a_not_classified_by_the_eular_calculator():
    # Classification unknown; ANA positive; items: joint involvement 6 + low C3 or C4 3 = 9 < 10.
    # No biopsy-proven LN (its classes would add a renal item); CNS lupus is the major organ involvement.
    conv = failing_after({"sle_eular_acr_2019": "unknown", "ln_classes": "none", "cns_lupus": "yes",
                          "eular_acr_2019.items": "joint involvement, low C3 or low C4"},
                         ["I2a"], "eular_acr_2019.items")
    assert conv.final().outcome.failures[0].facts == ["sle_eular_acr_2019", "eular_acr_2019"]
    assert conv.final().outcome.calculated == {"sle_eular_acr_2019": False, "eular_acr_2019_total": 9,
                                               "target_not_reached": True}
    assert conv.final().outcome.failures[0].reasons == ["2019 EULAR/ACR total 9 < 10"]


def test_i2a_answered_no():
    failing_after({"sle_eular_acr_2019": "no"}, ["I2a"], "sle_eular_acr_2019")


def test_i2b_sledai_below_8():
    conv = failing_after({"sledai_2k": "7"}, ["I2b"], "sledai_2k")
    assert conv.final().outcome.failures[0].reasons == ["SLEDAI-2K 7 < 8"]


def test_i2c_not_refractory():
    # Not intolerant, and only one DMARD for 6 months.
    conv = failing_after({"dmards": "mycophenolate"}, ["I2c"], "dmards")
    assert "dmards" in conv.final().outcome.failures[0].facts


def test_i2c_too_short_standard_of_care_stops_the_refractory_questions():
    conv = failing_after({"soc_months": "5"}, ["I2c"], "soc_months")
    # Once the refractory branch is false, its other parts cannot matter.
    assert not {"gc_high_dose", "hcq", "dmards", "target_not_reached"} & set(conv.asked)


def test_i2c_intolerant_skips_the_refractory_questions():
    conv = run_answers(eligible_answers(intolerant_to_conventional="yes"))
    assert agrees_with_evaluate(conv).outcome.status == "eligible"
    assert not {"soc_months", "gc_high_dose", "hcq", "dmards", "target_not_reached"} & set(conv.asked)


def test_i3_no_major_organ_involvement():
    conv = failing_after({"ln_classes": "II", "cns_lupus": "no", "refractory_cytopenia": "no",
                          "other_major_organ": "no", "steroid_dependent": "no"}, ["I3"], "steroid_dependent")
    assert conv.asked[conv.asked.index("ln_classes"):][:5] == [
        "ln_classes", "cns_lupus", "refractory_cytopenia", "other_major_organ", "steroid_dependent"]


def test_i3_met_only_through_other_major_organ_raises_a_flag():
    conv = run_answers(eligible_answers(ln_classes="II", cns_lupus="no", refractory_cytopenia="no",
                                        other_major_organ="yes"))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "eligible"
    assert "steroid_dependent" not in conv.asked
    assert [f.criterion for f in final.outcome.flags] == ["I3"]


@pytest.mark.parametrize(("overrides", "failed", "decisive"), [
    ({"lvef_percent": "54"}, ["I4a"], "lvef_percent"),
    ({"ecg_significant_abnormality": "yes"}, ["I4a"], "ecg_significant_abnormality"),
    ({"egfr": "29"}, ["I4b"], "egfr"),
    ({"ast_x_uln": "3.5"}, ["I4c"], "ast_x_uln"),
    ({"alt_x_uln": "4 x ULN"}, ["I4c"], "alt_x_uln"),
    ({"bilirubin_x_uln": "2,1"}, ["I4c"], "bilirubin_x_uln"),
    ({"spo2_percent": "91 %"}, ["I4d", "E5"], "spo2_percent"),
    ({"severe_lung_disease": "yes"}, ["I4d", "E5"], "severe_lung_disease"),
])
def test_organ_function(overrides, failed, decisive):
    failing_after(overrides, failed, decisive)


def test_organ_function_thresholds_pass():
    conv = run_answers(eligible_answers(lvef_percent="55", egfr="30", ast_x_uln="3", alt_x_uln="3",
                                        bilirubin_x_uln="2", spo2_percent="92"))
    assert agrees_with_evaluate(conv).outcome.status == "eligible"


def test_severe_lung_disease_skips_spo2():
    conv = failing_after({"severe_lung_disease": "yes"}, ["I4d", "E5"], "severe_lung_disease")
    assert "spo2_percent" not in conv.asked


def test_e4_cardiac_condition():
    failing_after({"cardiac_conditions": "severe arrhythmia"}, ["E4"], "cardiac_conditions")


def test_e3b_high_chronicity_index():
    failing_after({"ln_chronicity_index": "7"}, ["E3b"], "ln_chronicity_index")


def test_e9a_hepatitis_b():
    conv = failing_after({"hbcab": "positive", "hbv_dna": "positive"}, ["E9a"], "hbv_dna")
    assert conv.asked.index("hbv_dna") == conv.asked.index("hbcab") + 1


def test_e9a_hbsag_positive_skips_hbcab():
    conv = failing_after({"hbsag": "positive", "hbv_dna": "1"}, ["E9a"], "hbv_dna")  # 1: positive
    assert "hbcab" not in conv.asked


def test_e9a_clear_when_hbv_dna_negative():
    conv = run_answers(eligible_answers(hbcab="positive", hbv_dna="negative"))
    assert agrees_with_evaluate(conv).outcome.status == "eligible"
    assert "hbv_dna" in conv.asked


def test_e9b_hepatitis_c():
    failing_after({"hcv_ab": "positive", "hcv_rna": "positive"}, ["E9b"], "hcv_rna")


@pytest.mark.parametrize("fact", ["hiv_ab", "syphilis", "cmv_dna"])
def test_e9c(fact):
    conv = failing_after({fact: "positive"}, ["E9c"], fact)
    # One positive decides E9c: the rest of E9c is not asked.
    rest = {"hiv_ab", "syphilis", "cmv_dna"} - {fact}
    after = conv.asked[conv.asked.index(fact) + 1:]
    assert not rest & set(after)


def test_i6_contraception_refused():
    conv = failing_after({"agrees_contraception": "no"}, ["I6"], "agrees_contraception")
    failure = conv.final().outcome.failures[0]
    assert failure.facts == ["childbearing_potential", "agrees_contraception"]


def test_e11_pregnant():
    conv = failing_after({"exclusion_checklist": "known pregnancy"}, ["E11"], "exclusion_checklist")
    # Pregnancy decides E11; contraception can still fail I6, so it is still asked.
    assert "agrees_contraception" in conv.asked


def test_every_failing_criterion_is_listed_not_only_the_first():
    conv = run_answers(eligible_answers(age_years="19", exclusion_checklist="1", lvef_percent="40",
                                        hiv_ab="positive"))
    final = agrees_with_evaluate(conv)
    assert final.outcome.failed == ["I1", "I4a", "E1", "E9c"]
    # Each failure is announced once, as it becomes certain.
    assert [o.outcome.failed for o in conv.announcements()] == [
        ["I1"], ["I1", "E1"], ["I1", "I4a", "E1"], ["I1", "I4a", "E1", "E9c"]]


# ---- what must never be asked -------------------------------------------------------------------------------

def test_a_boy_is_not_asked_about_menarche_pregnancy_or_contraception():
    conv = run_answers(eligible_answers(sex="male"))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "eligible"
    assert not {"childbearing_potential", "agrees_contraception"} & set(conv.asked)
    checklist = next(o for o in conv.outputs if isinstance(o, engine.Question) and o.checklist)
    assert "pregnant" not in [c.value for c in checklist.choices]
    assert len(checklist.choices) == 13
    assert final.outcome.criteria["I6"] == "met" and final.outcome.criteria["E11"] == "clear"
    assert conv.answered == 28


def test_a_girl_before_menarche_is_not_asked_about_pregnancy_or_contraception():
    conv = run_answers(eligible_answers(childbearing_potential="no"))
    assert agrees_with_evaluate(conv).outcome.status == "eligible"
    assert "agrees_contraception" not in conv.asked
    checklist = next(o for o in conv.outputs if isinstance(o, engine.Question) and o.checklist)
    assert "pregnant" not in [c.value for c in checklist.choices]


def test_sex_unknown_asks_menarche_and_keeps_pregnancy_in_the_checklist():
    conv = run_answers(eligible_answers(sex="unknown", childbearing_potential="unknown"))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "incomplete"
    assert [m.criterion for m in final.outcome.missing] == ["I6"]
    checklist = next(o for o in conv.outputs if isinstance(o, engine.Question) and o.checklist)
    assert "pregnant" in [c.value for c in checklist.choices]


def test_hbv_dna_is_not_asked_when_hbsag_and_hbcab_are_negative():
    conv = run_script(ELIGIBLE_GIRL_12)
    assert "hbv_dna" not in conv.asked and "hcv_rna" not in conv.asked


def test_no_chronicity_index_without_biopsy_proven_ln():
    conv = run_answers(eligible_answers(ln_classes="none", cns_lupus="yes"))
    assert agrees_with_evaluate(conv).outcome.status == "eligible"
    assert "ln_chronicity_index" not in conv.asked
    assert "renal_fibrosis_extensive" in conv.facts.known()  # still asked, in the checklist


def test_no_calculator_when_the_score_is_known():
    conv = run_script(ELIGIBLE_GIRL_12)
    calculators = {"eular_acr_2019.ana_ge_1_80", "eular_acr_2019.items", "sledai_2k_items", "gc_peak_drug",
                   "gc_drug_mg_day", "weight_kg", "creatinine", "height_cm", "gc_taper_tried",
                   "gc_taper_floor_mg_kg_day"}
    assert not calculators & set(conv.asked)


def test_i3_met_by_ln_skips_the_other_organ_questions():
    conv = run_script(ELIGIBLE_GIRL_12)
    assert not {"cns_lupus", "refractory_cytopenia", "other_major_organ", "steroid_dependent"} & set(conv.asked)


# ---- incomplete ---------------------------------------------------------------------------------------------

def test_incomplete_with_unknowns():
    conv = run_answers(eligible_answers(lvef_percent="unknown", hiv_ab="not known", cmv_dna="n/a",
                                        apheresis_suitable="unknown"))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "incomplete"
    assert {m.criterion: m.facts for m in final.outcome.missing} == {
        "I4a": ["lvef_percent"], "E9c": ["hiv_ab", "cmv_dna"]}
    # Apheresis unknown is not missing: it is confirmed at the screening visit.
    assert "I5" in final.outcome.pending
    # Every question was still asked: an unknown does not end the conversation.
    assert "ecg_significant_abnormality" in conv.asked and "syphilis" in conv.asked


def test_unknown_checklist_items_are_missing_items():
    conv = run_answers(eligible_answers(exclusion_checklist="?mas_1m, ?2"))
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "incomplete"
    assert {m.criterion: m.facts for m in final.outcome.missing} == {
        "E2a": ["cns_event_60d"], "E10": ["mas_1m"]}
    known = conv.facts.known()
    assert "mas_1m" not in known and "cns_event_60d" not in known and known["active_infection"] is False


def test_everything_unknown():
    conv = start()
    while conv.state.phase == "asking":
        conv.send("unknown")
    final = agrees_with_evaluate(conv)
    assert final.outcome.status == "incomplete"
    assert conv.facts.known() == {}
    # Each calculator was offered once its score was unknown.
    for calc in ("eular_acr_2019.ana_ge_1_80", "sledai_2k_items", "gc_peak_drug", "creatinine", "gc_taper_tried"):
        assert calc in conv.asked
    # Steps of a calculator that follow an unknown input are not asked (the taper floor only after a
    # taper that ended in a flare)...
    assert not {"gc_drug_mg_day", "weight_kg", "height_cm", "gc_taper_floor_mg_kg_day"} & set(conv.asked)
    # ...except the EULAR/ACR items after an unknown ANA: a total below 10 decides alone.
    assert "eular_acr_2019.items" in conv.asked
    assert conv.announcements() == []

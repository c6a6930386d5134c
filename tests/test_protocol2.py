"""Protocol 2 at its boundaries (criteria.md, "Changes from protocol 1"): the LLDAS derivation, high dose by
mg/kg/day or mg/day, ranges from partial item lists, flags, re-checks and the failure texts that show the
numbers and the path."""

import pytest
from strategies import eligible_facts

from criteria import PROTOCOL_VERSION, evaluate


def with_(**changes):
    facts = eligible_facts()
    for key, value in changes.items():
        if value is ...:
            facts.pop(key, None)
        else:
            facts[key] = value
    return evaluate(facts)


def test_the_protocol_version_is_a_protocol_2_version():
    assert PROTOCOL_VERSION.endswith("/2.0")
    assert evaluate({}).protocol_version == PROTOCOL_VERSION


# ---- target not reached from SLEDAI-2K (childhood LLDAS needs SLEDAI-2K ≤ 4) ----------------------------------

@pytest.mark.parametrize(("score", "derived"), [(4, None), (5, True), (12, True)])
def test_sledai_2k_of_5_or_more_means_not_in_lldas(score, derived):
    o = evaluate({"sledai_2k": score})
    assert o.calculated.get("target_not_reached") is derived
    if derived is None:
        assert "target_not_reached" in o.missing_facts


def test_the_child_who_responded_and_relapsed_is_not_turned_away():
    # criteria.md: protocol 1 asked "was the target NOT reached?" and a relapsed child answered no.
    # With an active score the LLDAS answer is implied; without one, "not in LLDAS now" meets I2c.
    assert with_(target_not_reached=...).criteria["I2c"] == "met"
    assert with_(target_not_reached=True, sledai_2k=...).criteria["I2c"] == "met"


def test_a_range_with_low_5_means_not_in_lldas_and_below_does_not():
    o = evaluate({"sledai_2k_items": ["arthritis", "fever"], "sledai_2k_unknown": ["rash"]})  # 5–7
    assert o.calculated["target_not_reached"] is True
    o = evaluate({"sledai_2k_items": ["arthritis"], "sledai_2k_unknown": ["rash"]})  # 4–6
    assert "target_not_reached" not in o.calculated


# ---- high-dose glucocorticoids --------------------------------------------------------------------------------

@pytest.mark.parametrize(("facts", "high"), [
    ({"gc_peak_mg_kg_day": 0.99}, None), ({"gc_peak_mg_kg_day": 1}, True),
    ({"gc_peak_mg_day": 59}, None), ({"gc_peak_mg_day": 60}, True),
    ({"gc_peak_mg_kg_day": 0.99, "weight_kg": 60}, False),   # 59.4 mg/day
    ({"gc_peak_mg_kg_day": 0.99, "weight_kg": 61}, True),    # 60.39 mg/day
    ({"gc_peak_mg_day": 59, "weight_kg": 59}, True),         # 1 mg/kg/day
    ({"gc_peak_mg_day": 59, "weight_kg": 60}, False),        # 0.98 mg/kg/day
    ({"gc_peak_mg_kg_day": 37.5}, True),                     # a methylprednisolone pulse, 30 mg/kg
])
def test_high_dose_is_1_mg_per_kg_or_60_mg_a_day(facts, high):
    o = evaluate(facts)
    assert o.calculated.get("gc_high_dose") is high
    if high is None:  # one figure below its threshold, the other unknown: the weight would decide
        (m,) = [m for m in o.missing if m.criterion == "I2c"]
        assert "weight_kg" in m.facts


def test_an_undecided_dose_leaves_a_given_high_dose_unknown():
    # criteria.md, precise readings: the input that cannot decide leaves its fact unknown even when given.
    assert with_(gc_peak_mg_kg_day=0.8, weight_kg=...).criteria["I2c"] == "unknown"


def test_the_70_kg_adolescent_on_60_mg_a_day_is_high_dose_with_a_flag():
    o = with_(gc_high_dose=..., gc_peak_mg_day=60, weight_kg=70)
    assert o.criteria["I2c"] == "met" and o.status == "eligible"
    assert [f.criterion for f in o.flags] == ["I2c"] and "60 mg/day" in o.flags[0].text


def test_no_flag_when_the_mg_per_kg_reaches_1_too():
    assert with_(gc_high_dose=..., gc_peak_mg_day=60, weight_kg=50).flags == []


# ---- ranges from partial item lists --------------------------------------------------------------------------

def test_complement_not_measured_gives_incomplete_not_ineligible():
    o = with_(sledai_2k=..., sledai_2k_items=["arthritis", "rash"],
              sledai_2k_unknown=["low_complement", "increased_dna_binding"])
    assert o.criteria["I2b"] == "unknown" and o.status == "incomplete"
    (m,) = o.missing
    assert m.criterion == "I2b"
    assert m.facts == ["sledai_2k_items.low_complement", "sledai_2k_items.increased_dna_binding"]
    assert m.reason.startswith("SLEDAI-2K 6–10 (low complement and increased DNA binding (anti-dsDNA) not "
                               "assessed)")


def test_eular_total_below_10_is_shown_with_its_numbers():
    o = with_(sle_eular_acr_2019=..., eular_acr_2019={"ana_ge_1_80": True,
                                                      "items": ["joint_involvement", "low_c3_or_c4"]})
    (f,) = o.failures
    assert f.criterion == "I2a" and f.reasons == ["2019 EULAR/ACR total 9 < 10"]


def test_eular_range_straddling_10_is_unknown_with_the_items_to_assess():
    o = with_(sle_eular_acr_2019=..., eular_acr_2019={"ana_ge_1_80": True, "items": ["joint_involvement"],
                                                      "unknown_items": ["low_c3_and_c4", "fever"]})
    assert o.criteria["I2a"] == "unknown"
    (m,) = [m for m in o.missing if m.criterion == "I2a"]
    assert m.facts == ["eular_acr_2019.items.fever", "eular_acr_2019.items.low_c3_and_c4"]
    assert "2019 EULAR/ACR total 6–12 (fever and low C3 and low C4 not assessed)" in m.reason


def test_a_code_both_present_and_unknown_is_a_contradiction():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="cannot be both present and not assessed"):
        evaluate({"sledai_2k_items": ["fever"], "sledai_2k_unknown": ["fever"]})


# ---- the path texts of I2c and I3 ----------------------------------------------------------------------------

def test_the_standard_care_path_fails_and_only_intolerance_remains():
    o = with_(dmards=["mycophenolate"], intolerant_to_conventional=...)
    (m,) = [m for m in o.missing if m.criterion == "I2c"]
    assert m.facts == ["intolerant_to_conventional"]
    assert ("the standard-care path fails: 1 DMARD (mycophenolate) < 2; only documented intolerance can "
            "still meet I2c") in m.reason


def test_both_paths_named_when_i2c_fails():
    (f,) = with_(dmards=["mycophenolate"]).failures
    assert f.reasons == ["documented intolerance to conventional therapy: no",
                         "the standard-care path fails: 1 DMARD (mycophenolate) < 2"]


def test_six_months_in_all_with_two_short_courses_count():
    # Rituximab (one or two infusions) and a cyclophosphamide induction course are adequate courses.
    assert with_(dmards=["rituximab", "cyclophosphamide"], soc_months=6).criteria["I2c"] == "met"


# ---- E3c is the investigator's ------------------------------------------------------------------------------

def test_e3c_is_always_pending():
    for facts in ({}, eligible_facts(), {"ln_classes": ["IV"]}):
        o = evaluate(facts)
        assert o.criteria["E3c"] == "pending"
        assert "investigator" in next(p.reason for p in o.pending_details if p.criterion == "E3c")


# ---- flags ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "criterion", "words"), [
    ({"age_years": 18}, "I1", "still 18 at infusion"),
    ({"age_years": 18.9}, "I1", "still 18 at infusion"),
    ({"intolerant_to_conventional": True, "soc_months": 2}, "I2c", "not tolerated"),
    ({"intolerant_to_conventional": True, "soc_months": ...}, "I2c", "not tolerated"),
    ({"dmards": ["other", "mycophenolate"]}, "I2c", "unlisted DMARD"),
    ({"gc_high_dose": ..., "gc_peak_mg_day": 60, "weight_kg": ...}, "I2c", "pediatric maximum"),
    ({"ln_classes": ["II"], "other_major_organ": True}, "I3", "do not name this organ"),
    ({"hbcab": "positive", "hbv_dna": "negative"}, "E9a", "antiviral prophylaxis"),
    ({"hbsag": "positive", "hbv_dna": "negative"}, "E9a", "antiviral prophylaxis"),
    ({"syphilis": "positive"}, "E9c", "treated syphilis"),
])
def test_each_flag(changes, criterion, words):
    o = with_(**changes)
    flags = [f for f in o.flags if f.criterion == criterion]
    assert len(flags) == 1 and words in flags[0].text, o.flags
    assert all(f.criterion == criterion for f in o.flags)


@pytest.mark.parametrize("changes", [
    {"age_years": 17}, {"intolerant_to_conventional": True},  # the standard-care path is met too
    {"ln_classes": ["IV"], "other_major_organ": True},  # I3 is met through LN as well
    {"hbcab": "positive", "hbv_dna": ...}, {"syphilis": "negative"},
])
def test_no_flag_where_its_condition_does_not_hold(changes):
    assert with_(**changes).flags == []


def test_several_flags_of_one_criterion_in_protocol_order():
    o = with_(age_years=18, dmards=["other", "mycophenolate"], gc_high_dose=..., gc_peak_mg_day=60, weight_kg=...,
              syphilis="positive")
    assert [f.criterion for f in o.flags] == ["I1", "I2c", "I2c", "E9c"]


def test_a_flag_never_changes_the_status():
    assert with_(age_years=18).status == "eligible"
    assert with_(hbcab="positive", hbv_dna="negative").status == "eligible"


# ---- re-checks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "criterion", "text"), [
    ({"age_years": 4}, "I1", "may be re-referred at 5 years of age"),
    ({"age_years": 4.9}, "I1", "may be re-referred at 5 years of age"),
    ({"soc_months": 5.9}, "I2c", "may be re-referred once 6 months of standard-of-care therapy are complete"),
    ({"soc_months": 3, "hcq": ...}, "I2c", "once 6 months of standard-of-care therapy are complete"),
    ({"cns_event_60d": True}, "E2a", "may be re-referred once 60 days have passed since the CNS event"),
    ({"dialysis_3m": True}, "E3a", "once no dialysis will have been needed for 3 months before the infusion"),
    ({"active_infection": True}, "E7", "once the infection is controlled and systemic treatment ended"),
    ({"transplant_3m": True}, "E8", "may be re-referred 3 months after the transplant"),
    ({"gvhd_grade2_2w": True}, "E8", "after 2 weeks without grade ≥ 2 acute GVHD"),
    ({"mas_1m": True}, "E10", "may be re-referred 1 month after MAS"),
    ({"live_vaccine_4w": True}, "E10", "may be re-referred 4 weeks after the live vaccine"),
    ({"other_trial_3m": True}, "E12", "may be re-referred 3 months after the other trial"),
])
def test_each_re_check(changes, criterion, text):
    o = with_(**changes)
    assert o.status == "ineligible" and o.failed == [criterion]
    assert [(r.criterion, text in r.text) for r in o.recheck] == [(criterion, True)]
    assert o.ineligible_now is True


@pytest.mark.parametrize("changes", [
    {"malignancy_or_severe_disease": True},
    {"malignancy_or_severe_disease": True, "mas_1m": True},  # MAS lapses, the malignancy does not
    {"age_years": 19},
    {"soc_months": 3, "dmards": ["mycophenolate"]},  # not only the duration fails
    {"prior_cell_therapy": True},
    {"lvef_percent": 50},
])
def test_no_re_check_where_time_does_not_lift_the_failure(changes):
    o = with_(**changes)
    assert o.status == "ineligible"
    assert o.recheck == [] and o.ineligible_now is False


def test_ineligible_now_needs_every_failing_criterion_to_lapse():
    both = with_(age_years=4, cns_event_60d=True)
    assert [r.criterion for r in both.recheck] == ["I1", "E2a"] and both.ineligible_now
    mixed = with_(age_years=4, prior_cell_therapy=True)
    assert [r.criterion for r in mixed.recheck] == ["I1"] and not mixed.ineligible_now


def test_re_checks_only_for_failing_criteria():
    o = with_(cns_event_60d=False)
    assert o.recheck == [] and not o.ineligible_now

"""How failing criteria read to a physician: the title once, then what decided it."""

from bot.report import outcome_text
from bot.telegram import render
from conversations.dialogue import engine
from criteria import evaluate


def test_a_reason_that_repeats_the_title_is_shown_once():
    f = evaluate({"prior_cell_therapy": True}).failures[0]
    assert f.text == "prior CAR-T or genetically modified cell therapy: yes"


def test_a_reason_with_values_keeps_the_title():
    f = evaluate({"lvef_percent": 54}).failures[0]
    assert f.text == "cardiac function (LVEF ≥ 55 %, no significant ECG abnormality): LVEF 54 % < 55 %"
    assert "  I4a cardiac function (LVEF ≥ 55 %, no significant ECG abnormality): LVEF 54 % < 55 %" in \
        outcome_text(evaluate({"lvef_percent": 54}))


def test_a_midway_ineligibility_shows_only_what_fails():
    o = evaluate({"age_years": 4})
    text = render.outcome(engine.OutcomeReached(o, final=False), "R-TEST-0001")
    assert "I1" in text and "age 4 years &lt; 5 years" in text
    assert "Still missing" not in text and "Pending" not in text
    final = render.outcome(engine.OutcomeReached(o, final=True), "R-TEST-0001")
    # Issue 15: the final ineligible outcome lists what fails and what happens next, not what is missing.
    assert "<b>I1</b> age 5 to 18 years: age 4 years &lt; 5 years" in final and "What happens next" in final
    assert "Still missing" not in final and "Pending" not in final


# ---- protocol 2: flags, re-checks, "ineligible now", calculated values ----------------------------------

FLAGGED = {"age_years": 18, "dmards": ["other", "mycophenolate"], "hbcab": "positive", "hbv_dna": "negative",
           "syphilis": "positive"}
TIME_LIMITED = {"age_years": 4, "cns_event_60d": True, "mas_1m": True, "transplant_3m": True}


def section(text: str, title: str) -> list[str]:
    """The indented lines under a section title, up to the blank line that ends it."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    end = lines.index("", start)
    return lines[start:end]


def test_flags_for_the_investigator_are_listed_with_their_criterion():
    o = evaluate(FLAGGED)
    flags = section(outcome_text(o), "Flags for the investigator")
    assert [line.split()[0] for line in flags] == ["I1", "I2c", "E9a", "E9c"]
    assert "  I2c an unlisted DMARD or biologic was counted as one of the two DMARDs" in flags
    assert flags == [f"  {n.criterion} {n.text}" for n in o.flags]


def test_re_checks_and_ineligible_now_when_every_failure_is_time_limited():
    o = evaluate(TIME_LIMITED)
    text = outcome_text(o)
    assert text.splitlines()[:2] == [
        "INELIGIBLE: at least one criterion fails.",
        "INELIGIBLE NOW: every failing criterion is time-limited; the child may be re-referred (see Re-checks)."]
    rechecks = section(text, "Re-checks")
    assert rechecks[0] == "  I1 may be re-referred at 5 years of age"
    assert [line.split()[0] for line in rechecks] == ["I1", "E2a", "E8", "E10"] == o.failed
    assert text.index("Failing criteria:") < text.index("Re-checks:") < text.index("Still missing:")


def test_a_permanent_failure_keeps_the_re_checks_but_is_not_ineligible_now():
    text = outcome_text(evaluate({"age_years": 4, "prior_cell_therapy": True}))
    assert "INELIGIBLE NOW" not in text
    assert section(text, "Re-checks") == ["  I1 may be re-referred at 5 years of age"]


def test_no_flag_or_re_check_section_when_there_is_none():
    text = outcome_text(evaluate({"age_years": 12}))
    assert "Flags for the investigator" not in text and "Re-checks" not in text and "INELIGIBLE NOW" not in text


def test_calculated_values_read_with_labels_units_and_ranges():
    o = evaluate({"sledai_2k_items": ["arthritis", "rash"], "sledai_2k_unknown": ["low_complement", "fever"],
                  "eular_acr_2019": {"ana_ge_1_80": True, "items": ["joint_involvement", "low_c3_or_c4"],
                                     "unknown_items": ["anti_dsdna_or_anti_sm"]},
                  "creatinine": 0.9, "creatinine_unit": "mg/dL", "height_cm": 158,
                  "gc_peak_mg_day": 60, "weight_kg": 50})
    assert o.calculated["sledai_2k"] == [6, 9] and o.calculated["eular_acr_2019_total"] == [9, 15]
    assert "sle_eular_acr_2019" not in o.calculated  # undecided: no value to show
    (line,) = [x for x in outcome_text(o).splitlines() if x.startswith("Calculated: ")]
    assert line == ("Calculated: SLEDAI-2K 6–9, not in LLDAS or remission now: yes, 2019 EULAR/ACR total 9–15, "
                    "peak prednisone-equivalent dose 1.2 mg/kg/day, high-dose glucocorticoids: yes, "
                    "eGFR 72.5 mL/min/1.73 m²")
    assert "_" not in line, "no internal keys"


def test_a_decided_classification_reads_yes_or_no_beside_its_total():
    o = evaluate({"eular_acr_2019": {"ana_ge_1_80": False, "items": ["joint_involvement"]}})
    (line,) = [x for x in outcome_text(o).splitlines() if x.startswith("Calculated: ")]
    assert line == ("Calculated: meets the 2019 EULAR/ACR SLE classification: no, 2019 EULAR/ACR total 6")


def test_a_midway_ineligibility_shows_the_re_checks_of_what_fails():
    o = evaluate(TIME_LIMITED)
    text = render.outcome(engine.OutcomeReached(o, final=False), "R-TEST-0001")
    assert "<b>Re-checks</b>" in text and "⏱ <b>I1</b> may be re-referred at 5 years of age" in text
    assert "⏱ <b>E10</b> may be re-referred 1 month after MAS" in text
    assert "Still missing" not in text

"""How failing criteria read to a physician: the title once, then what decided it."""

from bot.report import outcome_text
from bot.telegram import render
from conversations import engine
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
    assert "Still missing" in final and "Pending for the screening visit" in final

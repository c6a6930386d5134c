"""Bad answers: a message that says what was wrong and what is expected, the same question again, and
nothing stored."""

from __future__ import annotations

import pytest
import steps
from conversation_script import EVERY_QUESTION, eligible_answers, run_answers, start, states_by_question
from said import said

from conversations.dialogue import engine
from conversations.dialogue.state import Entry, State
from conversations.records.store import Store


@pytest.fixture(scope="module")
def states() -> dict[str, State]:
    return states_by_question(EVERY_QUESTION)


def refuse(state: State, text: str) -> engine.Reprompt:
    """Send a bad answer; check it is refused without any change, and return the reprompt."""
    result = engine.step(state, engine.Answer(text))
    assert len(result.outputs) == 1 and isinstance(result.outputs[0], engine.Reprompt), result.outputs
    reprompt = result.outputs[0]
    assert reprompt.fact == state.current
    # The same question again, same instance (its buttons stay valid).
    assert reprompt.question.fact == state.current and reprompt.question.seq == state.seq
    assert reprompt.question.number == len(state.history) + 1
    assert result.state == state
    assert [(e.type, e.payload) for e in result.events] == [
        ("answer_rejected", {"question": state.current, "error": reprompt.error.code,
                             "params": reprompt.error.params})]
    return reprompt


NUMBER = "Please answer with a number, for example 12."

CASES = [
    # non-numbers
    ("age_years", "twelve", NUMBER),
    ("age_years", "", NUMBER),
    ("age_years", "NaN", NUMBER),
    ("age_years", "inf", NUMBER),
    ("age_years", "1e309", 'I could not read "e309" after the number. ' + NUMBER),
    ("age_years", "1.2.3", 'I could not read ".3" after the number. ' + NUMBER),
    ("age_years", "12 apples", 'I could not read "apples" after the number. Please answer with a number, '
                               "for example 12."),
    ("lvef_percent", "sixty", "Please answer with a number, for example 62."),
    ("sledai_2k", "10.5", "Please answer with a whole number, for example 10."),
    # out of range, with the range and the unit
    ("age_years", "200", "Age must be between 0 and 120 years; 200 is outside that range."),
    ("age_years", "-1", "Age must be between 0 and 120 years; -1 is outside that range."),
    ("sledai_2k", "106", "SLEDAI-2K must be between 0 and 105; 106 is outside that range."),
    ("soc_months", "241", "Standard-of-care therapy must be between 0 and 240 months; 241 is outside that range."),
    ("lvef_percent", "4 %", "LVEF must be between 5 and 95 %; 4 is outside that range."),
    ("egfr", "0", "eGFR must be between 1 and 250 mL/min/1.73 m²; 0 is outside that range."),
    ("ast_x_uln", "101x", "AST must be between 0 and 100 × ULN; 101 is outside that range."),
    ("spo2_percent", "101", "SpO2 on room air must be between 50 and 100 %; 101 is outside that range."),
    ("ln_chronicity_index", "13", "LN chronicity index must be between 0 and 12/12; 13 is outside that range."),
    ("height_cm", "30 cm", "Height must be between 40 and 230 cm; 30 is outside that range."),
    ("weight_kg", "3", "Weight must be between 5 and 250 kg; 3 is outside that range."),
    ("gc_taper_floor_mg_kg_day", "61", "Lowest glucocorticoid dose reached before a flare must be between 0 "
                                       "and 60 mg/kg/day; 61 is outside that range."),
    ("gc_drug_mg_day", "-40", "-40 is below 0; please give a number of at least 0, for example 40."),
    # a separator that may mark thousands
    ("gc_drug_mg_day", "1,000", 'Is "1,000" 1000 or 1.0? Please write it without a thousands separator: '
                                '"1000" or "1.0".'),
    ("creatinine", "1,200 umol/L", 'Is "1,200" 1200 or 1.2?'),
    # creatinine
    ("creatinine", "1.2", 'Which unit is 1.2? Please add it: "1.2 mg/dL" or "1.2 umol/L".'),
    ("creatinine", "106", 'Which unit is 106? Please add it: "106 mg/dL" or "106 umol/L".'),
    ("creatinine", "0.1 mmol/L", "Creatinine in mmol/L is unusual; please give it in umol/L (1 mmol/L = 1000 "
                                 "umol/L) or mg/dL."),
    ("creatinine", "1.2 g/L", 'I don\'t know the unit "g/l". Please use mg/dL or umol/L.'),
    ("creatinine", "50 mg/dL", "That answer is not valid: creatinine 50 mg/dL is outside the valid range "
                               "0.05–20 mg/dL (4.42–1768 umol/L)."),
    ("creatinine", "2000 umol/L", "That answer is not valid: creatinine 2000 umol/L is outside the valid range "
                                  "0.05–20 mg/dL (4.42–1768 umol/L)."),
    ("creatinine", "0 mg/dL", "That answer is not valid for creatinine: Input should be greater than 0."),
    # yes / no
    ("childbearing_potential", "maybe", 'Please answer yes or no (or "unknown").'),
    ("hcq", "yes and no", 'Please answer yes or no (or "unknown").'),
    # unknown choice
    ("sex", "x", 'Please choose one of: 1 female, 2 male (or "unknown").'),
    ("sex", "3", 'Please choose one of: 1 female, 2 male (or "unknown").'),
    ("hbsag", "weakly", 'Please choose one of: 1 positive / detectable, 2 negative / not detectable '
                        '(or "unknown").'),
    ("gc_peak_drug", "budesonide", "Please choose one of: 1 prednisone, 2 prednisolone, 3 methylprednisolone, "
                                   "4 triamcinolone, 5 hydrocortisone, 6 cortisone, 7 dexamethasone, "
                                   '8 betamethasone (or "unknown").'),
    # unknown list items
    ("dmards", "aspirin", 'I don\'t recognise "aspirin". Choose from: 1 cyclophosphamide, 2 mycophenolate'),
    ("dmards", "mycophenolate, aspirin, 14", 'I don\'t recognise "aspirin", "14".'),
    ("ln_classes", "VII", 'I don\'t recognise "VII".'),
    ("sledai_2k_items", "headache", 'I don\'t recognise "headache".'),
    ("eular_acr_2019.items", "fever, 22", 'I don\'t recognise "22".'),
    ("cardiac_conditions", "murmur", 'I don\'t recognise "murmur".'),
    ("dmards", ",", 'Please name at least one item, or answer "none".'),
    # checklist
    ("exclusion_checklist", "foo", 'I don\'t recognise "foo". Name the items that apply (by number or name), '
                                   'put "?" before any you are not sure of, or answer "none".'),
    ("exclusion_checklist", "1, 99", 'I don\'t recognise "99".'),
    ("exclusion_checklist", "", 'Please name the items that apply (by number or name), put "?" before any you '
                                'are not sure of, or answer "none".'),
    # too long
    ("age_years", "1" * 4096, "That answer is 4096 characters long; a short answer is expected."),
]


@pytest.mark.parametrize(("question", "text", "message"), CASES,
                         ids=[f"{q}:{t[:12]!r}" for q, t, _ in CASES])
def test_bad_answer(states, question, text, message):
    reprompt = refuse(states[question], text)
    assert said(reprompt).startswith(message), said(reprompt)


def test_every_kind_of_question_has_a_bad_answer_case():
    from conversations.dialogue import questions

    readers = {questions.BY_ID[q].reader for q, _, _ in CASES}
    assert readers == {"number", "integer", "yes_no", "choice", "list", "checklist", "items", "creatinine"}


def test_a_dose_beyond_3000_mg_a_day_prednisone_equivalent_is_refused_at_the_dose():
    # hydrocortisone 20,000 mg/day = 5,000 mg prednisone-equivalent, outside 0-3000.
    conv = run_answers(eligible_answers(gc_high_dose="unknown", gc_peak_drug="hydrocortisone"),
                       stop_at="gc_drug_mg_day")
    reprompt = refuse(conv.state, "20000")
    assert said(reprompt) == ("Peak prednisone-equivalent dose must be between 0 and 3000 mg/day; 5000 is outside "
                              "that range.")


def test_a_pulse_is_no_error_though_its_mg_kg_day_would_be_out_of_range():
    # criteria.md: ranges apply to the values given, not to derived ones.
    conv = run_answers(eligible_answers(gc_high_dose="unknown", gc_peak_drug="methylprednisolone",
                                        gc_drug_mg_day="1000"), stop_at="hcq")
    assert conv.facts.known()["gc_peak_mg_day"] == 1250 and conv.reprompts() == []


def test_a_contradiction_with_an_earlier_answer_is_refused():
    # The planner never asks a fact that earlier answers decide, so a contradiction needs a state on which
    # "sex" is still open although a pregnancy is recorded, such as one saved by an earlier engine (before a
    # known pregnancy settled I6). The facts model still refuses a pregnant boy.
    conv = run_answers(eligible_answers(sex="unknown", childbearing_potential="unknown",
                                        exclusion_checklist="pregnant"), stop_at="sle_eular_acr_2019")
    history = [e for e in conv.state.history if e.q != "sex"]
    state = conv.state.model_copy(update={"history": history, "current": "sex"})
    reprompt = refuse(state, "male")
    assert said(reprompt) == ("That does not fit an earlier answer: contradiction between sex and pregnant: "
                              "pregnancy is impossible with sex = male. Check this answer, or use back.")


def test_after_a_bad_answer_the_good_one_is_taken():
    conv = start()
    for bad in ("twelve", "200", ""):
        conv.send(bad)
    assert conv.state.history == [] and conv.state.current == "age_years"
    conv.send("12")
    assert conv.state.history == [Entry(q="age_years", value=12.0, raw="12")]
    assert conv.state.current == "sex"


def test_a_bad_answer_stores_nothing(tmp_path):
    store = Store.open(tmp_path / "screening.db")
    rid = steps.start(store, "physician", 1).referral_id
    steps.apply(store, rid, engine.Answer("12"), "physician", 1)
    row = store.db.conn.execute("SELECT state, updated_at FROM prescreens WHERE referral_id = ?", (rid,)).fetchone()
    result = steps.apply(store, rid, engine.Answer("twelve"), "physician", 1)
    assert isinstance(result.outputs[0], engine.Reprompt)
    assert store.db.conn.execute("SELECT state, updated_at FROM prescreens WHERE referral_id = ?",
                                 (rid,)).fetchone() == row
    # Only the refusal is recorded, for the audit; no fact.
    last = store.db.conn.execute("SELECT type FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    assert last == ("answer_rejected",)
    store.close()

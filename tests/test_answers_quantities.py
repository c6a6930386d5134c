"""The quantity readers (conversations/dialogue/quantities.py, through questions.read): numbers with units,
converted to the fact's unit, lab values with their upper limit, doses with their frequency; whatever
cannot be read without a guess is asked back, never read as another value (issue 12)."""

import math

import pytest
from conversation_script import eligible_answers, states_by_question
from hypothesis import given
from hypothesis import strategies as st
from said import refused, said

from conversations.dialogue import engine, quantities, questions
from conversations.dialogue.answers import AnswerError, Reading

Q = questions.BY_ID


def read(qid: str, text: str):
    return questions.read(Q[qid], text)


def value_of(x):
    return x.value if isinstance(x, Reading) else x


# ---- the sample's quantity lines (answers-sample.md) -------------------------------------------------------

@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("age_years", "16 y 10 m", 16),
    ("sledai_2k", "score 11 on SLEDAI 2K", 11),
    ("soc_months", "3 months and 2 weeks", 3.46),
    ("weight_kg", "weight 97 pounds", 44.0),
    ("height_cm", "4 ft 10 in", 147.3),
    ("ast_x_uln", "52 (upper limit 34)", 1.53),
    ("bilirubin_x_uln", "normal range", 1.0),
    ("ln_chronicity_index", "activity 6, chronicity 1", 1),
])
def test_the_samples_quantities_are_read(qid, text, expected):
    assert value_of(read(qid, text)) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("soc_months", "since last spring", "number"),
    ("gc_drug_mg_day", "1.500", '"1500" or "1.5"'),
    ("lvef_percent", "shortening fraction 32%", "Fractional shortening is not the ejection fraction"),
    ("creatinine", "Cr 0.7", 'Which unit is 0.7\\? Please add it: "0.7 mg/dL" or "0.7 umol/L"'),
    ("alt_x_uln", "80 IU/L", "80 U/L needs the lab's upper limit of normal"),
    ("spo2_percent", "94 on 1 L nasal cannula", "measured on oxygen; the question is SpO2 on room air"),
])
def test_the_samples_asked_back(qid, text, expected):
    with refused(match=expected):
        read(qid, text)


@pytest.mark.parametrize(("drug", "text", "mg_day"), [
    ("prednisone", "15 mg four times a day", 60), ("methylprednisolone", "750 mg", 937.5),
])
def test_the_samples_doses_give_the_prednisone_equivalent(drug, text, mg_day):
    q = Q["gc_drug_mg_day"]
    facts, aux = {}, {"gc_peak_drug": drug}
    questions.apply(q, facts, aux, value_of(questions.read(q, text)))
    assert facts["gc_peak_mg_day"] == pytest.approx(mg_day)


# ---- durations (every month fact) -------------------------------------------------------------------------

def test_the_month_facts_are_the_questions_that_ask_in_months():
    in_months = {q.id for q in questions.QUESTIONS if q.reader == "number" and "months" in q.text}
    assert in_months == set(quantities.MONTH_FACTS) == {"soc_months"}


@pytest.mark.parametrize(("text", "months"), [
    ("8", 8), ("8 months", 8), ("8 mo", 8), ("8m", 8), ("18 mo", 18), ("1.5 yrs", 18), ("1,5 years", 18),
    ("2 y", 24), ("1 year, 3 months", 15), ("1 year and 6 months", 18), ("3 months and 2 weeks", 3.46),
    ("8 weeks", 8 * 7 / 30.44), ("8 wks", 8 * 7 / 30.44), ("30 days", 30 / 30.44), ("1 yr 2 mo 3 wk", 14 + 21 / 30.44),
    ("6个月", 6), ("2年", 24),
])
def test_durations_in_months(text, months):
    assert read("soc_months", text) == pytest.approx(months, rel=1e-3)


def test_weeks_never_become_months():
    assert read("soc_months", "8 weeks") == pytest.approx(1.84, abs=0.005)
    assert read("soc_months", "8 weeks") != 8


@pytest.mark.parametrize(("text", "expected"), [
    ("8 kg", '"kg" does not fit this question'), ("8 %", '"%" does not fit this question'),
    ("8 mg/dL", '"mg/dl" does not fit'), ("8 hours", '"hours" does not fit'),
    ("8 fortnights", 'could not read "fortnights"'), ("3 months and 2", "Which unit is 2\\?"),
    ("6-8 months", "not a range \\(6 to 8\\)"), ("2 weeks 3 months", "as one value"),
    ("about 8 months", "number"), ("less than 6 months", "number"),
])
def test_durations_asked_back(text, expected):
    with refused(match=expected):
        read("soc_months", text)


@pytest.mark.parametrize(("text", "years"), [
    ("16 y 10 m", 16), ("16 years 11 months", 16), ("17 y 0 m", 17), ("10 months", 0), ("18 mo", 1),
    ("12 y/o", 12), ("12 years old", 12), ("16岁", 16), ("age 16", 16), ("16", 16),
])
def test_age_in_completed_years(text, years):
    assert read("age_years", text) == years


# ---- weight and height ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kg"), [
    ("weight 97 pounds", 44.0), ("97 lb", 44.0), ("97 lbs", 44.0), ("wt: 35 kg", 35), ("35kg", 35),
    ("35 kilos", 35), ("35", 35), ("35000 g", 35), ("weight = 35.5 kg", 35.5), ("35公斤", 35),
])
def test_weight(text, kg):
    assert read("weight_kg", text) == pytest.approx(kg, rel=1e-3)


@pytest.mark.parametrize(("text", "cm"), [
    ("1.62 m", 162), ("1,62 m", 162), ("162 cm", 162), ("162", 162), ("4 ft 10 in", 147.3), ("4'10\"", 147.3),
    ("4\u2032 10\u2033", 147.3), ("4 ft 10", 147.3), ("58 in", 147.3), ("58 inches", 147.3), ("5 feet", 152.4),
    ("height: 145 cm", 145), ("1620 mm", 162),
])
def test_height(text, cm):
    assert read("height_cm", text) == pytest.approx(cm, abs=0.05)


@pytest.mark.parametrize(("qid", "text", "unit"), [
    ("weight_kg", "35 cm", "cm"), ("weight_kg", "8 months", "months"), ("height_cm", "145 kg", "kg"),
    ("height_cm", "145 %", "%"),
])
def test_a_unit_of_another_kind_is_named(qid, text, unit):
    with refused(match=f'"{unit}" does not fit this question'):
        read(qid, text)


# ---- creatinine -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value", "unit"), [
    ("Cr 0.7 mg/dl", 0.7, "mg/dL"), ("creatinine: 62 µmol/L", 62, "umol/L"), ("SCr 62 umol/l", 62, "umol/L"),
    ("0.7 mg%", 0.7, "mg/dL"), ("62 micromoles/l", 62, "umol/L"), ("62 μmol/L", 62, "umol/L"),
])
def test_creatinine_spellings(text, value, unit):
    assert read("creatinine", text) == [pytest.approx(value), unit]


@pytest.mark.parametrize("text", ["Cr 0.7", "creatinine 62", "0.7"])
def test_creatinine_without_a_unit_is_asked_back(text):
    with refused(match="Which unit is"):
        read("creatinine", text)


# ---- × ULN ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("qid", "text", "x"), [
    ("ast_x_uln", "1.2x", 1.2), ("ast_x_uln", "1.2 ULN", 1.2), ("ast_x_uln", "1.2 x ULN", 1.2),
    ("ast_x_uln", "1.2 × ULN", 1.2), ("ast_x_uln", "1.2 times ULN", 1.2), ("ast_x_uln", "2-fold", 2),
    ("ast_x_uln", "1.2", 1.2), ("ast_x_uln", "35 U/L, ULN 40", 0.875), ("ast_x_uln", "52 (upper limit 34)", 52 / 34),
    ("ast_x_uln", "AST 52 U/L (ref 10-34)", 52 / 34), ("ast_x_uln", "52 (<34)", 52 / 34),
    ("alt_x_uln", "ALT 80 IU/L, ULN 40 IU/L", 2), ("alt_x_uln", "80 (0-40)", 2), ("alt_x_uln", "35x", 35),
    ("bilirubin_x_uln", "12 umol/l (normal < 21)", 12 / 21), ("bilirubin_x_uln", "0.6 mg/dL, ULN 1.2 mg/dL", 0.5),
])
def test_x_uln(qid, text, x):
    assert value_of(read(qid, text)) == pytest.approx(x, rel=1e-3)


@pytest.mark.parametrize("text", ["normal", "wnl", "WNL", "normal range", "within normal limits", "ALT normal",
                                  "Normal."])
def test_normal_is_read_as_1_x_uln_with_a_note(text):
    reading = read("alt_x_uln", text)
    assert isinstance(reading, Reading) and reading.value == 1.0 and not reading.unknown
    assert "read as 1.0 × ULN" in said(reading.notes[0])


@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("alt_x_uln", "80 IU/L", "needs the lab's upper limit of normal"),
    ("ast_x_uln", "AST 80 U/L", "needs the lab's upper limit of normal"),
    ("bilirubin_x_uln", "12 umol/L", "needs the lab's upper limit of normal"),
    ("ast_x_uln", "80", "the multiple of the upper limit of normal, or the lab value"),
    ("ast_x_uln", "35 U/L, ULN 2 mg/dL", "in U/L but its upper limit in mg/dL"),
    ("ast_x_uln", "35 U/L, ULN 0", "upper limit of normal of 0 cannot be right"),
    ("ast_x_uln", "1.2 kg", '"kg" does not fit'),
])
def test_x_uln_asked_back(qid, text, expected):
    with refused(match=expected):
        read(qid, text)


def test_a_value_without_its_uln_is_never_a_bare_refusal():
    with refused() as exc:
        read("alt_x_uln", "80 IU/L")
    assert "ULN" in said(exc) and "80" in said(exc)


# ---- scores and indices -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "score"), [
    ("score 11 on SLEDAI 2K", 11), ("SLEDAI-2K 11", 11), ("SLEDAI 2K: 11/105", 11), ("11 (SLEDAI-2K)", 11),
    ("SLEDAI score 11", 11), ("11", 11), ("sledai2k = 8", 8),
])
def test_sledai(text, score):
    assert read("sledai_2k", text) == score


@pytest.mark.parametrize("text", ["SLEDAI 2K", "score 11 on SLEDAI 2K, 16 last month", "SLEDAI 2K 10.5"])
def test_sledai_asked_back(text):
    with refused():
        read("sledai_2k", text)


@pytest.mark.parametrize(("text", "index"), [
    ("activity 6, chronicity 1", 1), ("AI 6, CI 1", 1), ("chronicity 1, activity 6", 1), ("CI 1/12", 1),
    ("chronicity index: 3", 3), ("3/12", 3), ("3", 3),
])
def test_chronicity_index(text, index):
    assert read("ln_chronicity_index", text) == index


def test_the_activity_index_alone_is_asked_back():
    with refused(match="That is the activity index"):
        read("ln_chronicity_index", "activity 6")


# ---- LVEF and SpO2 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "ef"), [("EF 62%", 62), ("LVEF 62 %", 62), ("62% on echo", 62),
                                          ("EF 62%, FS 32%", 62), ("ejection fraction: 60", 60)])
def test_lvef(text, ef):
    assert read("lvef_percent", text) == ef


@pytest.mark.parametrize("text", ["shortening fraction 32%", "FS 32%", "fractional shortening 32", "SF 32 %"])
def test_fractional_shortening_is_asked_back(text):
    with refused(match="Fractional shortening is not the ejection fraction"):
        read("lvef_percent", text)


@pytest.mark.parametrize(("text", "spo2"), [("98% on room air", 98), ("SpO2 98% RA", 98), ("98", 98),
                                            ("sats 97 %", 97), ("96% at rest", 96)])
def test_spo2_on_room_air(text, spo2):
    assert read("spo2_percent", text) == spo2


@pytest.mark.parametrize("text", ["94 on 1 L nasal cannula", "94% on O2", "92 on 2 l/min", "95% with oxygen",
                                  "93 on high flow", "SpO2 94, FiO2 0.3"])
def test_spo2_on_oxygen_is_asked_back(text):
    with refused(match="on oxygen"):
        read("spo2_percent", text)


# ---- the glucocorticoid's daily dose ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "mg"), [
    ("750 mg", 750), ("750", 750), ("1 g", 1000), ("1 g IV", 1000), ("750 mg IV pulse", 750), ("60 mg/day", 60),
    ("60 mg daily", 60), ("60 mg in 3 divided doses", 60), ("500 mcg", 0.5),
])
def test_daily_doses(text, mg):
    assert value_of(read("gc_drug_mg_day", text)) == pytest.approx(mg)


@pytest.mark.parametrize(("text", "mg", "times"), [
    ("15 mg four times a day", 60, 4), ("15 mg qid", 60, 4), ("20 mg bid", 40, 2), ("20 mg b.i.d.", 40, 2),
    ("20 mg t.i.d.", 60, 3), ("10 mg three times daily", 30, 3), ("15 mg q6h", 60, 4),
])
def test_a_dose_times_a_day_is_the_daily_total_with_a_note(text, mg, times):
    reading = read("gc_drug_mg_day", text)
    assert isinstance(reading, Reading) and reading.value == pytest.approx(mg)
    assert f"{times} ×" in said(reading.notes[0]) and f"{mg:g} mg/day" in said(reading.notes[0])


@pytest.mark.parametrize(("text", "expected"), [
    ("1.500", '"1500" or "1.5"'), ("1,000 mg", '"1000" or "1.0"'), ("2 mg/kg/day", "not per kg"),
    ("60 mg every other day", "not given every day"), ("60 mg weekly", "not given every day"),
    ("750 mg x3", 'could not read "x3"'), ("20 mg/day tid", "could not read"), ("-40", "at least 0"),
])
def test_doses_asked_back(text, expected):
    with refused(match=expected):
        read("gc_drug_mg_day", text)


# ---- through the engine: notes are shown with the echo ----------------------------------------------------

def test_the_engine_echoes_a_converted_value_with_its_note():
    states = states_by_question(eligible_answers(gc_high_dose="unknown"))
    result = engine.step(states["gc_drug_mg_day"], engine.Answer("15 mg four times a day"))
    accepted = [o for o in result.outputs if isinstance(o, engine.Accepted)]
    assert accepted and accepted[0].facts.get("gc_peak_mg_day") == pytest.approx(60)
    assert any("60 mg/day" in said(n) for n in accepted[0].notes)
    result = engine.step(states["soc_months"], engine.Answer("8 weeks"))
    accepted = [o for o in result.outputs if isinstance(o, engine.Accepted)]
    assert accepted and accepted[0].facts["soc_months"] == pytest.approx(1.84, abs=0.005)


# ---- the property: the fact's unit within 0.1 %, or asked back --------------------------------------------
# The true conversions, written out here independently of the reader's pint definitions.
TRUE = {
    "soc_months": {"day": 1 / 30.44, "week": 7 / 30.44, "month": 1.0, "year": 12.0},
    "weight_kg": {"kilogram": 1.0, "gram": 0.001, "pound": 0.45359237, "ounce": 0.45359237 / 16},
    "height_cm": {"centimetre": 1.0, "metre": 100.0, "millimetre": 0.1, "inch": 2.54, "foot": 30.48},
}
SPELLINGS = {"soc_months": quantities.MONTHS.units, "weight_kg": quantities.WEIGHT.units,
             "height_cm": quantities.HEIGHT.units}
# Spellings whose unit the test states itself (so that the reader's table is checked, not trusted).
KNOWN = {"mo": "month", "m": "month", "wk": "week", "w": "week", "yrs": "year", "d": "day", "lb": "pound",
         "lbs": "pound", "kg": "kilogram", "g": "gram", "oz": "ounce", "ft": "foot", "in": "inch", "'": "foot",
         '"': "inch", "cm": "centimetre", "mm": "millimetre"}


def test_the_spelling_tables_say_what_the_test_says():
    for key, spellings in SPELLINGS.items():
        for spelled, unit in spellings.items():
            assert unit in TRUE[key], (key, spelled, unit)
            if spelled in KNOWN and not (key == "height_cm" and spelled == "m"):
                assert unit == KNOWN[spelled], (key, spelled)
    assert quantities.HEIGHT.units["m"] == "metre"


numbers = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)


@given(key=st.sampled_from(sorted(SPELLINGS)), number=numbers, data=st.data(),
       space=st.sampled_from(["", " "]), comma=st.booleans())
def test_any_number_with_any_accepted_unit_is_converted_or_asked_back(key, number, data, space, comma):
    spelled = data.draw(st.sampled_from(sorted(SPELLINGS[key])))
    number_text = f"{number.normalize():f}"
    if comma:
        number_text = number_text.replace(".", ",")
    text = f"{number_text}{space}{spelled}"
    try:
        value = read(key, text)
    except AnswerError:
        return  # asked back: never another value
    true = float(number) * TRUE[key][SPELLINGS[key][spelled]]
    assert value == pytest.approx(true, rel=1e-3, abs=1e-9), text


@given(a=st.integers(0, 30), b=st.integers(0, 11))
def test_years_and_months_are_converted(a, b):
    assert read("soc_months", f"{a} years and {b} months") == pytest.approx(12 * a + b, rel=1e-3)
    assert read("age_years", f"{a} y {b} m") == a


@given(value=st.decimals(min_value="0.1", max_value=9999, places=1), uln=st.integers(1, 999),
       form=st.sampled_from(["{v} U/L, ULN {u}", "{v} (upper limit {u})", "{v} IU/L (ULN {u} IU/L)", "{v} (0-{u})",
                             "{v} (<{u})", "{v}, upper limit of normal {u}"]))
def test_a_value_with_its_uln_is_the_ratio(value, uln, form):
    text = form.format(v=f"{value.normalize():f}", u=uln)
    try:
        x = read("ast_x_uln", text)
    except AnswerError:
        return
    assert x == pytest.approx(float(value) / uln, rel=1e-3), text


@given(dose=st.decimals(min_value="0.5", max_value=999, places=1),
       freq=st.sampled_from([("", 1), (" daily", 1), (" bid", 2), (" tid", 3), (" qid", 4), (" twice a day", 2),
                             (" four times a day", 4), ("/day", 1)]),
       unit=st.sampled_from([(" mg", 1), ("mg", 1), (" g", 1000)]))
def test_a_dose_is_its_daily_total_in_mg(dose, freq, unit):
    text = f"{dose.normalize():f}{unit[0]}{freq[0]}"
    try:
        mg = value_of(read("gc_drug_mg_day", text))
    except AnswerError:
        return
    assert mg == pytest.approx(float(dose) * unit[1] * freq[1], rel=1e-3), text
    assert math.isfinite(mg)

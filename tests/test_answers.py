"""The answer readers (conversations/answers.py, questions.read): answers as physicians type them."""

import pytest
from said import refused, said

from bot import phrases
from conversations.dialogue import answers, questions
from conversations.dialogue.answers import AnswerError, Choice

Q = questions.BY_ID
EULAR_ORDER = [c.value for c in Q["eular_acr_2019.items"].choices]


def read(qid: str, text: str):
    return questions.read(Q[qid], text)


def present(checklist: dict) -> list[str]:
    """The items an item checklist reads as present (the others are absent or not assessed)."""
    return [code for code, mark in checklist.items() if mark is True]


# ---- unknown ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["unknown", "Unknown", "UNKNOWN.", "not known", "Not known",
                                  " unknown ", "don't know", "don\u2019t know", "n/a", "unk", "idk", "not done"])
def test_unknown_is_always_allowed(text):
    assert answers.is_unknown(text)


@pytest.mark.parametrize("text", ["?", "??", "help", "Help."])
def test_a_question_mark_or_help_asks_for_help_never_unknown(text):
    """Issue 12: "?" typed to ask for help was silently recorded as "unknown"."""
    assert answers.asks_for_help(text) and not answers.is_unknown(text)


@pytest.mark.parametrize("text", ["", " ", "no", "none", "0", "known", "?1", "unknown pregnancy", "?", "help"])
def test_not_unknown(text):
    assert not answers.is_unknown(text)


# ---- numbers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("12 years", 12), ("12 y", 12), ("12yrs", 12), ("12 years old", 12), ("12 y/o", 12),
    (" 12 ", 12), ("12.", 12), ("１２", 12), ("+12", 12), ("12.5", 12.5), ("12,5", 12.5),
])
def test_age(text, value):
    assert read("age_years", text) == value


@pytest.mark.parametrize(("qid", "text", "value"), [
    ("bilirubin_x_uln", "1,2", 1.2), ("bilirubin_x_uln", "1.2", 1.2), ("ast_x_uln", "1.5 x ULN", 1.5),
    ("ast_x_uln", "2×", 2.0), ("lvef_percent", "62 %", 62), ("lvef_percent", "62%", 62),
    ("spo2_percent", "98 percent", 98), ("egfr", "95 mL/min/1.73 m²", 95), ("soc_months", "8 months", 8),
    ("gc_taper_floor_mg_kg_day", "0.6 mg/kg/day", 0.6), ("gc_drug_mg_day", "40 mg/day", 40),
    ("weight_kg", "35 kg", 35), ("height_cm", "145 cm", 145), ("ln_chronicity_index", "3/12", 3),
])
def test_numbers_with_their_units(qid, text, value):
    assert read(qid, text) == pytest.approx(value)


def test_integer_questions_return_int_and_refuse_fractions():
    assert read("sledai_2k", "10") == 10 and isinstance(read("sledai_2k", "10"), int)
    assert read("sledai_2k", "10.0") == 10
    with refused(match="whole number"):
        read("sledai_2k", "10.5")


@pytest.mark.parametrize("text", ["twelve", "", "abc 12", "12 apples", "1e3", "NaN", "inf", "1e309", "0x10",
                                  "1.5.5", "1 2", "9999999", "12 kg"])
def test_not_a_number(text):
    with refused() as exc:
        read("age_years", text)
    assert "number" in said(exc.value) and "for example 12" in said(exc.value)


def test_a_wrong_unit_is_named_in_the_message():
    with refused(match='"apples"'):
        read("age_years", "12 apples")


def test_a_peak_dose_cannot_be_negative():
    # The peak mg/day is a calculator input, not a fact: the facts model cannot check it.
    with refused(match="at least 0"):
        read("gc_drug_mg_day", "-40")
    assert read("gc_drug_mg_day", "0") == 0


def test_range_is_left_to_the_facts_model():
    # The reader reads; pydantic validates the range (test_engine_bad_answers covers the message).
    assert read("age_years", "200") == 200
    assert read("age_years", "-3") == -3


# ---- creatinine -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value", "unit"), [
    ("106 umol/L", 106, "umol/L"), ("106 µmol/L", 106, "umol/L"), ("106 μmol/L", 106, "umol/L"),
    ("106µmol/l", 106, "umol/L"), ("106 micromol/L", 106, "umol/L"), ("106 UMOL/L", 106, "umol/L"),
    ("1.2 mg/dL", 1.2, "mg/dL"), ("1,2 mg/dl", 1.2, "mg/dL"), ("1.2mg/dL", 1.2, "mg/dL"),
    ("0.6 mg / dL", 0.6, "mg/dL"), ("1.2 mg", 1.2, "mg/dL"), ("1.2 mg/100ml", 1.2, "mg/dL"),
])
def test_creatinine_with_its_unit(text, value, unit):
    assert read("creatinine", text) == [pytest.approx(value), unit]


def test_creatinine_bare_number_asks_for_the_unit():
    with refused() as exc:
        read("creatinine", "1.2")
    assert "Which unit is 1.2?" in said(exc.value) and "mg/dL" in said(exc.value) and "umol/L" in said(exc.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("0.1 mmol/L", "mmol/L is unusual"), ("1.2 furlongs", "I don't know the unit \"furlongs\""),
    ("mg/dL", "with its unit"), ("high", "with its unit"),
])
def test_creatinine_bad_units(text, expected):
    with refused(match=expected):
        read("creatinine", text)


# ---- yes / no ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["yes", "Yes", "y", "Y", "yes.", "YES!", "true", "present", "positive"])
def test_yes(text):
    assert read("hcq", text) is True


@pytest.mark.parametrize("text", ["no", "No", "n", "N", "no.", "false", "absent", "negative"])
def test_no(text):
    assert read("hcq", text) is False


@pytest.mark.parametrize("text", ["maybe", "", "yes no", "1", "si", "yess"])
def test_neither_yes_nor_no(text):
    with refused(match="yes or no"):
        read("hcq", text)


# ---- choices ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("female", "female"), ("Female", "female"), ("1", "female"), ("2", "male"), ("MALE", "male"),
    ("male.", "male"), ("١", "female"),
])
def test_choice_by_text_code_or_number(text, value):
    assert read("sex", text) == value


@pytest.mark.parametrize(("text", "value"), [
    ("positive", "positive"), ("negative", "negative"), ("1", "positive"), ("2", "negative"),
    ("positive / detectable", "positive"), ("negative / not detectable", "negative"),
])
def test_serology(text, value):
    assert read("hbsag", text) == value


def test_choice_by_drug_name():
    assert read("gc_peak_drug", "Methylprednisolone") == "methylprednisolone"
    assert read("gc_peak_drug", "3") == "methylprednisolone"


@pytest.mark.parametrize("text", ["3", "0", "-1", "x", "woman", "", "femalee", "1, 2", "፩", "²²"])
def test_unknown_choice(text):
    with refused() as exc:
        read("sex", text)
    assert "1 female, 2 male" in said(exc.value)


def test_a_digit_int_cannot_read_is_no_choice_number():
    # "፩" (Ethiopic digit one) is a digit to str.isdigit() but int() refuses it: no crash, no match.
    assert answers.match_choice("፩", Q["sex"].choices) is None


# ---- lists ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("mycophenolate, cyclophosphamide", ["mycophenolate", "cyclophosphamide"]),
    ("mycophenolate;cyclophosphamide", ["mycophenolate", "cyclophosphamide"]),
    ("mycophenolate and cyclophosphamide", ["mycophenolate", "cyclophosphamide"]),
    ("mycophenolate + cyclophosphamide", ["mycophenolate", "cyclophosphamide"]),
    ("2, 1", ["mycophenolate", "cyclophosphamide"]),
    ("Mycophenolate, mycophenolate", ["mycophenolate"]),
    ("none", []), ("None", []), ("no", []), ("nil", []), ("none.", []),
])
def test_dmards(text, value):
    assert read("dmards", text) == value


@pytest.mark.parametrize(("text", "value"), [
    ("IV", ["IV"]), ("iv, v", ["IV", "V"]), ("class IV", ["IV"]), ("III + V", ["III", "V"]), ("4", ["IV"]),
    ("none", []),
])
def test_ln_classes(text, value):
    assert read("ln_classes", text) == value


@pytest.mark.parametrize(("text", "value"), [
    # Codes, names as shown without the "(domain, weight)", codes with spaces, numbers.
    ("acute_cutaneous_lupus, anti_dsdna_or_anti_sm", ["acute_cutaneous_lupus", "anti_dsdna_or_anti_sm"]),
    ("non-scarring alopecia", ["non_scarring_alopecia"]),
    ("low C3 and low C4", ["low_c3_and_c4"]),
    ("low c3 and c4", ["low_c3_and_c4"]),
    ("fever and joint involvement", ["fever", "joint_involvement"]),
    ("anti-dsDNA or anti-Sm antibodies", ["anti_dsdna_or_anti_sm"]),
    ("11, 21", ["acute_cutaneous_lupus", "anti_dsdna_or_anti_sm"]),
])
def test_eular_items_by_name(text, value):
    assert present(read("eular_acr_2019.items", text)) == sorted(value, key=EULAR_ORDER.index)


def test_sledai_items_by_name_with_weight():
    marks = read("sledai_2k_items", "arthritis (4), rash")
    assert present(marks) == ["arthritis", "rash"]
    # Every other descriptor is absent: named items of a checklist are present, unnamed ones absent.
    assert set(marks) == set(c.value for c in Q["sledai_2k_items"].choices)


def test_item_checklists_mark_items_not_assessed():
    marks = read("sledai_2k_items", "proteinuria, alopecia, ?low complement, ?increased dna binding")
    assert present(marks) == ["proteinuria", "alopecia"]
    assert [c for c, m in marks.items() if m is None] == ["low_complement", "increased_dna_binding"]
    marks = read("eular_acr_2019.items", "?low C3 and low C4, oral ulcers")
    assert present(marks) == ["oral_ulcers"] and marks["low_c3_and_c4"] is None
    assert all(m is False for c, m in marks.items() if c not in ("oral_ulcers", "low_c3_and_c4"))


@pytest.mark.parametrize(("text", "bad"), [
    ("aspirin", '"aspirin"'), ("mycophenolate, aspirin", '"aspirin"'), ("14", '"14"'), ("?1", '"?1"'),
])
def test_unknown_list_item(text, bad):
    with refused() as exc:
        read("dmards", text)
    assert bad in said(exc.value) and "1 cyclophosphamide" in said(exc.value) and "none" in said(exc.value)


@pytest.mark.parametrize("text", ["", ",", " ; ", "and"])
def test_an_empty_list_answer_is_no_answer(text):
    with pytest.raises(AnswerError):
        read("dmards", text)


# ---- checklists -------------------------------------------------------------------------------------------

CHECK = Q["exclusion_checklist"]


def test_checklist_none_of_these():
    for text in ("none", "None of these", "no", "nil"):
        assert answers.parse_checklist(text, CHECK.choices) == dict.fromkeys(questions.EXCLUSION_CHECKLIST, False)


def test_checklist_true_keys_and_unknown_keys():
    value = answers.parse_checklist("prior_cell_therapy, ?mas_1m", CHECK.choices)
    assert value["prior_cell_therapy"] is True and value["mas_1m"] is None
    assert {k for k, v in value.items() if v is False} == set(questions.EXCLUSION_CHECKLIST) - {
        "prior_cell_therapy", "mas_1m"}


def test_checklist_by_number_and_label():
    value = answers.parse_checklist("1, ? 4, known pregnancy, ?active infection in the last week", CHECK.choices)
    assert value["prior_cell_therapy"] is True and value["dialysis_3m"] is None
    assert value["pregnant"] is True and value["active_infection"] is None


@pytest.mark.parametrize("text", ["", " ", ",", "\x00", "\u200b"])
def test_an_empty_checklist_answer_is_not_none_of_these(text):
    # An accidental Enter must not record fifteen "no"s.
    with refused(match="none"):
        answers.parse_checklist(text, CHECK.choices)


@pytest.mark.parametrize("text", ["foo", "1, foo", "none, 1", "99", "?", "prior cell therapy?"])
def test_checklist_unknown_items(text):
    with refused(match="Name the items that apply"):
        answers.parse_checklist(text, CHECK.choices)


def test_checklist_items_are_the_shown_ones():
    # A checklist without the pregnancy item (a boy) does not accept it.
    shown = tuple(c for c in CHECK.choices if c.value != "pregnant")
    with pytest.raises(AnswerError):
        answers.parse_checklist("pregnant", shown)


# ---- length, normalisation, describe ----------------------------------------------------------------------

def test_overlong_answers_are_refused():
    with refused(match="4096 characters"):
        read("age_years", "1" * 4096)
    assert read("age_years", " " * 400 + "12") == 12


def test_normalise():
    assert answers.normalise("  Ａ\u00b5 \t B\x00c ") == "au b c"
    assert answers.normalise("don\u2019t") == "don't"


@pytest.mark.parametrize(("value", "text"), [
    (True, "yes"), (False, "no"), ([], "none"), (["IV", "V"], "IV, V"),
    (1.5, "1.5"), (12.0, "12"), ("female", "female"),
])
def test_describe(value, text):
    assert phrases.text(answers.describe(value)) == text


def test_parse_choice_lists_the_choices():
    choices = (Choice("a", "alpha"), Choice("b", "beta"))
    with refused(match='1 alpha, 2 beta \\(or "unknown"\\)'):
        answers.parse_choice("c", choices)


@pytest.mark.parametrize(("question", "text", "expected"), [
    ("sex", "f", "female"), ("sex", "M", "male"),
    ("dmards", "MMF, AZA", ["mycophenolate", "azathioprine"]), ("dmards", "ciclosporin", ["cyclosporine"]),
    ("ln_classes", "IV/V", ["IV", "V"]), ("gc_peak_drug", "MP", "methylprednisolone"),
    ("eular_acr_2019.items", "proteinuria > 0.5 g/24 h, fever", ["fever", "proteinuria_gt_0_5g"]),
])
def test_abbreviations_physicians_type(question, text, expected):
    from conversations.dialogue.questions import BY_ID, read

    value = read(BY_ID[question], text)
    assert (present(value) if isinstance(value, dict) else value) == expected


# ---- thousands separators ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("qid", "text", "thousands", "decimal"), [
    ("gc_drug_mg_day", "1,000", "1000", "1.0"), ("gc_drug_mg_day", "1,000 mg/day", "1000", "1.0"),
    ("gc_drug_mg_day", "1.000", "1000", "1.0"), ("gc_drug_mg_day", "2,500", "2500", "2.5"),
    ("age_years", "12,345", "12345", "12.345"), ("creatinine", "1,200 umol/L", "1200", "1.2"),
])
def test_a_separator_that_may_mark_thousands_is_asked_about(qid, text, thousands, decimal):
    # A pulse of "1,000" mg methylprednisolone read as 1 mg would decide I2c on a wrong dose.
    with refused() as exc:
        read(qid, text)
    assert f'"{thousands}" or "{decimal}"' in said(exc.value)


@pytest.mark.parametrize(("qid", "text", "value"), [
    ("gc_drug_mg_day", "1000", 1000), ("gc_drug_mg_day", "1,5", 1.5), ("gc_drug_mg_day", "1.125", 1.125),
    ("gc_taper_floor_mg_kg_day", "0,500", 0.5), ("gc_drug_mg_day", "1,25", 1.25),
    ("gc_drug_mg_day", "1,0000", 1.0), ("bilirubin_x_uln", "1,2", 1.2),
])
def test_decimals_that_cannot_be_thousands_are_read(qid, text, value):
    assert read(qid, text) == pytest.approx(value)

"""The word readers (conversations/dialogue/words.py, issue 12): yes/no with a comment, not known in its forms,
serology, choices, lists item by item and checklists from free text; every word-line of
/work/shared/spec/answers-sample.md. When an answer cannot be read without a guess, it is asked back."""

import pytest
from conversation_script import eligible_answers, run_answers
from said import refused, said

from conversations.dialogue import questions
from conversations.dialogue.answers import Reading
from conversations.dialogue.messages import M

Q = questions.BY_ID


def read(qid: str, text: str):
    return questions.read(Q[qid], text)


def value(qid: str, text: str):
    """The value read, through a Reading with notes."""
    v = read(qid, text)
    if isinstance(v, Reading):
        assert not v.unknown, f"{text!r} read as not known"
        return v.value
    return v


def is_unknown(qid: str, text: str) -> bool:
    v = read(qid, text)
    return isinstance(v, Reading) and v.unknown


def marks(qid: str, text: str) -> tuple[set[str], set[str]]:
    """(present, not known) of a checklist answer; every other item is no."""
    v = value(qid, text)
    assert set(v) == {c.value for c in Q[qid].choices}
    return {k for k, m in v.items() if m is True}, {k for k, m in v.items() if m is None}


def notes(qid: str, text: str) -> list[str]:
    v = read(qid, text)
    return [said(n) for n in v.notes] if isinstance(v, Reading) else []


# ---- the sample: every word-line ---------------------------------------------------------------------------

def test_sample_sex():
    assert read("sex", "male patient") == "male"


def test_sample_childbearing_potential():
    assert read("childbearing_potential", "periods started last year") is True


def test_sample_exclusion_checklist():
    assert marks("exclusion_checklist", "no exclusions") == (set(), set())
    assert marks("exclusion_checklist", "varicella vaccine 10 days ago") == ({"live_vaccine_4w"}, set())
    assert marks("exclusion_checklist", "unsure about other trials, rest none") == (set(), {"other_trial_3m"})


def test_sample_ana():
    assert read("eular_acr_2019.ana_ge_1_80", "ANA strongly positive, 1:2560") is True


def test_sample_eular_items():
    assert marks("eular_acr_2019.items", "oral ulcers, leukopenia, low C3 and low C4, anti-Sm") == (
        {"oral_ulcers", "leukopenia", "low_c3_and_c4", "anti_dsdna_or_anti_sm"}, set())


def test_sample_sledai_items():
    assert marks("sledai_2k_items", "proteinuria 1 g/day, low C4, alopecia; dsDNA not rechecked") == (
        {"proteinuria", "low_complement", "alopecia"}, {"increased_dna_binding"})


def test_sample_gc_high_dose_with_a_comment():
    assert read("gc_high_dose", "no - never above 0.8 mg/kg") is False


def test_sample_dmards():
    assert value("dmards", "MMF, HCQ, belimumab") == ["mycophenolate", "belimumab"]
    assert notes("dmards", "MMF, HCQ, belimumab") == [
        "Hydroxychloroquine is asked on its own and is no DMARD here: left out of this list."]
    assert read("dmards", "CTX then telitacicept") == ["cyclophosphamide", "telitacicept"]
    assert sorted(value("dmards", "iguratimod + tacrolimus")) == ["other", "tacrolimus"]
    assert "iguratimod" in notes("dmards", "iguratimod + tacrolimus")[0]


def test_sample_target_not_reached():
    # Asked "Is the child in LLDAS or remission now?": "no", so that target_not_reached is true.
    assert read("target_not_reached", "responded at first, active again now") is False
    facts: dict = {}
    questions.apply(Q["target_not_reached"], facts, {}, False)
    assert facts == {"target_not_reached": True}


def test_sample_ln_classes_biopsy_awaited_is_not_known_never_empty():
    assert is_unknown("ln_classes", "renal biopsy awaited")


def test_sample_ecg():
    assert read("ecg_significant_abnormality", "unremarkable") is False


def test_sample_cardiac_conditions_by_number():
    assert read("cardiac_conditions", "3, 6") == ["severe_arrhythmia", "hypotension_pressors"]


def test_sample_hbcab_surface_antibody_is_asked_back():
    with refused(match=r"HBsAb \(anti-HBs, the surface antibody\), not HBcAb \(anti-HBc\)"):
        read("hbcab", "HBsAb 120 mIU/mL")


def test_sample_hbv_dna():
    assert read("hbv_dna", "below detection limit") == "negative"
    assert read("hbv_dna", "detected but below LLOQ") == "positive"


def test_sample_hcv_ab_in_chinese():
    assert read("hcv_ab", "阳性") == "positive"


def test_sample_syphilis_vdrl_reactive_tppa_pending_is_not_known():
    assert is_unknown("syphilis", "VDRL reactive, TPPA pending")
    assert "treponemal test" in notes("syphilis", "VDRL reactive, TPPA pending")[0]


def test_sample_cmv_serology_is_no_dna():
    with refused(match="CMV serology \\(antibodies\\), not CMV-DNA by PCR"):
        read("cmv_dna", "CMV serology negative")


def test_sample_severe_lung_disease():
    assert is_unknown("severe_lung_disease", "not to my knowledge")
    assert read("severe_lung_disease", "no known lung disease") is False


def test_sample_apheresis():
    assert read("apheresis_suitable", "nothing against it") is True


# ---- yes / no with a comment --------------------------------------------------------------------------------

@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("gc_high_dose", "yes, since 12", True), ("ecg_significant_abnormality", "no, normal", False),
    ("gc_high_dose", "no - never above 0.8 mg/kg", False), ("gc_high_dose", "yes - IV MP pulses", True),
    ("hcq", "yes (200 mg daily)", True), ("hcq", "no; never", False), ("hcq", "是", True), ("hcq", "没有", False),
    ("hcq", "on HCQ since 2019", True), ("hcq", "never", False),
    ("cns_lupus", "none", False), ("cns_lupus", "no known CNS involvement", False),
    ("severe_lung_disease", "normal CT", False), ("ecg_significant_abnormality", "normal sinus rhythm", False),
])
def test_yes_no_with_a_comment(qid, text, expected):
    assert read(qid, text) is expected


@pytest.mark.parametrize("text", ["yes, but only once", "no, but had seizures", "yes, no", "yes - not sure",
                                  "no, pending confirmation", "yes?"])
def test_a_comment_that_may_change_the_answer_is_asked_about(text):
    with refused(match="may say otherwise|yes or no"):
        read("cns_lupus", text)


@pytest.mark.parametrize(("qid", "text"), [
    ("ecg_significant_abnormality", "sinus tachycardia"), ("ecg_significant_abnormality", "normal except long QT"),
    ("intolerant_to_conventional", "not documented"), ("apheresis_suitable", "no contraindication?"),
    ("hcq", "yes no"), ("hcq", "si"),
])
def test_unclear_yes_no_is_asked_back(qid, text):
    with refused(match="yes or no"):
        read(qid, text)


@pytest.mark.parametrize(("text", "in_lldas"), [
    ("yes - never reached LLDAS", False), ("no - never reached LLDAS", False), ("flared again last month", False),
    ("relapsed", False), ("still active", False), ("in remission", True), ("yes, in LLDAS", True),
    ("no, in remission", True), ("yes", True), ("no", False),
])
def test_lldas_whichever_way_the_question_is_put(text, in_lldas):
    assert read("target_not_reached", text) is in_lldas


@pytest.mark.parametrize("text", ["in remission after a flare last year", "in partial remission"])
def test_lldas_both_ways_is_asked_back(text):
    with refused(match="yes or no"):
        read("target_not_reached", text)


@pytest.mark.parametrize(("text", "expected"), [
    ("menarche at 11", True), ("postmenarchal", True), ("no periods yet", False), ("premenarchal", False),
])
def test_childbearing_potential(text, expected):
    assert read("childbearing_potential", text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("ANA 1:320 speckled", True), ("positive", True), ("1:160", True), ("negative", False),
])
def test_ana(text, expected):
    assert read("eular_acr_2019.ana_ge_1_80", text) is expected


def test_ana_below_1_80_or_without_titre_is_asked_back():
    with refused(match="1:40 is below 1:80"):
        read("eular_acr_2019.ana_ge_1_80", "1:40")
    with refused(match="At which titre"):
        read("eular_acr_2019.ana_ge_1_80", "weakly positive")


@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("apheresis_suitable", "no known contraindication", True), ("apheresis_suitable", "suitable", True),
    ("apheresis_suitable", "contraindicated", False),
])
def test_apheresis(qid, text, expected):
    assert read(qid, text) is expected


# ---- not known in all its forms -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["not done", "pending", "n/a", "not tested", "dunno", "awaited", "results pending",
                                  "not to my knowledge", "echo awaited", "not yet done", "not sure"])
def test_not_known_in_its_forms(text):
    assert is_unknown("hcq", text)


@pytest.mark.parametrize("text", ["not done", "pending", "n/a", "not tested", "dunno", "awaited"])
def test_the_engine_reads_the_short_forms_as_unknown_for_every_question(text):
    from conversations.dialogue import answers

    assert answers.is_unknown(text)


@pytest.mark.parametrize(("qid", "text"), [
    ("ln_classes", "renal biopsy awaited"), ("ln_classes", "biopsy pending"), ("ln_classes", "no biopsy yet"),
    ("ln_classes", "awaiting biopsy"), ("hbsag", "not tested"), ("hbv_dna", "sent, result pending"),
    ("cardiac_conditions", "echo pending"), ("dmards", "not sure"), ("exclusion_checklist", "unknown"),
])
def test_not_known_for_lists_and_tests(qid, text):
    assert is_unknown(qid, text)


def test_no_ln_is_an_empty_list_but_a_biopsy_to_come_is_not():
    assert read("ln_classes", "no LN") == []
    assert read("ln_classes", "none") == []
    assert is_unknown("ln_classes", "no biopsy")


# ---- serology -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["neg", "negative", "Negative.", "non-reactive", "nonreactive", "not detected",
                                  "undetectable", "below detection limit", "-", "阴性", "(-)", "NR", "HBsAg negative",
                                  "HBsAg neg; HBsAb 120 mIU/mL", "negative (HBsAb positive after vaccination)"])
def test_serology_negative(text):
    assert read("hbsag", text) == "negative"


@pytest.mark.parametrize("text", ["pos", "positive", "reactive", "+", "detectable", "detected", "阳性", "+ve",
                                  "weakly positive", "HBsAg positive"])
def test_serology_positive(text):
    assert read("hbsag", text) == "positive"


@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("hbv_dna", "< 20 IU/mL", "negative"), ("hbv_dna", "<20 IU/mL", "negative"),
    ("hbv_dna", "not detected (<10 IU/mL)", "negative"), ("hbv_dna", "detected, < 20 IU/mL", "positive"),
    ("hbv_dna", "1200 IU/mL", "positive"), ("hcv_rna", "undetectable", "negative"),
    ("cmv_dna", "CMV PCR negative", "negative"), ("cmv_dna", "not detected", "negative"),
    ("hiv_ab", "HIV 1/2 Ag/Ab negative", "negative"), ("syphilis", "TPPA negative, VDRL reactive", "negative"),
    ("syphilis", "TPPA positive", "positive"), ("hbcab", "anti-HBc negative", "negative"),
    ("hbcab", "positive", "positive"),
])
def test_serology_of_each_test(qid, text, expected):
    assert read(qid, text) == expected


@pytest.mark.parametrize(("qid", "text", "match"), [
    ("hbcab", "HBsAb 120 mIU/mL", "not HBcAb"), ("hbcab", "HBsAg negative", "HBsAg, not HBcAb"),
    ("cmv_dna", "CMV serology negative", "not CMV-DNA"), ("cmv_dna", "CMV IgG positive", "not CMV-DNA"),
    ("hcv_rna", "anti-HCV negative", "the HCV antibody, not HCV-RNA"),
    ("syphilis", "RPR non-reactive", "RPR/VDRL \\(a non-treponemal test\\), not a treponemal test"),
    ("cmv_dna", "CMV negative", "Which test was that"),
    ("hiv_ab", "positive, confirmation pending", "more than one result"),
    ("hbsag", "positive then negative", "more than one result"),
    ("hbcab", "0.3 S/CO", "A number alone"),
    ("hbsag", "no", "Please choose one of"), ("hbsag", "weakly", "Please choose one of"),
])
def test_serology_asked_back(qid, text, match):
    with refused(match=match):
        read(qid, text)


def test_a_reactive_rpr_alone_is_not_known():
    assert is_unknown("syphilis", "RPR reactive")
    assert is_unknown("syphilis", "VDRL reactive, TPPA pending")


def test_an_equivocal_result_is_not_known_with_a_note():
    assert is_unknown("hcv_rna", "equivocal")
    assert "equivocal" in notes("hcv_rna", "equivocal")[0]


# ---- choices ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("qid", "text", "expected"), [
    ("sex", "male patient", "male"), ("sex", "patient is female", "female"), ("sex", "a girl", "female"),
    ("sex", "boy", "male"), ("sex", "女", "female"), ("sex", "F", "female"),
    ("gc_peak_drug", "IV methylprednisolone pulses", "methylprednisolone"),
    ("gc_peak_drug", "ivmp", "methylprednisolone"),
    ("gc_peak_drug", "oral prednisone", "prednisone"), ("gc_peak_drug", "pred", "prednisone"),
])
def test_choices_by_label_code_number_or_abbreviation(qid, text, expected):
    assert read(qid, text) == expected


# ---- lists --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("CTX then telitacicept", ["cyclophosphamide", "telitacicept"]),
    ("MMF/AZA", ["mycophenolate", "azathioprine"]), ("RTX x2, CYC 6 pulses", ["rituximab", "cyclophosphamide"]),
    ("MMF 1g bid; tacrolimus", ["mycophenolate", "tacrolimus"]),
    ("rituximab and belimumab", ["rituximab", "belimumab"]),
    ("no DMARDs", []), ("Benlysta + Mabthera", ["belimumab", "rituximab"]), ("他克莫司", ["tacrolimus"]),
])
def test_dmards_item_by_item(text, expected):
    assert value("dmards", text) == expected


def test_unlisted_dmards_are_other_once_with_a_note():
    assert value("dmards", "iguratimod, anifrolumab, MMF") == ["other", "mycophenolate"]
    assert notes("dmards", "iguratimod, anifrolumab, MMF") == [
        'Not on the list, so counted as "other DMARD or biologic": iguratimod, anifrolumab.']


def test_glucocorticoids_are_left_out_with_a_note():
    assert value("dmards", "MMF, prednisone") == ["mycophenolate"]
    assert notes("dmards", "MMF, prednisone") == ["Glucocorticoids are asked on their own: left out of this list."]


def test_hcq_is_never_counted_as_other():
    assert "other" not in value("dmards", "HCQ, MMF, AZA")
    with refused(match="asked on their own"):
        read("dmards", "HCQ only")


def test_what_is_not_recognised_is_named_exactly():
    with refused() as exc:
        read("dmards", "MMF, IVIG, belimumab")
    text = said(exc)
    assert text.startswith("I don't recognise \"IVIG\".") and "The rest I read as: mycophenolate, belimumab" in text


@pytest.mark.parametrize(("text", "expected"), [
    ("IV-G (A/C) + V", ["IV", "V"]), ("class III/IV", ["III", "IV"]), ("class IV LN", ["IV"]),
    ("biopsy: class IV", ["IV"]), ("LN class 3", ["III"]),
])
def test_ln_classes_as_typed(text, expected):
    assert read("ln_classes", text) == expected


def test_cardiac_conditions():
    assert read("cardiac_conditions", "3, 6") == ["severe_arrhythmia", "hypotension_pressors"]
    assert read("cardiac_conditions", "no cardiac problems") == []
    with refused(match='"arrhythmia"'):  # severe or not cannot be told
        read("cardiac_conditions", "arrhythmia")


# ---- checklists ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "present", "unknown"), [
    ("no exclusions", set(), set()), ("none apply", set(), set()), ("rest none", set(), set()),
    ("varicella vaccine 10 days ago", {"live_vaccine_4w"}, set()), ("MMR last week", {"live_vaccine_4w"}, set()),
    ("unsure about other trials, rest none", set(), {"other_trial_3m"}),
    ("MAS, dialysis", {"mas_1m", "dialysis_3m"}, set()), ("no pregnancy, ?MAS", set(), {"mas_1m"}),
    ("not sure about MAS; otherwise none", set(), {"mas_1m"}),
])
def test_exclusion_checklist_from_free_text(text, present, unknown):
    assert marks("exclusion_checklist", text) == (present, unknown)


def test_a_live_vaccine_outside_its_window_is_no_with_a_note():
    assert marks("exclusion_checklist", "MMR 2 months ago") == (set(), set())
    assert notes("exclusion_checklist", "MMR 2 months ago") == [
        '"live vaccine in the last 4 weeks" read as no: 61 days ago is outside its time window.']


@pytest.mark.parametrize("text", ["vaccine 10 days ago", "flu vaccine last week", "chickenpox 2 weeks ago",
                                  "infection 10 days ago", "dialysis 6 months ago"])
def test_a_vaccine_not_known_to_be_live_is_asked_back(text):
    with refused(match="I don't recognise"):
        read("exclusion_checklist", text)


@pytest.mark.parametrize(("text", "present", "unknown"), [
    ("oral ulcers, leukopenia, low C3 and low C4, anti-Sm",
     {"oral_ulcers", "leukopenia", "low_c3_and_c4", "anti_dsdna_or_anti_sm"}, set()),
    ("malar rash, arthritis, proteinuria 2g/d, class IV LN, low C3 and C4, anti-dsDNA+",
     {"acute_cutaneous_lupus", "joint_involvement", "proteinuria_gt_0_5g", "renal_class_iii_or_iv",
      "low_c3_and_c4", "anti_dsdna_or_anti_sm"}, set()),
    ("low C4, C3 not done", {"low_c3_or_c4"}, {"low_c3_and_c4"}),
    ("low C3, low C4", {"low_c3_and_c4"}, set()),
    ("anti-dsDNA negative, anti-Sm positive", {"anti_dsdna_or_anti_sm"}, set()),
    ("class V LN, fever", {"renal_class_ii_or_v", "fever"}, set()),
    ("?low C3 and low C4, oral ulcers", {"oral_ulcers"}, {"low_c3_and_c4"}),
])
def test_eular_items_from_free_text(text, present, unknown):
    assert marks("eular_acr_2019.items", text) == (present, unknown)


@pytest.mark.parametrize(("text", "match"), [
    ("low complement", "could be \"low C3 or low C4\" or \"low C3 and low C4\""),
    ("low C3/C4", "please name which"), ("rash", "acute cutaneous lupus"),
    ("proteinuria 0.3 g/day", "counts only above 0.5 g/24 h"), ("proteinuria 3+", "amount per 24 hours"),
])
def test_eular_items_asked_back(text, match):
    with refused(match=match):
        read("eular_acr_2019.items", text)


@pytest.mark.parametrize(("text", "present", "unknown"), [
    ("proteinuria 1 g/day, low C4, alopecia; dsDNA not rechecked",
     {"proteinuria", "low_complement", "alopecia"}, {"increased_dna_binding"}),
    ("low complement, ?dsDNA", {"low_complement"}, {"increased_dna_binding"}),
    ("complement not done, malar rash", {"rash"}, {"low_complement"}),
    ("arthritis, haematuria, RBC casts", {"arthritis", "hematuria", "urinary_casts"}, set()),
])
def test_sledai_items_from_free_text(text, present, unknown):
    assert marks("sledai_2k_items", text) == (present, unknown)


def test_partly_read_checklist_names_what_was_not_recognised():
    with refused(match='I don\'t recognise "foo". The rest I read as: fever'):
        read("eular_acr_2019.items", "fever, foo")


# ---- through the engine -------------------------------------------------------------------------------------

def test_the_engine_records_a_biopsy_awaited_as_unknown_never_as_no_ln():
    conv = run_answers(eligible_answers(ln_classes="renal biopsy awaited"))
    assert "ln_classes" not in conv.facts.known()
    assert "ln_classes" in conv.asked


def test_the_engine_takes_a_list_with_a_note():
    conv = run_answers(eligible_answers(dmards="MMF, HCQ, belimumab"))
    assert conv.facts.known()["dmards"] == ["mycophenolate", "belimumab"]


def test_every_word_reader_code_has_a_sentence():
    from bot import phrases

    codes = [M.YES_NO_COMMENT_UNCLEAR, M.SEROLOGY_OTHER_TEST, M.LIST_PARTLY_READ, M.CHECKLIST_PARTLY_READ,
             M.ITEM_WHICH, M.READ_AS_OTHER, M.HCQ_LEFT_OUT]
    assert all(code in phrases.SENTENCES for code in codes)

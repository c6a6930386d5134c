"""The questions the conversation can ask, as data: what each asks, how its answer is read, and which
facts of the protocol it serves. Order is the order of asking: cheap knock-outs first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from criteria import calculators
from criteria.codes import (
    CARDIAC_CONDITIONS,
    DMARDS,
    EULAR_ACR_2019_ITEMS,
    GLUCOCORTICOID_MG_PER_5MG_PREDNISONE,
    LN_CLASSES,
    SLEDAI_2K_WEIGHTS,
)
from criteria.labels import FACT_LABELS, label

from . import answers
from .answers import Choice

Kind = Literal["number", "yes_no", "choice", "multi_choice", "text"]
# How a question's answer is read; "checklist" and "creatinine" are multi_choice and number to clients.
Reader = Literal["number", "integer", "yes_no", "choice", "list", "checklist", "creatinine"]


@dataclass(frozen=True)
class Question:
    id: str  # the spec's key, or a key of our own for a calculator input the spec does not name
    reader: Reader
    text: str
    serves: tuple[str, ...]  # spec facts whose verdicts this answer can decide
    help: str = ""
    choices: tuple[Choice, ...] = ()
    unit_words: tuple[str, ...] = ()
    example: str = "12"
    # Calculator steps: ask only once `after` was answered "unknown", answered with a value ("known"),
    # or answered at all.
    after: str | None = None
    after_when: Literal["unknown", "known", "answered"] = "known"
    # How the answer becomes facts (default: facts[id] = value).
    apply: Callable[[dict[str, Any], dict[str, Any], Any], None] | None = None
    # For a calculator step that is no fact (the facts model cannot check it): the lowest valid number.
    minimum: float | None = None

    @property
    def short(self) -> str:
        """A few words naming the question, for summaries."""
        return SHORT_NAMES.get(self.id) or (label(self.id) if self.id in FACT_LABELS else self.id)

    @property
    def kind(self) -> Kind:
        return {"integer": "number", "creatinine": "number", "list": "multi_choice",
                "checklist": "multi_choice"}.get(self.reader, self.reader)  # type: ignore[return-value]

    @property
    def checklist(self) -> bool:
        return self.reader == "checklist"


# Abbreviations and spellings physicians use, matched after normalising (lower case).
ALIASES: dict[str, tuple[str, ...]] = {
    "female": ("f", "girl", "w"), "male": ("m", "boy"),
    "cyclophosphamide": ("cyc", "cyclo", "cytoxan", "ivcyc"),
    "mycophenolate": ("mmf", "mycophenolate mofetil", "mps", "mycophenolic acid", "cellcept"),
    "azathioprine": ("aza",), "methotrexate": ("mtx",), "cyclosporine": ("csa", "ciclosporin", "cyclosporin"),
    "tacrolimus": ("tac", "fk506"), "leflunomide": ("lef",), "tocilizumab": ("tcz",), "belimumab": ("bel",),
    "rituximab": ("rtx",), "prednisone": ("pred",), "prednisolone": ("pdn",),
    "methylprednisolone": ("mp", "mpred", "solumedrol", "medrol"), "dexamethasone": ("dex", "dexa"),
    "hydrocortisone": ("hc",),
}


def _choices(codes, labels: dict[str, str] | None = None) -> tuple[Choice, ...]:  # noqa: ANN001
    labels = labels or {}
    return tuple(Choice(c, labels.get(c, c.replace("_", " ")), ALIASES.get(c, ())) for c in codes)


def _checklist_choices(keys: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(k, label(k)) for k in keys)


SEROLOGY = (Choice("positive", "positive / detectable"), Choice("negative", "negative / not detectable"))
YEARS = ("y", "yr", "yrs", "year", "years", "years old", "y/o", "yo")
PERCENT = ("%", "percent", "pct")
ULN = ("x", "xuln", "x uln", "× uln", "×uln", "times uln", "uln", "×")


def _set_checklist(facts: dict[str, Any], aux: dict[str, Any], value: dict[str, bool | None]) -> None:
    for key, v in value.items():
        if v is not None:
            facts[key] = v


def _set_ana(facts: dict[str, Any], aux: dict[str, Any], value: bool) -> None:
    facts["eular_acr_2019"] = {**facts.get("eular_acr_2019", {}), "ana_ge_1_80": value}


def _set_eular_items(facts: dict[str, Any], aux: dict[str, Any], value: list[str]) -> None:
    facts["eular_acr_2019"] = {**facts.get("eular_acr_2019", {}), "items": value}


def _set_creatinine(facts: dict[str, Any], aux: dict[str, Any], value: list) -> None:
    facts["creatinine"], facts["creatinine_unit"] = value[0], value[1]


def _gc_step(key: str) -> Callable[[dict[str, Any], dict[str, Any], Any], None]:
    def apply(facts: dict[str, Any], aux: dict[str, Any], value: Any) -> None:
        if key == "weight_kg":
            facts["weight_kg"] = value
        else:
            aux[key] = value
        drug, mg, weight = aux.get("gc_peak_drug"), aux.get("gc_peak_mg_day"), facts.get("weight_kg")
        if drug and mg is not None and weight:
            facts["gc_peak_mg_kg_day"] = round(calculators.prednisone_mg_kg_day(drug, mg, weight), 3)
    return apply


EULAR_LABELS = {
    code: f"{name} ({domain.replace('_', ' ')}, {weight})"
    for code, (domain, weight), name in (
        (code, EULAR_ACR_2019_ITEMS[code], name) for code, name in {
            "fever": "fever", "leukopenia": "leukopenia", "thrombocytopenia": "thrombocytopenia",
            "autoimmune_hemolysis": "autoimmune hemolysis", "delirium": "delirium", "psychosis": "psychosis",
            "seizure": "seizure", "non_scarring_alopecia": "non-scarring alopecia", "oral_ulcers": "oral ulcers",
            "subacute_cutaneous_or_discoid_lupus": "subacute cutaneous or discoid lupus",
            "acute_cutaneous_lupus": "acute cutaneous lupus",
            "pleural_or_pericardial_effusion": "pleural or pericardial effusion",
            "acute_pericarditis": "acute pericarditis", "joint_involvement": "joint involvement",
            "proteinuria_gt_0_5g": "proteinuria > 0.5 g/24 h", "renal_class_ii_or_v": "renal biopsy class II or V",
            "renal_class_iii_or_iv": "renal biopsy class III or IV",
            "antiphospholipid_antibodies": "antiphospholipid antibodies", "low_c3_or_c4": "low C3 or low C4",
            "low_c3_and_c4": "low C3 and low C4", "anti_dsdna_or_anti_sm": "anti-dsDNA or anti-Sm antibodies",
        }.items())
}

EXCLUSION_CHECKLIST = (
    "prior_cell_therapy", "cns_event_60d", "cns_damage_or_severe_seizures", "dialysis_3m",
    "nephropathy_needs_intensification", "renal_fibrosis_extensive", "non_sle_immunosuppression",
    "active_infection", "transplant_3m", "gvhd_grade2_2w", "mas_1m", "live_vaccine_4w",
    "malignancy_or_severe_disease", "other_trial_3m", "pregnant",
)

LLDAS_HELP = (
    "\"Target not reached\" means the patient did NOT reach low disease activity or remission on that "
    "therapy. Childhood LLDAS (cLLDAS, 2023): SLEDAI-2K ≤ 4 with no activity in major organs and no new "
    "activity, physician global assessment ≤ 1, prednisolone ≤ 0.15 mg/kg/day (at most 7.5 mg/day), and "
    "standard immunosuppressants at stable doses. Remission is stricter still. The adult cap of "
    "7.5 mg/day alone is wrong for small children."
)

QUESTIONS: tuple[Question, ...] = (
    Question("age_years", "number", "How old is the patient, in completed years?", ("age_years",),
             help="Completed years at referral (a child of 12 years and 11 months is 12). The study takes "
                  "ages 5 to 18.", unit_words=YEARS),
    Question("sex", "choice", "Sex of the patient?", ("sex",), choices=_choices(("female", "male")),
             help="Needed for the pregnancy and contraception criteria (I6, E11)."),
    Question("childbearing_potential", "yes_no", "Has she reached menarche (childbearing potential)?",
             ("childbearing_potential",),
             help="Girls after menarche need a pregnancy test and contraception (I6, E11)."),
    Question("exclusion_checklist", "checklist",
             "Does any of these apply? Name those that do (numbers or names, comma-separated), put "
             "\"?\" before any you are not sure of, or answer \"none\".",
             EXCLUSION_CHECKLIST, choices=_checklist_choices(EXCLUSION_CHECKLIST),
             help="Each item is an exclusion criterion of the study (E1–E12). Items you do not name count "
                  "as \"no\"; \"?3\" marks item 3 as not known.",
             apply=_set_checklist),
    Question("sle_eular_acr_2019", "yes_no",
             "Does the patient meet the 2019 EULAR/ACR classification criteria for SLE?",
             ("sle_eular_acr_2019",),
             help="ANA ≥ 1:80 as entry criterion, then weighted items (highest per domain), total ≥ 10 "
                  "with at least one clinical item. The criteria were derived in adults; pediatric cohorts "
                  "report lower specificity, but classification is still the protocol's rule. Answer "
                  "\"unknown\" and I will calculate it with you."),
    Question("eular_acr_2019.ana_ge_1_80", "yes_no",
             "Let's calculate the 2019 EULAR/ACR score. Has the patient ever had ANA at a titre of at "
             "least 1:80 (HEp-2 cells or equivalent)?", ("sle_eular_acr_2019",),
             help="A positive ANA ≥ 1:80 ever is the entry criterion; without it SLE is not classified.",
             after="sle_eular_acr_2019", after_when="unknown", apply=_set_ana),
    Question("eular_acr_2019.items", "list",
             "Which 2019 EULAR/ACR items has the patient ever had? Comma-separated numbers or names, or "
             "\"none\".", ("sle_eular_acr_2019",),
             choices=_choices(EULAR_ACR_2019_ITEMS, EULAR_LABELS),
             help="Count an item only if no more likely explanation than SLE exists; it need not be "
                  "present now. Only the highest item in each domain counts.",
             after="eular_acr_2019.ana_ge_1_80", after_when="answered", apply=_set_eular_items),
    Question("sledai_2k", "integer", "What is the current SLEDAI-2K score (0–105)?", ("sledai_2k",),
             help="SLEDAI-2K scores descriptors present in the last 10 days (a 30-day window is validated "
                  "too), using the SLEDAI-2K glossary. Answer \"unknown\" and I will add it up with you.",
             example="10"),
    Question("sledai_2k_items", "list",
             "Let's add up the SLEDAI-2K. Which descriptors were present in the last 10 days? "
             "Comma-separated numbers or names, or \"none\".", ("sledai_2k",),
             choices=_choices(SLEDAI_2K_WEIGHTS,
                              {k: f"{k.replace('_', ' ')} ({w})" for k, w in SLEDAI_2K_WEIGHTS.items()}),
             help="Per the SLEDAI-2K glossary, e.g. arthritis: ≥ 2 joints with pain and signs of "
                  "inflammation; proteinuria: > 0.5 g/24 h.",
             after="sledai_2k", after_when="unknown"),
    Question("intolerant_to_conventional", "yes_no",
             "Is a documented intolerance to conventional SLE therapy on record?",
             ("intolerant_to_conventional",),
             help="Documented intolerance to conventional treatments qualifies for I2c on its own."),
    Question("soc_months", "number", "For how many months has the patient received standard-of-care "
             "therapy?", ("soc_months",), unit_words=("m", "mo", "mos", "month", "months"), example="8"),
    Question("gc_high_dose", "yes_no",
             "Did the patient receive high-dose glucocorticoids (≥ 1 mg/kg/day prednisone-equivalent)?",
             ("gc_high_dose",),
             help="Answer \"unknown\" to calculate the prednisone-equivalent from drug, dose and weight."),
    Question("gc_peak_drug", "choice", "Which glucocorticoid was given at the highest dose?",
             ("gc_high_dose",), choices=_choices(GLUCOCORTICOID_MG_PER_5MG_PREDNISONE),
             help="Prednisone equivalents: 5 mg prednisone = 5 mg prednisolone = 4 mg methylprednisolone "
                  "= 4 mg triamcinolone = 20 mg hydrocortisone = 25 mg cortisone = 0.75 mg dexamethasone "
                  "or betamethasone.",
             after="gc_high_dose", after_when="unknown", apply=_gc_step("gc_peak_drug")),
    Question("gc_peak_mg_day", "number", "What was the highest daily dose of that drug, in mg/day?",
             ("gc_high_dose",), unit_words=("mg", "mg/day", "mg/d", "mg per day"), example="40",
             after="gc_peak_drug", apply=_gc_step("gc_peak_mg_day"), minimum=0),
    Question("weight_kg", "number", "What was the patient's weight then, in kg?", ("gc_high_dose",),
             unit_words=("kg", "kgs"), example="35", after="gc_peak_mg_day", apply=_gc_step("weight_kg")),
    Question("hcq", "yes_no", "Has the patient received hydroxychloroquine?", ("hcq",)),
    Question("dmards", "list",
             "Which DMARDs has the patient received for at least 6 months? Comma-separated numbers or "
             "names, or \"none\".", ("dmards",), choices=_choices(DMARDS),
             help="Count each drug given for 6 months or more (MMF = mycophenolate)."),
    Question("target_not_reached", "yes_no",
             "Despite that therapy, was the target (LLDAS or remission) NOT reached?",
             ("target_not_reached",), help=LLDAS_HELP),
    Question("ln_classes", "list",
             "Biopsy-proven lupus nephritis: which ISN/RPS classes? (e.g. \"IV, V\"), or \"none\" if "
             "there is no biopsy-proven LN.", ("ln_classes",),
             choices=tuple(Choice(c, f"class {c}") for c in LN_CLASSES),
             help="Classes III, IV or V count as major organ involvement (I3)."),
    Question("cns_lupus", "yes_no", "Does the patient have neuropsychiatric (CNS) lupus?", ("cns_lupus",)),
    Question("refractory_cytopenia", "yes_no", "Does the patient have a refractory cytopenia?",
             ("refractory_cytopenia",),
             help="Refractory hematological cytopenia: lupus-related thrombocytopenia, autoimmune hemolytic "
                  "anemia or neutropenia that persists despite adequate glucocorticoids and at least one "
                  "immunosuppressant."),
    Question("steroid_dependent", "yes_no",
             "Is the patient steroid-dependent: unable to taper below 0.5 mg/kg/day prednisone-equivalent "
             "without a flare?", ("steroid_dependent",),
             help="Answer \"unknown\" to give the lowest dose reached without a flare instead."),
    Question("gc_taper_floor_mg_kg_day", "number",
             "What is the lowest prednisone-equivalent dose reached without a flare, in mg/kg/day?",
             ("steroid_dependent",), unit_words=("mg/kg/day", "mg/kg/d", "mg/kg"), example="0.6",
             after="steroid_dependent", after_when="unknown"),
    Question("lvef_percent", "number", "Left ventricular ejection fraction (LVEF), in %?", ("lvef_percent",),
             unit_words=PERCENT, example="62"),
    Question("ecg_significant_abnormality", "yes_no", "Does the ECG show a clinically significant "
             "abnormality?", ("ecg_significant_abnormality",)),
    Question("egfr", "number", "eGFR, in mL/min/1.73 m²?", ("egfr",),
             unit_words=("ml/min/1.73m2", "ml/min/1.73 m2", "ml/min/1.73 m²", "ml/min", "ml/min/1.73m²"),
             example="95",
             help="Answer \"unknown\" to calculate it from serum creatinine and height (bedside Schwartz)."),
    Question("creatinine", "creatinine", "Serum creatinine, with its unit (e.g. \"106 umol/L\" or "
             "\"1.2 mg/dL\")?", ("egfr",),
             help="Bedside Schwartz: eGFR = 0.413 × height (cm) / creatinine (mg/dL); 1 mg/dL = 88.4 umol/L. "
                  "It assumes an enzymatic (IDMS-traceable) creatinine and is validated for ages 1–18.",
             after="egfr", after_when="unknown", apply=_set_creatinine),
    Question("height_cm", "number", "The patient's height, in cm?", ("egfr",), unit_words=("cm",),
             example="145", after="creatinine"),
    Question("ast_x_uln", "number", "AST as a multiple of the lab's upper limit of normal (e.g. 1.5)?",
             ("ast_x_uln",), unit_words=ULN, example="0.8",
             help="Divide the value by the laboratory's upper limit of normal: 90 U/L with ULN 40 is 2.25."),
    Question("alt_x_uln", "number", "ALT as a multiple of the upper limit of normal?", ("alt_x_uln",),
             unit_words=ULN, example="0.8"),
    Question("bilirubin_x_uln", "number", "Total bilirubin as a multiple of the upper limit of normal?",
             ("bilirubin_x_uln",), unit_words=ULN, example="0.5"),
    Question("severe_lung_disease", "yes_no",
             "Severe lung disease (significant bronchiectasis, emphysema or advanced ILD)?",
             ("severe_lung_disease",)),
    Question("spo2_percent", "number", "Resting SpO2 on room air, in %?", ("spo2_percent",),
             unit_words=PERCENT, example="98"),
    Question("cardiac_conditions", "list",
             "Any of these cardiac conditions? Comma-separated numbers or names, or \"none\".",
             ("cardiac_conditions",), choices=_choices(CARDIAC_CONDITIONS, {
                 "congenital_heart_disease": "serious congenital heart disease",
                 "mi_6m": "myocardial infarction in the last 6 months",
                 "severe_arrhythmia": "severe arrhythmia",
                 "pericardial_effusion_large": "large pericardial effusion",
                 "myocarditis_severe": "severe myocarditis",
                 "hypotension_pressors": "hypotension needing pressors"})),
    Question("ln_chronicity_index", "integer", "Chronicity index of the renal biopsy (0–12)?",
             ("ln_chronicity_index",), unit_words=("/12", "of 12"), example="3"),
    Question("hbsag", "choice", "HBsAg?", ("hbsag",), choices=SEROLOGY),
    Question("hbcab", "choice", "HBcAb (anti-HBc)?", ("hbcab",), choices=SEROLOGY),
    Question("hbv_dna", "choice", "HBV-DNA?", ("hbv_dna",), choices=SEROLOGY),
    Question("hcv_ab", "choice", "HCV antibody?", ("hcv_ab",), choices=SEROLOGY),
    Question("hcv_rna", "choice", "HCV-RNA?", ("hcv_rna",), choices=SEROLOGY),
    Question("hiv_ab", "choice", "HIV antibody?", ("hiv_ab",), choices=SEROLOGY),
    Question("syphilis", "choice", "Syphilis test?", ("syphilis",), choices=SEROLOGY),
    Question("cmv_dna", "choice", "CMV-DNA (PCR)?", ("cmv_dna",), choices=SEROLOGY),
    Question("agrees_contraception", "yes_no",
             "Do the patient and guardians agree to effective contraception from enrolment until 1 year "
             "after the infusion?", ("agrees_contraception",)),
    Question("apheresis_suitable", "yes_no",
             "Does the patient meet your institution's criteria for leukapheresis (no contraindication "
             "to PBMC collection)?", ("apheresis_suitable",),
             help="If not known yet, it is confirmed at the screening visit."),
)

SHORT_NAMES = {
    "exclusion_checklist": "exclusion checklist",
    "eular_acr_2019.ana_ge_1_80": "ANA ≥ 1:80",
    "eular_acr_2019.items": "2019 EULAR/ACR items",
    "gc_peak_drug": "glucocorticoid at peak dose",
    "gc_peak_mg_day": "peak dose, mg/day",
    "creatinine": "serum creatinine",
}

BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}
ORDER: dict[str, int] = {q.id: i for i, q in enumerate(QUESTIONS)}


def read(question: Question, text: str) -> Any:
    """Parse an answer (not "unknown", which the engine handles first) into the question's value."""
    answers.check_length(text)
    r = question.reader
    if r in ("number", "integer"):
        value = answers.parse_number(text, unit_words=question.unit_words, integer=r == "integer",
                                     example=question.example)
        if question.minimum is not None and value < question.minimum:
            raise answers.AnswerError(f"{value:g} is below {question.minimum:g}; please give a number of at "
                                      f"least {question.minimum:g}, for example {question.example}.")
        return value
    if r == "yes_no":
        return answers.parse_yes_no(text)
    if r == "choice":
        return answers.parse_choice(text, question.choices)
    if r == "list":
        return answers.parse_list(text, question.choices)
    if r == "checklist":
        return answers.parse_checklist(text, question.choices)
    if r == "creatinine":
        return list(answers.parse_creatinine(text))
    raise AssertionError(r)


def apply(question: Question, facts: dict[str, Any], aux: dict[str, Any], value: Any) -> None:
    if question.apply is not None:
        question.apply(facts, aux, value)
    else:
        facts[question.id] = value


@dataclass
class Answered:
    """Facts and calculator inputs built from the answers so far."""

    facts: dict[str, Any] = field(default_factory=dict)
    aux: dict[str, Any] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # questions answered "unknown" as a whole
    answered: set[str] = field(default_factory=set)

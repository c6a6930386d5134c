"""The questions the conversation can ask, as data: what each asks, how its answer is read, and which
facts of the protocol it serves. Order is the order of asking: cheap knock-outs first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from criteria import Facts, calculators
from criteria.codes import (
    CARDIAC_CONDITIONS,
    DMARDS,
    EULAR_ACR_2019_ITEMS,
    EULAR_ACR_2019_LABELS,
    GLUCOCORTICOID_MG_PER_5MG_PREDNISONE,
    LN_CLASSES,
    SLEDAI_2K_LABELS,
    SLEDAI_2K_WEIGHTS,
)
from criteria.labels import FACT_LABELS, label

from . import answers, chinese, quantities
from .answers import Choice
from .messages import M, Message, msg
from .words import read_checklist, read_choice, read_list, read_yes_no

Kind = Literal["number", "yes_no", "choice", "multi_choice", "text"]
# How a question's answer is read. "checklist": yes/no facts, each named, "?"-marked or left out (no);
# "items": calculator items, each present, not assessed ("?") or absent (left out). Both are multi_choice
# with three marks to clients; "creatinine" is a number.
Reader = Literal["number", "integer", "yes_no", "choice", "list", "checklist", "items", "creatinine"]


@dataclass(frozen=True)
class QuestionDef:
    id: str  # the spec's key, or a key of our own for a calculator input the spec does not name
    reader: Reader
    text: str
    serves: tuple[str, ...]  # spec facts whose verdicts this answer can decide
    help: str = ""
    choices: tuple[Choice, ...] = ()
    unit_words: tuple[str, ...] = ()
    example: str = "12"
    # Calculator steps: ask only once `after` was answered "unknown", answered with a value ("known"),
    # answered yes, or answered at all.
    after: str | None = None
    after_when: Literal["unknown", "known", "answered", "yes"] = "known"
    # How the answer becomes facts (default: facts[id] = value).
    apply: Callable[[dict[str, Any], dict[str, Any], Any], None] | None = None
    # For a calculator step that is no fact (the facts model cannot check it): the lowest valid number.
    minimum: float | None = None
    # Asked only when this holds for the facts so far (target_not_reached: only without a SLEDAI-2K).
    asked_when: Callable[[Facts], bool] | None = None

    @property
    def short(self) -> str:
        """A few words naming the question, for summaries."""
        return SHORT_NAMES.get(self.id) or (label(self.id) if self.id in FACT_LABELS else self.id)

    @property
    def kind(self) -> Kind:
        return {"integer": "number", "creatinine": "number", "list": "multi_choice", "checklist": "multi_choice",
                "items": "multi_choice"}.get(self.reader, self.reader)  # type: ignore[return-value]

    @property
    def checklist(self) -> bool:
        """Three marks per choice (yes, not sure, no), not two."""
        return self.reader in ("checklist", "items")

    @property
    def fact_checklist(self) -> bool:
        """Each choice is a yes/no fact of its own (the exclusion checklist)."""
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


def _choices(codes, labels: dict[str, str] | None = None) -> tuple[Choice, ...]:
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


def _split_items(value: dict[str, bool | None]) -> tuple[list[str], list[str]]:
    """(present, not assessed) of a three-mark item checklist; absent items are neither."""
    return [c for c, v in value.items() if v is True], [c for c, v in value.items() if v is None]


# The 2019 EULAR/ACR renal biopsy items are the biopsy classes, asked once (ln_classes, just before).
RENAL_CLASS_ITEMS = {"renal_class_iii_or_iv": ("III", "IV"), "renal_class_ii_or_v": ("II", "V")}


def renal_items(classes: list[str]) -> dict[str, bool]:
    """The EULAR/ACR renal biopsy items the biopsy-proven classes give."""
    return {item: bool(set(of) & set(classes)) for item, of in RENAL_CLASS_ITEMS.items()}


def _set_eular_items(facts: dict[str, Any], aux: dict[str, Any], value: dict[str, bool | None]) -> None:
    if isinstance(facts.get("ln_classes"), list):  # known classes decide the renal items, whatever was typed
        value = {k: v for k, v in value.items() if k not in RENAL_CLASS_ITEMS}
        value.update({k: True for k, v in renal_items(facts["ln_classes"]).items() if v})
    present, unknown = _split_items(value)
    eular = {**facts.get("eular_acr_2019", {}), "items": present}
    if unknown:
        eular["unknown_items"] = unknown
    facts["eular_acr_2019"] = eular


def _set_sledai_items(facts: dict[str, Any], aux: dict[str, Any], value: dict[str, bool | None]) -> None:
    present, unknown = _split_items(value)
    facts["sledai_2k_items"] = present
    if unknown:
        facts["sledai_2k_unknown"] = unknown


def _set_creatinine(facts: dict[str, Any], aux: dict[str, Any], value: list) -> None:
    facts["creatinine"], facts["creatinine_unit"] = value[0], value[1]


def _set_in_lldas(facts: dict[str, Any], aux: dict[str, Any], value: bool) -> None:
    # The question is asked positively ("in LLDAS or remission now?"); the fact is its negation.
    facts["target_not_reached"] = not value


def _set_drug(facts: dict[str, Any], aux: dict[str, Any], value: str) -> None:
    aux["gc_peak_drug"] = value


def _set_drug_dose(facts: dict[str, Any], aux: dict[str, Any], value: float) -> None:
    # The drug's own mg/day becomes the spec's prednisone-equivalent mg/day; the facts model works out
    # mg/kg/day from it once the weight is known.
    facts["gc_peak_mg_day"] = round(calculators.prednisone_equivalent_mg(aux["gc_peak_drug"], value), 3)


def _set_nothing(facts: dict[str, Any], aux: dict[str, Any], value: Any) -> None:
    """A step of the conversation's own that sets no fact (it only decides what is asked next)."""


def _no_sledai_score(facts: Facts) -> bool:
    """No SLEDAI-2K known: a score of 5 or more already implies target_not_reached, and a lower one fails
    I2b whatever the LLDAS answer."""
    derived = facts.derived.get("sledai_2k")
    return facts.sledai_2k is None and (derived is None or derived.value is None)


def _item_labels(labels: dict[str, str], weights: dict[str, int]) -> dict[str, str]:
    return {code: f"{name} ({weights[code]})" for code, name in labels.items()}


EULAR_LABELS = {
    code: f"{name} ({domain.replace('_', ' ')}, {weight})"
    for code, name in EULAR_ACR_2019_LABELS.items() for domain, weight in (EULAR_ACR_2019_ITEMS[code],)
}

EXCLUSION_CHECKLIST = (
    "prior_cell_therapy", "cns_event_60d", "cns_damage_or_severe_seizures", "dialysis_3m",
    "renal_fibrosis_extensive", "non_sle_immunosuppression", "active_infection", "transplant_3m",
    "gvhd_grade2_2w", "mas_1m", "live_vaccine_4w", "malignancy_or_severe_disease", "other_trial_3m", "pregnant",
)

LLDAS_HELP = (
    "Childhood LLDAS (cLLDAS, 2023): SLEDAI-2K ≤ 4 with no activity in major organs and no new activity, "
    "physician global assessment ≤ 1, prednisolone ≤ 0.15 mg/kg/day (at most 7.5 mg/day), and standard "
    "immunosuppressants at stable doses. Remission is stricter still. The adult cap of 7.5 mg/day alone is "
    "wrong for small children. A child who reached it and flared again is not in it now: answer no."
)
ITEMS_HOW = ("Name those present (numbers or names, comma-separated), put \"?\" before any not assessed, or "
             "answer \"none\"; items not named count as absent.")

QUESTIONS: tuple[QuestionDef, ...] = (
    QuestionDef("age_years", "number", "How old is the patient, in completed years?", ("age_years",),
             help="Completed years at referral (a child of 12 years and 11 months is 12). The study takes "
                  "ages 5 to 18.", unit_words=YEARS),
    QuestionDef("sex", "choice", "Sex of the patient?", ("sex",), choices=_choices(("female", "male")),
             help="Needed for the pregnancy and contraception criteria (I6, E11)."),
    QuestionDef("childbearing_potential", "yes_no", "Has she reached menarche (childbearing potential)?",
             ("childbearing_potential",),
             help="Girls after menarche need a pregnancy test and contraception (I6, E11)."),
    QuestionDef("exclusion_checklist", "checklist",
             "Does any of these apply? Name those that do (numbers or names, comma-separated), put "
             "\"?\" before any you are not sure of, or answer \"none\".",
             EXCLUSION_CHECKLIST, choices=_checklist_choices(EXCLUSION_CHECKLIST),
             help="Each item is an exclusion criterion of the study (E1–E12). Items you do not name count "
                  "as \"no\"; \"?3\" marks item 3 as not known.",
             apply=_set_checklist),
    QuestionDef("sle_eular_acr_2019", "yes_no",
             "Does the patient meet the 2019 EULAR/ACR classification criteria for SLE?",
             ("sle_eular_acr_2019",),
             help="ANA ≥ 1:80 as entry criterion, then weighted items (highest per domain), total ≥ 10 "
                  "with at least one clinical item. The criteria were derived in adults; pediatric cohorts "
                  "report lower specificity, but classification is still the protocol's rule. Answer "
                  "\"unknown\" and I will calculate it with you."),
    QuestionDef("eular_acr_2019.ana_ge_1_80", "yes_no",
             "Let's calculate the 2019 EULAR/ACR score. Has the patient ever had ANA at a titre of at "
             "least 1:80 (HEp-2 cells or equivalent)?", ("sle_eular_acr_2019",),
             help="A positive ANA ≥ 1:80 ever is the entry criterion; without it SLE is not classified.",
             after="sle_eular_acr_2019", after_when="unknown", apply=_set_ana),
    QuestionDef("ln_classes", "list",
             "Biopsy-proven lupus nephritis: which ISN/RPS classes? (e.g. \"IV, V\"), or \"none\" if "
             "there is no biopsy-proven LN.", ("ln_classes",),
             choices=tuple(Choice(c, f"class {c}") for c in LN_CLASSES),
             help="Classes III, IV or V count as major organ involvement (I3)."),
    QuestionDef("cns_lupus", "yes_no", "Does the patient have neuropsychiatric (CNS) lupus?", ("cns_lupus",)),
    QuestionDef("refractory_cytopenia", "yes_no", "Does the patient have a refractory cytopenia?",
             ("refractory_cytopenia",),
             help="Refractory hematological cytopenia: lupus-related thrombocytopenia, autoimmune hemolytic "
                  "anemia or neutropenia that persists despite adequate glucocorticoids and at least one "
                  "immunosuppressant."),
    QuestionDef("other_major_organ", "yes_no",
             "Any other active major organ involvement (e.g. myocarditis, pneumonitis, pulmonary haemorrhage, "
             "mesenteric or systemic vasculitis)?", ("other_major_organ",),
             help="The listing's organs are examples; other active major organ involvement can meet I3 too, "
                  "and the investigator confirms it."),
    QuestionDef("steroid_dependent", "yes_no",
             "Is the patient steroid-dependent: unable to taper below 0.5 mg/kg/day prednisone-equivalent "
             "without a flare?", ("steroid_dependent",),
             help="Answer \"unknown\" to give the dose at which a taper ended in a flare instead."),
    QuestionDef("gc_taper_tried", "yes_no", "Was the glucocorticoid dose tapered until the disease flared?",
             ("steroid_dependent",), after="steroid_dependent", after_when="unknown", apply=_set_nothing),
    QuestionDef("gc_taper_floor_mg_kg_day", "number",
             "What was the lowest prednisone-equivalent dose reached before the flare, in mg/kg/day?",
             ("steroid_dependent",), unit_words=("mg/kg/day", "mg/kg/d", "mg/kg"), example="0.6",
             after="gc_taper_tried", after_when="yes"),
    QuestionDef("eular_acr_2019.items", "items",
             "Which 2019 EULAR/ACR items has the patient ever had? " + ITEMS_HOW, ("sle_eular_acr_2019",),
             choices=_choices(EULAR_ACR_2019_ITEMS, EULAR_LABELS),
             help="Count an item only if no more likely explanation than SLE exists; it need not be "
                  "present now. Only the highest item in each domain counts. An item not assessed (\"?\") "
                  "gives a range of totals instead of counting as absent.",
             after="eular_acr_2019.ana_ge_1_80", after_when="answered", apply=_set_eular_items),
    QuestionDef("sledai_2k", "integer", "What is the current SLEDAI-2K score (0–105)?", ("sledai_2k",),
             help="SLEDAI-2K scores descriptors present in the last 10 days (a 30-day window is validated "
                  "too), using the SLEDAI-2K glossary. Answer \"unknown\" and I will add it up with you.",
             example="10"),
    QuestionDef("sledai_2k_items", "items",
             "Let's add up the SLEDAI-2K. Which descriptors were present in the last 10 days? " + ITEMS_HOW,
             ("sledai_2k",), choices=_choices(SLEDAI_2K_WEIGHTS, _item_labels(SLEDAI_2K_LABELS, SLEDAI_2K_WEIGHTS)),
             help="Per the SLEDAI-2K glossary, e.g. arthritis: ≥ 2 joints with pain and signs of "
                  "inflammation; proteinuria: > 0.5 g/24 h. A descriptor not assessed (\"?\", e.g. complement "
                  "not yet measured) gives a range of scores instead of counting as absent.",
             after="sledai_2k", after_when="unknown", apply=_set_sledai_items),
    QuestionDef("intolerant_to_conventional", "yes_no",
             "Is a documented intolerance to conventional SLE therapy on record?",
             ("intolerant_to_conventional",),
             help="Documented intolerance to conventional treatments qualifies for I2c on its own."),
    QuestionDef("soc_months", "number", "For how many months has the patient received standard-of-care "
             "therapy?", ("soc_months",), unit_words=("m", "mo", "mos", "month", "months"), example="8"),
    QuestionDef("gc_high_dose", "yes_no",
             "Did the patient receive high-dose glucocorticoids (≥ 1 mg/kg/day or ≥ 60 mg/day "
             "prednisone-equivalent)?", ("gc_high_dose",),
             help="60 mg/day is the usual pediatric maximum; intravenous methylprednisolone pulses count. "
                  "Answer \"unknown\" to calculate the prednisone-equivalent from drug, dose and weight."),
    QuestionDef("gc_peak_drug", "choice", "Which glucocorticoid was given at the highest dose?",
             ("gc_high_dose",), choices=_choices(GLUCOCORTICOID_MG_PER_5MG_PREDNISONE),
             help="Prednisone equivalents: 5 mg prednisone = 5 mg prednisolone = 4 mg methylprednisolone "
                  "= 4 mg triamcinolone = 20 mg hydrocortisone = 25 mg cortisone = 0.75 mg dexamethasone "
                  "or betamethasone.",
             after="gc_high_dose", after_when="unknown", apply=_set_drug),
    # The drug's own daily dose: a key of the conversation's own (the spec's gc_peak_mg_day is the
    # prednisone-equivalent that this answer is converted to).
    QuestionDef("gc_drug_mg_day", "number", "What was the highest daily dose of that drug, in mg/day?",
             ("gc_high_dose",), unit_words=("mg", "mg/day", "mg/d", "mg per day"), example="40",
             after="gc_peak_drug", apply=_set_drug_dose, minimum=0),
    QuestionDef("weight_kg", "number", "What was the patient's weight then, in kg?", ("gc_high_dose", "weight_kg"),
             unit_words=("kg", "kgs"), example="35", after="gc_drug_mg_day"),
    QuestionDef("hcq", "yes_no", "Has the patient received hydroxychloroquine?", ("hcq",)),
    QuestionDef("dmards", "list",
             "Which DMARDs or biologics has the patient received as an adequate course? Comma-separated numbers "
             "or names, or \"none\".", ("dmards",), choices=_choices(DMARDS, {"other": "other DMARD or biologic"}),
             help="An adequate course counts, within 6 months of standard care in all: rituximab (one or two "
                  "infusions) or a cyclophosphamide induction course count too (MMF = mycophenolate). "
                  "Hydroxychloroquine is asked separately."),
    QuestionDef("target_not_reached", "yes_no", "Is the child in LLDAS or remission now?",
             ("target_not_reached",), help=LLDAS_HELP, apply=_set_in_lldas, asked_when=_no_sledai_score),
    QuestionDef("lvef_percent", "number", "Left ventricular ejection fraction (LVEF), in %?", ("lvef_percent",),
             unit_words=PERCENT, example="62"),
    QuestionDef("ecg_significant_abnormality", "yes_no", "Does the ECG show a clinically significant "
             "abnormality?", ("ecg_significant_abnormality",)),
    QuestionDef("egfr", "number", "eGFR, in mL/min/1.73 m²?", ("egfr",),
             unit_words=("ml/min/1.73m2", "ml/min/1.73 m2", "ml/min/1.73 m²", "ml/min", "ml/min/1.73m²"),
             example="95",
             help="Answer \"unknown\" to calculate it from serum creatinine and height (bedside Schwartz)."),
    QuestionDef("creatinine", "creatinine", "Serum creatinine, with its unit (e.g. \"106 umol/L\" or "
             "\"1.2 mg/dL\")?", ("egfr",),
             help="Bedside Schwartz: eGFR = 0.413 × height (cm) / creatinine (mg/dL); 1 mg/dL = 88.4 umol/L. "
                  "It assumes an enzymatic (IDMS-traceable) creatinine and is validated for ages 1–18.",
             after="egfr", after_when="unknown", apply=_set_creatinine),
    QuestionDef("height_cm", "number", "The patient's height, in cm?", ("egfr",), unit_words=("cm",),
             example="145", after="creatinine"),
    QuestionDef("ast_x_uln", "number", "AST as a multiple of the lab's upper limit of normal (e.g. 1.5)? "
             "\"All normal\" answers AST, ALT and bilirubin at once.",
             ("ast_x_uln",), unit_words=ULN, example="0.8",
             help="Divide the value by the laboratory's upper limit of normal: 90 U/L with ULN 40 is 2.25."),
    QuestionDef("alt_x_uln", "number", "ALT as a multiple of the upper limit of normal?", ("alt_x_uln",),
             unit_words=ULN, example="0.8"),
    QuestionDef("bilirubin_x_uln", "number", "Total bilirubin as a multiple of the upper limit of normal?",
             ("bilirubin_x_uln",), unit_words=ULN, example="0.5"),
    QuestionDef("severe_lung_disease", "yes_no",
             "Severe lung disease (significant bronchiectasis, emphysema or advanced ILD)?",
             ("severe_lung_disease",)),
    QuestionDef("spo2_percent", "number", "Resting SpO2 on room air, in %?", ("spo2_percent",),
             unit_words=PERCENT, example="98"),
    QuestionDef("cardiac_conditions", "list",
             "Any of these cardiac conditions? Comma-separated numbers or names, or \"none\".",
             ("cardiac_conditions",), choices=_choices(CARDIAC_CONDITIONS, {
                 "congenital_heart_disease": "serious congenital heart disease",
                 "mi_6m": "myocardial infarction in the last 6 months",
                 "severe_arrhythmia": "severe arrhythmia",
                 "pericardial_effusion_large": "large pericardial effusion",
                 "myocarditis_severe": "severe myocarditis",
                 "hypotension_pressors": "hypotension needing pressors"})),
    QuestionDef("ln_chronicity_index", "integer", "Chronicity index of the renal biopsy (0–12)?",
             ("ln_chronicity_index",), unit_words=("/12", "of 12"), example="3"),
    QuestionDef("hbsag", "choice", "HBsAg? \"All negative\" answers HBsAg, HBcAb, HCV and HIV antibodies, "
             "syphilis and CMV-DNA at once.", ("hbsag",), choices=SEROLOGY),
    QuestionDef("hbcab", "choice", "HBcAb (anti-HBc)?", ("hbcab",), choices=SEROLOGY),
    QuestionDef("hbv_dna", "choice", "HBV-DNA?", ("hbv_dna",), choices=SEROLOGY),
    QuestionDef("hcv_ab", "choice", "HCV antibody?", ("hcv_ab",), choices=SEROLOGY),
    QuestionDef("hcv_rna", "choice", "HCV-RNA?", ("hcv_rna",), choices=SEROLOGY),
    QuestionDef("hiv_ab", "choice", "HIV antibody?", ("hiv_ab",), choices=SEROLOGY),
    QuestionDef("syphilis", "choice", "Syphilis, by a treponemal test (TPPA, TPHA, EIA/CLIA)?", ("syphilis",),
             choices=SEROLOGY,
             help="A reactive RPR/VDRL alone is common in SLE with antiphospholipid antibodies and is no answer: "
                  "answer \"unknown\" until a treponemal test confirms it."),
    QuestionDef("cmv_dna", "choice", "CMV-DNA (PCR)?", ("cmv_dna",), choices=SEROLOGY),
    QuestionDef("agrees_contraception", "yes_no",
             "Do the patient and guardians agree to effective contraception from enrolment until 1 year "
             "after the infusion?", ("agrees_contraception",)),
    QuestionDef("apheresis_suitable", "yes_no",
             "Does the patient meet your institution's criteria for leukapheresis (no contraindication "
             "to PBMC collection)?", ("apheresis_suitable",),
             help="If not known yet, it is confirmed at the screening visit."),
)

SHORT_NAMES = {
    "exclusion_checklist": "exclusion checklist",
    "eular_acr_2019.ana_ge_1_80": "ANA ≥ 1:80",
    "eular_acr_2019.items": "2019 EULAR/ACR items",
    "gc_peak_drug": "glucocorticoid at peak dose",
    "gc_drug_mg_day": "that drug's peak dose, mg/day",
    "target_not_reached": "in LLDAS or remission now",
    "gc_taper_tried": "taper ended in a flare",
    "creatinine": "serum creatinine",
}

BY_ID: dict[str, QuestionDef] = {q.id: q for q in QUESTIONS}


# Blocks of questions one answer can settle from any of them on: "all negative" at HBsAg answers the
# tests after it; "all normal" at AST answers ALT and bilirubin too (at 1 × ULN, the top of normal).
BLOCKS: tuple[tuple[tuple[str, ...], frozenset[str], Any], ...] = (
    (("hbsag", "hbcab", "hcv_ab", "hiv_ab", "syphilis", "cmv_dna"),
     frozenset({"all negative", "all neg", "all negative.", "all tests negative", "all of them negative",
                "all non-reactive", "all nonreactive", "everything negative", "all not detected",
                "全部阴性", "均阴性"}),
     "negative"),
    (("ast_x_uln", "alt_x_uln", "bilirubin_x_uln"),
     frozenset({"all normal", "all normal.", "all within normal limits", "all wnl", "all in range",
                "lfts normal", "liver tests normal", "liver function normal", "全部正常"}),
     1.0),
)


def block_answer(question: QuestionDef, text: str) -> answers.Reading | None:
    """An answer that settles this question and the rest of its block, or None."""
    for ids, words, value in BLOCKS:
        if question.id in ids and answers.normalise(text).strip(" .!") in words:
            rest = ids[ids.index(question.id) + 1:]
            note = (msg(M.BLOCK_AT_TOP_OF_NORMAL, count=len(rest) + 1) if value == 1.0 else
                    msg(M.BLOCK_ANSWERED, count=len(rest) + 1))
            return answers.Reading(value, notes=(note,), also=dict.fromkeys(rest, value))
    return None


def read(question: QuestionDef, text: str) -> Any:
    """Parse an answer (not "unknown", which the engine handles first) into the question's value."""
    answers.check_length(text)
    english = chinese.to_english(text)  # Chinese forms as the English readers take them (issue 16)
    try:
        return _read(question, english)
    except answers.AnswerError as e:
        raise answers.AnswerError(_as_typed(e.message, text, english)) from None


# The parameters of a reprompt that quote the answer back.
_QUOTING = ("items", "text")


def _as_typed(message: Message, typed: str, read: str) -> Message:
    """A reprompt quotes the answer as the physician typed it: a part the Chinese rewrite changed (a
    Chinese "maybe" read as "possibly" beside the untranslated rest) is never quoted in its half-English
    form, the answer as typed (cut short) instead."""
    if typed == read:
        return message
    params = dict(message.params)
    for name in _QUOTING:
        value = params.get(name)
        quoted = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        if any(q not in typed for q in quoted):
            params[name] = [typed.strip()[:40]] if isinstance(value, list) else typed.strip()[:40]
    return Message(message.code, params)


def _read(question: QuestionDef, text: str) -> Any:
    if (block := block_answer(question, text)) is not None:
        return block
    r = question.reader
    if r in ("number", "integer"):
        value = quantities.read(question.id, text, integer=r == "integer", example=question.example)
        if value is None:  # no quantity reader of its own: a number with one of the question's unit words
            value = answers.parse_number(text, unit_words=question.unit_words, integer=r == "integer",
                                         example=question.example)
        number = value.value if isinstance(value, answers.Reading) else value
        if question.minimum is not None and number < question.minimum:
            raise answers.AnswerError(msg(M.BELOW_MINIMUM, value=f"{number:g}", minimum=f"{question.minimum:g}",
                                          example=question.example))
        return value
    # The word readers (words.py): yes/no with a comment, serology, choices, lists and checklists in free text.
    if r == "yes_no":
        return read_yes_no(text, question.id)
    if r == "choice":
        return read_choice(text, question.id, question.choices)
    if r == "list":
        return read_list(text, question.id, question.choices)
    if r in ("checklist", "items"):
        return read_checklist(text, question.id, question.choices)
    if r == "creatinine":
        return list(quantities.read_creatinine(text))
    raise AssertionError(r)


def apply(question: QuestionDef, facts: dict[str, Any], aux: dict[str, Any], value: Any) -> None:
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
    values: dict[str, Any] = field(default_factory=dict)  # question -> its parsed answer

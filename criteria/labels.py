"""How each fact is named to a physician, and the unit its number is shown in."""

from typing import NamedTuple

from .codes import EULAR_ACR_2019_LABELS, SLEDAI_2K_LABELS


class Label(NamedTuple):
    name: str
    unit: str = ""


FACT_LABELS: dict[str, Label] = {
    "age_years": Label("age", "years"),
    "sex": Label("sex"),
    "childbearing_potential": Label("childbearing potential"),
    "weight_kg": Label("weight", "kg"),
    "height_cm": Label("height", "cm"),
    "sle_eular_acr_2019": Label("meets the 2019 EULAR/ACR SLE classification"),
    "eular_acr_2019": Label("2019 EULAR/ACR items"),
    "sledai_2k": Label("SLEDAI-2K"),
    "sledai_2k_items": Label("SLEDAI-2K descriptors"),
    "sledai_2k_unknown": Label("SLEDAI-2K descriptors not assessed"),
    "soc_months": Label("standard-of-care therapy", "months"),
    "gc_high_dose": Label("high-dose glucocorticoids"),
    "gc_peak_mg_kg_day": Label("peak prednisone-equivalent dose", "mg/kg/day"),
    "gc_peak_mg_day": Label("peak prednisone-equivalent dose", "mg/day"),
    "hcq": Label("hydroxychloroquine"),
    "dmards": Label("DMARDs"),
    "target_not_reached": Label("not in LLDAS or remission now"),
    "intolerant_to_conventional": Label("documented intolerance to conventional therapy"),
    "ln_classes": Label("biopsy-proven lupus nephritis classes"),
    "cns_lupus": Label("CNS lupus"),
    "refractory_cytopenia": Label("refractory cytopenia"),
    "other_major_organ": Label("other active major organ involvement"),
    "steroid_dependent": Label("steroid dependence (no taper below 0.5 mg/kg/day)"),
    "gc_taper_floor_mg_kg_day": Label("lowest glucocorticoid dose reached before a flare", "mg/kg/day"),
    "lvef_percent": Label("LVEF", "%"),
    "ecg_significant_abnormality": Label("significant ECG abnormality"),
    "egfr": Label("eGFR", "mL/min/1.73 m²"),
    "creatinine": Label("serum creatinine"),
    "creatinine_unit": Label("creatinine unit"),
    "ast_x_uln": Label("AST", "× ULN"),
    "alt_x_uln": Label("ALT", "× ULN"),
    "bilirubin_x_uln": Label("total bilirubin", "× ULN"),
    "spo2_percent": Label("SpO2 on room air", "%"),
    "severe_lung_disease": Label("severe lung disease"),
    "apheresis_suitable": Label("suitable for leukapheresis"),
    "agrees_contraception": Label("agrees to effective contraception"),
    "prior_cell_therapy": Label("prior CAR-T or genetically modified cell therapy"),
    "cns_event_60d": Label("CNS lupus needing intervention in the last 60 days"),
    "cns_damage_or_severe_seizures": Label("structural CNS damage on MRI or severe seizures"),
    "dialysis_3m": Label("dialysis in the last 3 months"),
    "ln_chronicity_index": Label("LN chronicity index", "/12"),
    "renal_fibrosis_extensive": Label("extensive renal fibrosis"),
    "cardiac_conditions": Label("cardiac conditions"),
    "non_sle_immunosuppression": Label("long-term immunosuppression for another condition"),
    "active_infection": Label("active infection in the last week"),
    "transplant_3m": Label("transplant in the last 3 months"),
    "gvhd_grade2_2w": Label("acute GVHD grade ≥ 2 in the last 2 weeks"),
    "hbsag": Label("HBsAg"),
    "hbcab": Label("HBcAb"),
    "hbv_dna": Label("HBV-DNA"),
    "hcv_ab": Label("HCV antibody"),
    "hcv_rna": Label("HCV-RNA"),
    "hiv_ab": Label("HIV antibody"),
    "syphilis": Label("syphilis (treponemal test)"),
    "cmv_dna": Label("CMV-DNA"),
    "mas_1m": Label("macrophage activation syndrome in the last month"),
    "live_vaccine_4w": Label("live vaccine in the last 4 weeks"),
    "malignancy_or_severe_disease": Label("malignancy or other severe systemic disease"),
    "pregnant": Label("known pregnancy"),
    "other_trial_3m": Label("another clinical trial in the last 3 months"),
}


# Parts of a calculator input that a missing item can name (criteria.md: "sledai_2k_items.CODE").
# An item is named by its label within its score's (translated whole: bot/report.py label_text).
PART_OF = {"sledai_2k_items.": ("{item} (SLEDAI-2K)", SLEDAI_2K_LABELS),
           "eular_acr_2019.items.": ("{item} (2019 EULAR/ACR)", EULAR_ACR_2019_LABELS)}
PART_LABELS: dict[str, str] = {
    "eular_acr_2019.ana_ge_1_80": "ANA ≥ 1:80",
    "eular_acr_2019.items": "2019 EULAR/ACR items",
    **{f"{prefix}{c}": template.format(item=n) for prefix, (template, names) in PART_OF.items()
       for c, n in names.items()},
}


def label(fact: str) -> str:
    known = FACT_LABELS.get(fact)
    return known.name if known is not None else PART_LABELS[fact]


def fmt_number(value: float) -> str:
    # Two decimals at most: a calculated eGFR of 29.8041 reads as 29.8, a ratio of 3.1 stays 3.1.
    return f"{round(value, 2):g}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def fmt_quantity(fact: str, value: float) -> str:
    unit = FACT_LABELS[fact].unit
    if not unit:
        return fmt_number(value)
    sep = "" if unit.startswith("/") else " "
    return f"{fmt_number(value)}{sep}{unit}"

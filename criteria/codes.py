"""Code lists of the protocol (criteria.md, "Codes"): the only values list facts may hold."""

from typing import Literal

DMARDS = (
    "cyclophosphamide", "mycophenolate", "azathioprine", "methotrexate", "cyclosporine",
    "tacrolimus", "sirolimus", "leflunomide", "tocilizumab", "belimumab", "rituximab", "telitacicept",
    # Any other DMARD or biologic: counts as one, and raises a flag for the investigator.
    "other",
)

CARDIAC_CONDITIONS = (
    "congenital_heart_disease", "mi_6m", "severe_arrhythmia", "pericardial_effusion_large",
    "myocarditis_severe", "hypotension_pressors",
)

LN_CLASSES = ("I", "II", "III", "IV", "V", "VI")

# SLEDAI-2K descriptor -> weight (Gladman 2002).
SLEDAI_2K_WEIGHTS: dict[str, int] = {
    "seizure": 8, "psychosis": 8, "organic_brain_syndrome": 8, "visual_disturbance": 8,
    "cranial_nerve_disorder": 8, "lupus_headache": 8, "cva": 8, "vasculitis": 8,
    "arthritis": 4, "myositis": 4, "urinary_casts": 4, "hematuria": 4, "proteinuria": 4, "pyuria": 4,
    "rash": 2, "alopecia": 2, "mucosal_ulcers": 2, "pleurisy": 2, "pericarditis": 2,
    "low_complement": 2, "increased_dna_binding": 2,
    "fever": 1, "thrombocytopenia": 1, "leukopenia": 1,
}

# 2019 EULAR/ACR item -> (domain, weight) (Aringer 2019). Only the highest item of a domain counts.
EULAR_ACR_2019_ITEMS: dict[str, tuple[str, int]] = {
    "fever": ("constitutional", 2),
    "leukopenia": ("hematologic", 3),
    "thrombocytopenia": ("hematologic", 4),
    "autoimmune_hemolysis": ("hematologic", 4),
    "delirium": ("neuropsychiatric", 2),
    "psychosis": ("neuropsychiatric", 3),
    "seizure": ("neuropsychiatric", 5),
    "non_scarring_alopecia": ("mucocutaneous", 2),
    "oral_ulcers": ("mucocutaneous", 2),
    "subacute_cutaneous_or_discoid_lupus": ("mucocutaneous", 4),
    "acute_cutaneous_lupus": ("mucocutaneous", 6),
    "pleural_or_pericardial_effusion": ("serosal", 5),
    "acute_pericarditis": ("serosal", 6),
    "joint_involvement": ("musculoskeletal", 6),
    "proteinuria_gt_0_5g": ("renal", 4),
    "renal_class_ii_or_v": ("renal", 8),
    "renal_class_iii_or_iv": ("renal", 10),
    "antiphospholipid_antibodies": ("antiphospholipid", 2),
    "low_c3_or_c4": ("complement", 3),
    "low_c3_and_c4": ("complement", 4),
    "anti_dsdna_or_anti_sm": ("sle_specific_antibodies", 6),
}

EULAR_ACR_2019_CLINICAL_DOMAINS = frozenset({
    "constitutional", "hematologic", "neuropsychiatric", "mucocutaneous", "serosal",
    "musculoskeletal", "renal",
})

# Descriptors of the SLEDAI-2K and items of the 2019 EULAR/ACR criteria, as a physician reads them.
SLEDAI_2K_LABELS: dict[str, str] = {
    "seizure": "seizure", "psychosis": "psychosis", "organic_brain_syndrome": "organic brain syndrome",
    "visual_disturbance": "visual disturbance", "cranial_nerve_disorder": "cranial nerve disorder",
    "lupus_headache": "lupus headache", "cva": "cerebrovascular accident", "vasculitis": "vasculitis",
    "arthritis": "arthritis", "myositis": "myositis", "urinary_casts": "urinary casts",
    "hematuria": "hematuria", "proteinuria": "proteinuria", "pyuria": "pyuria", "rash": "rash",
    "alopecia": "alopecia", "mucosal_ulcers": "mucosal ulcers", "pleurisy": "pleurisy",
    "pericarditis": "pericarditis", "low_complement": "low complement",
    "increased_dna_binding": "increased DNA binding (anti-dsDNA)", "fever": "fever",
    "thrombocytopenia": "thrombocytopenia", "leukopenia": "leukopenia",
}

EULAR_ACR_2019_LABELS: dict[str, str] = {
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
}

# mg of each glucocorticoid equal to 5 mg prednisone (criteria.md, "Derived facts").
GLUCOCORTICOID_MG_PER_5MG_PREDNISONE: dict[str, float] = {
    "prednisone": 5, "prednisolone": 5, "methylprednisolone": 4, "triamcinolone": 4,
    "hydrocortisone": 20, "cortisone": 25, "dexamethasone": 0.75, "betamethasone": 0.75,
}

Dmard = Literal[DMARDS]  # type: ignore[valid-type]
CardiacCondition = Literal[CARDIAC_CONDITIONS]  # type: ignore[valid-type]
LnClass = Literal[LN_CLASSES]  # type: ignore[valid-type]
SledaiItem = Literal[tuple(SLEDAI_2K_WEIGHTS)]  # type: ignore[valid-type]
EularItem = Literal[tuple(EULAR_ACR_2019_ITEMS)]  # type: ignore[valid-type]
Glucocorticoid = Literal[tuple(GLUCOCORTICOID_MG_PER_5MG_PREDNISONE)]  # type: ignore[valid-type]

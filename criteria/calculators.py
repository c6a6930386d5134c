"""Clinical calculators the protocol relies on. Pure functions over already-validated inputs."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from .codes import (
    EULAR_ACR_2019_CLINICAL_DOMAINS,
    EULAR_ACR_2019_ITEMS,
    GLUCOCORTICOID_MG_PER_5MG_PREDNISONE,
    SLEDAI_2K_WEIGHTS,
)

UMOL_PER_MG_DL_CREATININE = 88.4
SCHWARTZ_BEDSIDE_K = 0.413
EULAR_ACR_2019_THRESHOLD = 10


def sledai_2k(items: Iterable[str]) -> int:
    """SLEDAI-2K score: the sum of the weights of the descriptors present, each counted once."""
    return sum(SLEDAI_2K_WEIGHTS[item] for item in set(items))


@dataclass(frozen=True)
class EularAcrResult:
    total: int
    domain_scores: dict[str, int]
    has_clinical_item: bool
    # None when ANA is unknown and the score alone cannot decide.
    classified: bool | None


def eular_acr_2019(ana_ge_1_80: bool | None, items: Iterable[str] | None) -> EularAcrResult:
    """2019 EULAR/ACR classification: ANA ≥ 1:80 as entry criterion, the highest item per domain,
    at least one clinical item, and a total of at least 10. ``items`` None means not yet known: only a
    negative ANA decides then."""
    if items is None:
        return EularAcrResult(0, {}, False, False if ana_ge_1_80 is False else None)
    domain_scores: dict[str, int] = {}
    for item in set(items):
        domain, weight = EULAR_ACR_2019_ITEMS[item]
        domain_scores[domain] = max(domain_scores.get(domain, 0), weight)
    total = sum(domain_scores.values())
    has_clinical = any(d in EULAR_ACR_2019_CLINICAL_DOMAINS for d in domain_scores)
    if ana_ge_1_80 is False or total < EULAR_ACR_2019_THRESHOLD or not has_clinical:
        classified: bool | None = False
    elif ana_ge_1_80 is True:
        classified = True
    else:
        classified = None
    return EularAcrResult(total, domain_scores, has_clinical, classified)


@dataclass(frozen=True)
class ScoreRange:
    """A score from a partial item list: ``low`` counts the items present, ``high`` the present and the
    not-assessed ones (criteria.md, "Derived facts"). Complete lists give ``low == high``."""

    low: int
    high: int
    unknown: tuple[str, ...]  # the items not assessed (not also present), in code order

    @property
    def decided(self) -> bool:
        return self.low == self.high


def sledai_2k_range(items: Iterable[str], unknown: Iterable[str] = ()) -> ScoreRange:
    return _sledai_2k_range(frozenset(items), frozenset(unknown))


# Pure, and few distinct item lists occur: evaluate() asks for the same ranges again and again.
@functools.lru_cache(maxsize=4096)
def _sledai_2k_range(present: frozenset[str], unknown: frozenset[str]) -> ScoreRange:
    not_assessed = unknown - present
    open_ = tuple(code for code in SLEDAI_2K_WEIGHTS if code in not_assessed)
    low = sledai_2k(present)
    return ScoreRange(low, low + sum(SLEDAI_2K_WEIGHTS[c] for c in open_), open_)


@dataclass(frozen=True)
class EularAcrRange:
    """The 2019 EULAR/ACR classification from a partial item list: totals with the items present (low)
    and with the not-assessed ones too (high), and whether a clinical item is present (True), possible
    (None) or impossible (False)."""

    total: ScoreRange
    clinical: bool | None
    classified: bool | None


def _eular_total(items: Iterable[str]) -> int:
    domain_scores: dict[str, int] = {}
    for item in items:
        domain, weight = EULAR_ACR_2019_ITEMS[item]
        domain_scores[domain] = max(domain_scores.get(domain, 0), weight)
    return sum(domain_scores.values())


def eular_acr_2019_range(ana_ge_1_80: bool | None, items: Iterable[str] | None,
                         unknown: Iterable[str] = ()) -> EularAcrRange | None:
    """Classification over a partial list; None when ``items`` is None (only a negative ANA decides then,
    which the caller handles)."""
    if items is None:
        return None
    return _eular_acr_2019_range(ana_ge_1_80, frozenset(items), frozenset(unknown))


@functools.lru_cache(maxsize=4096)
def _eular_acr_2019_range(ana_ge_1_80: bool | None, present: frozenset[str],
                          unknown: frozenset[str]) -> EularAcrRange:
    not_assessed = unknown - present
    open_ = tuple(code for code in EULAR_ACR_2019_ITEMS if code in not_assessed)
    total = ScoreRange(_eular_total(present), _eular_total(present | set(open_)), open_)
    clinical_present = any(EULAR_ACR_2019_ITEMS[i][0] in EULAR_ACR_2019_CLINICAL_DOMAINS for i in present)
    clinical_open = any(EULAR_ACR_2019_ITEMS[i][0] in EULAR_ACR_2019_CLINICAL_DOMAINS for i in open_)
    clinical = True if clinical_present else (None if clinical_open else False)
    if ana_ge_1_80 is False or total.high < EULAR_ACR_2019_THRESHOLD or clinical is False:
        classified: bool | None = False
    elif ana_ge_1_80 is True and total.low >= EULAR_ACR_2019_THRESHOLD and clinical is True:
        classified = True
    else:
        classified = None
    return EularAcrRange(total, clinical, classified)


def creatinine_mg_dl(value: float, unit: str) -> float:
    if unit == "mg/dL":
        return value
    if unit == "umol/L":
        return value / UMOL_PER_MG_DL_CREATININE
    raise ValueError(f"unknown creatinine unit {unit!r}")


def schwartz_bedside_egfr(height_cm: float, creatinine: float, unit: str) -> float:
    """Bedside Schwartz (2009): eGFR = 0.413 × height (cm) / creatinine (mg/dL), in mL/min/1.73 m²."""
    return SCHWARTZ_BEDSIDE_K * height_cm / creatinine_mg_dl(creatinine, unit)


def prednisone_equivalent_mg(drug: str, mg_per_day: float) -> float:
    return mg_per_day * 5 / GLUCOCORTICOID_MG_PER_5MG_PREDNISONE[drug]


def prednisone_mg_kg_day(drug: str, mg_per_day: float, weight_kg: float) -> float:
    return prednisone_equivalent_mg(drug, mg_per_day) / weight_kg

"""Derived facts (criteria.md, "Derived facts"): what calculator inputs decide, the ranges that partial
item lists give, and the contradictions between a given fact and the inputs that decide it.

``derive`` runs once, when the facts model validates a referral; ``evaluate`` reuses its result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from . import calculators
from .codes import EULAR_ACR_2019_LABELS, SLEDAI_2K_LABELS
from .labels import fmt_number

if TYPE_CHECKING:
    from .facts import Facts

EGFR_TOLERANCE = 1.0
DOSE_TOLERANCE = 0.05  # mg/day against mg/kg/day × weight
# Binary floating point must not turn "exactly 1 apart" into a contradiction (0.413 × 140 / 0.7 is
# 82.60000000000001, so 81.6 would otherwise differ by 1.0000000000000142).
_FLOAT_SLACK = 1e-9
SLEDAI_TARGET = 5  # childhood LLDAS needs SLEDAI-2K ≤ 4
GC_MG_KG_DAY = 1.0
GC_MG_DAY = 60.0
TAPER_FLOOR = 0.5
# The valid range of weight_kg (criteria.md, "Facts"): which weights a referral can still give.
WEIGHT_KG_RANGE = (5, 250)


class Derived(NamedTuple):
    """What the calculator inputs say about one fact.

    ``value`` None: the inputs are given but cannot decide, and the fact is unknown even when it is also
    given. ``inputs`` are the keys it was worked out from (the first names the calculator input);
    ``why`` says how, with the numbers; ``open`` lists what could still decide it; ``range`` is the
    score's range when only a partial item list is known."""

    value: Any
    inputs: tuple[str, ...]
    # The explanation, or a function that writes it: most evaluations never show it, and formatting the
    # numbers of every derived fact would be a good part of evaluate()'s time.
    explain: str | Callable[[], str] = ""
    open: tuple[str, ...] = ()
    range: tuple[float, float] | None = None

    @property
    def source(self) -> str:
        return self.inputs[0]

    @property
    def why(self) -> str:
        return self.explain if isinstance(self.explain, str) else self.explain()


class Contradiction(ValueError):
    """Two given facts that cannot both be true; the message names both keys."""


def derive(f: Facts) -> dict[str, Derived]:
    out: dict[str, Derived] = {}
    _sledai(f, out)
    _target(f, out)
    _eular(f, out)
    _glucocorticoids(f, out)
    _taper(f, out)
    _egfr(f, out)
    return out


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _disagree(named: str, fact: str, value: Any, given: Any) -> Contradiction:
    return Contradiction(f"contradiction between {named} and {fact}: the inputs give {fact} = {_fmt(value)}, "
                         f"but {fact} = {_fmt(given)} was given")


def _both(key: str, other: str, codes: set[str]) -> Contradiction:
    return Contradiction(f"contradiction between {key} and {other}: {', '.join(sorted(codes))} cannot be both "
                         "present and not assessed")


def _sledai(f: Facts, out: dict[str, Derived]) -> None:
    if f.sledai_2k_items is None:
        return  # sledai_2k_unknown alone gives no range: the absent descriptors are unknown too
    unknown = f.sledai_2k_unknown or []
    if both := set(f.sledai_2k_items) & set(unknown):
        raise _both("sledai_2k_items", "sledai_2k_unknown", both)
    r = calculators.sledai_2k_range(f.sledai_2k_items, unknown)
    if r.decided:
        if f.sledai_2k is not None and f.sledai_2k != r.low:
            raise _disagree("sledai_2k_items", "sledai_2k", r.low, f.sledai_2k)
        out["sledai_2k"] = Derived(r.low, ("sledai_2k_items",), lambda: f"SLEDAI-2K descriptors add up to {r.low}")
        return
    if f.sledai_2k is not None and not r.low <= f.sledai_2k <= r.high:
        raise Contradiction(
            f"contradiction between sledai_2k_items (with sledai_2k_unknown) and sledai_2k: the descriptors give "
            f"a SLEDAI-2K of {r.low}–{r.high}, but sledai_2k = {f.sledai_2k} was given")
    out["sledai_2k"] = Derived(
        None, ("sledai_2k_items", "sledai_2k_unknown"),
        lambda: f"SLEDAI-2K {r.low}–{r.high} ({_listed(SLEDAI_2K_LABELS[c] for c in r.unknown)} not assessed)",
        tuple(f"sledai_2k_items.{c}" for c in r.unknown), (r.low, r.high))


def _target(f: Facts, out: dict[str, Derived]) -> None:
    sledai = out.get("sledai_2k")
    if sledai is not None and sledai.range is not None:
        low, high = sledai.range
        score, inputs, shown = low, sledai.inputs, f"SLEDAI-2K {low}–{high}"
    elif sledai is not None:
        score, inputs, shown = sledai.value, sledai.inputs, f"SLEDAI-2K {sledai.value}"
    elif f.sledai_2k is not None:
        score, inputs, shown = f.sledai_2k, ("sledai_2k",), f"SLEDAI-2K {f.sledai_2k}"
    else:
        return
    if score < SLEDAI_TARGET:
        return  # a low score alone does not show LLDAS (its other conditions are unknown)
    if f.target_not_reached is False:
        raise Contradiction(
            f"contradiction between {inputs[0]} and target_not_reached: {shown} ≥ {SLEDAI_TARGET} means the child "
            f"is not in LLDAS or remission (the childhood LLDAS needs SLEDAI-2K ≤ {SLEDAI_TARGET - 1}), but "
            "target_not_reached = false was given")
    out["target_not_reached"] = Derived(True, inputs, lambda: f"{shown} ≥ {SLEDAI_TARGET}")


def _eular(f: Facts, out: dict[str, Derived]) -> None:
    e = f.eular_acr_2019
    if e is None:
        return
    if e.items is not None and (both := set(e.items) & set(e.unknown_items or ())):
        raise _both("eular_acr_2019.items", "eular_acr_2019.unknown_items", both)
    r = calculators.eular_acr_2019_range(e.ana_ge_1_80, e.items, e.unknown_items or ())
    if r is None:  # without items only a negative ANA decides
        if e.ana_ge_1_80 is False:
            d = Derived(False, ("eular_acr_2019",), "ANA ≥ 1:80: no")
        else:
            wanted = ("eular_acr_2019.items",) if e.ana_ge_1_80 else ("eular_acr_2019.ana_ge_1_80",
                                                                     "eular_acr_2019.items")
            d = Derived(None, ("eular_acr_2019",), "2019 EULAR/ACR items not known", wanted)
    else:
        d = _classification(r, e.ana_ge_1_80)
    if d.value is not None and f.sle_eular_acr_2019 is not None and d.value != f.sle_eular_acr_2019:
        raise _disagree("eular_acr_2019", "sle_eular_acr_2019", d.value, f.sle_eular_acr_2019)
    out["sle_eular_acr_2019"] = d
    if r is not None:
        out["eular_acr_2019_total"] = Derived(r.total.low if r.total.decided else None, ("eular_acr_2019",),
                                              range=None if r.total.decided else (r.total.low, r.total.high))


def _classification(r: calculators.EularAcrRange, ana: bool | None) -> Derived:
    t = r.total
    threshold = calculators.EULAR_ACR_2019_THRESHOLD

    def total() -> str:
        return f"2019 EULAR/ACR total {t.low}" if t.decided else f"2019 EULAR/ACR total {t.low}–{t.high}"

    def open_items() -> str:
        return f" ({_listed(EULAR_ACR_2019_LABELS[c] for c in t.unknown)} not assessed)" if t.unknown else ""

    if r.classified is False:
        def why() -> str:
            reasons = []
            if ana is False:
                reasons.append("ANA ≥ 1:80: no")
            if t.high < threshold:
                reasons.append(f"{total()} < {threshold}{open_items()}")
            if r.clinical is False:
                reasons.append("no clinical 2019 EULAR/ACR item")
            return "; ".join(reasons)
        return Derived(False, ("eular_acr_2019",), why)
    if r.classified is True:
        return Derived(True, ("eular_acr_2019",),
                       lambda: f"{total()} ≥ {threshold} with ANA ≥ 1:80 and a clinical item")
    wanted = ["eular_acr_2019.ana_ge_1_80"] if ana is None else []
    if t.low < threshold or r.clinical is None:
        wanted += [f"eular_acr_2019.items.{c}" for c in t.unknown]
    return Derived(None, ("eular_acr_2019",),
                   lambda: f"{total()}{open_items()}" + ("; ANA ≥ 1:80 not known" if ana is None else ""),
                   tuple(wanted))


def _glucocorticoids(f: Facts, out: dict[str, Derived]) -> None:
    per_kg, per_day, weight = f.gc_peak_mg_kg_day, f.gc_peak_mg_day, f.weight_kg
    if per_kg is None and per_day is None:
        return
    if per_kg is not None and per_day is not None and weight is not None:
        expected = per_kg * weight
        if abs(per_day - expected) > DOSE_TOLERANCE * expected + _FLOAT_SLACK:
            raise Contradiction(
                f"contradiction between gc_peak_mg_kg_day, weight_kg and gc_peak_mg_day: {fmt_number(per_kg)} "
                f"mg/kg/day × {fmt_number(weight)} kg = {fmt_number(expected)} mg/day, but gc_peak_mg_day = "
                f"{fmt_number(per_day)} was given (more than {DOSE_TOLERANCE * 100:g} % apart)")
    if weight is not None and per_day is None:
        per_day = per_kg * weight
        out["gc_peak_mg_day"] = Derived(per_day, ("gc_peak_mg_kg_day", "weight_kg"),
                                        lambda: f"{fmt_number(per_kg)} mg/kg/day × {fmt_number(weight)} kg")
    elif weight is not None and per_kg is None:
        per_kg = per_day / weight
        out["gc_peak_mg_kg_day"] = Derived(per_kg, ("gc_peak_mg_day", "weight_kg"),
                                           lambda: f"{fmt_number(per_day)} mg/day / {fmt_number(weight)} kg")
    inputs = tuple(k for k, v in (("gc_peak_mg_kg_day", f.gc_peak_mg_kg_day), ("gc_peak_mg_day", f.gc_peak_mg_day),
                                  ("weight_kg", weight)) if v is not None)
    d = _high_dose(per_kg, per_day, inputs, f.gc_high_dose)
    if d.value is not None and f.gc_high_dose is not None and d.value != f.gc_high_dose:
        named = " and ".join(inputs)
        raise _disagree(named, "gc_high_dose", d.value, f.gc_high_dose)
    out["gc_high_dose"] = d


def _high_dose(per_kg: float | None, per_day: float | None, inputs: tuple[str, ...],
               given: bool | None) -> Derived:
    def kg_day() -> str:
        return f"{fmt_number(per_kg)} mg/kg/day"

    def mg_day() -> str:
        return f"{fmt_number(per_day)} mg/day"

    kg_high = per_kg is not None and per_kg >= GC_MG_KG_DAY
    day_high = per_day is not None and per_day >= GC_MG_DAY
    if kg_high or day_high:
        return Derived(True, inputs, lambda: "peak dose " + " and ".join(
            ([f"{kg_day()} ≥ {GC_MG_KG_DAY:g}"] if kg_high else []) + ([f"{mg_day()} ≥ {GC_MG_DAY:g}"] if day_high
                                                                       else [])))
    if per_kg is not None and per_day is not None:
        return Derived(False, inputs, lambda: f"peak dose {kg_day()} < {GC_MG_KG_DAY:g} and {mg_day()} < "
                                              f"{GC_MG_DAY:g}")
    # One figure below its threshold, the other unknown: cannot decide. The other figure can decide, and so
    # can the weight (it gives the other figure), unless every valid weight gives a result that contradicts
    # a given gc_high_dose: then no weight can change a verdict, and it is not missing. 0 mg/day is
    # 0 mg/kg/day whatever the weight, and 3 mg/day is below 1 mg/kg/day for every weight of 5 kg or more:
    # with high dose given as yes, only the mg/kg/day figure can still agree.
    other = "gc_peak_mg_day" if per_kg is not None else "gc_peak_mg_kg_day"
    weight_helps = given is None or _some_weight_gives(given, per_kg, per_day)
    return Derived(None, inputs, lambda: "peak dose " + (f"{kg_day()} < {GC_MG_KG_DAY:g}" if per_kg is not None
                                                         else f"{mg_day()} < {GC_MG_DAY:g}")
                   + ("; the other figure needs the weight" if weight_helps else
                      f"; no weight of {WEIGHT_KG_RANGE[0]:g}–{WEIGHT_KG_RANGE[1]:g} kg makes it a high dose, only "
                      f"the {'mg/day' if per_kg is not None else 'mg/kg/day'} figure can"),
                   (other, "weight_kg") if weight_helps else (other,))


def _some_weight_gives(high: bool, per_kg: float | None, per_day: float | None) -> bool:
    """Whether a weight in the valid range, with the one dose figure known (below its threshold), gives
    ``high`` as the high-dose result (the other figure as _glucocorticoids works it out)."""
    lo, hi = WEIGHT_KG_RANGE
    if per_kg is not None:  # mg/day = mg/kg/day × weight: highest at the heaviest weight, lowest at the lightest
        return per_kg * hi >= GC_MG_DAY if high else per_kg * lo < GC_MG_DAY
    assert per_day is not None  # mg/kg/day = mg/day / weight: highest at the lightest weight
    return per_day / lo >= GC_MG_KG_DAY if high else per_day / hi < GC_MG_KG_DAY


def _taper(f: Facts, out: dict[str, Derived]) -> None:
    floor = f.gc_taper_floor_mg_kg_day
    if floor is None:
        return
    value = floor >= TAPER_FLOOR
    if f.steroid_dependent is not None and f.steroid_dependent != value:
        raise _disagree("gc_taper_floor_mg_kg_day", "steroid_dependent", value, f.steroid_dependent)
    op = "≥" if value else "<"
    out["steroid_dependent"] = Derived(value, ("gc_taper_floor_mg_kg_day",),
                                       lambda: f"flared at {fmt_number(floor)} mg/kg/day {op} {TAPER_FLOOR:g}")


def _egfr(f: Facts, out: dict[str, Derived]) -> None:
    if f.creatinine is None or f.creatinine_unit is None or f.height_cm is None:
        return
    value = calculators.schwartz_bedside_egfr(f.height_cm, f.creatinine, f.creatinine_unit)
    if f.egfr is not None and abs(f.egfr - value) > EGFR_TOLERANCE + _FLOAT_SLACK:
        raise _disagree("creatinine (with creatinine_unit and height_cm)", "egfr", value, f.egfr)
    out["egfr"] = Derived(value, ("creatinine", "creatinine_unit", "height_cm"),
                          lambda: f"bedside Schwartz from creatinine {fmt_number(f.creatinine)} {f.creatinine_unit} "
                                  f"and height {fmt_number(f.height_cm)} cm")

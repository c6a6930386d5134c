"""Derived facts (criteria.md, "Derived facts"): what calculator inputs decide, the ranges that partial
item lists give, and the contradictions between a given fact and the inputs that decide it.

``derive`` runs once, when the facts model validates a referral; ``evaluate`` reuses its result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from . import calculators
from . import messages as m
from .codes import EULAR_ACR_2019_LABELS, SLEDAI_2K_LABELS
from .labels import fmt_number
from .messages import Code, Joined, Key, Msg, Qty, Word, english

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
    # The explanation (a message template with its numbers: criteria.messages), or a function that writes
    # it: most evaluations never show it, and formatting the numbers of every derived fact would be a good
    # part of evaluate()'s time.
    explain: Msg | str | Callable[[], Msg | str] = ""
    open: tuple[str, ...] = ()
    range: tuple[float, float] | None = None

    @property
    def source(self) -> str:
        return self.inputs[0]

    @property
    def says(self) -> Msg | str:
        """The explanation as a message an edge can translate."""
        return self.explain() if callable(self.explain) else self.explain

    @property
    def why(self) -> str:
        """The explanation in English."""
        return english(self.says)


class Contradiction(ValueError):
    """Two given facts that cannot both be true; the message names both keys. ``said`` is the message as a
    template (criteria.messages), ``str()`` its English."""

    def __init__(self, said: Msg):
        super().__init__(english(said))
        self.said = said


def derive(f: Facts) -> dict[str, Derived]:
    out: dict[str, Derived] = {}
    _sledai(f, out)
    _target(f, out)
    _eular(f, out)
    _glucocorticoids(f, out)
    _taper(f, out)
    _egfr(f, out)
    return out


def _listed(names: Iterable[str]) -> Joined:
    return Joined(tuple(Word(n) for n in names), ", ", " and ")


def fmt_value(value: Any) -> Word | str:
    if isinstance(value, bool):
        return Word("true" if value else "false")
    if isinstance(value, str):  # a code word ("male")
        return Word(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _disagree(named: Any, fact: str, value: Any, given: Any) -> Contradiction:
    named = Key(named) if isinstance(named, str) else named
    return Contradiction(m.msg(m.DISAGREE, named=named, fact=Key(fact), value=fmt_value(value),
                               given=fmt_value(given)))


def _both(key: str, other: str, codes: set[str]) -> Contradiction:
    return Contradiction(m.msg(m.BOTH_PRESENT_AND_NOT_ASSESSED, key=Key(key), other=Key(other),
                               codes=Joined(tuple(Code(key, c) for c in sorted(codes)))))


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
        out["sledai_2k"] = Derived(r.low, ("sledai_2k_items",), lambda: m.msg(m.SLEDAI_ADDS_UP, score=str(r.low)))
        return
    if f.sledai_2k is not None and not r.low <= f.sledai_2k <= r.high:
        raise Contradiction(m.msg(m.SLEDAI_OUTSIDE_RANGE, low=str(r.low), high=str(r.high), given=str(f.sledai_2k)))
    out["sledai_2k"] = Derived(
        None, ("sledai_2k_items", "sledai_2k_unknown"),
        lambda: m.msg(m.NOT_ASSESSED, what=m.msg(m.SLEDAI_RANGE, low=str(r.low), high=str(r.high)),
                      items=_listed(SLEDAI_2K_LABELS[c] for c in r.unknown)),
        tuple(f"sledai_2k_items.{c}" for c in r.unknown), (r.low, r.high))


def _target(f: Facts, out: dict[str, Derived]) -> None:
    sledai = out.get("sledai_2k")
    if sledai is not None and sledai.range is not None:
        low, high = sledai.range
        score, inputs, shown = low, sledai.inputs, m.msg(m.SLEDAI_RANGE, low=str(low), high=str(high))
    elif sledai is not None:
        score, inputs, shown = sledai.value, sledai.inputs, m.msg(m.SLEDAI_SCORE, score=str(sledai.value))
    elif f.sledai_2k is not None:
        score, inputs, shown = f.sledai_2k, ("sledai_2k",), m.msg(m.SLEDAI_SCORE, score=str(f.sledai_2k))
    else:
        return
    if score < SLEDAI_TARGET:
        return  # a low score alone does not show LLDAS (its other conditions are unknown)
    if f.target_not_reached is False:
        raise Contradiction(m.msg(m.TARGET_CONTRADICTED, input=Key(inputs[0]), shown=shown, target=str(SLEDAI_TARGET),
                                  lldas=str(SLEDAI_TARGET - 1)))
    out["target_not_reached"] = Derived(True, inputs, lambda: m.msg(m.AT_LEAST, shown=shown,
                                                                    threshold=str(SLEDAI_TARGET)))


def _eular(f: Facts, out: dict[str, Derived]) -> None:
    e = f.eular_acr_2019
    if e is None:
        return
    if e.items is not None and (both := set(e.items) & set(e.unknown_items or ())):
        raise _both("eular_acr_2019.items", "eular_acr_2019.unknown_items", both)
    r = calculators.eular_acr_2019_range(e.ana_ge_1_80, e.items, e.unknown_items or ())
    if r is None:  # without items only a negative ANA decides
        if e.ana_ge_1_80 is False:
            d = Derived(False, ("eular_acr_2019",), m.msg(m.ANA_NO))
        else:
            wanted = ("eular_acr_2019.items",) if e.ana_ge_1_80 else ("eular_acr_2019.ana_ge_1_80",
                                                                     "eular_acr_2019.items")
            d = Derived(None, ("eular_acr_2019",), m.msg(m.EULAR_ITEMS_NOT_KNOWN), wanted)
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

    def total() -> Msg:
        return m.msg(m.EULAR_TOTAL, total=str(t.low)) if t.decided else \
            m.msg(m.EULAR_TOTAL_RANGE, low=str(t.low), high=str(t.high))

    def open_items() -> Joined:
        return _listed(EULAR_ACR_2019_LABELS[c] for c in t.unknown)

    if r.classified is False:
        def why() -> Msg:
            reasons: list[Msg] = []
            if ana is False:
                reasons.append(m.msg(m.ANA_NO))
            if t.high < threshold:
                reasons.append(m.msg(m.BELOW_NOT_ASSESSED, shown=total(), threshold=str(threshold),
                                     items=open_items()) if t.unknown else
                               m.msg(m.BELOW, shown=total(), threshold=str(threshold)))
            if r.clinical is False:
                reasons.append(m.msg(m.EULAR_NO_CLINICAL))
            return m.msg(m.ALL, items=Joined(tuple(reasons), "; "))
        return Derived(False, ("eular_acr_2019",), why)
    if r.classified is True:
        return Derived(True, ("eular_acr_2019",),
                       lambda: m.msg(m.EULAR_CLASSIFIED, total=total(), threshold=str(threshold)))
    wanted = ["eular_acr_2019.ana_ge_1_80"] if ana is None else []
    if t.low < threshold or r.clinical is None:
        wanted += [f"eular_acr_2019.items.{c}" for c in t.unknown]

    def undecided() -> Msg:
        shown = m.msg(m.NOT_ASSESSED, what=total(), items=open_items()) if t.unknown else total()
        return m.msg(m.ALL, items=Joined((shown, m.msg(m.ANA_NOT_KNOWN)), "; ")) if ana is None else shown
    return Derived(None, ("eular_acr_2019",), undecided, tuple(wanted))


def _glucocorticoids(f: Facts, out: dict[str, Derived]) -> None:
    per_kg, per_day, weight = f.gc_peak_mg_kg_day, f.gc_peak_mg_day, f.weight_kg
    if per_kg is None and per_day is None:
        return
    if per_kg is not None and per_day is not None and weight is not None:
        expected = per_kg * weight
        if abs(per_day - expected) > DOSE_TOLERANCE * expected + _FLOAT_SLACK:
            raise Contradiction(m.msg(
                m.DOSE_CONTRADICTED, per_kg=Qty("gc_peak_mg_kg_day", per_kg), weight=Qty("weight_kg", weight),
                expected=Qty("gc_peak_mg_day", expected), per_day=fmt_number(per_day),
                tolerance=f"{DOSE_TOLERANCE * 100:g}"))
    if weight is not None and per_day is None:
        per_day = per_kg * weight
        out["gc_peak_mg_day"] = Derived(per_day, ("gc_peak_mg_kg_day", "weight_kg"),
                                        lambda: m.msg(m.DOSE_TIMES_WEIGHT, dose=Qty("gc_peak_mg_kg_day", per_kg),
                                                      weight=Qty("weight_kg", weight)))
    elif weight is not None and per_kg is None:
        per_kg = per_day / weight
        out["gc_peak_mg_kg_day"] = Derived(per_kg, ("gc_peak_mg_day", "weight_kg"),
                                           lambda: m.msg(m.DOSE_PER_WEIGHT, dose=Qty("gc_peak_mg_day", per_day),
                                                         weight=Qty("weight_kg", weight)))
    inputs = tuple(k for k, v in (("gc_peak_mg_kg_day", f.gc_peak_mg_kg_day), ("gc_peak_mg_day", f.gc_peak_mg_day),
                                  ("weight_kg", weight)) if v is not None)
    d = _high_dose(per_kg, per_day, inputs, f.gc_high_dose)
    if d.value is not None and f.gc_high_dose is not None and d.value != f.gc_high_dose:
        raise _disagree(Joined(tuple(Key(k) for k in inputs), " and "), "gc_high_dose", d.value, f.gc_high_dose)
    out["gc_high_dose"] = d


def _high_dose(per_kg: float | None, per_day: float | None, inputs: tuple[str, ...],
               given: bool | None) -> Derived:
    def kg_day() -> Qty:
        assert per_kg is not None
        return Qty("gc_peak_mg_kg_day", per_kg)

    def mg_day() -> Qty:
        assert per_day is not None
        return Qty("gc_peak_mg_day", per_day)

    kg_high = per_kg is not None and per_kg >= GC_MG_KG_DAY
    day_high = per_day is not None and per_day >= GC_MG_DAY
    if kg_high or day_high:
        return Derived(True, inputs, lambda: m.msg(m.PEAK_DOSE, doses=Joined(tuple(
            ([m.msg(m.AT_LEAST, shown=kg_day(), threshold=f"{GC_MG_KG_DAY:g}")] if kg_high else [])
            + ([m.msg(m.AT_LEAST, shown=mg_day(), threshold=f"{GC_MG_DAY:g}")] if day_high else [])), " and ")))
    if per_kg is not None and per_day is not None:
        return Derived(False, inputs, lambda: m.msg(m.PEAK_DOSE_BOTH_LOW, per_kg=kg_day(), kg_limit=f"{GC_MG_KG_DAY:g}",
                                                    per_day=mg_day(), day_limit=f"{GC_MG_DAY:g}"))
    # One figure below its threshold, the other unknown: cannot decide. The other figure can decide, and so
    # can the weight (it gives the other figure), unless every valid weight gives a result that contradicts
    # a given gc_high_dose: then no weight can change a verdict, and it is not missing. 0 mg/day is
    # 0 mg/kg/day whatever the weight, and 3 mg/day is below 1 mg/kg/day for every weight of 5 kg or more:
    # with high dose given as yes, only the mg/kg/day figure can still agree.
    other = "gc_peak_mg_day" if per_kg is not None else "gc_peak_mg_kg_day"
    weight_helps = given is None or _some_weight_gives(given, per_kg, per_day)
    def why() -> Msg:
        dose, limit = (kg_day(), f"{GC_MG_KG_DAY:g}") if per_kg is not None else (mg_day(), f"{GC_MG_DAY:g}")
        if weight_helps:
            return m.msg(m.PEAK_DOSE_NEEDS_WEIGHT, dose=dose, limit=limit)
        return m.msg(m.PEAK_DOSE_NO_WEIGHT, dose=dose, limit=limit, low=f"{WEIGHT_KG_RANGE[0]:g}",
                     high=f"{WEIGHT_KG_RANGE[1]:g}", unit=Word("mg/day" if per_kg is not None else "mg/kg/day"))
    return Derived(None, inputs, why, (other, "weight_kg") if weight_helps else (other,))


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
                                       lambda: m.msg(m.FLARED_AT, floor=Qty("gc_taper_floor_mg_kg_day", floor), op=op,
                                                     limit=f"{TAPER_FLOOR:g}"))


def _egfr(f: Facts, out: dict[str, Derived]) -> None:
    if f.creatinine is None or f.creatinine_unit is None or f.height_cm is None:
        return
    value = calculators.schwartz_bedside_egfr(f.height_cm, f.creatinine, f.creatinine_unit)
    if f.egfr is not None and abs(f.egfr - value) > EGFR_TOLERANCE + _FLOAT_SLACK:
        raise _disagree(m.msg(m.WITH, key=Key("creatinine"), others=Joined((Key("creatinine_unit"),
                                                                              Key("height_cm")), " and ")),
                        "egfr", value, f.egfr)
    out["egfr"] = Derived(value, ("creatinine", "creatinine_unit", "height_cm"),
                          lambda: m.msg(m.SCHWARTZ_FROM, creatinine=f"{fmt_number(f.creatinine)} {f.creatinine_unit}",
                                        height=Qty("height_cm", f.height_cm)))

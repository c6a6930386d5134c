"""Quantities as physicians type them: a number with its unit, converted to the unit of the fact
("1.5 yrs" → 18 months, "weight 97 pounds" → 44.0 kg, "4 ft 10 in" → 147.3 cm), a lab value with the lab's
upper limit of normal ("52 (upper limit 34)" → 1.53 × ULN), a glucocorticoid dose with its frequency
("15 mg four times a day" → 60 mg/day). Whatever cannot be read without a guess that could change a
verdict is asked back (AnswerError), never read as something else: "8 weeks" is never 8 months, "Cr 0.7"
has no unit, "80 IU/L" has no upper limit.

Pure: no I/O. The units are defined here (pint, with a registry of our own definitions: no file is read);
the spellings physicians type are data (``DURATION``, ``MASS``, ``LENGTH``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pint

from .answers import AnswerError, Reading, normalise, read_number, whole
from .messages import M, msg

# ---- units ------------------------------------------------------------------------------------------------
# A week is 7 days, a month 30.44 days, a year 12 months (answers-sample.md); a pound is 453.59237 g.
UNIT_DEFINITIONS = (
    "day = [time]",
    "week = 7 * day",
    "month = 30.44 * day",
    "year = 12 * month",
    "gram = [mass]",
    "microgram = gram / 1000000",
    "milligram = gram / 1000",
    "kilogram = 1000 * gram",
    "pound = 453.59237 * gram",
    "ounce = pound / 16",
    "metre = [length]",
    "millimetre = metre / 1000",
    "centimetre = metre / 100",
    "inch = 2.54 * centimetre",
    "foot = 12 * inch",
    "percent = [fraction]",
)


def _registry() -> pint.UnitRegistry:
    registry = pint.UnitRegistry(None)  # None: no definitions file is read
    for line in UNIT_DEFINITIONS:
        registry.define(line)
    return registry


UNITS = _registry()


def convert(value: float, unit: str, to: str) -> float:
    return float(UNITS.Quantity(value, unit).to(to).magnitude)


# ---- spellings (matched after normalise(), with spaces and a trailing "." removed) ------------------------
DURATION = {
    **dict.fromkeys(("d", "day", "days", "dy", "dys", "天", "日"), "day"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks", "周", "星期"), "week"),
    **dict.fromkeys(("m", "mo", "mos", "mon", "mons", "mth", "mths", "mnth", "mnths", "month", "months",
                     "个月", "月"), "month"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years", "yearsold", "yearold", "yo", "y/o", "yrsold", "yold",
                     "年", "岁"), "year"),
}
MASS = {
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes",
                     "公斤", "千克"), "kilogram"),
    **dict.fromkeys(("g", "gm", "gms", "gram", "grams", "gramme", "grammes", "克"), "gram"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds", "#"), "pound"),
    **dict.fromkeys(("oz", "ounce", "ounces"), "ounce"),
}
LENGTH = {
    **dict.fromkeys(("cm", "cms", "centimetre", "centimetres", "centimeter", "centimeters", "厘米", "公分"),
                    "centimetre"),
    **dict.fromkeys(("m", "metre", "metres", "meter", "meters", "米"), "metre"),
    **dict.fromkeys(("mm", "millimetre", "millimetres", "millimeter", "millimeters"), "millimetre"),
    **dict.fromkeys(("in", "inch", "inches", '"', "''"), "inch"),
    **dict.fromkeys(("ft", "feet", "foot", "'"), "foot"),
}
PERCENT = dict.fromkeys(("%", "percent", "pct", "percentage", "percentages"), "percent")
DOSE_MASS = {
    **dict.fromkeys(("mg", "mgs", "milligram", "milligrams", "毫克"), "milligram"),
    **dict.fromkeys(("g", "gm", "gram", "grams", "克"), "gram"),
    **dict.fromkeys(("mcg", "ug", "microgram", "micrograms"), "microgram"),
}
CREATININE_UNITS = {
    **dict.fromkeys(("mg/dl", "mg/100ml", "mgperdl", "mg%", "mg", "mg/decilitre", "mg/deciliter"), "mg/dL"),
    **dict.fromkeys(("umol/l", "umol", "umol/litre", "umol/liter", "micromol/l", "micromol", "micromoles/l",
                     "micromole/l", "mcmol/l", "mumol/l"), "umol/L"),
    **dict.fromkeys(("mmol/l", "mmol"), None),  # refused: unusual, and 1000-fold from umol/L
}
# The units of a lab value with its upper limit of normal (× ULN facts).
LAB_UNITS = {
    **dict.fromkeys(("u/l", "iu/l", "iu", "u", "ui/l", "units/l", "unit/l", "units", "iu/ml"), "U/L"),
    **dict.fromkeys(("mg/dl", "mg%"), "mg/dL"),
    **dict.fromkeys(("umol/l", "umol", "micromol/l", "mumol/l"), "umol/L"),
}
# "1.2x", "1.2 ULN", "1.2 x ULN", "2-fold": the answer is already the multiple.
TIMES_ULN = frozenset({
    "x", "×", "xuln", "×uln", "uln", "timesuln", "times", "fold", "-fold", "xn", "xnormal", "timesnormal",
    "xtheuln", "timestheuln", "xupperlimit", "timestheupperlimit", "xupperlimitofnormal",
    "timestheupperlimitofnormal", "timesupperlimitofnormal", "xofuln", "ofuln",
})
# "normal" for a × ULN fact: read as 1.0 × ULN (its upper end), with a note.
NORMAL_WORDS = frozenset({
    "normal", "wnl", "nl", "normal range", "in normal range", "within normal range", "within the normal range",
    "in the normal range", "within normal limits", "within normal limit", "within normal", "normal limits",
    "within limits", "within reference range", "within the reference range", "not elevated", "not raised",
    "正常",
})
# Other units physicians type, so that a unit of the wrong kind is named, never read as something else.
OTHER_UNITS = frozenset({
    *DURATION, *MASS, *LENGTH, *PERCENT, *DOSE_MASS, *(k for k in CREATININE_UNITS), *LAB_UNITS, *TIMES_ULN,
    "mg/day", "mg/d", "mg/kg", "mg/kg/day", "mg/kg/d", "ml/min", "ml/min/1.73m2", "ml/min/1.73m²", "h", "hr",
    "hrs", "hour", "hours", "min", "mins", "minute", "minutes", "l", "ml", "mmhg", "bpm",
})

# ---- what each fact is ------------------------------------------------------------------------------------
_SEP = r"\s*[:=]?\s*(?:is|was|of|=|:)?\s*"


@dataclass(frozen=True)
class Measure:
    """A fact read as a quantity: its units (spellings → units), the unit it is stored in, and how an answer
    may name the value first ("weight 97 lb")."""

    units: dict[str, str]
    unit: str
    names: tuple[str, ...] = ()
    completed: bool = False  # completed units only: 16 years and 10 months is 16 (age)
    trailing: tuple[str, ...] = ()  # words after the unit that change nothing ("on room air")


AGE = Measure(DURATION, "year", names=("age", "aged"), completed=True)
MONTHS = Measure(DURATION, "month", names=("soc", "standard of care", "standard-of-care", "for", "duration"))
WEIGHT = Measure(MASS, "kilogram", names=("weight", "body weight", "wt", "bw", "weighs", "weighing"))
HEIGHT = Measure(LENGTH, "centimetre", names=("height", "ht", "length", "stature"))
LVEF = Measure(PERCENT, "percent", names=("lvef", "lv ef", "ef", "ejection fraction", "lv ejection fraction",
                                          "left ventricular ejection fraction"),
               trailing=("on echo", "by echo", "echo", "(echo)", "biplane", "simpson", "by simpson"))
SPO2 = Measure(PERCENT, "percent", names=("spo2", "sao2", "sat", "sats", "saturation", "o2 sat", "o2 sats",
                                          "oxygen saturation", "pulse ox", "room air", "ra", "on room air"),
               trailing=("on room air", "room air", "on ra", "ra", "in room air", "at room air", "on air",
                         "in air", "at rest", "resting", "breathing room air", "(ra)", "(room air)"))

LIVER_NAMES = {
    "ast_x_uln": ("ast", "sgot", "got", "asat"),
    "alt_x_uln": ("alt", "sgpt", "gpt", "alat"),
    "bilirubin_x_uln": ("total bilirubin", "t bili", "t. bili", "tbili", "tbil", "t-bili", "bilirubin", "bili",
                        "tb"),
}
FS_NAMES = ("shortening fraction", "fractional shortening", "lvfs", "fs", "sf", "shortening")
ACTIVITY_NAMES = ("activity index", "activity", "ai", "a.i.", "a")
CHRONICITY_NAMES = ("chronicity index", "chronicity", "ci", "c.i.", "c")
SLEDAI_NAMES = ("sledai-2k score", "sledai 2k score", "sledai2k score", "sledai-2k", "sledai 2k", "sledai2k",
                "sledai-2000", "sledai 2000", "sledai score", "sledai")
SLEDAI_FILLERS = ("score", "total", "on", "of", "is", "was", "the", "=", ":", "points", "pts", "(", ")", "-")
CREATININE_NAMES = ("serum creatinine", "s-creatinine", "s creatinine", "creatinine", "creat", "crea", "scr",
                    "s-cr", "s cr", "cr")
OXYGEN = re.compile(r"(?<![\w])(?:o2|oxygen|nasal|cannula|nc|hfnc|high[- ]?flow|mask|nrb|venturi|cpap|bipap|niv|"
                    r"ventilat\w*|intubated|fio2|l/min|lpm|\d+(?:[.,]\d+)?\s*l|lit(?:er|re)s?|supplemental|"
                    r"吸氧|鼻导管)(?![\w])")

DOSE_PER_DAY = frozenset({
    "", "/day", "/d", "perday", "aday", "daily", "qd", "od", "oncedaily", "onceaday", "/24h", "/24hours",
    "per24h", "per24hours", "q24h", "everyday", "eachday", "day", "每天", "/日", "/天",
})
DOSE_TIMES = {
    **dict.fromkeys(("bid", "bd", "twicedaily", "twiceaday", "2timesaday", "2timesdaily", "2x/day", "x2/day",
                     "2xdaily", "x2daily", "2xaday", "q12h", "every12hours", "every12h", "2times/day"), 2),
    **dict.fromkeys(("tid", "tds", "threetimesaday", "threetimesdaily", "3timesaday", "3timesdaily", "3x/day",
                     "x3/day", "3xdaily", "x3daily", "3xaday", "q8h", "every8hours", "every8h", "3times/day",
                     "thriceaday", "thricedaily"), 3),
    **dict.fromkeys(("qid", "qds", "fourtimesaday", "fourtimesdaily", "4timesaday", "4timesdaily", "4x/day",
                     "x4/day", "4xdaily", "x4daily", "4xaday", "q6h", "every6hours", "every6h", "4times/day"), 4),
}
DOSE_NOT_DAILY = re.compile(r"every other day|alternate day|alt day|qod|eod|q48h|week|weekly|/wk|month|monthly")
DOSE_DIVIDED = re.compile(r"^(?:in )?(?:\d )?divided(?: doses?)?(?: (?:bid|tid|qid|bd|tds|qds))?$")
ROUTE_WORDS = ("iv", "i.v.", "i.v", "po", "p.o.", "p.o", "oral", "orally", "intravenous", "intravenously",
               "pulse", "pulses", "by mouth", "静脉", "口服")

_NUM = r"[+-]?\d{1,6}(?:[.,]\d{1,6})?"
# A number stands alone: not part of a word ("SpO2", "2K") or of a longer number ("1.5.5", "9999999").
NUMBER = re.compile(rf"(?<![\w.,]){_NUM}(?!\d|[.,]\d)")
_TRAILING_SEP = re.compile(r"(?:\s*(?:,|;|\+|&|\band\b|\bplus\b))+\s*$")


def _prepare(text: str) -> str:
    t = normalise(text).replace("\u2032", "'").replace("\u2033", '"').replace("\u201d", '"').replace("\u201c", '"')
    return t.replace("\u2018", "'").replace("′′", '"').strip()


def _strip_names(t: str, names: tuple[str, ...]) -> str:
    """"weight 97 lb" → "97 lb": a name of the fact before the number, with ":", "=" or "is" after it."""
    for name in sorted(names, key=len, reverse=True):
        m = re.match(rf"{re.escape(name)}(?![\w]){_SEP}", t)
        if m and NUMBER.match(t, m.end()):
            return t[m.end():]
    return t


def _key(unit_text: str) -> str:
    return unit_text.replace(" ", "").rstrip(".") if unit_text not in (".",) else ""


def _terms(t: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first number, and each number with the text after it (up to the next number)."""
    found = list(NUMBER.finditer(t))
    if not found:
        return t, []
    terms = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(t)
        terms.append((m.group(), t[m.end():end]))
    return t[:found[0].start()].strip(), terms


def _round(value: float) -> float:
    """Four significant digits: within 0.05 % of the conversion, and no digits the answer did not have."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, 3 - math.floor(math.log10(abs(value))))


def _no_number(t: str, example: str) -> AnswerError:
    """No number stands alone: "1.2.3" names what follows its first number, "twelve" asks for a number."""
    m = re.match(rf"^{_NUM}(?!\d)\s*(.+?)\.?$", t)
    if m and m.group(1):
        return AnswerError(msg(M.UNREAD_AFTER_NUMBER, rest=m.group(1)[:40], example=example))
    return AnswerError(msg(M.NUMBER_EXPECTED, example=example))


def _refuse_unit(unit_text: str, example: str) -> AnswerError:
    if _key(unit_text) in OTHER_UNITS:
        return AnswerError(msg(M.UNIT_WRONG_KIND, unit=unit_text.strip(), example=example))
    return AnswerError(msg(M.UNREAD_AFTER_NUMBER, rest=unit_text.strip(), example=example))


def _strip_trailing(after: str, trailing: tuple[str, ...]) -> str:
    a = after.strip()
    for phrase in sorted(trailing, key=len, reverse=True):
        if a == phrase:
            return ""
        if a.endswith(" " + phrase) or a.endswith(phrase) and not a[: -len(phrase)][-1:].isalpha():
            return a[: -len(phrase)].strip()
    return a


def read_measure(measure: Measure, text: str, *, integer: bool = False, example: str = "12") -> float | int:
    """A number with an optional unit of ``measure`` (or several: "3 months and 2 weeks"), in the fact's unit."""
    t = _strip_names(_prepare(text), measure.names)
    before, terms = _terms(t)
    if not terms or before:
        raise _no_number(t, example)
    parts: list[tuple[str, str | None]] = []
    for i, (number_text, after) in enumerate(terms):
        last = i == len(terms) - 1
        a = after.strip()
        if last:
            a = _strip_trailing(a.rstrip(".").strip(), measure.trailing).rstrip(".").strip()
        elif a in ("-", "–", "to", "or", "/"):
            raise AnswerError(msg(M.RANGE_GIVEN, low=number_text, high=terms[i + 1][0], example=example))
        else:
            a = _TRAILING_SEP.sub("", a)
        key = _key(a)
        if not key:
            parts.append((number_text, None))
        elif key in measure.units:
            parts.append((number_text, measure.units[key]))
        else:
            raise _refuse_unit(a, example)
    if len(parts) == 1 and parts[0][1] in (None, measure.unit):
        value = read_number(parts[0][0])  # as typed, in the fact's unit
        if integer:
            if not value.is_integer():
                raise AnswerError(msg(M.WHOLE_NUMBER_EXPECTED, example=example))
            return int(value)
        return value
    if len(parts) > 1 and parts[-1][1] is None and parts[-2][1] == "foot":
        parts[-1] = (parts[-1][0], "inch")  # "4 ft 10": the inches
    total, previous = 0.0, math.inf
    for number_text, unit in parts:
        if unit is None:
            raise AnswerError(msg(M.NUMBER_WITHOUT_UNIT, number=number_text, example=example))
        size = convert(1.0, unit, measure.unit)
        number = read_number(number_text)
        if size >= previous or (len(parts) > 1 and number < 0):
            raise AnswerError(msg(M.QUANTITY_UNCLEAR, text=text.strip()[:40], example=example))
        previous = size
        total += convert(number, unit, measure.unit)
    if measure.completed:
        return math.floor(total + 1e-9)
    value = _round(total)
    return whole(value, example) if integer else value


# ---- labelled values: "activity 6, chronicity 1", "EF 60%, FS 32%" --------------------------------------

def _starts_with(segment: str, names: tuple[str, ...]) -> bool:
    return any(re.match(rf"{re.escape(n)}(?![\w])", segment) for n in names)


def _pick(t: str, own: tuple[str, ...], others: tuple[str, ...], refusal: M, example: str) -> str:
    """Where the answer names another value too, the segment that names this one (or the refusal)."""
    segments = [s.strip() for s in re.split(r"\s*[,;]\s*|\s+and\s+|\s*/\s*(?=[a-z])", t) if s.strip()]
    if not any(_starts_with(s, others) and not _starts_with(s, own) for s in segments):
        return t
    mine = [s for s in segments if _starts_with(s, own)]
    rest = [s for s in segments if not _starts_with(s, own) and not _starts_with(s, others)]
    if not mine:
        raise AnswerError(msg(refusal))
    if len(mine) > 1 or rest:
        raise AnswerError(msg(M.QUANTITY_UNCLEAR, text=t[:40], example=example))
    return mine[0]


def read_chronicity(text: str, *, example: str = "3") -> int:
    t = _prepare(text)
    t = _pick(t, CHRONICITY_NAMES, ACTIVITY_NAMES, M.CHRONICITY_NOT_ACTIVITY, example)
    t = _strip_names(t, CHRONICITY_NAMES)
    t = re.sub(r"\s*(?:/\s*12|of 12|out of 12)\s*\.?$", "", t)
    return read_measure(Measure({}, ""), t, integer=True, example=example)  # type: ignore[return-value]


def read_lvef(text: str, *, example: str = "62") -> float:
    t = _prepare(text)
    if not _starts_with(t, LVEF.names) and (
            _starts_with(t, FS_NAMES) or re.search(r"(?<![\w])(?:fractional )?shortening(?![\w])", t)):
        raise AnswerError(msg(M.SHORTENING_FRACTION))
    t = _pick(t, LVEF.names, FS_NAMES, M.SHORTENING_FRACTION, example)
    return read_measure(LVEF, t, example=example)


def read_spo2(text: str, *, example: str = "98") -> float:
    t = _prepare(text)
    if OXYGEN.search(t.replace("spo2", "").replace("sao2", "")):
        raise AnswerError(msg(M.SPO2_ON_OXYGEN))
    return read_measure(SPO2, t, example=example)


def read_sledai(text: str, *, example: str = "10") -> int:
    t = _prepare(text)
    named = False
    for name in SLEDAI_NAMES:
        if name in t:
            t, named = t.replace(name, " "), True
    t = re.sub(r"\s*(?:/\s*105|of 105|out of 105)(?![\w])", " ", t)
    t = re.sub(r"(?<=\d)\s*(?:points?|pts?)\s*$", "", t)  # "11 points", "11分"
    if named or t.startswith(("score", "total")):
        t = " ".join(w for w in t.replace("(", " ( ").replace(")", " ) ").split() if w not in SLEDAI_FILLERS)
    return read_measure(Measure({}, ""), t, integer=True, example=example)  # type: ignore[return-value]


# ---- × ULN ------------------------------------------------------------------------------------------------
_ULN_MARK = (r"(?:uln|upper limit of normal|upper limit normal|upper normal limit|upper limit|upper normal|"
             r"ref(?:erence)?(?: range)?|normal range|normal|nr|rr|n)")
_UNIT = r"[a-z%µ/]+(?:/[a-z]+)?"
_WITH_ULN = re.compile(
    rf"^(?P<value>{_NUM})\s*(?P<unit>{_UNIT})?\s*(?:,|;|\(|\[|with|and)?\s*{_ULN_MARK}\s*[:=]?\s*"
    rf"(?:(?:<=|<|≤|up to)\s*|(?:{_NUM})\s*(?:-|–|to)\s*)?(?P<uln>{_NUM})\s*(?P<uln_unit>{_UNIT})?\s*[)\]]?\.?$")
_PAREN_ULN = re.compile(
    rf"^(?P<value>{_NUM})\s*(?P<unit>{_UNIT})?\s*[(\[]\s*(?:(?:<=|<|≤)\s*|(?:{_NUM})\s*(?:-|–)\s*)(?P<uln>{_NUM})\s*"
    rf"(?P<uln_unit>{_UNIT})?\s*[)\]]\.?$")
_VALUE_UNIT = re.compile(rf"^(?P<value>{_NUM})\s*(?P<unit>.*?)\.?$")
# A bare number above this is as likely a value in U/L (or µmol/L) as a multiple of ULN: asked back.
BARE_X_ULN_MAX = 10


def read_x_uln(key: str, text: str, *, example: str = "0.8") -> float | Reading:
    """A × ULN fact: the multiple ("1.2x", "1.2 ULN"), or the value with the lab's upper limit
    ("35 U/L, ULN 40", "52 (upper limit 34)"), or "normal" (1.0 × ULN, with a note)."""
    t = _strip_names(_prepare(text), LIVER_NAMES.get(key, ()))
    bare = t.strip(" .!")
    for name in sorted(LIVER_NAMES.get(key, ()), key=len, reverse=True):
        if bare.startswith(name + " ") and bare[len(name) + 1:].strip(" :") in NORMAL_WORDS:
            bare = bare[len(name) + 1:].strip(" :")
    if bare in NORMAL_WORDS:
        return Reading(1.0, notes=(msg(M.NORMAL_READ_AS_ULN, text=text.strip()[:40]),))
    m = _WITH_ULN.match(t) or _PAREN_ULN.match(t)
    if m:
        value, uln = read_number(m["value"]), read_number(m["uln"])
        units = [LAB_UNITS.get(_key(u), u) for u in (m["unit"], m["uln_unit"]) if u]
        if len(units) == 2 and units[0] != units[1]:
            raise AnswerError(msg(M.ULN_UNITS_DIFFER, unit=units[0], uln_unit=units[1]))
        if any(u not in LAB_UNITS.values() for u in units):
            raise _refuse_unit(next(u for u in (m["unit"], m["uln_unit"]) if u and LAB_UNITS.get(_key(u)) is None),
                               example)
        if uln <= 0:
            raise AnswerError(msg(M.ULN_INVALID, uln=m["uln"]))
        return _round(value / uln)
    m = _VALUE_UNIT.match(t)
    if not m or m["value"] != t[: len(m["value"])] or (m["unit"] and NUMBER.search(m["unit"])):
        raise AnswerError(msg(M.NUMBER_EXPECTED, example=example))
    unit = m["unit"].strip()
    key_ = _key(unit)
    if key_ in TIMES_ULN:
        return read_number(m["value"])
    if key_ in LAB_UNITS:
        raise AnswerError(msg(M.ULN_MISSING, value=m["value"], unit=LAB_UNITS[key_]))
    if key_:
        raise _refuse_unit(unit, example)
    value = read_number(m["value"])
    if value > BARE_X_ULN_MAX:
        raise AnswerError(msg(M.X_ULN_OR_VALUE, value=m["value"]))
    return value


# ---- the glucocorticoid's daily dose ----------------------------------------------------------------------
_DOSE = re.compile(rf"^(?P<dose>{_NUM})\s*(?P<unit>mcg|ug|mgs|mg|milligrams?|micrograms?|grams?|gm|g|毫克|克)?"
                   rf"(?![a-z])\s*(?P<rest>.*?)\.?$")


def read_dose(text: str, *, example: str = "40") -> float | Reading:
    """The drug's daily dose in mg/day: "750 mg", "1 g", "15 mg four times a day" (60 mg/day)."""
    t = _prepare(text)
    m = _DOSE.match(t)
    if not m:
        raise AnswerError(msg(M.NUMBER_EXPECTED, example=example))
    rest = " ".join(w for w in m["rest"].replace(",", " ").split() if w not in ROUTE_WORDS)
    if "kg" in rest:
        raise AnswerError(msg(M.DOSE_PER_KG))
    if DOSE_NOT_DAILY.search(rest):
        raise AnswerError(msg(M.DOSE_NOT_DAILY))
    key = rest.replace(".", "").replace(" ", "")
    key = key[1:] if key.startswith("/") and key[1:] in DOSE_PER_DAY else key
    dose = read_number(m["dose"])
    if m["unit"]:
        dose = convert(dose, DOSE_MASS[m["unit"]], "milligram")
    if key in DOSE_PER_DAY or key.lstrip("/") in DOSE_PER_DAY or DOSE_DIVIDED.match(rest):
        return round(dose, 6)
    times = DOSE_TIMES.get(key)
    if times is None:
        raise AnswerError(msg(M.UNREAD_AFTER_NUMBER, rest=m["rest"].strip()[:40], example=example))
    total = round(dose * times, 6)
    return Reading(total, notes=(msg(M.DOSE_TIMES_A_DAY, dose=f"{dose:g}", times=times, total=f"{total:g}"),))


# ---- creatinine -------------------------------------------------------------------------------------------

def read_creatinine(text: str) -> tuple[float, str]:
    """A creatinine with its unit, as given (mg/dL or umol/L): no unit is asked back (88-fold apart)."""
    t = _strip_names(_prepare(text), CREATININE_NAMES)
    m = re.match(rf"^({_NUM})(?!\d|[.,]\d)\s*(.*?)\.?$", t)
    if not m:
        raise AnswerError(msg(M.CREATININE_EXPECTED))
    number_text, unit_text = m.groups()
    key = _key(unit_text)
    if not key:
        raise AnswerError(msg(M.CREATININE_UNIT_MISSING, number=number_text))
    if key not in CREATININE_UNITS:
        raise AnswerError(msg(M.CREATININE_UNIT_UNKNOWN, unit=unit_text))
    unit = CREATININE_UNITS[key]
    if unit is None:
        raise AnswerError(msg(M.CREATININE_MMOL))
    return read_number(number_text), unit


# ---- which reader reads which question --------------------------------------------------------------------
READERS: dict[str, Callable[..., Any]] = {
    "age_years": lambda text, **kw: read_measure(AGE, text, **kw),
    "soc_months": lambda text, **kw: read_measure(MONTHS, text, **kw),
    "weight_kg": lambda text, **kw: read_measure(WEIGHT, text, **kw),
    "height_cm": lambda text, **kw: read_measure(HEIGHT, text, **kw),
    "lvef_percent": lambda text, integer=False, **kw: read_lvef(text, **kw),
    "spo2_percent": lambda text, integer=False, **kw: read_spo2(text, **kw),
    "sledai_2k": lambda text, integer=True, **kw: read_sledai(text, **kw),
    "ln_chronicity_index": lambda text, integer=True, **kw: read_chronicity(text, **kw),
    "gc_drug_mg_day": lambda text, integer=False, **kw: read_dose(text, **kw),
    **{key: (lambda text, integer=False, key=key, **kw: read_x_uln(key, text, **kw)) for key in LIVER_NAMES},
}
# The facts whose unit is months (a number of months, or a duration in any unit).
MONTH_FACTS = ("soc_months",)


def read(key: str, text: str, *, integer: bool = False, example: str = "12") -> Any:
    """The quantity reader of question ``key``; None when it has none (a plain number is read as before)."""
    reader = READERS.get(key)
    return None if reader is None else reader(text, integer=integer, example=example)

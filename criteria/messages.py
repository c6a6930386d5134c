"""The criteria's detail sentences as message templates with parameters (issue 16).

A rule says why in English (``english``: the ``text`` of a verdict, the same as ever, for tests and
``evaluate --json``) and, beside it, as a ``Msg``: an English template with ``{name}`` fields and the values
that fill them, so that an edge can translate the template whole and fill it in another language
(bot/report.py ``detail_text``). A parameter is a plain string (shown as it is: a code, a calculator's own
sentence), a ``Fact`` (its label), a ``Qty`` (a number with its fact's unit), a ``Word`` (a word the
catalogue translates: "yes", "positive"), a ``Code`` (a list fact's code: "IV", "mycophenolate"; in English
the code as ever, in another language its question's choice label), a ``Key`` (a fact's key: in English
the key as the contradictions always named it, in another language its label), a ``Joined`` list, or
another ``Msg``. ``to_data``/``from_data`` carry a message through JSON (a dialogue message's parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .labels import FACT_LABELS, fmt_quantity, label


@dataclass(frozen=True)
class Fact:
    key: str


@dataclass(frozen=True)
class Qty:
    key: str
    value: float


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Code:
    key: str
    value: str


@dataclass(frozen=True)
class Key:
    key: str


@dataclass(frozen=True)
class Joined:
    """Items joined with ``sep``, the last two with ``last`` (", " and " and ": "a, b and c")."""

    items: tuple[Any, ...]
    sep: str = ", "
    last: str | None = None


@dataclass(frozen=True)
class Msg:
    template: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return english(self)


def msg(template: str, **params: Any) -> Msg:
    return Msg(template, tuple(params.items()))


def english(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Msg):
        return value.template.format(**{k: english(v) for k, v in value.params}) if value.params \
            else value.template
    if isinstance(value, Fact):
        return label(value.key)
    if isinstance(value, Qty):
        return fmt_quantity(value.key, value.value)
    if isinstance(value, Word):
        return value.text
    if isinstance(value, Code):
        return value.value
    if isinstance(value, Key):
        return value.key
    if isinstance(value, Joined):
        items = [english(i) for i in value.items]
        if value.last is None or len(items) < 2:
            return value.sep.join(items)
        return value.sep.join(items[:-1]) + value.last + items[-1]
    return str(value)


_KINDS = {"fact": Fact, "qty": Qty, "word": Word, "code": Code, "key": Key}


def to_data(value: Any) -> Any:
    """A message as JSON-ready data (str, and tagged lists for the rest): ``from_data`` reads it back."""
    if isinstance(value, Msg):
        return {"msg": value.template, "params": {k: to_data(v) for k, v in value.params}}
    if isinstance(value, Joined):
        return {"joined": [to_data(i) for i in value.items], "sep": value.sep, "last": value.last}
    for kind, cls in _KINDS.items():
        if isinstance(value, cls):
            return {kind: list(value.__dict__.values())}
    return value if isinstance(value, str | int | float) or value is None else str(value)


def from_data(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    if "msg" in data:
        return Msg(str(data["msg"]), tuple((k, from_data(v)) for k, v in (data.get("params") or {}).items()))
    if "joined" in data:
        return Joined(tuple(from_data(i) for i in data["joined"]), data.get("sep", ", "), data.get("last"))
    for kind, cls in _KINDS.items():
        if kind in data:
            return cls(*data[kind])
    return str(data)


def unit_of(key: str) -> str:
    known = FACT_LABELS.get(key)
    return known.unit if known is not None else ""


# The templates of the criteria's sentences (the catalogue's msgids: babel.cfg, bot/i18n_extract.py).
COMPARED = "{fact} {value} {op} {threshold}"
COMPARED_CALCULATED = "{fact} {value} (calculated from {source}) {op} {threshold}"
RANGE_COMPARED = "{range} {op} {threshold}"
NOT_NEEDED = "{fact} not needed ({reasons})"
YES_NO = "{fact}: {answer}"
YES_NO_WHY = "{fact}: {answer} ({why})"
YES_NO_CALCULATED = "{fact}: {answer} (calculated from {source})"
IS = "{fact} is {value}"
LISTED = "{fact}: {items}"
LISTED_NONE_OF = "{fact}: {items} (none of {members})"
COUNTED = "{count} {fact} {op} {n}"
COUNTED_LISTED = "{count} {fact} ({items}) {op} {n}"
NONE = "{fact}: none"
PATH_FAILS = "{path} fails: {reasons}"
ONLY_LEFT = "{fails}; only {left} can still meet {criterion}"
NEEDED_BECAUSE = "{facts}: needed because {because}"
NEEDED_TO_DECIDE = "{facts}: needed to decide {criterion} ({title})"
RANGE_TO_DECIDE = "{ranges}: the open items decide {criterion} ({title})"
CAN_BE_CALCULATED = "{reason}; can be calculated from {hints}"
MAY_BE_REREFERRED = "may be re-referred {when}"
SEX_IS = "sex is {sex}"
# What the calculators say (criteria/derive.py): the scores, the doses and the eGFR they worked out.
SLEDAI_ADDS_UP = "SLEDAI-2K descriptors add up to {score}"
SLEDAI_SCORE = "SLEDAI-2K {score}"
SLEDAI_RANGE = "SLEDAI-2K {low}–{high}"
NOT_ASSESSED = "{what} ({items} not assessed)"
AT_LEAST = "{shown} ≥ {threshold}"
BELOW = "{shown} < {threshold}"
BELOW_NOT_ASSESSED = "{shown} < {threshold} ({items} not assessed)"
ANA_NO = "ANA ≥ 1:80: no"
ANA_NOT_KNOWN = "ANA ≥ 1:80 not known"
EULAR_ITEMS_NOT_KNOWN = "2019 EULAR/ACR items not known"
EULAR_TOTAL = "2019 EULAR/ACR total {total}"
EULAR_TOTAL_RANGE = "2019 EULAR/ACR total {low}–{high}"
EULAR_NO_CLINICAL = "no clinical 2019 EULAR/ACR item"
EULAR_CLASSIFIED = "{total} ≥ {threshold} with ANA ≥ 1:80 and a clinical item"
DOSE_TIMES_WEIGHT = "{dose} × {weight}"
DOSE_PER_WEIGHT = "{dose} / {weight}"
PEAK_DOSE = "peak dose {doses}"
PEAK_DOSE_BOTH_LOW = "peak dose {per_kg} < {kg_limit} and {per_day} < {day_limit}"
PEAK_DOSE_NEEDS_WEIGHT = "peak dose {dose} < {limit}; the other figure needs the weight"
PEAK_DOSE_NO_WEIGHT = ("peak dose {dose} < {limit}; no weight of {low}–{high} kg makes it a high dose, only the "
                       "{unit} figure can")
FLARED_AT = "flared at {floor} {op} {limit}"
SCHWARTZ_FROM = "bedside Schwartz from creatinine {creatinine} and height {height}"
# The contradictions between given facts (criteria/derive.py, criteria/facts.py), as the facts model
# refuses them; a physician reads them as the reason an answer is not taken.
DISAGREE = "contradiction between {named} and {fact}: the inputs give {fact} = {value}, but {fact} = {given} was given"
BOTH_PRESENT_AND_NOT_ASSESSED = ("contradiction between {key} and {other}: {codes} cannot be both present and not "
                                 "assessed")
SLEDAI_OUTSIDE_RANGE = ("contradiction between sledai_2k_items (with sledai_2k_unknown) and sledai_2k: the "
                        "descriptors give a SLEDAI-2K of {low}–{high}, but sledai_2k = {given} was given")
TARGET_CONTRADICTED = ("contradiction between {input} and target_not_reached: {shown} ≥ {target} means the child is "
                       "not in LLDAS or remission (the childhood LLDAS needs SLEDAI-2K ≤ {lldas}), but "
                       "target_not_reached = false was given")
DOSE_CONTRADICTED = ("contradiction between gc_peak_mg_kg_day, weight_kg and gc_peak_mg_day: {per_kg} × {weight} = "
                     "{expected}, but gc_peak_mg_day = {per_day} was given (more than {tolerance} % apart)")
CREATININE_NEEDS_UNIT = "creatinine needs creatinine_unit ('mg/dL' or 'umol/L')"
CREATININE_OUT_OF_RANGE = ("creatinine {creatinine} is outside the valid range {low}–{high} mg/dL "
                           "({low_umol}–{high_umol} umol/L)")
MALE_CHILDBEARING = "contradiction between sex and childbearing_potential: male with childbearing potential"
PREGNANCY_IMPOSSIBLE = "contradiction between {key} and pregnant: pregnancy is impossible with {key} = {value}"
WITH = "{key} (with {others})"
ALL = "{items}"
# Words that fill them.
WORDS = ("yes", "no", "none", "positive", "negative", "male", "female", "documented intolerance",
         "the standard-care path", "major organ involvement (I3a)", "steroid dependence (I3b)", "DMARD",
         "true", "false", "mg/day", "mg/kg/day")

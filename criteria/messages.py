"""The criteria's detail sentences as message templates with parameters (issue 16).

A rule says why in English (``english``: the ``text`` of a verdict, the same as ever, for tests and
``evaluate --json``) and, beside it, as a ``Msg``: an English template with ``{name}`` fields and the values
that fill them, so that an edge can translate the template whole and fill it in another language
(bot/report.py ``detail_text``). A parameter is a plain string (shown as it is: a code, a calculator's own
sentence), a ``Fact`` (its label), a ``Qty`` (a number with its fact's unit), a ``Word`` (a word the
catalogue translates: "yes", "positive"), a ``Joined`` list, or another ``Msg``.
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
    if isinstance(value, Joined):
        items = [english(i) for i in value.items]
        if value.last is None or len(items) < 2:
            return value.sep.join(items)
        return value.sep.join(items[:-1]) + value.last + items[-1]
    return str(value)


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
COUNTED = "{count} {fact}{listed} {op} {n}"
NONE = "{fact}: none"
PATH_FAILS = "{path} fails: {reasons}"
ONLY_LEFT = "{fails}; only {left} can still meet {criterion}"
NEEDED_BECAUSE = "{facts}: needed because {because}"
NEEDED_TO_DECIDE = "{facts}: needed to decide {criterion} ({title})"
CAN_BE_CALCULATED = "{reason}; can be calculated from {hints}"
MAY_BE_REREFERRED = "may be re-referred {when}"
SEX_IS = "sex is {sex}"
# Words that fill them.
WORDS = ("yes", "no", "none", "positive", "negative", "male", "female", "documented intolerance",
         "the standard-care path", "major organ involvement (I3a)", "steroid dependence (I3b)")

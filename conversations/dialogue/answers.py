"""Reading answers as physicians type them. Each parser returns a value or raises AnswerError with a
message that says what was wrong and what is expected; none of them ever stores anything."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .chinese import has_chinese, to_english
from .messages import M, Message, msg

UNKNOWN_WORDS = frozenset({
    "unknown", "not known", "unk", "dont know", "don't know", "do not know", "dk", "n/a", "na",
    "not sure", "unsure", "not done", "not available", "no idea", "idk",
    # as physicians also say it (issue 12); a test or finding still to come is read by words.means_unknown
    "dunno", "nk", "pending", "result pending", "results pending", "awaited", "awaiting", "awaiting results",
    "not tested", "not checked", "not measured", "not assessed", "not performed", "not yet done", "not yet known",
    "not known yet", "unclear", "uncertain", "tbd", "to be determined", "not to my knowledge",
    "not that i know of", "no data", "not recorded",
})
YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "true", "present", "positive", "pos", "+"})
NO_WORDS = frozenset({"no", "n", "nope", "false", "absent", "negative", "neg", "-"})
NONE_WORDS = frozenset({"none", "no", "nil", "nothing", "none of these", "none of them", "-", "0"})
# Typed as the answer, these ask for the question's help: "?" is a question, never "unknown".
HELP_WORDS = frozenset({"?", "??", "help", "help?", "what?", "帮助", "帮助?", "说明"})
MAX_ANSWER_CHARS = 500


class AnswerError(ValueError):
    """The answer could not be read; ``message`` says what was wrong and what is expected."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.code)
        self.message = message


@dataclass(frozen=True)
class Reading:
    """What a reader made of an answer when a bare value cannot say it all: the answer means "not known"
    ("renal biopsy awaited"), or something was left out or assumed and the physician is told so with the
    echo (``notes``: "HCQ is asked on its own; left out of the DMARDs")."""

    value: Any = None
    unknown: bool = False
    notes: tuple[Message, ...] = ()
    # Other questions the same answer settles, with their values ("all negative": the rest of the tests).
    also: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    aliases: tuple[str, ...] = ()  # what physicians also type: "MMF", "f", "ciclosporin"


def normalise(text: str) -> str:
    """NFKC, control characters removed, lower case, single spaces; typographic quotes straightened."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = text.replace("\u2019", "'").replace("\u00b5", "u").replace("\u03bc", "u")
    return " ".join(text.lower().split())


def is_unknown(text: str) -> bool:
    """The whole answer says "not known", in English or in Chinese ("不知道", "未查", "待查")."""
    if normalise(text).strip(" .!") in UNKNOWN_WORDS:
        return True
    return has_chinese(text) and normalise(to_english(text)).strip(" .!") in UNKNOWN_WORDS


def asks_for_help(text: str) -> bool:
    """"?" alone or "help" typed as an answer asks for the question's help (never "unknown")."""
    return normalise(text).strip(" .!") in HELP_WORDS


def check_length(text: str) -> None:
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(msg(M.TOO_LONG, length=len(text)))


_NUMBER = re.compile(r"^([+-]?\d{1,6}(?:[.,]\d{1,6})?)\s*(.*?)\.?$")
# "1,000" is one thousand to some and 1.0 to others (the spec reads "1,2" as 1.2), and "1.000" or "1.500" is
# a thousand or more in German: a pulse of 1,000 mg methylprednisolone read as 1 mg would be silently wrong.
# A point with three decimals ending in 0 is asked about (as a decimal, "1.5" says it); "1.125" is read.
_THOUSANDS = re.compile(r"^[+-]?([1-9]\d{0,2})(?:,(\d{3})|\.(\d{2}0))$")


def read_number(number_text: str) -> float:
    """The number as written, with a decimal comma or point; a separator that may mark thousands is
    refused with both readings, so that the physician says which."""
    m = _THOUSANDS.match(number_text)
    if m:
        sign = "-" if number_text.startswith("-") else ""
        whole, decimals = m.group(1), m.group(2) or m.group(3)
        thousands, decimal = f"{sign}{whole}{decimals}", f"{sign}{whole}.{decimals.rstrip('0') or '0'}"
        raise AnswerError(msg(M.THOUSANDS_OR_DECIMAL, text=number_text, thousands=thousands, decimal=decimal))
    return float(number_text.replace(",", "."))


def parse_number(text: str, *, unit_words: tuple[str, ...] = (), integer: bool = False,
                 example: str = "12") -> float | int:
    t = normalise(text)
    m = _NUMBER.match(t)
    if not m:
        raise AnswerError(msg(M.NUMBER_EXPECTED, example=example))
    number_text, rest = m.groups()
    if rest and rest not in unit_words:
        raise AnswerError(msg(M.UNREAD_AFTER_NUMBER, rest=rest, example=example))
    value = read_number(number_text)
    return whole(value, example) if integer else value


def whole(value: float, example: str) -> int:
    """The number as an integer, for a question that counts (a score, an index); refused if it has a fraction."""
    if not value.is_integer():
        raise AnswerError(msg(M.WHOLE_NUMBER_EXPECTED, example=example))
    return int(value)


CREATININE_UNITS = {
    "mg/dl": "mg/dL", "mg/100ml": "mg/dL", "mg per dl": "mg/dL", "mg": "mg/dL",
    "umol/l": "umol/L", "umol": "umol/L", "micromol/l": "umol/L", "mmol/l": None,
}


def parse_creatinine(text: str) -> tuple[float, str]:
    t = normalise(text)
    m = re.match(r"^([+-]?\d{1,6}(?:[.,]\d{1,6})?)\s*(.*?)\.?$", t)
    if not m:
        raise AnswerError(msg(M.CREATININE_EXPECTED))
    number_text, unit_text = m.groups()
    unit_text = unit_text.replace(" ", "")
    if not unit_text:
        raise AnswerError(msg(M.CREATININE_UNIT_MISSING, number=number_text))
    unit = CREATININE_UNITS.get(unit_text, "")
    if unit is None:
        raise AnswerError(msg(M.CREATININE_MMOL))
    if not unit:
        raise AnswerError(msg(M.CREATININE_UNIT_UNKNOWN, unit=unit_text))
    return read_number(number_text), unit


def parse_yes_no(text: str) -> bool:
    t = normalise(text).strip(" .!")
    if t in YES_WORDS:
        return True
    if t in NO_WORDS:
        return False
    raise AnswerError(msg(M.YES_NO_EXPECTED))


def match_choice(token: str, choices: tuple[Choice, ...]) -> Choice | None:
    t = normalise(token).strip(" .")
    # isdecimal, not isdigit: "፩" (Ethiopic digit one) is a digit that int() cannot read.
    if t.isdecimal() and 1 <= int(t) <= len(choices):
        return choices[int(t) - 1]
    for c in choices:
        name = normalise(c.label)
        # The label as shown, or its name without the trailing "(domain, weight)".
        if t in (c.value.lower(), name, c.value.lower().replace("_", " "), _PAREN.sub("", name), *c.aliases):
            return c
    return None


_PAREN = re.compile(r"\s*\([^()]*\)$")


def short_label(label: str) -> str:
    """A choice's label without its trailing "(domain, weight)"."""
    return _PAREN.sub("", label)


def parse_choice(text: str, choices: tuple[Choice, ...]) -> str:
    c = match_choice(text, choices)
    if c is None:
        raise AnswerError(msg(M.CHOICE_EXPECTED, choices=_listing(choices)))
    return c.value


def split_items(text: str, choices: tuple[Choice, ...] = ()) -> list[str]:
    """Items separated by commas, semicolons, new lines, "and" or "+"; a piece between commas that names
    one of ``choices`` as a whole stays one item ("low C3 and low C4")."""
    out: list[str] = []
    # "IV/V" is two classes, unless an item's own name holds a slash ("proteinuria > 0.5 g/24 h").
    separators = r"[,;\n]" if _names_with_slash(choices) else r"[,;\n]|(?<=\w)/(?=\w)"
    for piece in re.split(separators, text):
        piece = piece.strip()
        if piece and choices and match_choice(piece.lstrip("? "), choices):
            out.append(piece)
        else:
            out += [p.strip() for p in re.split(r"\s+and\s+|\s*\+\s*", piece) if p.strip()]
    return out


def _names_with_slash(choices: tuple[Choice, ...]) -> bool:
    return any("/" in c.label for c in choices)


def parse_list(text: str, choices: tuple[Choice, ...]) -> list[str]:
    """A list fact: items by code, label or number, comma-separated; "none" for an empty list."""
    if normalise(text).strip(" .") in NONE_WORDS:
        return []
    values, bad = [], []
    for token in split_items(text, choices):
        c = match_choice(token, choices)
        (values.append(c.value) if c else bad.append(token))
    if bad:
        raise AnswerError(msg(M.LIST_ITEMS_UNKNOWN, items=_quoted(bad), choices=_listing(choices)))
    if not values:
        raise AnswerError(msg(M.LIST_EMPTY))
    return list(dict.fromkeys(values))


def parse_checklist(text: str, choices: tuple[Choice, ...]) -> dict[str, bool | None]:
    """A checklist of yes/no facts: the items that apply, each one not known prefixed with "?";
    items not named are false. "none" means none applies."""
    result: dict[str, bool | None] = {c.value: False for c in choices}
    if normalise(text).strip(" .") in NONE_WORDS:
        return result
    tokens = split_items(text, choices)
    if not tokens:
        # An empty line is not "none of these": nothing may be recorded as "no" without being said.
        raise AnswerError(msg(M.CHECKLIST_EMPTY))
    bad = []
    for token in tokens:
        unknown = token.startswith("?")
        c = match_choice(token.lstrip("? "), choices)
        if c is None:
            bad.append(token)
        else:
            result[c.value] = None if unknown else True
    if bad:
        raise AnswerError(msg(M.CHECKLIST_ITEMS_UNKNOWN, items=_quoted(bad)))
    return result


def _listing(choices: tuple[Choice, ...]) -> list[list[Any]]:
    return [[i, c.label] for i, c in enumerate(choices, 1)]


def _quoted(tokens: list[str]) -> list[str]:
    """The first tokens not recognised, each cut short: an answer is quoted back, never at length."""
    return [t[:40] for t in tokens[:5]]


def describe(value: Any) -> Message:
    if isinstance(value, bool):
        return msg(M.VALUE_YES) if value else msg(M.VALUE_NO)
    if isinstance(value, list):
        return msg(M.VALUE_TEXT, text=", ".join(value)) if value else msg(M.VALUE_NONE)
    if isinstance(value, float):
        return msg(M.VALUE_TEXT, text=f"{value:g}")
    return msg(M.VALUE_TEXT, text=str(value))

"""Patient identifiers typed by mistake, kept out of every record.

The study collects none: no names, dates of birth, record or phone numbers; the pseudonymous referral ID
is the key. Names cannot be told from other words, but dates, long runs of digits and e-mail addresses
can, and no answer the bot asks for looks like one (every number it asks for has at most four digits
before the decimal point). Such a text is refused without being read, and recorded only as withheld.
"""

from __future__ import annotations

import re

from .messages import M, Message, msg

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_KINDS = (
    # 12.03.2014, 12/3/14, 2014-03-12; not "3/12" (a chronicity index) nor "1.5.5" (a typo).
    ("a date", re.compile(r"(?<![\d.,])(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})"
                          r"(?![\d.,]?\d)")),
    # 12 March 2014, March 12, 2014, 12-mar-14
    ("a date", re.compile(rf"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?[\s./-]*{_MONTH}[\s,./-]*\d{{2,4}}\b"
                          rf"|\b{_MONTH}\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s*\d{{4}}\b")),
    ("an e-mail address", re.compile(r"[\w.+-]+@[\w-]+\.\w")),
    # A record or phone number: six digits or more in a row (not decimals of a number), or "+" and digits.
    ("a record or phone number", re.compile(r"(?<![\d.,])\d{6,}|\+\d[\d ()-]{6,}\d")),
)

WITHHELD = "[withheld: looked like {kind}]"


def identifier_kind(text: str) -> str | None:
    """What identifier ``text`` seems to hold ("a date", ...), or None."""
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return None


def warning(kind: str) -> Message:
    return msg(M.IDENTIFIER, kind=kind)


def for_the_record(text: str) -> str:
    """``text`` as the audit trail may keep it."""
    kind = identifier_kind(text)
    return WITHHELD.format(kind=kind) if kind else text

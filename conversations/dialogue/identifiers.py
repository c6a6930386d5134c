"""Patient identifiers typed by mistake, kept out of every record.

The study collects none: no names, dates of birth, record or phone numbers; the pseudonymous referral ID
is the key. Names cannot be told from other words, but dates, e-mail addresses, phone numbers and record
or ID numbers can, and no answer the bot asks for looks like one: every number it asks for has at most
four digits before the decimal point and three after, a year alone is no date, and a lab name or unit
("C3", "HbA1c", "mg/kg/day") carries no run of five digits. Such a text is refused without being read,
and recorded only as withheld.

The text is NFKC-normalised first, so full-width digits and signs (２０１２／３／４, jane＠example.org)
read as their ASCII forms. Every quantifier is bounded, so no text takes long to check.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .messages import M, Message, msg

DATE, EMAIL, NUMBER = "a date", "an e-mail address", "a record or phone number"

# Month names and their usual abbreviations: English, German, French, Spanish, Italian, Portuguese.
_MONTHS = sorted(set([
    "january", "jan", "february", "feb", "march", "mar", "april", "apr", "may", "june", "jun", "july", "jul",
    "august", "aug", "september", "sept", "sep", "october", "oct", "november", "nov", "december", "dec", "januar",
    "jänner", "jän", "februar", "feber", "märz", "maerz", "marz", "mrz", "mär", "mai", "juni", "juli", "oktober",
    "okt", "dezember", "dez", "janvier", "janv", "février", "fevrier", "févr", "fevr", "fév", "fev", "mars",
    "avril", "avr", "juin", "juillet", "juil", "août", "aout", "septembre", "octobre", "novembre", "décembre",
    "decembre", "déc", "enero", "ene", "febrero", "marzo", "abril", "abr", "mayo", "junio", "julio", "agosto",
    "septiembre", "setiembre", "octubre", "noviembre", "diciembre", "dic", "gennaio", "febbraio", "aprile",
    "maggio", "giugno", "luglio", "settembre", "ottobre", "dicembre", "janeiro", "fevereiro", "março", "marco",
    "maio", "junho", "julho", "setembro", "outubro", "novembro", "dezembro"
]), key=len, reverse=True)
_MONTH = r"(?<![^\W\d_])(?:" + "|".join(_MONTHS) + r")(?![^\W\d_])\.?"
_BEFORE = r"(?<![\d.,/-])"  # not the tail of a number, a fraction or a range
_AFTER = r"(?![\d]|[.,/-]\d)"  # not followed by more of a number


def _year4(y: str) -> bool:
    return 1900 <= int(y) <= 2099


def _year(y: str) -> bool:
    return len(y) == 2 or (len(y) == 4 and _year4(y))


def _day_month(a: str, b: str) -> bool:
    """``a`` and ``b`` are a day and a month, either way round."""
    a_, b_ = int(a), int(b)
    return (1 <= a_ <= 31 and 1 <= b_ <= 12) or (1 <= a_ <= 12 and 1 <= b_ <= 31)


def _numeric_dmy(m: re.Match[str]) -> bool:
    a, sep, b, y = m.groups()
    # 04 03 2012: with spaces only, the year must be written in full (so "3 6 12" stays a list).
    return _day_month(a, b) and _year(y) and (sep.strip() != "" or len(y) == 4)


def _numeric_ymd(m: re.Match[str]) -> bool:
    y, _, mo, d = m.groups()
    return _year4(y) and 1 <= int(mo) <= 12 and 1 <= int(d) <= 31


def _month_year(m: re.Match[str]) -> bool:
    mo, y = m.groups()
    return 1 <= int(mo) <= 12 and _year4(y)


def _year_month(m: re.Match[str]) -> bool:
    y, mo = m.groups()
    return _year4(y) and 1 <= int(mo) <= 12


def _day_named_month(m: re.Match[str]) -> bool:
    d, y = m.groups()
    return 1 <= int(d) <= 31 and _year(y)


def _named_month_day_year(m: re.Match[str]) -> bool:
    d, y = m.groups()
    return 1 <= int(d) <= 31 and _year4(y)


def _era_initial(m: re.Match[str]) -> bool:
    _, _, mo, d = m.groups()
    return 1 <= int(mo) <= 12 and 1 <= int(d) <= 31


def _digits(n: int) -> Callable[[re.Match[str]], bool]:
    return lambda m: sum(c.isdigit() for c in m.group(0)) >= n


def _phone(m: re.Match[str]) -> bool:
    """Groups of digits: 10 to 15 digits (or a US social security number, 3-2-4), in three groups or more
    or with the area code in brackets; "100 200 300", a list, is none."""
    digits = sum(c.isdigit() for c in m.group(0))
    groups = len(re.findall(r"\d+", m.group(0)))
    ssn = re.fullmatch(r"\d{3}([ -])\d{2}\1\d{4}", m.group(0)) is not None
    return (10 <= digits <= 15 or ssn) and (groups >= 3 or "(" in m.group(0))


def _resident_id(m: re.Match[str]) -> bool:
    """15 or 18 digits, or 17 and an X: a mainland resident ID number however it is grouped."""
    digits = sum(c.isdigit() for c in m.group(0))
    return digits in (15, 18) or (digits == 17 and m.group(0)[-1] in "Xx")


_SEP = r"( {0,2}[./-] {0,2}| {1,2})"
_PATTERNS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None], ...] = (
    # 12.03.2014, 12/3/14, 4. 3. 2012, 04 03 2012, 03-12-2014 (either order); not "3/12" nor "1.5.5".
    (DATE, re.compile(_BEFORE + r"(\d{1,2})" + _SEP + r"(\d{1,2})\2(\d{4}|\d{2})" + _AFTER), _numeric_dmy),
    # 2014-03-12, 2012/3/4, 2012.03.04
    (DATE, re.compile(_BEFORE + r"(\d{4})" + _SEP + r"(\d{1,2})\2(\d{1,2})" + _AFTER), _numeric_ymd),
    # 03/2012, 3-2012, 03.2012
    (DATE, re.compile(_BEFORE + r"(\d{1,2})[./-](\d{4})" + _AFTER), _month_year),
    # 2012/03, 2012-3 (not 2012.3, a decimal)
    (DATE, re.compile(_BEFORE + r"(\d{4})[/-](\d{1,2})" + _AFTER), _year_month),
    # 12 March 2014, 3rd Jan 2015, 12-mar-14, 4. März 2012, 4 de marzo de 2012, 1er mars 2012
    (DATE, re.compile(r"(?i)" + _BEFORE + r"(\d{1,2})(?:st|nd|rd|th|er|o|a)?\.? {0,2}(?:of {1,2}|de {1,2}|[./-] {0,2})?"
                      + _MONTH + r" {0,2}(?:,|[./-]|de|del)? {0,2}(\d{4}|\d{2})(?!\d)"), _day_named_month),
    # March 12, 2014; Mar 3rd 2015
    (DATE, re.compile(r"(?i)" + _MONTH + r" {0,2}(\d{1,2})(?:st|nd|rd|th)?(?!\d) {0,2},? {0,2}(\d{4})(?!\d)"),
     _named_month_day_year),
    # March 2012, März 2012, marzo de 2012, Mar-2012
    (DATE, re.compile(r"(?i)" + _MONTH + r" {0,2}(?:,|[./-]|de|del|of)? {0,2}(?:19|20)\d\d(?!\d)"), None),
    # 2012年3月4日, 平成24年3月4日, 令和元年5月, 二〇一二年三月, 2012년 3월
    (DATE, re.compile(r"(?:(?:19|20)\d\d|(?:明治|大正|昭和|平成|令和) {0,2}(?:\d{1,2}|元)|[〇零一二三四五六七八九]{4})"
                      r" {0,2}年 {0,2}(?:\d{1,2}|[一二三四五六七八九十]{1,3}) {0,2}月"
                      r"|(?:19|20)\d\d {0,2}년 {0,2}\d{1,2} {0,2}월"
                      # 12年3月4日: a two-digit year, with the day
                      r"|(?<!\d)\d\d {0,2}年 {0,2}\d{1,2} {0,2}月 {0,2}\d{1,2} {0,2}[日号]"), None),
    # H24.3.4, R2/5/1: a Japanese era's initial and the year in it
    (DATE, re.compile(r"(?<![A-Za-z])([MTSHR]) {0,1}\d{1,2}([./-])(\d{1,2})\2(\d{1,2})(?!\d)"), _era_initial),
    # jane@example.org, jane (at) example.org
    (EMAIL, re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}\.\w"
                       r"|(?i:[\w.+-]{1,64} {0,2}[(\[]at[)\]] {0,2}[\w-]{1,63}(?:\.| {0,2}[(\[]dot[)\]] {0,2})\w)"),
     None),
    # Six digits or more in a row (not decimals of a number), or "+" and digits: +49 170 1234567.
    (NUMBER, re.compile(r"(?<![\d.,])\d{6,}"), None),
    (NUMBER, re.compile(r"\+\d[\d ().-]{6,24}\d"), _digits(8)),
    # 138 1234 5678, (555) 123-4567, 555.123.4567, 06 12 34 56 78, 123-45-6789, 943 476 5919
    (NUMBER, re.compile(r"(?<![\d.,/-])(?:\(\d{2,5}\) ?|\d{2,5}[ .-])(?:\d{2,5}[ .-]){0,5}\d{2,5}" + _AFTER),
     _phone),
    # A mainland mobile number, with or without spaces or dashes: 138 1234 5678, 138-1234-5678, 13812345678.
    (NUMBER, re.compile(r"(?<![\d.,/-])1[3-9]\d[ -]{0,2}\d{4}[ -]{0,2}\d{4}(?!\d|[.,/-]\d)"), None),
    # A resident ID (18 characters: 17 digits and a digit or X; the old ones 15 digits), in groups:
    # 110105 19491231 002X, 1101 0519 4912 3100 2X.
    (NUMBER, re.compile(r"(?<![\w.,/-])\d{3,8}(?:[ -]{1,2}\d{2,8}){1,6}(?:[ -]{0,2}[Xx])?(?![\w])"), _resident_id),
    # ZY2012-0345, A12B34C56, AB-123-456: a code of letters and digits, at least five of them digits.
    (NUMBER, re.compile(r"(?<![\w-])[^\W\d_][^\W_]{0,29}(?:[-/][^\W_]{1,30}){0,6}(?<=\d)(?![\w])"
                        r"|(?<![\w-])[^\W\d_][^\W_]{0,29}(?:[-/][^\W_]{1,30}){0,6}\d[^\W\d_](?![\w])"), _digits(5)),
    # MRN 4711, Pat.-Nr. 12-345, 病历号 1234: four digits or more after a word that names them.
    (NUMBER, re.compile(r"(?i)(?:\b(?:MRN|MR|PID|ID|NHS|SSN|SVNR|KVNR|Pat\.? {0,2}-? {0,2}Nr|Fall {0,2}-? {0,2}Nr"
                        r"|(?:patient|record|chart|file|case|hospital) {0,2}(?:id|no|nr|number|#))(?![^\W\d_])"
                        r"|病历号|住院号|门诊号|病案号|身份证号?|患者番号|カルテ番号|診察券番号)"
                        r" {0,2}[.:#=]? {0,2}(?:no\.?|nr\.?|number|#)? {0,2}[:#]? {0,2}"
                        r"[A-Z]{0,4}[ -]?\d[\d /-]{2,20}\d"), _digits(4)),
)

WITHHELD = "[withheld: looked like {kind}]"
# The placeholder itself, as an edge stores a withheld text: read again (an update replayed after a
# restart), it is the identifier it stands for.
_PLACEHOLDER = re.compile(r"\[withheld: looked like (" + "|".join(re.escape(k) for k in (DATE, EMAIL, NUMBER)) + r")\]")


def _found(pattern: re.Pattern[str], check: Callable[[re.Match[str]], bool] | None, text: str) -> bool:
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if check is None or check(m):
            return True
        pos = m.start() + 1  # a match that is no identifier may hide one that starts inside it
    return False


# The study's own pseudonymous key (records/store.py new_referral_id: "R-", two groups of four Crockford
# base32 characters): a code of letters and digits, but never a patient's. Typed in any case, it is taken
# out before the search, or the one in fourteen with five digits would read as a record number.
_CROCKFORD = "[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]"
REFERRAL_ID = re.compile(rf"(?<![\w-])[Rr]-{_CROCKFORD}{{4}}-{_CROCKFORD}{{4}}(?![\w-])")


def identifier_kind(text: str) -> str | None:
    """What identifier ``text`` seems to hold ("a date", ...), or None."""
    if (placeholder := _PLACEHOLDER.search(text)) is not None:
        return placeholder.group(1)
    text = REFERRAL_ID.sub("R-ID", unicodedata.normalize("NFKC", text))
    for kind, pattern, check in _PATTERNS:
        if _found(pattern, check, text):
            return kind
    return None


def warning(kind: str) -> Message:
    return msg(M.IDENTIFIER, kind=kind)


def for_the_record(text: str) -> str:
    """``text`` as the audit trail may keep it."""
    kind = identifier_kind(text)
    return WITHHELD.format(kind=kind) if kind else text


# A physician's own contact (their registration and profile only, never a pre-screen's answer): the whole
# text one phone number or one e-mail address, nothing else around it.
_CONTACT_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_CONTACT_PHONE = re.compile(r"\+?[\d ()./-]{6,30}")


def contact_kind(text: str) -> str | None:
    """EMAIL or NUMBER when ``text`` is, whole, an e-mail address or a phone number (7 to 15 digits, not a
    date); None otherwise."""
    t = unicodedata.normalize("NFKC", text).strip()
    if _CONTACT_EMAIL.fullmatch(t):
        return EMAIL
    if _CONTACT_PHONE.fullmatch(t) and 7 <= sum(c.isdigit() for c in t) <= 15 and identifier_kind(t) != DATE:
        return NUMBER
    return None

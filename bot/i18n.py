"""Languages: English (the phrase tables' own sentences, the catalogues' msgids) and Simplified Chinese
(``bot/locale/zh_Hans/LC_MESSAGES/messages.po``, compiled to ``messages.mo`` beside it; Babel's tooling,
see babel.cfg and bot/i18n_extract.py).

An edge translates the English template first and fills its ``{name}`` fields after, so that a sentence is
never assembled from translated fragments. The language of what is being said is ``current()``: each
Telegram update runs in the language of its user (bot/telegram/app.py), the terminal in ``--lang`` or the
system locale; ``using(lang)`` says something in another (a coordinator's message from a physician's turn).
Machine output (JSON keys, message codes, audit event types) is never translated.
"""

from __future__ import annotations

import gettext
import locale as _locale
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale
from babel.numbers import format_decimal

ENGLISH = "en"
CHINESE = "zh_Hans"
LANGUAGES = (ENGLISH, CHINESE)
NAMES = {ENGLISH: "English", CHINESE: "简体中文"}  # each in its own language (the /language buttons)
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"
# Telegram's command menus take a two-letter ISO 639-1 code.
MENU_CODES = {ENGLISH: "en", CHINESE: "zh"}

_current: ContextVar[str] = ContextVar("screening_bot_language", default=ENGLISH)
# Each user's language as their last update in this application gave it (their Telegram's, or the one they
# chose), where the languages chosen with /language are kept, and where the languages their Telegram gave
# are kept over a restart (both bot/telegram/languages.py): see ``lang_of``.
_seen: dict[int, str] = {}
_chosen: list[Callable[[int], str | None]] = []
_stored: list[Callable[[int], str | None]] = []


@cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: none, its msgids are its sentences)."""
    if lang == ENGLISH:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])


def translator(lang: str) -> Callable[[str], str]:
    """A gettext-style function for ``lang``: English is the identity."""
    if lang == ENGLISH:
        return lambda message: message
    return catalogue(lang).gettext


def negotiate(code: str | None) -> str:
    """A language tag (Telegram's ``language_code``, a locale name, ``--lang``) as one of LANGUAGES:
    Simplified Chinese for ``zh``, ``zh-hans``, ``zh-cn``, ``zh_CN.UTF-8``, ``zh-Hans-CN``, ``zh-SG``;
    English for anything else (Traditional Chinese included: it has no catalogue)."""
    if not code:
        return ENGLISH
    parts = [p for p in re.split(r"[-_.@]", code.strip().lower()) if p]
    if not parts or parts[0] != "zh":
        return ENGLISH
    rest = parts[1:3]
    if "hant" in rest or (rest and rest[0] in ("tw", "hk", "mo")):
        return ENGLISH
    return CHINESE


def system_language(environ: dict[str, str] | None = None) -> str:
    """The terminal's language from the system locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, as gettext
    reads them; the C and POSIX locales are English)."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return negotiate(value.split(":")[0])
    if environ is None:
        try:
            return negotiate(_locale.getlocale(_locale.LC_MESSAGES)[0])
        except (AttributeError, ValueError):
            return ENGLISH
    return ENGLISH


def current() -> str:
    return _current.get()


def set_current(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else ENGLISH)


@contextmanager
def using(lang: str) -> Iterator[None]:
    token = _current.set(lang if lang in LANGUAGES else ENGLISH)
    try:
        yield
    finally:
        _current.reset(token)


def remember(user_id: int, lang: str) -> None:
    """``user_id`` writes in ``lang`` (their update's language: bot/telegram/languages.py)."""
    _seen[user_id] = lang if lang in LANGUAGES else ENGLISH


def set_stored(lookup: Callable[[int], str | None] | None) -> None:
    """Where the languages users' Telegram last gave are kept in the application's database (None:
    nowhere): bot/telegram/services.py, when the store opens; ``set_chosen(None)`` forgets it too."""
    _stored[:] = [lookup] if lookup is not None else []


def set_chosen(lookup: Callable[[int], str | None] | None) -> None:
    """Where the languages users chose are kept (None: nowhere, and nor are their Telegram's). A new
    application (or none) starts with no memory of the languages another one's updates gave: nothing in
    memory carries over from one to the next (what is in the database of the same bot does: the choice,
    and the language its Telegram last gave)."""
    _chosen[:] = [lookup] if lookup is not None else []
    _seen.clear()
    if lookup is None:
        _stored.clear()


def _looked_up(lookups: list[Callable[[int], str | None]], user_id: int) -> str | None:
    for lookup in lookups:
        try:
            lang = lookup(user_id)
        except Exception:  # the store closed or not migrated yet
            lang = None
        if lang in LANGUAGES:
            return lang
    return None


def lang_of(user_id: int) -> str:
    """The language to write to ``user_id`` in, from anyone's turn or a job (a coordinator's summary from
    a physician's turn, a reminder), in this order:

    1. the one they chose with /language (stored: it survives a restart);
    2. the one their last update in this application gave (in memory: the freshest word of their Telegram);
    3. the one their Telegram last gave as stored (``telegram_languages``: what survives a restart until
       their next update; a cache of what Telegram says, not a choice);
    4. English.
    """
    return _looked_up(_chosen, user_id) or _seen.get(user_id) or _looked_up(_stored, user_id) or ENGLISH


def _(message: str) -> str:
    """``message`` (an English template from the phrase tables) in the current language."""
    lang = _current.get()
    return message if lang == ENGLISH else catalogue(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The template for ``n`` in the current language (Chinese has one form)."""
    lang = _current.get()
    if lang == ENGLISH:
        return singular if n == 1 else plural
    return catalogue(lang).ngettext(singular, plural, n)


def number(value: float | int) -> str:
    """A number as the current language writes it (Babel's CLDR data)."""
    return format_decimal(value, locale=Locale.parse(_current.get()))


class Plural(tuple):
    """A sentence with a count, in its singular and plural English forms (the catalogue's msgid and
    msgid_plural): ``Plural("{n} answer", "{n} answers")``; ``plural(p, n)`` picks the form."""

    def __new__(cls, one: str, other: str) -> Plural:
        return super().__new__(cls, (one, other))

    @property
    def one(self) -> str:
        return self[0]

    @property
    def other(self) -> str:
        return self[1]


def plural(p: Plural, n: int) -> str:
    return ngettext(p.one, p.other, n)

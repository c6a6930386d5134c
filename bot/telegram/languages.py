"""The language of each update (bot/i18n.py) and ``/language``.

Every user, physician or coordinator, is answered in the language they chose with ``/language`` (stored
in ``user_languages``, so it survives a restart; the choice is audited as ``language_chosen`` and proven by
records/rebuild.py), else in the language of their Telegram's ``language_code`` (``zh-hans``, ``zh-cn``,
``zh`` → Simplified Chinese; anything else English). Runs before every other handler, so that each update
is answered in its user's language; each update is handled in a task of its own (concurrent updates), so
languages never mix. A message to another user (a coordinator's notice from a physician's turn) is said
in ``i18n.using`` their language; the outbox records the language of every row (``message_sent.lang``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils
from telegram import Update

from bot import i18n
from bot.i18n import _
from conversations.dialogue.events import E

from . import keyboards

if TYPE_CHECKING:
    from .services import BotContext, Services

# What /language says (translated when shown: bot.i18n).
LANGUAGE_PROMPT = "Which language should I write to you in?"
LANGUAGE_SET = "From now on I write to you in {name}."
LANGUAGE_UNKNOWN = "That language is not offered."


class Chosen:
    """The languages users chose (``user_languages``)."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def of(self, user_id: int) -> str | None:
        row = self.db.conn.execute("SELECT lang FROM user_languages WHERE user_id = ?", (user_id,)).fetchone()
        return row[0] if row and row[0] in i18n.LANGUAGES else None

    def all(self) -> dict[int, str]:
        return {uid: lang for uid, lang in self.db.conn.execute("SELECT user_id, lang FROM user_languages")
                if lang in i18n.LANGUAGES}

    def set(self, db: sqlite_utils.Database, user_id: int, lang: str, at: str) -> None:
        db.conn.execute("INSERT INTO user_languages (user_id, lang, chosen_at) VALUES (?, ?, ?)"
                        " ON CONFLICT(user_id) DO UPDATE SET lang = excluded.lang, chosen_at = excluded.chosen_at",
                        (user_id, lang, at))


def language_of(update: Update, context: BotContext) -> str:
    """The user's chosen language, else their Telegram's (coordinators too: what is not translated yet
    stays English)."""
    user = update.effective_user
    if user is None:
        return i18n.ENGLISH
    services: Services = context.services
    chosen = services.languages.of(user.id) if services.is_open else None
    return chosen or i18n.negotiate(user.language_code)


async def set_for_update(update: object, context: BotContext) -> None:
    lang = language_of(update, context) if isinstance(update, Update) else i18n.ENGLISH
    i18n.set_current(lang)
    if isinstance(update, Update) and update.effective_user is not None:
        i18n.remember(update.effective_user.id, lang)  # i18n.lang_of: what other turns and jobs say to them


async def command(update: Update, context: BotContext) -> None:
    """/language: one button per language, the current one marked."""
    from .turn import Turn

    turn = Turn(update, context)
    turn.say(_(LANGUAGE_PROMPT), keyboards.languages(i18n.current()))
    await turn.end()


async def press(update: Update, context: BotContext) -> None:
    """A language button (``lg:<language>``): remembered, audited, the menu set in it, and said in it."""
    from . import menus
    from .turn import Turn

    turn = Turn(update, context)
    data = update.callback_query.data or ""
    lang = data.split(":", 1)[1] if ":" in data else ""
    if lang not in i18n.LANGUAGES:  # forged, or a language no longer offered
        turn.toast = _(LANGUAGE_UNKNOWN)
        await turn.end()
        return
    s = context.services
    at = s.registry.now()
    turn.do(lambda db: s.languages.set(db, turn.user_id, lang, at))
    turn.event(E.LANGUAGE_CHOSEN, {"lang": lang}, ts=at)
    i18n.set_current(lang)  # the rest of this update, and what it says, in the language chosen
    text = _(LANGUAGE_SET).format(name=i18n.NAMES[lang])
    message = update.callback_query.message
    if message is not None:
        turn.edit(message.message_id, text)
    else:
        turn.say(text)
    turn.toast = i18n.NAMES[lang]
    await turn.end()
    role = s.role_of(turn.user_id)
    if role in ("physician", "coordinator"):
        await menus.show_menu(context.bot, turn.user_id, role, lang)

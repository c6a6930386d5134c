"""The language of each update (bot/i18n.py) and ``/language``.

Every user, physician or coordinator, is answered in the language they chose with ``/language`` (stored
in ``user_languages``, so it survives a restart; the choice is audited as ``language_chosen`` and proven by
records/rebuild.py), else in the language of their Telegram's ``language_code`` (``zh-hans``, ``zh-cn``,
``zh`` → Simplified Chinese; anything else English). Runs before every other handler, so that each update
is answered in its user's language; each update is handled in a task of its own (concurrent updates), so
languages never mix. A message to another user (a coordinator's notice from a physician's turn) is said
in ``i18n.using`` their language; the outbox records the language of every row (``message_sent.lang``).

The language each physician's or coordinator's Telegram negotiates to is also kept in ``telegram_languages``
(schema migration 10), written only when it differs from what is kept there (so not once per update), in a
short transaction of its own before the update's turn: a job after a restart (a reminder, a digest, a
summary from another user's turn: ``i18n.lang_of``) writes to a user who never chose a language in their
Telegram's, before they send anything again. It is a cache of what Telegram says, not a decision anyone
made: not audited, not proven by the rebuild (records/rebuild.py leaves it out, as the chat's position in
``telegram_focus``), and nothing of the update's content is logged with it. Strangers' languages are not
kept.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

import sqlite_utils
from telegram import Update

from bot import i18n
from bot.i18n import _
from conversations.dialogue.events import E
from conversations.records.db import write

from . import keyboards

if TYPE_CHECKING:
    from .services import BotContext, Services

log = logging.getLogger(__name__)

# What /language says (translated when shown: bot.i18n).
LANGUAGE_PROMPT = "Which language should I write to you in?"
LANGUAGE_SET = "From now on I write to you in {name}."
LANGUAGE_UNKNOWN = "That language is not offered."


class Chosen:
    """The languages users chose (``user_languages``), and the languages their Telegram last gave
    (``telegram_languages``: a cache, read by ``i18n.lang_of`` from the moment the store is opened)."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        # What telegram_languages holds, as read or written here (rows only: a stranger's ID is not kept).
        self._told: dict[int, str] = {}

    def told(self, user_id: int) -> str | None:
        """The language ``user_id``'s Telegram last gave, as stored (None: none stored)."""
        if user_id in self._told:
            return self._told[user_id]
        row = self.db.conn.execute("SELECT lang FROM telegram_languages WHERE user_id = ?", (user_id,)).fetchone()
        if row and row[0] in i18n.LANGUAGES:
            self._told[user_id] = row[0]
            return row[0]
        return None

    def tell(self, db: sqlite_utils.Database, user_id: int, lang: str, at: str) -> None:
        """Store the language ``user_id``'s Telegram gives (inside the caller's transaction); ``told`` sees
        it once that commits (``kept``)."""
        db.conn.execute("INSERT INTO telegram_languages (user_id, lang, seen_at) VALUES (?, ?, ?)"
                        " ON CONFLICT(user_id) DO UPDATE SET lang = excluded.lang, seen_at = excluded.seen_at",
                        (user_id, lang, at))

    def kept(self, user_id: int, lang: str) -> None:
        self._told[user_id] = lang

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


def keep_telegram_language(services: Services, user_id: int, code: str | None) -> None:
    """Store the language ``code`` (their update's ``language_code``) negotiates to for a physician or a
    coordinator, when it is not what is stored already: in a transaction of its own, before the update's
    turn opens its own. Best effort: a closed store, a database not migrated or busy leaves it for a later
    update (logged without anything of the update)."""
    if not code or not services.is_open:  # no language_code (Telegram does not always send one): nothing said
        return
    lang = i18n.negotiate(code)
    try:
        if services.languages.told(user_id) == lang or services.role_of(user_id) == "stranger":
            return
        with write(services.store.db) as db:
            services.languages.tell(db, user_id, lang, services.registry.now())
        services.languages.kept(user_id, lang)
    except (sqlite3.Error, RuntimeError) as exc:  # RuntimeError: a transaction already open (write does not nest)
        log.warning("the language of a user's Telegram was not stored: %s", type(exc).__name__)


async def set_for_update(update: object, context: BotContext) -> None:
    lang = language_of(update, context) if isinstance(update, Update) else i18n.ENGLISH
    i18n.set_current(lang)
    if isinstance(update, Update) and update.effective_user is not None:
        user = update.effective_user
        i18n.remember(user.id, lang)  # i18n.lang_of: what other turns and jobs say to them
        keep_telegram_language(context.services, user.id, user.language_code)  # and after a restart


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

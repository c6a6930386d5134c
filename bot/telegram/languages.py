"""The language of each update (bot/i18n.py): a physician's from Telegram's ``language_code`` (``zh-hans``,
``zh-cn``, ``zh`` → Simplified Chinese; anything else English). Coordinators get English: their texts are
not translated yet. Runs before every other handler, so that each update is answered in its user's
language; each update is handled in a task of its own (concurrent updates), so languages never mix."""

from __future__ import annotations

from telegram import Update

from bot import i18n

from .services import BotContext


def language_of(update: Update, context: BotContext) -> str:
    user = update.effective_user
    if user is None or user.id in context.services.settings.coordinator_ids:
        return i18n.ENGLISH
    return i18n.negotiate(user.language_code)


async def set_for_update(update: object, context: BotContext) -> None:
    lang = language_of(update, context) if isinstance(update, Update) else i18n.ENGLISH
    i18n.set_current(lang)
    if isinstance(update, Update) and update.effective_user is not None:
        i18n.remember(update.effective_user.id, lang)  # i18n.lang_of: what other turns and jobs say to them

"""The command menus by role and language: a stranger sees none (no menu for all private chats), every
physician and every coordinator their own, set per chat (``BotCommandScopeChat``): at start for every
registered physician, the allow-list and the coordinators, when a physician registers or anyone chooses a
language (/language), and removed when one is revoked. Each chat gets its menu twice: for its user's
Telegram in Chinese (``language_code="zh"``) and for any other (no language code), the descriptions in
that language; once a user chose a language with /language both are in the language chosen. Best effort: a
failure is logged, never fatal (the commands work without a menu)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot import i18n

log = logging.getLogger(__name__)

# The commands and their descriptions (translated when set: bot.i18n), in the menus' order.
PHYSICIAN_MENU = {
    "screen": "start a new pre-screen",
    "status": "show the current question again",
    "back": "change the last answer",
    "skip": "answer \"unknown\"",
    "cancel": "cancel the open pre-screen",
    "summary": "the answers so far, numbered",
    "change": "change any answer: /change <number from /summary>",
    "amend": "change a pre-screen already sent, saying why",
    "profile": "your name, institution and contact",
    "language": "the language I write in: English or 简体中文",
    "help": "how this works",
}
COORDINATOR_MENU = {
    "referrals": "list open referrals",
    "invite": "invitation link for a physician: /invite <days>",
    "invites": "open invitation links, to cancel",
    "physicians": "physicians and their referrals, to revoke",
    "revoke": "remove a physician: /revoke <user ID>",
    "export": "the audit trail as a JSON-lines file",
    "report": "the screening report as an HTML page",
    "reassess": "referrals the current protocol judges otherwise",
    "language": "the language I write in: English or 简体中文",
    "help": "what coordinators can do",
}
MENUS = {"physician": PHYSICIAN_MENU, "coordinator": COORDINATOR_MENU}


def commands(role: str, lang: str) -> list[BotCommand]:
    """The menu of ``role`` with its descriptions in ``lang``."""
    with i18n.using(lang):
        return [BotCommand(name, i18n._(text)) for name, text in MENUS[role].items()]


async def _set(bot: Bot, chat_id: int, role: str, chosen: str | None) -> None:
    """The chat's menu for a Telegram in Chinese and for any other: in the language chosen, else in the
    Telegram's."""
    await bot.set_my_commands(commands(role, chosen or i18n.ENGLISH), scope=BotCommandScopeChat(chat_id))
    await bot.set_my_commands(commands(role, chosen or i18n.CHINESE), scope=BotCommandScopeChat(chat_id),
                              language_code=i18n.MENU_CODES[i18n.CHINESE])


async def show_menu(bot: Bot, chat_id: int, role: str, chosen: str | None = None) -> None:
    try:
        await _set(bot, chat_id, role, chosen)
    except TelegramError as exc:
        log.warning("setting a %s's command menu failed (%s); continuing without it", role, type(exc).__name__)


async def show_physician_menu(bot: Bot, chat_id: int, chosen: str | None = None) -> None:
    await show_menu(bot, chat_id, "physician", chosen)


async def remove_menu(bot: Bot, chat_id: int) -> None:
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id),
                                     language_code=i18n.MENU_CODES[i18n.CHINESE])
    except TelegramError as exc:
        log.warning("removing a command menu failed (%s); continuing", type(exc).__name__)


async def set_all(bot: Bot, physician_ids: list[int], coordinator_ids: list[int],
                  chosen: dict[int, str] | None = None) -> None:
    """At start: no menu for strangers (one an earlier version set for all private chats is removed), each
    physician's and each coordinator's in their chat, in the language each chose (``chosen``)."""
    chosen = chosen or {}
    try:
        await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
        await bot.delete_my_commands(scope=BotCommandScopeDefault())
        for uid in physician_ids:
            await _set(bot, uid, "physician", chosen.get(uid))
        for cid in coordinator_ids:
            await _set(bot, cid, "coordinator", chosen.get(cid))
    except TelegramError as exc:
        log.warning("setting the command menus failed (%s); continuing without them", type(exc).__name__)

"""The command menus by role: a stranger sees none (no menu for all private chats), every physician and
every coordinator their own, set per chat (``BotCommandScopeChat``): at start for every registered
physician, the allow-list and the coordinators, when a physician registers, and removed when one is
revoked. Best effort: a failure is logged, never fatal (the commands work without a menu)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommandScopeAllPrivateChats, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

log = logging.getLogger(__name__)


def _lists() -> tuple[list, list]:
    from .app import COORDINATOR_COMMANDS, PHYSICIAN_COMMANDS  # app.py imports the handlers, which import this

    return PHYSICIAN_COMMANDS, COORDINATOR_COMMANDS


async def show_physician_menu(bot: Bot, chat_id: int) -> None:
    try:
        await bot.set_my_commands(_lists()[0], scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("setting a physician's command menu failed (%s); continuing without it", type(exc).__name__)


async def remove_menu(bot: Bot, chat_id: int) -> None:
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("removing a command menu failed (%s); continuing", type(exc).__name__)


async def set_all(bot: Bot, physician_ids: list[int], coordinator_ids: list[int]) -> None:
    """At start: no menu for strangers (one an earlier version set for all private chats is removed), each
    physician's and each coordinator's in their chat."""
    physicians, coordinators = _lists()
    try:
        await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
        await bot.delete_my_commands(scope=BotCommandScopeDefault())
        for uid in physician_ids:
            await bot.set_my_commands(physicians, scope=BotCommandScopeChat(uid))
        for cid in coordinator_ids:
            await bot.set_my_commands(coordinators, scope=BotCommandScopeChat(cid))
    except TelegramError as exc:
        log.warning("setting the command menus failed (%s); continuing without them", type(exc).__name__)

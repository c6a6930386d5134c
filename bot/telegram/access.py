"""Who may do what. Runs first for every update (handler group -2), then ``withhold`` (group -1):

1. the update is stored (idempotent) and skipped if its ID was already processed;
2. outside a private chat the bot says it works in private chats only, and does nothing else;
3. the role comes from the numeric user ID: coordinators from configuration, physicians from the
   allow-list or an invite; anyone else may only redeem an invite, and otherwise gets one polite
   refusal. Refusals are audited as ``access_refused`` without the update's content.

``withhold`` stops a command, an edited message or a coordinator's text that looks like a patient
identifier before any handler reads it (a physician's typed answer goes on to the engine, which says the
same and asks the question again): the warning is said, nothing of the text is kept, the message is
deleted from the chat.
"""

from __future__ import annotations

import logging
import time

import sqlite_utils
from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.i18n import _, lang_of, using
from conversations.dialogue import identifiers
from conversations.dialogue.events import E
from conversations.records.registry import PROFILE_FIELDS

from . import registration, render
from .inbox import start_argument, update_kind
from .render import esc, phrase
from .services import BotContext
from .turn import Turn

log = logging.getLogger(__name__)

REFUSAL = ("Sorry, this bot serves the referring physicians of a clinical study and I cannot help you "
           "here. If you are a physician who wants to refer a patient, please ask a study coordinator "
           "for an invitation link.")
PRIVATE_ONLY = ("I work in private chats only, so that no patient information is shared with a group. "
                "Please open a private chat with me.")
INVITE_REFUSALS = {
    "unknown": "This invitation link is not valid. Please ask a study coordinator for a new one.",
    "used": "This invitation link has already been used. Please ask a study coordinator for a new one.",
    "expired": "This invitation link has expired. Please ask a study coordinator for a new one.",
    "cancelled": "This invitation link was cancelled. Please ask a study coordinator for a new one.",
}
# A button's pop-up holds at most 200 characters (Telegram cuts the rest): a refusal there is this short.
TOAST_LIMIT = 200
REFUSAL_TOAST = ("Sorry, this bot serves the referring physicians of a clinical study only. If you are one, "
                 "please ask a study coordinator for an invitation link.")
TOO_MANY_TRIES = "Too many invitation links were tried from this account. Please try again in an hour."
QUIET_SECONDS = 600.0
INVITE_TRIES = 5


def refuse(update: Update, context: BotContext, reason: str, text: str, turn: Turn | None = None) -> Turn:
    """The turn (a new one, or ``turn`` while it is being filled) that refuses the update politely."""
    turn = turn or Turn(update, context)
    turn.record_received = False
    chat = update.effective_chat
    turn.event(E.ACCESS_REFUSED, {"reason": reason, "chat_type": chat.type if chat else None,
                                  "update_kind": update_kind(update)})
    if update.callback_query is not None:
        turn.toast = text if len(text) <= TOAST_LIMIT else REFUSAL_TOAST
    elif chat is not None:
        turn.say(text)
    log.info("update %s refused: %s", update.update_id, reason)
    return turn


async def gate(update: object, context: BotContext) -> None:
    if not isinstance(update, Update):
        return
    s = context.services
    s.inbox.receive(update)
    if s.inbox.is_processed(update.update_id):
        log.info("update %s already processed: ignored", update.update_id)
        raise ApplicationHandlerStop
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or (update.message is None and update.callback_query is None
                                         and update.edited_message is None):
        turn = Turn(update, context)  # nothing to answer (e.g. a membership change): just recorded
        turn.role = "system"
        await turn.end()
        raise ApplicationHandlerStop
    context.role = s.role_of(user.id)
    log.info("update %s: %s from %s %s", update.update_id, update_kind(update), context.role, user.id)
    if chat.type != ChatType.PRIVATE:
        await refuse(update, context, "not_private", PRIVATE_ONLY).end()
        raise ApplicationHandlerStop
    if context.role == "stranger":
        await stranger(update, context)
        raise ApplicationHandlerStop


async def withhold(update: object, context: BotContext) -> None:
    if not isinstance(update, Update) or update.callback_query is not None:
        return  # a button's data is never quoted; a forged one is refused as any invalid button
    turn = Turn(update, context)
    if context.role == "physician" and await registration.intercept(update, context, turn):
        raise ApplicationHandlerStop
    answer = (update.message is not None and update.message.text is not None
              and not update.message.text.startswith("/") and context.role == "physician")
    if turn.withheld is None or answer:
        return
    turn.say(esc(phrase(identifiers.warning(turn.withheld))))
    await turn.end()
    raise ApplicationHandlerStop


async def stranger(update: Update, context: BotContext) -> None:
    """An unknown account: an invite code in /start registers it; anything else is refused, once in
    ``QUIET_SECONDS``: more messages from it are marked processed and otherwise ignored (no reply, no
    audit event), so that a flood costs neither. Invite codes are tried at most ``INVITE_TRIES`` times an
    hour per account."""
    s = context.services
    code = start_argument(update.message)
    user_id = update.effective_user.id
    now = time.monotonic()
    if code is not None and s.strangers.tries(user_id, now) >= INVITE_TRIES:
        code, reason, text = None, "invite_tries", TOO_MANY_TRIES
    else:
        reason, text = "not_registered", REFUSAL
    if code is None:
        if s.strangers.refused_lately(user_id, now):
            turn = Turn(update, context)
            turn.record_received = False
            log.info("update %s from a stranger refused lately: ignored", update.update_id)
        else:
            s.strangers.refused(user_id, now)
            turn = refuse(update, context, reason, text)
        await turn.end()
        return
    s.strangers.tried(user_id, now)
    turn = Turn(update, context)

    def redeem(db: sqlite_utils.Database) -> None:
        ts = s.registry.now()
        result, invite_id = s.registry.redeem(code, update.effective_user.id, ts=ts)
        if result == "registered":
            context.role = turn.role = "physician"
            turn.event(E.PHYSICIAN_REGISTERED, {"invite_id": invite_id}, ts=ts)
            turn.say(f"{esc(_(render.REGISTRATION_START))}\n\n{registration.question(PROFILE_FIELDS[0], True)}")
            for cid in sorted(s.settings.coordinator_ids):  # who redeemed which invite; their name follows
                with using(lang_of(cid)):
                    turn.say(_(render.REDEEMED_NOTICE).format(invite_id=esc(invite_id),
                                                              link=render.user_link(user_id)), chat_id=cid)
        else:
            refuse(update, context, f"invite_{result}", INVITE_REFUSALS.get(result, REFUSAL), turn)

    turn.do(redeem)
    await turn.end()

"""Physicians register themselves, and keep their details: name, institution and a contact of their own.

Redeeming an invite (access.py) starts the registration; its questions come one at a time and where it
stands is kept in the database (``physician_asking``), so a restart asks the same question again. The
answers go to the physician directory (the ``physicians`` table), never to a pre-screen. The contact is
the one place a phone number or an e-mail address is accepted (withheld.py lets it through there only);
it is kept in the directory alone: the inbox never stores the update, the trail records a placeholder for
what was typed and, in its ``physician_profile`` event, only the contact's salted SHA-256 (the trail is
exported to auditors; the digest still proves the row, see records/rebuild.py). A name or institution is
recorded as given: the trail must say who referred. ``/profile`` shows the details (the contact is sent
directly, not through the outbox, and the trail records the message without it) and changes one of them.
"""

from __future__ import annotations

import sqlite_utils
from telegram import Update

from bot.i18n import _, lang_of, using
from conversations.dialogue import identifiers
from conversations.dialogue.events import E
from conversations.records.db import write
from conversations.records.registry import PROFILE_FIELDS

from . import keyboards, render
from .inbox import update_kind
from .render import esc
from .services import BotContext
from .turn import Turn
from .withheld import command_of

LIMITS = {"name": 100, "institution": 200, "contact": 100}


def _value(field: str, text: str) -> str | None:
    """The answer to ``field`` as stored, or None when it is not one."""
    value = " ".join(text.split())
    if field == "contact":
        return value if identifiers.contact_kind(value) is not None else None
    if not 2 <= len(value) <= LIMITS[field] or value.startswith("/"):
        return None
    return value


def question(field: str, registering: bool) -> str:
    return esc(_(render.PROFILE_QUESTIONS[field]))


async def intercept(update: Update, context: BotContext, turn: Turn) -> bool:
    """A physician's message while a registration or a profile change waits for an answer: True when it was
    handled here (the update ends here), False to let it go on (a command ends a profile change)."""
    s = context.services
    asking = s.registry.asking(turn.user_id)
    message = update.message
    if asking is None or message is None or message.text is None:
        return False
    field, registering = asking
    if message.text.startswith("/"):
        if not registering:  # a command ends a profile change left unanswered
            with write(s.store.db):
                s.registry.stop_asking(turn.user_id)
            return False
        command = command_of(message.text)[0]
        if turn.withheld is not None or command == "/help":
            turn.say(question(field, registering))
        elif command == "/start":
            turn.say(f"{esc(_(render.ALREADY_REGISTERING))}\n\n{question(field, registering)}")
        else:
            turn.say(f"{esc(_(render.FINISH_REGISTERING))}\n\n{question(field, registering)}")
        await turn.end()
        return True
    if turn.withheld is not None:  # a name or institution that looks like a date or a record number
        turn.say(f"{esc(render.phrase(identifiers.warning(turn.withheld)))}\n\n{question(field, registering)}")
        await turn.end()
        return True
    value = _value(field, message.text)
    if value is None:
        turn.say(f"{esc(_(render.PROFILE_BAD[field]))}\n\n{question(field, registering)}")
        await turn.end()
        return True
    if field == "contact":  # the trail never holds the contact: what was typed is recorded as kept elsewhere
        turn.record_received = False
        turn.event(E.UPDATE_RECEIVED, {"update_id": update.update_id, "kind": update_kind(update),
                                       "text": render.CONTACT_KEPT})
    done: list[bool] = []

    def save(db: sqlite_utils.Database) -> None:
        ts = s.registry.now()
        following, existed, recorded = s.registry.set_profile(turn.user_id, field, value, ts=ts)
        turn.event(E.PHYSICIAN_PROFILE, {"field": field, "value": recorded, "registration": registering,
                                         "existed": existed}, ts=ts)
        if following is not None:
            turn.say(question(following, registering))
        elif registering:
            entry = s.registry.physician(turn.user_id, s.settings.physician_ids)
            turn.say(_(render.REGISTERED).format(name=esc(entry.name or "")))
            for cid in sorted(s.settings.coordinator_ids):
                with using(lang_of(cid)):
                    notice = render.REGISTERED_NOTICE if entry.invite_id else render.REGISTERED_NOTICE_ALLOW_LIST
                    turn.say(_(notice).format(
                        link=render.user_link(turn.user_id), invite_id=esc(entry.invite_id or ""),
                        name=esc(entry.name or ""), institution=esc(entry.institution or "")), chat_id=cid)
            done.append(True)
        else:
            turn.say(esc(_(render.PROFILE_SAVED)))

    turn.do(save)
    await turn.end()
    if done:
        from .menus import show_physician_menu

        await show_physician_menu(context.bot, turn.user_id, s.languages.of(turn.user_id))
    return True


async def profile(update: Update, context: BotContext) -> None:
    """/profile: the physician's details, with a button for each to change. The contact is sent directly
    (never stored in the outbox) and the trail records the message without it."""
    s = context.services
    turn = Turn(update, context)
    await turn.end()
    entry = s.registry.physician(turn.user_id, s.settings.physician_ids)

    def text(contact: str | None) -> str:
        none = esc(_(render.PROFILE_NONE))
        return _(render.PROFILE_TEXT).format(name=esc(entry.name) if entry and entry.name else none,
                                          institution=esc(entry.institution) if entry and entry.institution else none,
                                          contact=esc(contact) if contact else none)

    contact = entry.contact if entry else None
    await s.sender.send_direct(turn.chat_id, text(contact), audit_text=text(render.CONTACT_KEPT if contact else None),
                               markup=keyboards.profile())


async def press(update: Update, context: BotContext) -> None:
    """A physician's profile button: asks for the new value of that field."""
    s = context.services
    turn = Turn(update, context)
    p = keyboards.directory_press(update.callback_query.data)
    if context.role != "physician" or p is None or p[0] != "pf" or p[1] not in PROFILE_FIELDS:
        turn.toast = _(render.NOT_FOR_YOU)
        await turn.end()
        return
    field = p[1]
    asking = s.registry.asking(turn.user_id)
    if asking is not None and asking[1]:  # still registering: the registration's question comes first
        turn.toast = _(render.FINISH_REGISTERING)
        turn.say(question(asking[0], True))
    else:
        turn.do(lambda db: s.registry.ask(turn.user_id, field, False))
        turn.say(question(field, False))
    await turn.end()

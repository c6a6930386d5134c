"""Reminders that survive restarts: an idle pre-screen reminds its physician (with buttons to continue, to be
reminded again in 48 hours, or to cancel), and each coordinator gets a daily digest of the referrals waiting
for a decision (conversations/records/reminders.py decides which are due, from the database alone).

As with the daily anchor (anchoring.py), JobQueue only says when to look. Whether a reminder or a digest was
sent is its audit event (``reminder_sent``, ``digest_sent``), written in the transaction that queues its
message in the outbox under a unique key: a restart, or a SIGKILL at any point, neither skips nor repeats
one (the outbox delivers the row at least once, as every other message).

Buttons (at most 64 bytes): ``w:<ref>:<seq>:<c|z|x|y>`` on the reminder whose ``reminder_sent`` event is
``seq``: continue (the current question again, as /status), snooze (another reminder 48 hours from the
tap, a ``reminder_snoozed`` event), cancel (asks first), cancel confirmed (the engine's cancel, as /cancel).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import faults
from bot.i18n import _, lang_of, using
from bot.settings import Settings
from conversations.dialogue import engine
from conversations.dialogue.events import E
from conversations.records import audit
from conversations.records import reminders as due
from conversations.records.db import write

from . import physician, render
from .services import BotContext, Services
from .turn import Turn

log = logging.getLogger("screening-bot")
PREFIX = "w"
MAX_DATA = 64
MAX_INTERVAL = 600.0  # seconds between looks at most (10 minutes)
_DATA = re.compile(rf"{PREFIX}:([A-Za-z0-9-]{{1,24}}):([0-9]{{1,12}}):([czxy])")


def interval(settings: Settings) -> float:
    """Seconds between looks: a quarter of the idle time, between 1 second and 10 minutes."""
    return max(1.0, min(MAX_INTERVAL, settings.reminder_idle_hours * 3600 / 4))


def look(services: Services, now: datetime | None = None) -> list[str]:
    """Queue every reminder and digest due at ``now``, each with its event, in one transaction; the outbox
    keys queued."""
    now = now or services.registry.clock()
    idle = timedelta(hours=services.settings.reminder_idle_hours)
    keys: list[str] = []
    with write(services.store.db) as db:
        for r in due.due(db, now, idle):
            if not services.registry.is_physician(r.physician_id, services.settings.physician_ids):
                continue  # revoked: the bot no longer talks to them
            seq = due.record_sent(db, r, now)
            key = f"remind:{r.referral_id}:{r.number}:{r.since}"
            with using(lang_of(r.physician_id)):
                services.outbox.enqueue(key, r.physician_id, render.reminder_text(r.kind, r.referral_id, r.since),
                                        keyboard(r.referral_id, seq), referral_id=r.referral_id)
            keys.append(key)
        for d in due.digests_due(db, now, services.settings.coordinator_ids):
            due.record_digest(db, d, now)
            with using(lang_of(d.chat_id)):
                text = render.digest_text(d.day, list(d.waiting), due.WAITING_WORKING_DAYS, due.DIGEST_MAX)
            parts = render.split(text)
            for j, part in enumerate(parts):
                key = f"digest:{d.day}:{d.chat_id}" + (f".{j}" if len(parts) > 1 else "")
                services.outbox.enqueue(key, d.chat_id, part)
                keys.append(key)
    for key in keys:
        faults.point("job_committed", key)
    if keys:
        log.info("reminders: %d message(s) queued", len(keys))
    return keys


async def job(context: BotContext) -> None:
    if look(context.services):
        await context.services.sender.deliver_due()


# ---- the buttons -------------------------------------------------------------------------------------

def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode("utf-8")) <= MAX_DATA, data
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(ref: str, seq: int) -> InlineKeyboardMarkup:
    base = f"{PREFIX}:{ref}:{seq}"
    b = render.REMINDER_BUTTONS
    return InlineKeyboardMarkup([[_button(_(b["continue"]), f"{base}:c"), _button(_(b["snooze"]), f"{base}:z")],
                                 [_button(_(b["cancel"]), f"{base}:x")]])


def confirm_keyboard(ref: str, seq: int) -> InlineKeyboardMarkup:
    base = f"{PREFIX}:{ref}:{seq}"
    b = render.REMINDER_BUTTONS
    return InlineKeyboardMarkup([[_button(_(b["yes"]), f"{base}:y"), _button(_(b["no"]), f"{base}:c")]])


def parse(data: str | None) -> tuple[str, int, str] | None:
    """(referral ID, reminder event, what) of a reminder's button; None for data this bot never makes."""
    m = _DATA.fullmatch(data or "")
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


async def press(update: Update, context: BotContext) -> None:
    """A button under a reminder (or under the question whether to cancel)."""
    s = context.services
    query = update.callback_query
    turn = Turn(update, context)
    pressed = parse(query.data)
    prescreen = s.store.get(pressed[0]) if pressed is not None else None
    if pressed is None:
        turn.toast = physician.INVALID
        await turn.end()
        return
    if prescreen is None or prescreen.owner_role != "physician" or prescreen.owner_id != turn.user_id:
        turn.toast = physician.NOT_YOURS
        await turn.end()
        return
    ref, seq, what = pressed
    turn.referral_id = ref
    message_id = query.message.message_id if query.message is not None else None
    if what == "c":
        turn.step(ref, engine.Command("status"), physician._shows(turn))
    elif what == "z":
        turn.do(lambda db: _snooze(turn, ref, seq, message_id))
    elif what == "x":
        if prescreen.phase != "asking":
            turn.toast = _(render.REMINDER_NOT_OPEN)
        else:
            turn.say(_(render.REMINDER_CANCEL_ASK).format(ref=render.esc(ref)), confirm_keyboard(ref, seq))
    else:
        turn.step(ref, engine.Command("cancel"), physician._shows(turn))
    await turn.end()


def _snooze(turn: Turn, ref: str, seq: int, message_id: int | None) -> None:
    """In the turn's transaction: another reminder 48 hours from now, if the pre-screen is still idle since
    the change this reminder was about."""
    s = turn.services
    reminder = due.reminder_event(s.store.db, seq)
    prescreen = s.store.get(ref)
    if (reminder is None or reminder[0] != ref or prescreen is None or prescreen.phase != "asking"
            or reminder[1].get("since") != prescreen.updated_at):
        turn.toast = _(render.REMINDER_MOVED)
        return
    at = s.registry.clock()
    until = at + due.SNOOZE
    turn.event(E.REMINDER_SNOOZED, {"since": prescreen.updated_at, "until": audit.iso_utc(until),
                                    "reminder_seq": seq}, ts=audit.iso_utc(at))
    when = render.reminder_time(audit.iso_utc(until))
    turn.toast = _(render.REMINDER_SNOOZED_TOAST).format(until=when)
    if message_id is not None:
        turn.edit(message_id, _(render.REMINDER_SNOOZED).format(ref=render.esc(ref), until=when))

"""One update's effect, committed at once: the update marked processed, its audit events, the focus and
the replies (as outbox rows) in one transaction; sending happens after the commit.

A handler builds a Turn, fills it (or lets ``step`` fill it inside the store's transaction), then
``await turn.finish()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import faults
from conversations.dialogue import engine, identifiers
from conversations.records import audit
from conversations.records.db import write
from conversations.records.store import StepResult

from .inbox import MAY_IDENTIFY, message_kind, start_argument, update_kind
from .render import LIMIT, Reply, esc, split
from .services import BotContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Out:
    chat_id: int
    reply: Reply
    referral_id: str | None
    message_id: int | None
    key: str | None


def received_text(update: Update) -> str | None:
    """What the update said, for the audit trail; an invite code after /start is never recorded, nor
    anything that looks like a patient identifier."""
    if update.callback_query is not None:
        data = update.callback_query.data
        return None if data is None else identifiers.for_the_record(data)
    message = update.message
    if message is None or message.text is None:
        return None
    if start_argument(message):
        return "/start [invite code]"
    command, _, argument = message.text.partition(" ")
    if command.split("@")[0] == "/revoke" and argument.strip().isdecimal():
        return message.text  # a Telegram user ID, not a patient's number
    return identifiers.for_the_record(message.text)


class Turn:
    def __init__(self, update: Update, context: BotContext, referral_id: str | None = None):
        self.update = update
        self.context = context
        self.services = context.services
        self.user_id = update.effective_user.id if update.effective_user else 0
        self.chat_id = update.effective_chat.id if update.effective_chat else self.user_id
        self.role = context.role
        self.referral_id = referral_id
        self.record_received = True
        self.toast: str | None = None
        self.events: list[tuple[str, str, int, dict[str, Any], str | None]] = []
        self.outs: list[_Out] = []
        self.focus: str | None = None
        self.extra: list[Callable[[sqlite_utils.Database], None]] = []

    # ---- filling -------------------------------------------------------------------------------

    def say(self, text: str, markup: InlineKeyboardMarkup | None = None, *, chat_id: int | None = None,
            referral_id: str | None = None, key: str | None = None) -> None:
        self.outs.append(_Out(chat_id or self.chat_id, Reply(text, markup), referral_id or self.referral_id,
                              None, key))

    def edit(self, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        self.outs.append(_Out(self.chat_id, Reply(text, markup, edit=True), self.referral_id, message_id, None))

    def replies(self, replies: list[Reply], edit_message_id: int | None = None) -> None:
        for r in replies:
            if r.edit and edit_message_id is not None:
                self.edit(edit_message_id, r.text, r.markup)
            else:
                self.say(r.text, r.markup)

    def event(self, type_: str, payload: dict[str, Any], *, referral_id: str | None = None,
              actor_role: str | None = None, actor_id: int | None = None) -> None:
        self.events.append((type_, actor_role or self.role, self.user_id if actor_id is None else actor_id,
                            payload, referral_id or self.referral_id))

    # ---- committing ----------------------------------------------------------------------------

    def write(self, db: sqlite_utils.Database) -> None:
        """Inside the write transaction."""
        s = self.services
        s.inbox.mark_processed(db, self.update.update_id)
        if self.record_received:
            audit.append(db, actor_role=self.role, actor_id=self.user_id, type="update_received",
                         payload={"update_id": self.update.update_id, "kind": update_kind(self.update),
                                  "text": received_text(self.update)},
                         referral_id=self.referral_id)
        for type_, role, actor_id, payload, ref in self.events:
            audit.append(db, actor_role=role, actor_id=actor_id, type=type_, payload=payload, referral_id=ref)
        if self.focus is not None:
            s.focus.set(db, self.user_id, self.focus)
        for extra in self.extra:
            extra(db)
        for i, out in enumerate(self.outs):
            parts = split(out.reply.text, LIMIT - 80)
            if out.message_id is not None:
                parts = parts[:1]
            elif len(parts) > 1 and out.referral_id:  # each part says whose it is
                parts = [parts[0]] + [f"<b>{esc(out.referral_id)}</b> (continued, part {j + 1} of "
                                      f"{len(parts)})\n{p}" for j, p in enumerate(parts[1:], 1)]
            for j, part in enumerate(parts):
                last = j == len(parts) - 1
                key = out.key or f"u{self.update.update_id}.{i}"
                s.outbox.enqueue(f"{key}.{j}" if len(parts) > 1 else key, out.chat_id, part,
                                 out.reply.markup if last else None,
                                 edit_message_id=out.message_id, referral_id=out.referral_id)
        if (reason := self._may_identify()) is not None:  # after the warning, which it must not hold up
            s.outbox.enqueue_deletion(f"u{self.update.update_id}.del", self.chat_id, self.update.message.message_id,
                                      reason, referral_id=self.referral_id)

    def _may_identify(self) -> str | None:
        """Why the update's message is to be deleted from the chat, if it may identify the patient: text
        that looks like an identifier (recorded as withheld), or a photo, file, voice note, contact or
        location (never opened). Bots may delete incoming messages in private chats only."""
        message = self.update.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return None
        kind = message_kind(message)
        if kind in MAY_IDENTIFY:
            return f"{kind}, may identify the patient"
        if kind == "text" and identifiers.identifier_kind(message.text) is not None:
            return "possible patient identifier"
        return None

    def commit(self) -> None:
        with write(self.services.store.db) as db:
            self.write(db)

    def step(self, referral_id: str, inp: engine.Input | None,
             render: Callable[[StepResult], None]) -> StepResult | None:
        """Step the engine (``None``: start a new pre-screen) and commit this turn in the store's
        transaction; ``render`` fills the turn from the result inside it. On an illegal step nothing
        changes: the engine's reason is said and the update is recorded."""
        s = self.services

        def hook(db: sqlite_utils.Database, res: StepResult) -> None:
            self.referral_id = res.referral_id
            render(res)
            self.write(db)

        try:
            if inp is None:
                return s.store.start("physician", self.user_id, channel="telegram", hook=hook)
            return s.store.apply(referral_id, inp, self.role, self.user_id, hook=hook)
        except engine.IllegalStep as exc:
            note = f"{referral_id}: {exc}."
            if self.update.callback_query is not None:
                self.toast = note[:200]
            else:
                self.say(esc(note))
            self.commit()
            return None

    async def end(self) -> None:
        """Commit, then finish."""
        self.commit()
        await self.finish()

    async def finish(self) -> None:
        """After the commit: answer the button press, then send what is due."""
        faults.point("committed", update_kind(self.update))
        query = self.update.callback_query
        if query is not None:
            try:
                await query.answer(self.toast)
            except TelegramError as exc:  # an expired query: the note is lost, nothing else
                log.info("callback answer for update %s failed: %s", self.update.update_id,
                         type(exc).__name__)
        await self.services.sender.deliver_due()

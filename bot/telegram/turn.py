"""One update's effect, committed at once: the update marked processed, the engine's step, its audit
events, the focus and the replies (as outbox rows) in one transaction; sending happens after the commit.

A handler builds a Turn and fills it: what to say (``say``, ``edit``), the step to take (``step``, with a
function that renders its result), and any other writes (``do``); then ``await turn.end()``, the one way
to end a turn: one transaction runs the step, the writes and the rendering and records everything, then
the button press is answered and the replies are sent. No transaction ever spans an ``await``: handlers
run concurrently on one thread.
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

from bot import faults, i18n
from conversations.dialogue import engine, identifiers
from conversations.dialogue.events import E
from conversations.dialogue.messages import Message
from conversations.records import audit
from conversations.records.store import Recorded

from . import withheld
from .inbox import MAY_IDENTIFY, message_kind, start_argument, update_kind
from .render import LIMIT, Reply, esc, phrase, split
from .services import BotContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Out:
    chat_id: int
    reply: Reply
    referral_id: str | None
    message_id: int | None
    key: str | None
    lang: str  # the language it is written in: the current one when it was said (bot/i18n.using)


def received_text(update: Update, withheld_kind: str | None) -> str | None:
    """What the update said, for the audit trail; an invite code after /start is never recorded, nor
    anything that looks like a patient identifier (``withheld_kind``: see withheld.py), nor an edit."""
    if withheld_kind is not None:
        return identifiers.WITHHELD.format(kind=withheld_kind)
    if update.callback_query is not None:
        return update.callback_query.data
    message = update.message
    if message is None or message.text is None:
        return None
    return "/start [invite code]" if start_argument(message) else message.text


Render = Callable[[Recorded], None]
Refused = Callable[[Message], str]
Action = Callable[[sqlite_utils.Database], None]


class Turn:
    def __init__(self, update: Update, context: BotContext, referral_id: str | None = None):
        self.update = update
        self.context = context
        self.services = context.services
        self.user_id = update.effective_user.id if update.effective_user else 0
        self.chat_id = update.effective_chat.id if update.effective_chat else self.user_id
        self.role = context.role
        self.withheld = withheld.kind(update, self.services.settings.coordinator_ids,  # once per update
                                      self.services.inbox.contact_asked)
        self.referral_id = referral_id
        self.record_received = True
        self.toast: str | None = None
        self.events: list[tuple[str, str, int, dict[str, Any], str | None, str | None]] = []
        self.outs: list[_Out] = []
        self.focus: str | None = None
        # What the transaction does, in order: ("step", (referral_id, input, render)) or ("do", action);
        # then, once the turn's own events are in the trail, what needs them there (``then``).
        self._work: list[tuple[str, Any]] = []
        self._then: list[Action] = []
        self.result: Recorded | None = None  # the step's, after end()

    # ---- filling -------------------------------------------------------------------------------

    def say(self, text: str, markup: InlineKeyboardMarkup | None = None, *, chat_id: int | None = None,
            referral_id: str | None = None, key: str | None = None, question_seq: int | None = None) -> None:
        self.outs.append(_Out(chat_id or self.chat_id, Reply(text, markup, question_seq=question_seq),
                              referral_id or self.referral_id, None, key, i18n.current()))

    def edit(self, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None,
             question_seq: int | None = None, *, chat_id: int | None = None) -> None:
        """Edit a message of the turn's chat (or of ``chat_id``: a coordinator's summary, say)."""
        self.outs.append(_Out(chat_id or self.chat_id, Reply(text, markup, edit=True, question_seq=question_seq),
                              self.referral_id, message_id, None, i18n.current()))

    def replies(self, replies: list[Reply], edit_message_id: int | None = None) -> None:
        for r in replies:
            if r.edit and edit_message_id is not None:
                self.edit(edit_message_id, r.text, r.markup, r.question_seq)
            else:
                self.say(r.text, r.markup, question_seq=r.question_seq)

    def event(self, type_: str, payload: dict[str, Any], *, referral_id: str | None = None,
              actor_role: str | None = None, actor_id: int | None = None, ts: str | None = None) -> None:
        """An event of the turn's; ``ts``: the time of the row it records (the registry's), so that both agree."""
        self.events.append((type_, actor_role or self.role, self.user_id if actor_id is None else actor_id,
                            payload, referral_id or self.referral_id, ts))

    def step(self, referral_id: str | None, inp: engine.Input | None, render: Render,
             refused: Refused | None = None) -> None:
        """Step the engine (``inp`` None: start a new pre-screen, ``referral_id`` unused) when the turn ends,
        in its transaction; ``render`` fills the turn from the result there. On an illegal step nothing
        changes: the engine's reason is said (or shown on the pressed button), worded by ``refused`` when
        given (else "<referral ID>: <reason>."), and the update recorded."""
        self._work.append(("step", (referral_id, inp, render, refused)))

    def do(self, action: Action) -> None:
        """A write of the turn's own (the registry, an invite), run in its transaction, in order."""
        self._work.append(("do", action))

    def then(self, action: Action) -> None:
        """A write that needs the turn's own events in the trail first (a summary names the audit head)."""
        self._then.append(action)

    # ---- ending --------------------------------------------------------------------------------

    async def end(self) -> None:
        """Commit everything in one transaction, then answer the press and send what is due."""
        s = self.services
        marks: dict = {}
        held: dict = {}
        try:
            with s.store.transaction() as db:
                # What was delivered, and what else arrived meanwhile, ride along in this commit.
                marks = s.outbox.write_marks(db)
                for what, item in self._work:
                    if what == "do":
                        item(db)
                    else:
                        self._step(*item)
                self._write(db)
                held = s.inbox.store_held(db, but=self.update.update_id)
        except BaseException:
            s.outbox.hold_again(marks)
            s.inbox.hold_again(held)
            raise
        s.inbox.done(self.update.update_id)
        faults.point("committed", update_kind(self.update))
        query = self.update.callback_query
        if query is not None:
            try:
                await query.answer(self.toast)
            except TelegramError as exc:  # an expired query: the note is lost, nothing else
                log.info("callback answer for update %s failed: %s", self.update.update_id,
                         type(exc).__name__)
        await self.services.sender.deliver_due()

    def _step(self, referral_id: str | None, inp: engine.Input | None, render: Render,
              refused: Refused | None) -> None:
        store = self.services.store
        try:
            if inp is None:
                self.result = store.start("physician", self.user_id, channel="telegram")
            else:
                self.result = store.apply(referral_id, inp, self.role, self.user_id)
        except engine.IllegalStep as exc:  # the engine changed nothing: say why
            note = refused(exc.message) if refused else f"{referral_id}: {phrase(exc.message)}."
            if self.update.callback_query is not None:
                self.toast = note[:200]
            else:
                self.say(esc(note))
            return
        self.referral_id = self.result.referral_id
        render(self.result)

    def _write(self, db: sqlite_utils.Database) -> None:
        s = self.services
        s.inbox.mark_processed(db, self.update)
        if self.record_received:
            audit.append(db, actor_role=self.role, actor_id=self.user_id, type=E.UPDATE_RECEIVED,
                         payload={"update_id": self.update.update_id, "kind": update_kind(self.update),
                                  "text": received_text(self.update, self.withheld)},
                         referral_id=self.referral_id)
        for type_, role, actor_id, payload, ref, ts in self.events:
            audit.append(db, actor_role=role, actor_id=actor_id, type=type_, payload=payload, referral_id=ref,
                         ts=ts)
        if self.focus is not None:
            s.focus.set(db, self.user_id, self.focus)
        for action in self._then:
            action(db)
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
                                 edit_message_id=out.message_id, referral_id=out.referral_id,
                                 question_seq=out.reply.question_seq if last else None, lang=out.lang)
        message = self.update.message or self.update.edited_message
        if (reason := self._may_identify()) is not None:  # after the warning, which it must not hold up
            s.outbox.enqueue_deletion(f"u{self.update.update_id}.del", self.chat_id, message.message_id,
                                      reason, referral_id=self.referral_id)

    def _may_identify(self) -> str | None:
        """Why the update's message is to be deleted from the chat, if it may identify the patient: text
        that looks like an identifier (a command's or an edit's too; recorded as withheld), or a photo,
        file, voice note, contact or location (never opened). Bots may delete incoming messages in
        private chats only."""
        message = self.update.message or self.update.edited_message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return None
        kind = message_kind(message)
        if kind in MAY_IDENTIFY:
            return f"{kind}, may identify the patient"
        if self.withheld is not None and self.update.callback_query is None:
            return "possible patient identifier"
        return None

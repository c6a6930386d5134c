"""Messages to send (and incoming messages to delete), written in the transaction of the change they
report and sent after it commits.

A row is keyed (``key`` is unique), so enqueuing the same message twice stores it once. The sender tries
each due row in order; a failure is kept and retried with exponential back-off (``retry_after`` for a
429), never dropped. Messages to one chat keep their order: a later message waits for an earlier one
that is still failing. Sending is at-least-once: a crash between Telegram's answer and our commit sends
that message again, which is why summaries carry the stable referral ID.

A row delivered is marked sent (with its audit event) by the next commit: the next turn's, the inbox's,
or one of its own a moment after the sender goes idle (``MARK_DELAY``), so that under load a reply costs
no commit of its own. Until then the mark is held here: the row is not sent again, and the question it
shows counts as on screen. A crash before the mark is written sends the row again (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlite_utils
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import faults, i18n
from bot.telegram import contact
from conversations.dialogue.events import E
from conversations.records import audit
from conversations.records.db import write

log = logging.getLogger(__name__)

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
UNREACHABLE_CAP = 3600.0  # a chat that refuses us (blocked, never started) is retried hourly
MARK_DELAY = 0.05  # seconds idle before held marks are written in a commit of their own


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    chat_id: int
    edit_message_id: int | None
    text: str  # for a deletion: why
    markup: str | None
    referral_id: str | None
    attempts: int
    next_attempt_at: float
    delete_message_id: int | None
    question_seq: int | None
    lang: str | None = None  # the language the text is written in (None: a row from before it was kept)


@dataclass(frozen=True)
class _Mark:
    row: Row
    message_id: int
    sent_at: str


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def backoff(attempts: int, cap: float = BACKOFF_CAP) -> float:
    return min(cap, BACKOFF_BASE * 2 ** max(attempts - 1, 0))


class Outbox:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self._marks: dict[int, _Mark] = {}  # row ID: delivered, its mark not written yet
        # The keyboards enqueued by this process, by key: sent as built rather than read back from JSON.
        self.keyboards: dict[str, InlineKeyboardMarkup] = {}

    def hold_mark(self, row: Row, message_id: int) -> None:
        self._marks[row.id] = _Mark(row, message_id, audit.utc_now())

    @property
    def marks_held(self) -> int:
        return len(self._marks)

    def write_marks(self, db: sqlite_utils.Database | None = None) -> dict[int, _Mark]:
        """Mark every delivered row sent, with its audit event: in ``db``'s transaction when given (a turn's:
        give them back with ``hold_again`` if it fails), else in one of its own. The marks written."""
        if not self._marks:
            return {}
        if db is None:
            with write(self.db):
                return self.write_marks(self.db)
        marks, self._marks = self._marks, {}
        for mark in marks.values():
            row = mark.row
            db.conn.execute(
                "UPDATE telegram_outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?,"
                " message_id = ?, last_error = NULL WHERE id = ?", (mark.sent_at, mark.message_id, row.id))
            type_, payload = E.MESSAGE_SENT, {"chat_id": row.chat_id, "text": contact.for_the_trail(row.text)}
            if row.lang is not None:
                payload["lang"] = row.lang
            if row.edit_message_id is not None:
                payload["edited_message_id"] = row.edit_message_id
            if row.delete_message_id is not None:
                type_, payload = E.MESSAGE_DELETED, {"chat_id": row.chat_id, "message_id": row.delete_message_id,
                                                     "reason": row.text}
            audit.append(db, actor_role="system", actor_id=0, type=type_, payload=payload,
                         referral_id=row.referral_id)
        return marks

    def hold_again(self, marks: dict[int, _Mark]) -> None:
        self._marks = {**marks, **self._marks}

    def enqueue_deletion(self, key: str, chat_id: int, message_id: int, reason: str,
                         referral_id: str | None = None) -> None:
        """Delete an incoming message (bots may, in private chats), in order with the chat's replies;
        inside the write transaction of the change."""
        if not self.db.conn.in_transaction:
            raise RuntimeError("enqueue_deletion runs inside the write transaction of the change")
        self.db.conn.execute(
            "INSERT OR IGNORE INTO telegram_outbox (key, chat_id, delete_message_id, text, referral_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (key, chat_id, message_id, reason, referral_id, audit.utc_now()))

    def enqueue(self, key: str, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None,
                edit_message_id: int | None = None, referral_id: str | None = None,
                question_seq: int | None = None, lang: str | None = None) -> None:
        """Inside the write transaction of the change; a key already present is left alone.
        ``question_seq``: the question instance the message shows, for binding typed answers to it;
        ``lang``: the language the text is written in (default: the current one, bot/i18n.current)."""
        if not self.db.conn.in_transaction:
            raise RuntimeError("enqueue runs inside the write transaction of the change")
        self.db.conn.execute(
            "INSERT OR IGNORE INTO telegram_outbox (key, chat_id, edit_message_id, text, markup, referral_id,"
            " created_at, question_seq, lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, chat_id, edit_message_id, text,
             json.dumps(markup.to_dict()) if markup is not None else None, referral_id, audit.utc_now(),
             question_seq, lang or i18n.current()))
        if markup is not None:
            self.keyboards[key] = markup

    def question_before(self, chat_id: int, message_id: int) -> tuple[str, int] | None:
        """The question (referral ID, instance) delivered last to the chat before its message ``message_id``:
        what the physician had in front of them when they wrote it (message IDs of a private chat grow with
        every message, theirs and ours). None when no question had been delivered."""
        row = self.db.conn.execute(
            "SELECT message_id, id, referral_id, question_seq FROM telegram_outbox WHERE chat_id = ?"
            " AND status = 'sent' AND question_seq IS NOT NULL AND message_id < ?"
            " ORDER BY message_id DESC, id DESC LIMIT 1", (chat_id, message_id)).fetchone()
        held = [(m.message_id, m.row.id, m.row.referral_id, m.row.question_seq) for m in self._marks.values()
                if m.row.chat_id == chat_id and m.row.question_seq is not None and m.message_id < message_id]
        latest = max([*held, *([tuple(row)] if row else [])], default=None)
        return (latest[2], latest[3]) if latest else None

    def pending(self) -> list[Row]:
        rows = self.db.conn.execute(
            "SELECT id, key, chat_id, edit_message_id, text, markup, referral_id, attempts, next_attempt_at,"
            " delete_message_id, question_seq, lang FROM telegram_outbox WHERE status = 'pending'"
            " ORDER BY id").fetchall()
        return [Row(*r) for r in rows if r[0] not in self._marks]

    def status(self, key: str) -> str | None:
        row = self.db.conn.execute("SELECT status FROM telegram_outbox WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None


class Sender:
    """Delivers due outbox rows; one delivery round at a time."""

    def __init__(self, outbox: Outbox, bot: Bot, clock: Callable[[], float] = time.time):
        self.outbox = outbox
        self.db = outbox.db
        self.bot = bot
        self.clock = clock
        self.paused_until = 0.0
        self._lock = asyncio.Lock()
        self._marking: asyncio.TimerHandle | None = None

    async def deliver_due(self) -> int:
        """Try every due row once; returns how many of the rows found are still pending."""
        async with self._lock:
            blocked: set[int] = set()
            left = 0
            for row in self.outbox.pending():
                if row.chat_id in blocked:
                    left += 1
                    continue
                now = self.clock()
                if now < self.paused_until or now < row.next_attempt_at:
                    blocked.add(row.chat_id)
                    left += 1
                    continue
                if not await self._try(row):
                    blocked.add(row.chat_id)
                    left += 1
            if self.outbox.marks_held and self._marking is None:
                self._marking = asyncio.get_running_loop().call_later(MARK_DELAY, self._mark_when_idle)
            return left

    def _mark_when_idle(self) -> None:
        """No commit came to take the marks along: write them in one of their own."""
        self._marking = None
        try:
            self.outbox.write_marks()
        except Exception as exc:  # the rows are sent again: at least once, never lost
            log.error("marking delivered messages failed (%s); they will be sent again", type(exc).__name__)
    async def _try(self, row: Row) -> bool:
        try:
            faults.point("before_send", row.key)
            message_id = await self._send(row)
            faults.point("after_send", row.key)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            self.paused_until = self.clock() + wait
            self._failed(row, "RetryAfter", wait)
        except BadRequest as exc:
            if row.edit_message_id is not None and "not modified" in exc.message.lower():
                self._sent(row, row.edit_message_id)
                return True
            if row.delete_message_id is not None and "message to delete not found" in exc.message.lower():
                self._sent(row, row.delete_message_id)  # gone already: deleted before a crash, or by its sender
                return True
            if "chat not found" in exc.message.lower():
                self._failed(row, "BadRequest", backoff(row.attempts + 1, UNREACHABLE_CAP))
            else:
                self._given_up(row, f"BadRequest: {exc.message[:200]}")
                return True  # a malformed message never goes through: later ones may
        except Forbidden:
            self._failed(row, "Forbidden", backoff(row.attempts + 1, UNREACHABLE_CAP))
        except NetworkError as exc:  # time-outs, 5xx, connection errors
            self._failed(row, type(exc).__name__, backoff(row.attempts + 1))
        except TelegramError as exc:
            self._failed(row, type(exc).__name__, backoff(row.attempts + 1))
        else:
            self._sent(row, message_id)
            return True
        return False

    async def _send(self, row: Row) -> int:
        if row.delete_message_id is not None:
            await self.bot.delete_message(row.chat_id, row.delete_message_id)
            return row.delete_message_id
        markup = self.outbox.keyboards.pop(row.key, None)
        if markup is None and row.markup:
            markup = InlineKeyboardMarkup.de_json(json.loads(row.markup), self.bot)
        if row.edit_message_id is not None:
            await self.bot.edit_message_text(row.text, chat_id=row.chat_id, message_id=row.edit_message_id,
                                             parse_mode=ParseMode.HTML, reply_markup=markup)
            return row.edit_message_id
        message = await self.bot.send_message(row.chat_id, row.text, parse_mode=ParseMode.HTML,
                                              reply_markup=markup)
        return message.message_id

    def _sent(self, row: Row, message_id: int) -> None:
        self.outbox.hold_mark(row, message_id)

    def _failed(self, row: Row, error: str, delay: float) -> None:
        log.warning("outbox %s to chat %s failed (%s, attempt %d); retry in %.0f s",
                    row.key, row.chat_id, error, row.attempts + 1, delay)
        with write(self.db):
            self.db.conn.execute(
                "UPDATE telegram_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                " WHERE id = ?", (self.clock() + delay, error, row.id))

    def _given_up(self, row: Row, error: str) -> None:
        log.error("outbox %s to chat %s refused by Telegram (%s); kept as failed",
                  row.key, row.chat_id, error.split(":")[0])
        with write(self.db):
            self.db.conn.execute(
                "UPDATE telegram_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE id = ?", (error, row.id))

    async def send_direct(self, chat_id: int, text: str, audit_text: str, referral_id: str | None = None,
                          tries: int = 3, markup: InlineKeyboardMarkup | None = None) -> bool:
        """Send a message that must not be stored (it carries a secret, or a physician's own contact), with a
        few quick retries. The audit trail records ``audit_text`` in its place (and the current language)."""
        return await self._direct(lambda: self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                                                reply_markup=markup),
                                  chat_id, audit_text, referral_id, tries)

    async def send_document(self, chat_id: int, path: Path, caption: str, tries: int = 3) -> bool:
        """Send a file (an audit export) directly: it is not kept in the outbox, the requester asks again
        if it fails. The audit trail records the caption."""
        def send() -> Awaitable[object]:
            return self.bot.send_document(chat_id, path.read_bytes(), filename=path.name, caption=caption,
                                          parse_mode=ParseMode.HTML)
        return await self._direct(send, chat_id, f"[document {path.name}] {caption}", None, tries)

    async def _direct(self, send: Callable[[], Awaitable[object]], chat_id: int, audit_text: str,
                      referral_id: str | None, tries: int) -> bool:
        lang = i18n.current()  # the language the message was written in (its caller's)
        for attempt in range(1, tries + 1):
            try:
                await send()
            except RetryAfter as exc:
                await asyncio.sleep(min(retry_seconds(exc), 30))
            except BadRequest:
                log.error("direct message to chat %s refused (BadRequest)", chat_id)
                return False
            except (NetworkError, TelegramError) as exc:
                log.warning("direct message to chat %s failed (%s, attempt %d)", chat_id,
                            type(exc).__name__, attempt)
                await asyncio.sleep(backoff(attempt, 4))
            else:
                with write(self.db):
                    audit.append(self.db, actor_role="system", actor_id=0, type=E.MESSAGE_SENT,
                                 payload={"chat_id": chat_id, "text": audit_text, "lang": lang},
                                 referral_id=referral_id)
                return True
        return False

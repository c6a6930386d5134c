"""Incoming updates, stored before they are processed, so that a crash loses none and none is applied twice.

An update is written to ``telegram_updates`` when it enters the application's queue (polling and webhook
alike) and again, idempotently, when a handler first sees it. It is marked processed in the same
transaction as the change it causes; its raw JSON is dropped then, leaving only the ID, the kind and
the times (the audit trail holds what was said). On start-up, stored but unprocessed updates are
queued again; an update ID already processed is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import sqlite_utils
from telegram import Message, Update

from bot import faults
from conversations.records.audit import utc_now
from conversations.records.db import write

log = logging.getLogger(__name__)

# Message content a pre-screen cannot use; checked in this order.
ATTACHMENTS = ("photo", "document", "sticker", "voice", "video", "video_note", "audio", "animation",
               "contact", "location", "venue", "poll", "dice", "story")


# Of those, what can show or tell who the patient is: removed from the chat as well as refused.
MAY_IDENTIFY = frozenset({"photo", "document", "voice", "video", "video_note", "audio", "contact", "location",
                          "venue"})


def message_kind(message: Message) -> str:
    if message.text is not None:
        return "command" if message.text.startswith("/") else "text"
    for kind in ATTACHMENTS:
        if getattr(message, kind, None):
            return kind
    return "other"


def update_kind(update: Update) -> str:
    if update.callback_query is not None:
        return "callback"
    if update.message is not None:
        return message_kind(update.message)
    if update.edited_message is not None:
        return "edited_message"
    return "other"


def start_argument(message: Message | None) -> str | None:
    """The deep-link argument of ``/start <argument>`` (an invite code), if any. The command is matched as
    Telegram (and CommandHandler) match it: in any case, with or without ``@botname``."""
    if message is None or not message.text:
        return None
    command, _, rest = message.text.partition(" ")
    return rest.strip() or None if command.split("@")[0].lower() == "/start" else None


def carries_invite_code(update: Update) -> bool:
    return start_argument(update.message or update.edited_message) is not None


class Inbox:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def receive(self, update: Update) -> None:
        """Store the update unless its ID is already known. Own transaction: call outside any other.
        An invite code is a secret stored only as a hash, so an update carrying one is recorded without
        its content: lost in a crash, it costs the physician one more tap on the link."""
        raw = None if carries_invite_code(update) else json.dumps(update.to_dict(), ensure_ascii=False)
        with write(self.db):
            self.db.conn.execute(
                "INSERT OR IGNORE INTO telegram_updates (update_id, kind, received_at, raw) VALUES (?, ?, ?, ?)",
                (update.update_id, update_kind(update), utc_now(), raw))

    def is_processed(self, update_id: int) -> bool:
        row = self.db.conn.execute("SELECT processed_at FROM telegram_updates WHERE update_id = ?",
                                   (update_id,)).fetchone()
        return row is not None and row[0] is not None

    def mark_processed(self, db: sqlite_utils.Database, update_id: int, result: str = "ok") -> None:
        """Inside the transaction of the change the update caused."""
        if not db.conn.in_transaction:
            raise RuntimeError("mark_processed runs inside the transaction of the change")
        db.conn.execute("UPDATE telegram_updates SET processed_at = ?, raw = NULL, result = ?"
                        " WHERE update_id = ?", (utc_now(), result, update_id))

    def pending(self) -> list[dict[str, Any]]:
        """Raw JSON of stored updates not processed yet, oldest first."""
        rows = self.db.conn.execute("SELECT raw FROM telegram_updates WHERE processed_at IS NULL"
                                    " AND raw IS NOT NULL ORDER BY update_id").fetchall()
        return [json.loads(r[0]) for r in rows]


class DurableQueue(asyncio.Queue):
    """The application's update queue: every update is stored before it is queued. Polling confirms an
    update to Telegram only on the next getUpdates, after this put returned; the webhook answers 200
    only after it returned."""

    def __init__(self, inbox: Inbox | None = None) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and self.inbox is not None:
            faults.point("received", update_kind(item))
            self.inbox.receive(item)
            faults.point("stored", update_kind(item))
        await super().put(item)

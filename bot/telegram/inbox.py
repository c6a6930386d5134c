"""Incoming updates, kept so that a crash loses none and none is applied twice.

An update is taken in when it enters the application's queue (polling and webhook alike) and again,
idempotently, when a handler first sees it. It is held in memory until one of two commits writes it:
the turn of the change it causes (which records it as processed: ID, kind and times, no content; the
audit trail holds what was said) or, for one still being handled when Telegram is next told what
arrived, ``store_held``, which writes it with its JSON, so that it is queued again after a crash. With
polling, Telegram learns what arrived from the next getUpdates, which waits for ``settle`` (see
``app.StoringRequest``); the webhook answers 200 only after the update is stored. So an update costs
one commit under load, and none is confirmed to Telegram before it is durable. What is written never
holds a withheld text (``withheld.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from telegram import Message, Update

from bot import faults
from conversations.records.audit import utc_now
from conversations.records.db import write

from . import withheld

log = logging.getLogger(__name__)

# How long the next getUpdates waits for the updates being handled to commit on their own (a turn takes
# milliseconds): it groups their storing into their turns' commits.
SETTLE_SECONDS = 0.25

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
    """The deep-link argument of ``/start <argument>`` (an invite code), if any."""
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    command, rest = withheld.command_of(message.text)
    return rest or None if command == "/start" else None


def carries_invite_code(update: Update) -> bool:
    return start_argument(update.message or update.edited_message) is not None


@dataclass(frozen=True)
class _Held:
    update: Update  # its JSON is made only if it is stored: most are processed first, and never need it
    kind: str
    received_at: str


class Inbox:
    def __init__(self, db: sqlite_utils.Database, coordinator_ids: Collection[int] = (),
                 contact_asked: withheld.ContactAsked | None = None):
        self.db = db
        self.coordinator_ids = coordinator_ids
        self.contact_asked = contact_asked  # a physician's own contact is never written here either
        self._held: dict[int, _Held] = {}  # taken in, neither processed nor stored yet

    def receive(self, update: Update) -> None:
        """Take the update in (held until a commit writes it); an ID already taken in is left alone. An
        invite code is a secret stored only as a hash, so an update carrying one is never written with its
        content: lost in a crash, it costs the physician one more tap on the link."""
        if update.update_id not in self._held:
            self._held[update.update_id] = _Held(update, update_kind(update), utc_now())

    def _raw(self, update: Update) -> str | None:
        # Neither an invite code nor a physician's own contact is written with the update (the contact is kept
        # in the physician directory only): lost in a crash, it costs the physician sending it again.
        if carries_invite_code(update) or withheld.contact_answer(update, self.contact_asked):
            return None
        return json.dumps(withheld.scrubbed(update, self.coordinator_ids, self.contact_asked), ensure_ascii=False)

    def store_held(self, db: sqlite_utils.Database | None = None, but: int | None = None) -> dict[int, _Held]:
        """Write every update held (``but`` the one a turn marks processed): in ``db``'s transaction when
        given (a turn's: give them back with ``hold_again`` if it fails), else in one of its own. The
        updates written."""
        if not self._held or list(self._held) == [but]:
            return {}
        if db is None:
            with write(self.db):
                return self.store_held(self.db, but)
        held = {uid: h for uid, h in self._held.items() if uid != but}
        self._held = {uid: h for uid, h in self._held.items() if uid == but}
        db.conn.executemany(
            "INSERT OR IGNORE INTO telegram_updates (update_id, kind, received_at, raw) VALUES (?, ?, ?, ?)",
            [(uid, h.kind, h.received_at, self._raw(h.update)) for uid, h in held.items()])
        return held

    def hold_again(self, held: dict[int, _Held]) -> None:
        """The transaction that was to write ``held`` rolled back."""
        self._held = {**held, **self._held}

    @property
    def holding(self) -> bool:
        return bool(self._held)

    async def settle(self, longest: float = SETTLE_SECONDS) -> None:
        """Give the updates being handled ``longest`` seconds to be committed by their own turns (the caller
        then stores the rest). Runs before Telegram is told what arrived."""
        deadline = time.monotonic() + longest
        while self._held and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    def is_processed(self, update_id: int) -> bool:
        row = self.db.conn.execute("SELECT processed_at FROM telegram_updates WHERE update_id = ?",
                                   (update_id,)).fetchone()
        return row is not None and row[0] is not None

    def mark_processed(self, db: sqlite_utils.Database, update: Update, result: str = "ok") -> None:
        """Inside the transaction of the change the update caused; ``done`` once it committed."""
        if not db.conn.in_transaction:
            raise RuntimeError("mark_processed runs inside the transaction of the change")
        held = self._held.get(update.update_id)
        now = utc_now()
        db.conn.execute(
            "INSERT INTO telegram_updates (update_id, kind, received_at, raw, processed_at, result)"
            " VALUES (?, ?, ?, NULL, ?, ?) ON CONFLICT (update_id) DO UPDATE SET"
            " processed_at = excluded.processed_at, raw = NULL, result = excluded.result",
            (update.update_id, held.kind if held else update_kind(update), held.received_at if held else now,
             now, result))

    def done(self, update_id: int) -> None:
        """The turn that marked the update processed committed: nothing of it is held any more."""
        self._held.pop(update_id, None)

    def pending(self) -> list[dict[str, Any]]:
        """Raw JSON of stored updates not processed yet, oldest first."""
        rows = self.db.conn.execute("SELECT raw FROM telegram_updates WHERE processed_at IS NULL"
                                    " AND raw IS NOT NULL ORDER BY update_id").fetchall()
        return [json.loads(r[0]) for r in rows]


class DurableQueue(asyncio.Queue):
    """The application's update queue: every update is taken in before it is queued. Polling confirms an
    update to Telegram only on the next getUpdates, which first settles the inbox; the webhook answers 200
    only after this put returned, so with ``store_at_once`` the update is written here."""

    def __init__(self, inbox: Inbox | None = None, store_at_once: bool = False) -> None:
        super().__init__()
        self.inbox = inbox
        self.store_at_once = store_at_once

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and self.inbox is not None:
            faults.point("received", update_kind(item))
            self.inbox.receive(item)
            if self.store_at_once:
                self.inbox.store_held()
            faults.point("stored", update_kind(item))
        await super().put(item)

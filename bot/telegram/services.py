"""What every handler needs, opened once in ``post_init`` and reached through the typed context.

``Services`` is the application's ``bot_data`` (see python-telegram-bot's contexttypesbot example):
the database and the stores over it, never per-user dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from telegram import Bot
from telegram.ext import Application, CallbackContext, ExtBot

from bot import audit_keys, i18n
from bot.settings import Settings
from conversations.records.db import write
from conversations.records.registry import Registry
from conversations.records.store import Store

from .focus import Focus
from .inbox import Inbox
from .languages import Chosen
from .outbox import Outbox, Sender

Role = Literal["coordinator", "physician", "stranger"]


class Strangers:
    """When each unknown account was last refused and when it tried invite codes, in memory: a restart
    forgets it, which costs at most one more refusal each."""

    def __init__(self, quiet: float = 600.0, window: float = 3600.0) -> None:
        self.quiet, self.window = quiet, window
        self._refused: dict[int, float] = {}
        self._tries: dict[int, list[float]] = {}

    def refused_lately(self, user_id: int, now: float) -> bool:
        return now - self._refused.get(user_id, float("-inf")) < self.quiet

    def refused(self, user_id: int, now: float) -> None:
        if len(self._refused) > 100_000:  # a flood of new accounts: forget the oldest half
            for uid in sorted(self._refused, key=self._refused.get)[:50_000]:
                del self._refused[uid]
        self._refused[user_id] = now

    def tries(self, user_id: int, now: float) -> int:
        recent = [t for t in self._tries.get(user_id, []) if now - t < self.window]
        self._tries[user_id] = recent
        return len(recent)

    def tried(self, user_id: int, now: float) -> None:
        self._tries.setdefault(user_id, []).append(now)


class Services:
    """Empty until :meth:`open`; the application creates it as ``bot_data``."""

    settings: Settings
    store: Store
    registry: Registry
    inbox: Inbox
    outbox: Outbox
    sender: Sender
    focus: Focus
    languages: Chosen
    strangers: Strangers

    def open(self, settings: Settings, bot: Bot, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.store = Store.open(settings.db_path)
        db = self.store.db
        audit_keys.for_writing(settings, db, "screening-bot run")  # every event keyed; refused without the key
        self.registry = Registry(db, clock)
        self.inbox = Inbox(db, settings.coordinator_ids, contact_asked=self.registry.asking_contact)
        self.outbox = Outbox(db)
        self.focus = Focus(db)
        self.languages = Chosen(db)
        i18n.set_chosen(self.languages.of)  # i18n.lang_of: a message to another user, in the language they chose
        i18n.set_stored(self.languages.told)  # or, until they chose one, the one their Telegram last gave
        self.sender = Sender(self.outbox, bot)
        self.strangers = Strangers()

    @property
    def is_open(self) -> bool:
        return hasattr(self, "store")

    async def settle(self) -> None:
        """Before Telegram is told what arrived: the updates taken in are committed (by their turns, or
        here), and with them what was delivered meanwhile."""
        await self.inbox.settle()
        if self.inbox.holding or self.outbox.marks_held:
            with write(self.store.db) as db:
                self.inbox.store_held(db)
                self.outbox.write_marks(db)

    def close(self) -> None:
        if self.is_open:
            try:  # what was taken in or delivered and not yet written
                with write(self.store.db) as db:
                    self.inbox.store_held(db)
                    self.outbox.write_marks(db)
            finally:
                i18n.set_chosen(None)  # no lookup left pointing at a closed store
                self.store.close()

    def role_of(self, user_id: int) -> Role:
        """Identity is the numeric user ID, never the username."""
        if user_id in self.settings.coordinator_ids:
            return "coordinator"
        if self.registry.is_physician(user_id, self.settings.physician_ids):
            return "physician"
        return "stranger"


class BotContext(CallbackContext[ExtBot, dict, dict, Services]):
    """The handlers' context: the services, and the role the access gate found for this update."""

    role: Role = "stranger"

    @property
    def services(self) -> Services:
        return self.bot_data


BotApplication = Application[ExtBot, BotContext, dict, dict, Services, object]

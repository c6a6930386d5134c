"""The daily audit anchor: once a day (UTC) the trail's head goes to every coordinator's chat, and to the
anchors file if one is configured (conversations/records/anchors.py says why).

Computed from the database, never from the job's own memory: JobQueue only says when to look. Whether
today's anchor was made is the trail's ``head_anchored`` event, written in the transaction that queues the
messages, so a restart or a kill at any point neither skips the day nor sends it twice. The anchors file is
written after the commit, and again on the next look if a crash came between (`anchors.write` adds no line
its last line already holds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from bot import i18n
from bot.settings import Settings
from conversations.records import anchors
from conversations.records.db import write

from . import render
from .services import BotContext, Services

log = logging.getLogger("screening-bot")
INTERVAL = 3600.0  # seconds between looks; the anchor is made at the first look of each UTC day


def anchor_due(services: Services, now: datetime | None = None) -> anchors.Anchor | None:
    """Make today's anchor if it has not been made; the anchor made, or None."""
    now = now or services.registry.clock()
    day = now.astimezone(UTC).date().isoformat()
    made = None
    with write(services.store.db) as db:
        done = anchors.anchored_on(db, day)
        if done is None:
            made = anchors.make(db, "daily", now, services.settings.coordinator_ids,
                                _text("daily", day), i18n.lang_of)
            done = (made.seq, made.head)
    to_file(services.settings, done[0], done[1], now, "daily")
    if made is not None:
        log.info("daily audit anchor: event %s", made.seq)
    return made


async def daily(context: BotContext) -> None:
    if anchor_due(context.services) is not None:
        await context.services.sender.deliver_due()


def after_export(db: sqlite_utils.Database, settings: Settings,
                 now: datetime | None = None) -> tuple[anchors.Anchor, str | None]:
    """The head as an export left it (its own event included), sent to every coordinator's chat (the
    running bot delivers the outbox) and written to the anchors file: (the anchor, why the file could not
    be written or None)."""
    now = now or datetime.now(UTC)
    day = now.astimezone(UTC).date().isoformat()
    with write(db):
        made = anchors.make(db, "export", now, settings.coordinator_ids,
                            _text("export", day), i18n.lang_of)
    return made, to_file(settings, made.seq, made.head, now, "export")


def _text(why: str, day: str) -> Callable[[int, int, str], str]:
    """The anchor's message for a coordinator's chat, in their language."""
    def text(chat: int, seq: int, head: str) -> str:
        with i18n.using(i18n.lang_of(chat)):
            return render.anchor_text(why, day, seq, head)
    return text


def to_file(settings: Settings, seq: int, head: str, now: datetime, why: str) -> str | None:
    """Write the anchor to the anchors file, if one is configured; why it could not be, or None."""
    if settings.anchors_file is None:
        return None
    try:
        anchors.write(settings.anchors_file, seq, head, audit_time(now), why)
    except OSError as exc:  # the chats have it; a daily anchor is written again at the next look
        why_not = exc.strerror or type(exc).__name__
        log.error("cannot write the anchors file (%s)", why_not)
        return why_not
    return None


def audit_time(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

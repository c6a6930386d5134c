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
from datetime import UTC, datetime

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
                                lambda seq, head: render.anchor_text("daily", day, seq, head))
            done = (made.seq, made.head)
    if services.settings.anchors_file is not None:
        try:
            anchors.write(services.settings.anchors_file, done[0], done[1], now.astimezone(UTC).isoformat(), "daily")
        except OSError as exc:  # the chats have it; the file is tried again at the next look
            log.error("cannot write the anchors file (%s)", exc.strerror or type(exc).__name__)
    if made is not None:
        log.info("daily audit anchor: event %s", made.seq)
    return made


async def daily(context: BotContext) -> None:
    if anchor_due(context.services) is not None:
        await context.services.sender.deliver_due()

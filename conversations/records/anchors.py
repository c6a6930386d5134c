"""Anchored heads: the trail's head (the last event's number and MAC) kept where the database cannot reach.

A keyed chain proves that no event was forged or rewritten, but not that none were cut off the end, nor
that the whole file was not swapped for an older backup or emptied: each of those is a sound chain. What
catches them is a head recorded elsewhere earlier, that must still be in the chain: event N is there and
its chain hash is the one anchored. So the head is sent to every coordinator's chat once a day and with
every export (the ``head_anchored`` event records that it was, with the head it names), and appended to an
anchors file beside the database if one is configured (SCREENING_AUDIT_ANCHORS_FILE). `check` proves a
list of anchors against a trail whose chain has been verified.

An anchors file is text, one anchor a line, as `line` writes it: ``<time> event <N> <hash> <why>``. The
reader takes any line naming an event number before a 64-digit hash (``event 12 …``, ``#12 …``, ``12 …``),
so the heads can be pasted from the coordinators' chats as they were received.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import audit

HEAD_ANCHORED = "head_anchored"  # conversations.dialogue.events.E.HEAD_ANCHORED
_HASH = re.compile(r"\b([0-9a-f]{64})\b")
_SEQ = re.compile(r"(?:^|[\s#(:])(\d{1,12})\b")


class NotAnAnchor(ValueError):
    """A line of an anchors list that names no head; the message says which line."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    head: str
    line: int = 0  # where it was read (1-based), 0 when it was not read from a list


def line(seq: int, head: str, at: str, why: str) -> str:
    return f"{at} event {seq} {head} {why}\n"


def parse(text: str) -> list[Anchor]:
    """The anchors in ``text``; blank lines and lines starting with ``#`` and a space are skipped.
    NotAnAnchor for a line that holds anything else but no event number before a hash."""
    found = []
    for n, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("# ") or stripped == "#":
            continue
        anchor = _anchor(stripped, n)
        if anchor is None:
            raise NotAnAnchor(f"line {n} names no head (an event number, then its 64-digit hash)")
        found.append(anchor)
    return found


def _anchor(text: str, n: int) -> Anchor | None:
    m = _HASH.search(text.lower())
    if m is None:
        return None
    seqs = _SEQ.findall(text[:m.start()])
    return Anchor(int(seqs[-1]), m.group(1), n) if seqs else None


def check(db: sqlite_utils.Database, anchors: list[Anchor]) -> list[str]:
    """Why each anchor is not in the trail of ``db`` (verify the chain first: only then do its stored hashes
    speak for it); [] when every one is."""
    failures = []
    last = audit.head(db)[0]
    for a in sorted(anchors, key=lambda a: (a.seq, a.line)):
        where = f"the head anchored as event {a.seq}" + (f" (line {a.line})" if a.line else "")
        if a.seq == 0:
            if a.head != audit.GENESIS:
                failures.append(f"{where} is not the empty trail's")
            continue
        row = db.conn.execute(f"SELECT chain_hash FROM {audit.TABLE} WHERE seq = ?", (a.seq,)).fetchone()
        if row is None:
            failures.append(f"{where} is gone: the trail ends at event {last} (events removed from its end, "
                            "the trail emptied, or an older copy swapped in)")
        elif row[0] != a.head:
            failures.append(f"{where} is not in the chain: event {a.seq} has another hash (the trail rewritten "
                            "from there, or another trail)")
    return failures


def write(path: str | Path, seq: int, head: str, at: str, why: str) -> bool:
    """Append the anchor to the file at ``path`` (created owner-only), unless a line of it already holds this
    head: a retry after a crash, or the next look of the day, adds no second line. True when a line was
    written."""
    path = Path(path)
    if _holds(path, seq, head):
        return False
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line(seq, head, at, why).encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _holds(path: Path, seq: int, head: str) -> bool:
    """Whether a line of the file names this head (read from the end: it is most often the last one)."""
    try:
        text = path.read_bytes().decode("ascii", "replace")
    except FileNotFoundError:
        return False
    for n, t in enumerate(reversed(text.splitlines())):
        anchor = _anchor(t.strip(), n) if t.strip() else None
        if anchor is not None and (anchor.seq, anchor.head) == (seq, head):
            return True
    return False


def anchored_on(db: sqlite_utils.Database, day: str) -> tuple[int, str] | None:
    """The head the daily anchor of ``day`` (YYYY-MM-DD, UTC) named, if it was made; the newest anchor is
    looked for from the end of the trail, so this stays fast as the trail grows."""
    row = db.conn.execute(
        f"SELECT json_extract(payload, '$.day'), json_extract(payload, '$.seq'), json_extract(payload, '$.head')"
        f" FROM {audit.TABLE} WHERE type = ? AND json_extract(payload, '$.why') = 'daily' ORDER BY seq DESC LIMIT 1",
        (HEAD_ANCHORED,)).fetchone()
    return (row[1], row[2]) if row is not None and row[0] == day else None


def make(db: sqlite_utils.Database, why: str, now: datetime, chats: Iterable[int],
         text: Callable[[int, int, str], str], lang: Callable[[int], str] | None = None) -> Anchor:
    """Anchor the head as it is, inside the caller's write transaction: ``text(chat, seq, head)`` (each
    coordinator's in their own language, ``lang(chat)`` the language it is written in, kept with the row
    when given) queued in the outbox for each coordinator's chat (the bot delivers it, once: the row's key
    is unique) and a ``head_anchored`` event recording it. The event names the head before it, so the
    anchor stays true however the trail grows."""
    if not db.conn.in_transaction:
        raise RuntimeError("anchors.make runs inside a write transaction")
    seq, head = audit.head(db)
    # A database holding the trail alone has no outbox: nothing to queue there, the file still gets the head.
    chats = sorted(set(chats)) if "telegram_outbox" in db.table_names() else []
    at = audit.iso_utc(now)
    with_lang = lang is not None and bool(chats) and "lang" in db["telegram_outbox"].columns_dict
    for chat in chats:
        if with_lang and lang is not None:
            db.conn.execute(
                "INSERT OR IGNORE INTO telegram_outbox (key, chat_id, text, created_at, lang) VALUES (?, ?, ?, ?, ?)",
                (f"anchor:{why}:{seq}:{chat}", chat, text(chat, seq, head), at, lang(chat)))
        else:
            db.conn.execute(
                "INSERT OR IGNORE INTO telegram_outbox (key, chat_id, text, created_at) VALUES (?, ?, ?, ?)",
                (f"anchor:{why}:{seq}:{chat}", chat, text(chat, seq, head), at))
    audit.append(db, actor_role="system", actor_id=0, type=HEAD_ANCHORED, ts=at, payload={
        "why": why, "day": at[:10], "seq": seq, "head": head, "chats": chats})
    return Anchor(seq, head)

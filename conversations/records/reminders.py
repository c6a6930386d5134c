"""Which reminders are due, decided from the database alone: the tables and the trail's reminder events.

A pre-screen asked in Telegram by a physician that has not moved for ``idle`` (48 hours; its row's
``updated_at`` is its last change) reminds its physician once, again after 7 days, then never unless it
moves (a new ``updated_at`` starts over) or the physician snoozed a reminder: a snooze asks for one more,
48 hours after the tap. What was sent is the trail's ``reminder_sent`` events (each names the ``since`` it
was about), what was snoozed its ``reminder_snoozed`` events, so a restart, or a kill at any point, finds
what was done where the job left it: the event is written in the transaction that queues the message.

Coordinators get one digest a UTC day each (``digest_sent`` events say which were sent) of the referrals
waiting for a decision (status ``sent`` or ``need_info``) for more than two working days (Monday to
Friday, UTC) since they were last sent.

Nothing here knows Telegram: bot/telegram/reminders.py renders and queues the messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from ..dialogue.events import E
from . import audit

IDLE = timedelta(hours=48)  # the default; SCREENING_REMINDER_IDLE_HOURS sets it
AGAIN = timedelta(days=7)  # the second reminder, counted from the last change
SNOOZE = timedelta(hours=48)  # from the tap
WAITING_WORKING_DAYS = 2
DIGEST_MAX = 40  # referrals listed in one digest (the rest counted), so that it stays one message


@dataclass(frozen=True)
class Reminder:
    """A reminder due: the pre-screen, its physician, the change it has been idle since (its ``updated_at``),
    which reminder of that idleness it is (1, 2, …) and why: ``idle`` (the first), ``again`` (7 days) or
    ``snoozed`` (the time a snooze asked for)."""

    referral_id: str
    physician_id: int
    since: str
    number: int
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class Waiting:
    referral_id: str
    physician_id: int
    status: str
    last_sent_at: str
    working_days: int


@dataclass(frozen=True)
class Digest:
    chat_id: int
    day: str
    waiting: tuple[Waiting, ...]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def next_due(since: datetime, sent: list[tuple[datetime, str]], snoozes: list[tuple[datetime, datetime]],
             idle: timedelta = IDLE) -> tuple[datetime, str] | None:
    """When the next reminder of one idleness is due, and its kind; None when none is to come. ``sent``:
    (time, kind) of the reminders sent about it, ``snoozes``: (tap, until) of its snoozes, both in order."""
    last = sent[-1][0] if sent else None
    asked = [until for at, until in snoozes if last is None or at >= last]
    if asked:  # a snooze tapped since the last reminder: the time it asked for
        return asked[-1], "snoozed"
    scheduled = sum(1 for _, kind in sent if kind != "snoozed")
    if scheduled == 0:
        return since + idle, "idle"
    if scheduled == 1:
        return max(since + AGAIN, last + idle), "again"
    return None


def _trail(db: sqlite_utils.Database, referral_id: str, since: str) -> tuple[list, list]:
    sent, snoozes = [], []
    rows = db.conn.execute(
        f"SELECT ts, type, payload FROM {audit.TABLE} WHERE referral_id = ? AND type IN (?, ?) ORDER BY seq",
        (referral_id, E.REMINDER_SENT, E.REMINDER_SNOOZED))
    for ts, type_, body in rows:
        p = json.loads(body)
        if p.get("since") != since:
            continue
        if type_ == E.REMINDER_SENT:
            sent.append((parse_time(ts), p.get("kind", "idle")))
        else:
            snoozes.append((parse_time(ts), parse_time(p["until"])))
    return sent, snoozes


def due(db: sqlite_utils.Database, now: datetime, idle: timedelta = IDLE) -> list[Reminder]:
    """The physicians' reminders due at ``now``, oldest idleness first. Only a pre-screen idle for ``idle``
    can have one (a snooze is tapped on a reminder, so it asks for later still)."""
    rows = db.conn.execute(
        "SELECT referral_id, owner_id, updated_at FROM prescreens WHERE phase = 'asking' AND owner_role = 'physician'"
        " AND channel = 'telegram' AND updated_at <= ? ORDER BY updated_at, referral_id",
        (audit.iso_utc(now - idle),)).fetchall()
    found = []
    for ref, physician, since in rows:
        sent, snoozes = _trail(db, ref, since)
        nxt = next_due(parse_time(since), sent, snoozes, idle)
        if nxt is not None and nxt[0] <= now:
            found.append(Reminder(ref, physician, since, len(sent) + 1, nxt[1], nxt[0]))
    return found


def record_sent(db: sqlite_utils.Database, r: Reminder, now: datetime) -> int:
    """The ``reminder_sent`` event, inside the write transaction that queues its message; its number."""
    return audit.append(db, actor_role="system", actor_id=0, type=E.REMINDER_SENT, referral_id=r.referral_id,
                        ts=audit.iso_utc(now), payload={"since": r.since, "number": r.number, "kind": r.kind,
                                                        "chat_id": r.physician_id}).seq


def reminder_event(db: sqlite_utils.Database, seq: int) -> tuple[str, dict] | None:
    """(referral ID, payload) of the ``reminder_sent`` event ``seq``, or None when it is not one."""
    row = db.conn.execute(f"SELECT referral_id, payload FROM {audit.TABLE} WHERE seq = ? AND type = ?",
                          (seq, E.REMINDER_SENT)).fetchone()
    return (row[0], json.loads(row[1])) if row else None


# ---- the coordinators' digest ------------------------------------------------------------------------

def add_working_days(t: datetime, n: int) -> datetime:
    """``n`` working days (Monday to Friday, UTC) after ``t``; a time at a weekend counts from the Monday."""
    t = t.astimezone(UTC)
    if t.weekday() >= 5:
        t = (t + timedelta(days=7 - t.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(n):
        t += timedelta(days=1)
        while t.weekday() >= 5:
            t += timedelta(days=1)
    return t


def working_days(start: datetime, now: datetime, cap: int = 999) -> int:
    """Whole working days from ``start`` to ``now``."""
    n = 0
    while n < cap and add_working_days(start, n + 1) <= now:
        n += 1
    return n


def waiting(db: sqlite_utils.Database, now: datetime, days: int = WAITING_WORKING_DAYS) -> list[Waiting]:
    """Referrals waiting for a decision for more than ``days`` working days since last sent, oldest first."""
    rows = db.conn.execute(
        "SELECT referral_id, physician_id, status, last_sent_at FROM referrals WHERE status IN ('sent', 'need_info')"
        " ORDER BY last_sent_at, referral_id").fetchall()
    found = []
    for ref, physician, status, last in rows:
        at = parse_time(last)
        if add_working_days(at, days) < now:
            found.append(Waiting(ref, physician, status, last, working_days(at, now)))
    return found


def digested(db: sqlite_utils.Database, day: str) -> set[int]:
    """The coordinators' chats that had the digest of ``day`` (YYYY-MM-DD, UTC)."""
    rows = db.conn.execute(
        f"SELECT json_extract(payload, '$.chat_id') FROM {audit.TABLE} WHERE type = ?"
        " AND json_extract(payload, '$.day') = ?", (E.DIGEST_SENT, day))
    return {int(r[0]) for r in rows if r[0] is not None}


def digests_due(db: sqlite_utils.Database, now: datetime, coordinators: frozenset[int] | set[int]) -> list[Digest]:
    """Today's digest (UTC) for each coordinator who has not had it, when any referral is waiting."""
    found = waiting(db, now)
    if not found or not coordinators:
        return []
    day = now.astimezone(UTC).date().isoformat()
    done = digested(db, day)
    return [Digest(chat, day, tuple(found)) for chat in sorted(coordinators) if chat not in done]


def record_digest(db: sqlite_utils.Database, d: Digest, now: datetime) -> int:
    return audit.append(db, actor_role="system", actor_id=0, type=E.DIGEST_SENT, ts=audit.iso_utc(now),
                        payload={"day": d.day, "chat_id": d.chat_id,
                                 "referrals": [w.referral_id for w in d.waiting]}).seq

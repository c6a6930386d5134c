"""The coordinators' summary of a referral as sent: gathered from the database, rendered by render.py.

One way to gather it, when the summary is sent and whenever a coordinator turns between its first screen
and its details, so that both views always show the same referral: version ``send_no`` as the pre-screen
holds it, the physician as the directory knows them now, the audit head that includes the sending.
"""

from __future__ import annotations

import json

import sqlite_utils
from telegram import InlineKeyboardMarkup

from bot.i18n import _
from conversations.dialogue import engine
from conversations.dialogue.events import E

from . import keyboards, render
from .services import Services

# The directory's columns a summary shows, where the database has them (a database not yet migrated has
# only the user ID).
_DIRECTORY = ("name", "institution", "contact")


def physician(db: sqlite_utils.Database, user_id: int) -> render.Physician:
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(physicians)")}
    wanted = [c for c in _DIRECTORY if c in columns]
    if not wanted:
        return render.Physician(user_id)
    row = db.conn.execute(f"SELECT {', '.join(wanted)} FROM physicians WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        return render.Physician(user_id)
    given = {c: v.strip() for c, v in zip(wanted, row, strict=True) if isinstance(v, str) and v.strip()}
    return render.Physician(user_id, **given)


UNKNOWN = "Unknown referral; nothing to show."
NEWER = "A newer summary of this referral exists; please use that one."
CHANGING = "The physician is changing this referral; its new version will come as a new summary."


class Unavailable(Exception):
    """Why a summary cannot be shown (a sentence for the pressed button, in the current language)."""


def load(services: Services, ref: str, send_no: int) -> render.Summary:
    """Version ``send_no`` of referral ``ref``, as sent; Unavailable when it is not the version the
    pre-screen holds now (a newer one was sent, or a change is under way)."""
    s = services
    referral = s.registry.referral(ref)
    prescreen = s.store.get(ref)
    if referral is None or prescreen is None:
        raise Unavailable(_(UNKNOWN))
    if referral.sends != send_no:
        raise Unavailable(_(NEWER))
    state = s.store.load(ref)
    if state.sent != send_no or state.amend_reason is not None or state.phase != "done":
        raise Unavailable(_(CHANGING))
    db = s.store.db
    events = db.conn.execute(
        "SELECT seq, ts, type, payload, chain_hash FROM audit_events WHERE referral_id = ? AND type IN (?, ?)"
        " ORDER BY seq DESC", (ref, E.REFERRAL_SENT, E.OUTCOME)).fetchall()
    sent = next((e for e in events if e[2] == E.REFERRAL_SENT and json.loads(e[3]).get("send_no") == send_no), None)
    if sent is None:
        raise Unavailable(_(UNKNOWN))
    finished = next((e[1] for e in events if e[2] == E.OUTCOME and e[0] < sent[0] and json.loads(e[3]).get("final")),
                    prescreen.updated_at)
    return render.Summary(ref=ref, send_no=send_no, physician=physician(db, referral.physician_id),
                          outcome=engine.outcome_of(state), facts=engine.facts_of(state),
                          started=prescreen.created_at, finished=finished, sent=sent[1], head_seq=sent[0],
                          head_hash=sent[4])


def view(summary: render.Summary, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """Page ``page`` of the summary (0: the first screen, 1…: the details, the last one for a page past
    the end) and its buttons."""
    if page == 0:
        return render.summary(summary), keyboards.summary_view(summary.ref, summary.send_no)
    pages = render.details(summary)
    page = min(page, len(pages))
    return pages[page - 1], keyboards.summary_view(summary.ref, summary.send_no, page, len(pages))

"""A coordinator's decision on a referral, with its reason, confirmed first and undoable for 10 minutes.

Accept / Need information / Decline on a summary (``d:<ref>:<send_no>:<a|i|d>``, keyboards.py) opens a
confirmation message: for "need information" the items to ask for (the referral's questions answered
"unknown" that its missing facts or pending criteria need, toggled as a physician's checklist is), for
"decline" a reason of ``registry.DECLINE_REASONS``; a note typed meanwhile goes with it (checked for
patient identifiers: one that looks like one is refused before anything is written, and never quoted). What
is being confirmed is kept in ``decision_drafts`` (one per coordinator; a new one replaces it), so a restart
loses nothing. Confirmed, the decision is recorded with its reason (``coordinator_decision``), the summaries
lose their buttons, the physician is told the reason or the items, with a button that reopens the
pre-screen at exactly those items (the engine's ``Reopen``: a pre-screen already sent opens for a change
with the reason ``team_request``, the study team's request, recorded as any amendment is). The coordinator
who decided may undo it for ``registry.UNDO_WINDOW`` (``decision_undone``; the summaries get their buttons
back and the physician is told).

Callback data (at most 64 bytes, parsed defensively):
  dc:<ref>:<send_no>:<y|n|t<i>|r<i>>  confirm, cancel, toggle item i, choose reason i of a confirmation
  du:<decision_id>                    undo the decision
  ri:<decision_id>                    (the physician) answer the items that decision asked for
"""

from __future__ import annotations

import re
from dataclasses import replace

import sqlite_utils
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import _, lang_of, using
from conversations.dialogue import engine, identifiers
from conversations.dialogue.events import E
from conversations.dialogue.questions import BY_ID
from conversations.records.registry import DECLINE_REASONS, DecisionRow, Draft
from conversations.records.store import Recorded

from . import coordinator, keyboards, physician, render, summaries
from .render import esc, phrase
from .services import BotContext, Services
from .turn import Turn

NOTE_MAX = 300  # characters of a coordinator's note kept (spaces normalised)
_CONFIRM = re.compile(r"dc:([A-Za-z0-9-]{1,24}):([0-9]{1,9}):(y|n|[tr][0-9]{1,3})")
_BY_ID = re.compile(r"(du|ri):([0-9]{1,9})")


def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode("utf-8")) <= keyboards.MAX_DATA, data
    return InlineKeyboardButton(text, callback_data=data)


# ---- what is offered ---------------------------------------------------------------------------------

def offered(s: Services, ref: str) -> list[tuple[str, str]]:
    """The items a "need information" on the referral may ask for: (question ID, short name)."""
    return engine.open_items(s.store.load(ref)) if s.store.get(ref) is not None else []


def _names(s: Services, ref: str, items: tuple[str, ...] | list[str]) -> list[str]:
    names = dict(offered(s, ref))
    return [names.get(q) or (BY_ID[q].short if q in BY_ID else q) for q in items]


def confirmation(s: Services, d: Draft) -> tuple[str, InlineKeyboardMarkup]:
    """The confirmation message of a draft and its buttons."""
    base = f"dc:{d.referral_id}:{d.send_no}"
    rows: list[list[InlineKeyboardButton]] = []
    items = offered(s, d.referral_id) if d.decision == "need_info" else []
    if d.decision == "need_info":
        rows += [[_button(f"{keyboards.MARKS['yes' if q in d.items else None]} {_(name)}", f"{base}:t{i}")]
                 for i, (q, name) in enumerate(items)]
    elif d.decision == "decline":
        rows += [[_button(("● " if code == d.reason_code else "○ ") + _(render.DECLINE_REASON_LABELS[code]),
                          f"{base}:r{i}")] for i, code in enumerate(DECLINE_REASONS)]
    rows.append([_button(_(render.CONFIRM_LABELS[d.decision]), f"{base}:y"),
                 _button(_(render.CONFIRM_CANCEL_LABEL), f"{base}:n")])
    text = render.confirm_text(d.referral_id, d.send_no, d.decision, _names(s, d.referral_id, d.items),
                               d.reason_code, d.reason, len(items))
    return text, InlineKeyboardMarkup(rows)


# ---- the summaries' buttons -----------------------------------------------------------------------

def _summary_message(db: sqlite_utils.Database, ref: str, send_no: int, cid: int) -> tuple[int, str] | None:
    """The coordinator's summary message of version ``send_no`` as delivered: (message ID, text)."""
    row = db.conn.execute("SELECT message_id, text FROM telegram_outbox WHERE key = ? AND status = 'sent'",
                          (f"summary:{ref}:{send_no}:{cid}",)).fetchone()
    return (row[0], row[1]) if row and row[0] is not None else None


def strip_summaries(turn: Turn, db: sqlite_utils.Database, ref: str, send_no: int) -> None:
    """Version ``send_no``'s summary loses its buttons in every coordinator's chat (decided, or superseded by
    a newer version); one not delivered yet goes without them."""
    s = turn.services
    for cid in sorted(s.settings.coordinator_ids):
        db.conn.execute("UPDATE telegram_outbox SET markup = NULL WHERE key = ? AND status = 'pending'",
                        (f"summary:{ref}:{send_no}:{cid}",))
        s.outbox.keyboards.pop(f"summary:{ref}:{send_no}:{cid}", None)
        if (found := _summary_message(db, ref, send_no, cid)) is not None:
            turn.edit(found[0], found[1], None, chat_id=cid)


def _restore_summaries(turn: Turn, db: sqlite_utils.Database, ref: str, send_no: int) -> None:
    """After an undo: the summary with its buttons again, where it can still be shown."""
    s = turn.services
    try:
        summary = summaries.load(s, ref, send_no)
    except summaries.Unavailable:
        return
    for cid in sorted(s.settings.coordinator_ids):
        if (found := _summary_message(db, ref, send_no, cid)) is not None:
            with using(lang_of(cid)):
                text, markup = summaries.view(summary, 0)
                turn.edit(found[0], text, markup, chat_id=cid)


def _stripped(turn: Turn, message_id: int | None) -> None:
    """The pressed message without its buttons (a confirmation no longer open, an older summary)."""
    if message_id is None:
        return
    row = turn.services.store.db.conn.execute(
        "SELECT text FROM telegram_outbox WHERE chat_id = ? AND (message_id = ? OR edit_message_id = ?)"
        " AND status = 'sent' ORDER BY id DESC LIMIT 1", (turn.chat_id, message_id, message_id)).fetchone()
    if row is not None:
        turn.edit(message_id, row[0], None)


# ---- the summary's buttons: a confirmation opens -----------------------------------------------------

def _refused(turn: Turn, ref: str, send_no: int) -> bool:
    """Says why a decision cannot be made on version ``send_no`` now (True), or False when it can."""
    s = turn.services
    referral = s.registry.referral(ref)
    if referral is None:
        turn.toast = _(render.UNKNOWN_REFERRAL)
    elif send_no != referral.sends or referral.status == "amending":
        turn.toast = _(render.NEWER_SUMMARY)
    elif referral.status not in ("sent", "need_info"):
        turn.toast = _(render.ALREADY_DECIDED).format(
            status=_(render.STATUS_WORDS[referral.status]) if referral.status in render.STATUS_WORDS
            else referral.status, by=referral.decided_by)
    else:
        return False
    return True


async def ask(update: Update, context: BotContext) -> None:
    """Accept / Need information / Decline tapped on a summary: the confirmation, nothing recorded yet."""
    s = context.services
    turn = Turn(update, context)
    query = update.callback_query
    p = keyboards.parse(query.data)
    if context.role != "coordinator" or p is None or p.action != keyboards.Action.DECIDE:
        turn.toast = _(render.NOT_FOR_YOU)
        await turn.end()
        return
    turn.referral_id = p.ref
    message_id = query.message.message_id if query.message is not None else None

    def open_(db: sqlite_utils.Database) -> None:
        if _refused(turn, p.ref, p.number):
            referral = s.registry.referral(p.ref)
            if referral is not None and p.number != referral.sends:  # an older summary: its buttons go
                _stripped(turn, message_id)
            return
        draft = Draft(turn.user_id, p.ref, p.number, keyboards.DECISION_CODES[p.arg], (), None, "")
        s.registry.put_draft(draft)
        turn.say(*confirmation(s, draft))

    turn.do(open_)
    await turn.end()


# ---- the confirmation's buttons ------------------------------------------------------------------------

async def confirm(update: Update, context: BotContext) -> None:
    s = context.services
    turn = Turn(update, context)
    query = update.callback_query
    m = _CONFIRM.fullmatch(query.data or "")
    if context.role != "coordinator" or m is None:
        turn.toast = _(render.NOT_FOR_YOU)
        await turn.end()
        return
    ref, send_no, op = m[1], int(m[2]), m[3]
    turn.referral_id = ref
    message_id = query.message.message_id if query.message is not None else None

    def press(db: sqlite_utils.Database) -> None:
        d = s.registry.draft(turn.user_id)
        if d is None or (d.referral_id, d.send_no) != (ref, send_no):
            turn.toast = _(render.CONFIRM_NOT_OPEN)
            _stripped(turn, message_id)
            return
        if op == "n":
            s.registry.drop_draft(turn.user_id)
            if message_id is not None:
                turn.edit(message_id, _(render.CONFIRM_CANCELLED).format(ref=esc(ref)))
            return
        if op[0] in "tr":
            d = _chosen(s, d, op)
            if d is None:
                turn.toast = _(render.NOT_FOR_YOU)
                return
            s.registry.put_draft(d)
            if message_id is not None:
                turn.edit(message_id, *confirmation(s, d))
            return
        _decide(turn, db, d, message_id)

    turn.do(press)
    await turn.end()


def _chosen(s: Services, d: Draft, op: str) -> Draft | None:
    """The draft with item ``op[1:]`` toggled or reason ``op[1:]`` chosen; None for one it does not offer."""
    i = int(op[1:])
    if op[0] == "t" and d.decision == "need_info":
        items = [q for q, _ in offered(s, d.referral_id)]
        if i >= len(items):
            return None
        chosen = set(d.items) ^ {items[i]}
        return replace(d, items=tuple(q for q in items if q in chosen))
    if op[0] == "r" and d.decision == "decline" and i < len(DECLINE_REASONS):
        return replace(d, reason_code=DECLINE_REASONS[i])
    return None


def _decide(turn: Turn, db: sqlite_utils.Database, d: Draft, message_id: int | None) -> None:
    """The confirmed decision: recorded with its reason, the summaries without buttons, everyone told."""
    s = turn.services
    if d.decision == "need_info" and not d.items and not d.reason:
        turn.toast = _(render.CONFIRM_NEEDS_ITEMS)
        return
    if d.decision == "decline" and d.reason_code is None:
        turn.toast = _(render.CONFIRM_NEEDS_REASON)
        return
    if d.decision == "decline" and d.reason_code == "other" and len(d.reason) < 3:
        turn.toast = _(render.CONFIRM_NEEDS_TEXT)
        return
    if _refused(turn, d.referral_id, d.send_no):
        s.registry.drop_draft(turn.user_id)
        _stripped(turn, message_id)
        return
    reason_code = d.reason_code if d.decision == "decline" else None
    result, referral, decision_id = s.registry.decide(d.referral_id, d.send_no, turn.user_id, d.decision,
                                                      reason_code=reason_code, reason=d.reason, items=d.items)
    assert result == "decided" and referral is not None and decision_id is not None, result
    s.registry.drop_draft(turn.user_id)
    ref = d.referral_id
    turn.event(E.COORDINATOR_DECISION, {"decision": d.decision, "send_no": d.send_no, "reason_code": reason_code,
                                        "reason": d.reason, "items": list(d.items), "decision_id": decision_id},
               ts=referral.decided_at)
    words = _(render.DECISION_WORDS[d.decision])
    names = _names(s, ref, d.items)
    detail = render.decision_detail(d.decision, reason_code, d.reason, names)
    turn.toast = _(render.DECIDED_TOAST).format(words=words)
    if message_id is not None:
        turn.edit(message_id, render.decided_by_you(ref, words, detail),
                  InlineKeyboardMarkup([[_button(_(render.UNDO_LABEL), f"du:{decision_id}")]]))
    for cid in sorted(s.settings.coordinator_ids):
        if cid != turn.user_id:
            with using(lang_of(cid)):
                turn.say(render.decided_notice(
                    ref, _(render.DECISION_WORDS[d.decision]), f"<code>{turn.user_id}</code>",
                    render.decision_detail(d.decision, reason_code, d.reason, names)), chat_id=cid)
    strip_summaries(turn, db, ref, d.send_no)
    if s.role_of(referral.physician_id) != "physician":  # revoked since: the bot no longer talks to them
        turn.say(_(render.PHYSICIAN_REMOVED).format(ref=esc(ref), uid=referral.physician_id))
        return
    with using(lang_of(referral.physician_id)):  # the physician's language
        markup = (InlineKeyboardMarkup([[_button(_(render.REOPEN_ITEMS_LABEL), f"ri:{decision_id}")]])
                  if d.decision == "need_info" and d.items else None)
        turn.say(render.physician_decision(ref, d.decision, reason_code, d.reason, names), markup,
                 chat_id=referral.physician_id)


# ---- a note typed while confirming -----------------------------------------------------------------------

async def note(update: Update, context: BotContext) -> None:
    """A coordinator's text: the note of the decision being confirmed (else what coordinators may type)."""
    s = context.services
    draft = s.registry.draft(update.effective_user.id) if update.effective_user else None
    if draft is None or draft.decision == "accept":
        await coordinator.other(update, context)
        return
    turn = Turn(update, context)
    turn.referral_id = draft.referral_id
    text = " ".join((update.message.text or "").split())
    kind = turn.withheld or identifiers.identifier_kind(text)
    if kind is not None:  # refused before anything is written, and never quoted
        turn.say(esc(phrase(identifiers.warning(kind))))
        await turn.end()
        return
    if len(text) > NOTE_MAX:
        turn.say(_(render.NOTE_TOO_LONG).format(most=NOTE_MAX))
        await turn.end()
        return

    def keep(db: sqlite_utils.Database) -> None:
        d = s.registry.draft(turn.user_id)
        if d is None:
            return
        d = replace(d, reason=text)
        s.registry.put_draft(d)
        turn.say(_(render.NOTE_TAKEN).format(ref=esc(d.referral_id)))
        turn.say(*confirmation(s, d))

    turn.do(keep)
    await turn.end()


# ---- undo ---------------------------------------------------------------------------------------------

async def undo(update: Update, context: BotContext) -> None:
    s = context.services
    turn = Turn(update, context)
    query = update.callback_query
    m = _BY_ID.fullmatch(query.data or "")
    if context.role != "coordinator" or m is None or m[1] != "du":
        turn.toast = _(render.NOT_FOR_YOU)
        await turn.end()
        return
    message_id = query.message.message_id if query.message is not None else None

    def take_back(db: sqlite_utils.Database) -> None:
        result, d, referral = s.registry.undo(int(m[2]), turn.user_id, ts=s.registry.now())
        if d is None:
            turn.toast = _(render.UNKNOWN_DECISION)
            return
        turn.referral_id = d.referral_id
        if result == "not_yours":
            turn.toast = _(render.UNDO_NOT_YOURS)
            return
        if result == "too_late":
            turn.toast = _(render.UNDO_TOO_LATE)
            if message_id is not None:
                turn.edit(message_id, _decided_text(s, d),
                          InlineKeyboardMarkup([[_button(_(render.TOO_LATE_LABEL), f"du:{d.id}")]]))
            return
        if result != "undone" or referral is None:
            turn.toast = _(render.UNDO_MOVED_ON)
            return
        turn.event(E.DECISION_UNDONE, {"decision_id": d.id, "decision": d.decision, "send_no": d.send_no,
                                       "status": referral.status}, ts=d.undone_at)
        words = _(render.DECISION_WORDS[d.decision])
        turn.toast = _(render.UNDONE_TOAST)
        if message_id is not None:
            turn.edit(message_id, _(render.UNDONE_BY_YOU).format(ref=esc(d.referral_id), words=words))
        for cid in sorted(s.settings.coordinator_ids):
            if cid != turn.user_id:
                with using(lang_of(cid)):
                    turn.say(_(render.UNDONE_NOTICE).format(ref=esc(d.referral_id),
                                                            words=_(render.DECISION_WORDS[d.decision]),
                                                            by=f"<code>{turn.user_id}</code>"), chat_id=cid)
        _restore_summaries(turn, db, d.referral_id, d.send_no)
        if s.role_of(referral.physician_id) == "physician":
            with using(lang_of(referral.physician_id)):  # the physician's language
                turn.say(_(render.PHYSICIAN_UNDONE).format(ref=esc(d.referral_id),
                                                           words=_(render.DECISION_WORDS[d.decision])),
                         chat_id=referral.physician_id)

    turn.do(take_back)
    await turn.end()


def _decided_text(s: Services, d: DecisionRow) -> str:
    words = _(render.DECISION_WORDS[d.decision])
    detail = render.decision_detail(d.decision, d.reason_code, d.reason, _names(s, d.referral_id, d.items))
    return render.decided_by_you(d.referral_id, words, detail)


# ---- the physician's button: the requested items asked again ---------------------------------------------

async def reopen(update: Update, context: BotContext) -> None:
    """The physician answers the items a "need information" asked for: the pre-screen reopened at exactly
    those (a change of a sent pre-screen, for the reason ``team_request``; the coordinators are told)."""
    s = context.services
    turn = Turn(update, context)
    m = _BY_ID.fullmatch(update.callback_query.data or "")
    d = s.registry.decision(int(m[2])) if m is not None and m[1] == "ri" else None
    prescreen = s.store.get(d.referral_id) if d is not None else None
    if prescreen is None or prescreen.owner_role != "physician" or prescreen.owner_id != turn.user_id:
        turn.toast = physician.NOT_YOURS
        await turn.end()
        return
    referral = s.registry.referral(d.referral_id)
    standing = [x for x in s.registry.decisions(d.referral_id) if x.undone_at is None]
    if (d.decision != "need_info" or d.undone_at is not None or referral is None or referral.status != "need_info"
            or referral.sends != d.send_no or standing[-1].id != d.id):
        turn.toast = _(render.REOPEN_NOT_STANDING)
        await turn.end()
        return
    turn.referral_id = d.referral_id
    fill = physician._shows(turn)

    def with_notice(res: Recorded) -> None:
        fill(res)
        amended = next((e for e in res.events if e.type == E.REFERRAL_AMENDED), None)
        if amended is None:
            return
        s.registry.amend(d.referral_id)
        for cid in sorted(s.settings.coordinator_ids):
            with using(lang_of(cid)):
                turn.say(render.amend_notice(d.referral_id, amended.payload), chat_id=cid)

    turn.step(d.referral_id, engine.Reopen(d.items, code=engine.AmendReason.TEAM_REQUEST), with_notice)
    await turn.end()

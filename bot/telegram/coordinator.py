"""The coordinators' side: invites, revocations, open referrals and decisions on them."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from telegram import Update

from bot import phrases
from bot.i18n import Plural, _, plural
from bot.report import list_sep
from bot.report_cmd import write_report
from bot.settings import Settings
from conversations.dialogue.events import E
from conversations.records import audit, audit_export
from conversations.records.audit_key import AuditKey
from conversations.records.audit_verify import VerifyResult
from conversations.records.db import open_db
from conversations.records.reassess import reassess
from conversations.records.report_data import ReportData, verified_report
from criteria import PROTOCOL_VERSION

from . import anchoring, keyboards, menus, render, summaries
from .render import esc
from .services import BotContext
from .turn import Turn

log = logging.getLogger(__name__)

HELP = (
    "<b>Study coordinator</b>\n"
    "Every referral a physician sends reaches you with its outcome, criteria, missing and pending items, "
    "and buttons Accept / Need information / Decline: each asks first (the items to ask for, or the reason to "
    "decline, and a note you may type), the physician is told your decision with it, and you can undo it for "
    "10 minutes.\n"
    "/referrals lists the open referrals\n"
    "/invite makes a single-use invitation link for a physician (valid 7 days; /invite 3 for three days, or "
    "the link's buttons for 1 or 30)\n"
    "/invites lists the open invitation links, each with a button that cancels it\n"
    "/physicians lists the physicians with their referrals, each with a button that revokes them\n"
    "/revoke &lt;user ID&gt; removes a physician\n"
    "/export sends the whole audit trail (JSON lines with transcripts and the head hash)\n"
    "/report sends the screening report (an HTML page: flow diagram, months, referrals; "
    "/report contacts with the physicians' details)\n"
    "/reassess lists the referrals whose outcome the current protocol changes (after an amendment)"
)

USAGE = ("Coordinators use /referrals, /physicians, /invite, /invites, /revoke, /export and /reassess; /help "
         "explains them.")
REVOKE_USAGE = "Usage: /revoke &lt;numeric Telegram user ID&gt;"
REMOVED = "Physician <code>{uid}</code> was removed."
NO_REFERRALS = "No open referrals."
REFERRALS_HEAD = "<b>Open referrals ({n})</b>"
REFERRAL_AWAITING = ("• <b>{ref}</b> · physician <code>{physician}</code> · {status} · summary {sends}, sent {sent} · "
                     "awaiting a decision")
REFERRAL_NEEDS_INFO = ("• <b>{ref}</b> · physician <code>{physician}</code> · {status} · summary {sends}, sent "
                       "{sent} · needs information (asked by <code>{by}</code>)")
REASSESS_NONE = "No referral changes its outcome under protocol {version}."
REASSESS_HEAD = Plural("<b>{n} referral whose outcome protocol {version} changes</b>",
                       "<b>{n} referrals whose outcome protocol {version} changes</b>")
REASSESS_LINE = ("• <b>{ref}</b> ({status}): {recorded} under {version}, now <b>{new}</b> · {changed}")
REASSESS_STATUS_ONLY = "status only"
REASSESS_UNKNOWN = "unknown version"
# /reassess's code words (records/reassess.py) as msgids: a referral's status (registry; the same msgids as
# render.DECISION_WORDS, so the same translations), an outcome's, and a criterion's class (reassess._CLASS).
REASSESS_REFERRAL_STATUS = {"sent": "sent", "need_info": "needs more information", "accepted": "accepted",
                            "declined": "declined", "amending": "being amended"}
REASSESS_OUTCOME_STATUS = {"eligible": "eligible", "ineligible": "ineligible", "incomplete": "incomplete"}
REASSESS_CLASS = {"passes": "passes", "fails": "fails", "pending": "pending", "unknown": "not decided yet",
                  "passes or unknown": "passes or unknown"}
EXPORT_BROKEN = ("⚠️ The audit trail does not verify (broken at event {where}), so it was not exported. Please "
                 "tell the study's data manager; <code>screening-bot audit verify</code> shows where.")
EXPORT_CAPTION = ("Audit export: {events} events of {referrals} referrals, head #{seq} <code>{head}</code>. Check "
                  "it with <code>screening-bot audit verify --head {head}</code>.")
EXPORT_FAILED = "The export could not be sent; please try /export again."
REPORT_BROKEN = ("⚠️ The audit trail does not verify (broken at event {where}), so it gives no report. Please tell "
                 "the study's data manager; <code>screening-bot audit verify</code> shows where.")
REPORT_CAPTION = ("Screening report: {started} started, {completed} completed, {sent} sent; audit trail up to event "
                  "{seq}. No patient identifiers; physicians' details left out (<code>/report contacts</code> "
                  "includes them).")
REPORT_CAPTION_CONTACTS = ("Screening report: {started} started, {completed} completed, {sent} sent; audit trail up "
                           "to event {seq}. No patient identifiers; with the referring physicians' details.")
REPORT_FAILED = "The report could not be sent; please try /report again."
# The document's name, which Telegram shows beside it: the page's own language.
REPORT_FILE_NAME = "screening-report-{stamp}.html"


async def start(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    turn.say(_(HELP))
    await turn.end()


async def revoke(update: Update, context: BotContext) -> None:
    s = context.services
    turn = Turn(update, context)
    arg = context.args[0] if context.args else ""
    if len(context.args or []) != 1 or not arg.isascii() or not arg.isdigit() or len(arg) > 15:
        turn.say(_(REVOKE_USAGE))
        await turn.end()
        return
    physician_id = int(arg)

    def remove(db: sqlite_utils.Database) -> None:
        ts, existed = s.registry.now(), s.registry.has_row(physician_id)
        if s.registry.revoke(physician_id, turn.user_id, s.settings.physician_ids, ts=ts):
            turn.event(E.PHYSICIAN_REVOKED, {"physician_id": physician_id, "existed": existed}, ts=ts)
            note = _(render.REVOKED_ALLOW_LIST) if physician_id in s.settings.physician_ids else ""
            turn.say(_(REMOVED).format(uid=physician_id) + note)
        else:
            turn.say(_(render.NOT_A_PHYSICIAN).format(uid=physician_id))

    turn.do(remove)
    await turn.end()
    if s.role_of(physician_id) == "stranger":  # revoked: their command menu goes too
        await menus.remove_menu(context.bot, physician_id)


async def referrals(update: Update, context: BotContext) -> None:
    s = context.services
    turn = Turn(update, context)
    rows = s.registry.open_referrals()
    if not rows:
        turn.say(_(NO_REFERRALS))
    else:
        lines = [_(REFERRALS_HEAD).format(n=len(rows))]
        for r in rows:
            line = REFERRAL_AWAITING if r.status == "sent" else REFERRAL_NEEDS_INFO
            lines.append(_(line).format(ref=esc(r.referral_id), physician=r.physician_id,
                                        status=esc(word(REASSESS_OUTCOME_STATUS, r.outcome_status)),
                                        sends=r.sends, sent=esc(r.last_sent_at),
                                        by=r.decided_by))
        turn.say("\n".join(lines))
    await turn.end()


async def view(update: Update, context: BotContext) -> None:
    """Details / Summary on a summary: the message turned to its full criterion list or back, in place."""
    turn = Turn(update, context)
    query = update.callback_query
    p = keyboards.parse(query.data)
    if context.role != "coordinator" or p is None or p.action != keyboards.Action.VIEW or query.message is None:
        turn.toast = _(render.NOT_FOR_YOU)
        await turn.end()
        return
    turn.referral_id = p.ref
    try:
        text, markup = summaries.view(summaries.load(context.services, p.ref, p.number), int(p.arg))
    except summaries.Unavailable as why:
        turn.toast = str(why)
    else:
        turn.edit(query.message.message_id, text, markup)
    await turn.end()


def word(table: dict[str, str], code: str | None) -> str:
    """A code word in the current language (a code the table does not know: as it is)."""
    return _(table[code]) if code in table else str(code)


async def reassess_referrals(update: Update, context: BotContext) -> None:
    """The referrals whose outcome the current protocol changes: recorded status and version, the new
    status and the criteria that changed."""
    turn = Turn(update, context)
    rows = reassess(context.services.store)
    if not rows:
        turn.say(_(REASSESS_NONE).format(version=esc(PROTOCOL_VERSION)))
    else:
        lines = [plural(REASSESS_HEAD, len(rows)).format(n=len(rows), version=esc(PROTOCOL_VERSION))]
        for r in rows:
            changed = list_sep().join(
                f"{c.criterion} {word(REASSESS_CLASS, c.before)} → {word(REASSESS_CLASS, c.after)}" for c in r.changes
            ) or _(REASSESS_STATUS_ONLY)
            lines.append(_(REASSESS_LINE).format(
                ref=esc(r.referral_id), status=esc(word(REASSESS_REFERRAL_STATUS, r.referral_status)),
                recorded=esc(word(REASSESS_OUTCOME_STATUS, r.recorded_status)),
                version=esc(r.recorded_protocol_version or _(REASSESS_UNKNOWN)),
                new=esc(word(REASSESS_OUTCOME_STATUS, r.new_status)), changed=esc(changed)))
        turn.say("\n".join(lines))
    await turn.end()


async def export(update: Update, context: BotContext) -> None:
    """The jsonl audit export as a document. It runs on its own connection in a thread so the bot keeps
    answering meanwhile; the export records itself as an audit event."""
    s = context.services
    turn = Turn(update, context)
    await turn.end()
    with tempfile.TemporaryDirectory(prefix="screening-export-") as tmp:
        path = Path(tmp) / f"audit-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
        try:
            result = await asyncio.to_thread(_export, s.settings, path, turn.user_id, audit.bound(s.store.db))
        except audit_export.BrokenTrail as exc:  # nothing was written or recorded: say where, loudly
            where = exc.result.bad_seq or exc.result.head_seq + 1
            log.error("export refused: the audit trail is broken at event %s", where)
            turn = Turn(update, context)
            turn.record_received = False
            turn.say(_(EXPORT_BROKEN).format(where=where), key=f"u{update.update_id}.b")
            await turn.end()
            return
        caption = _(EXPORT_CAPTION).format(events=result.events, referrals=result.referrals, seq=result.head_seq,
                                           head=esc(result.head))
        if not await s.sender.send_document(turn.chat_id, path, caption):
            turn = Turn(update, context)
            turn.record_received = False
            turn.say(_(EXPORT_FAILED), key=f"u{update.update_id}.x")
            await turn.end()


def _export(settings: Settings, out: Path, coordinator_id: int, key: AuditKey | None) -> audit_export.ExportResult:
    db = open_db(settings.db_path)
    audit.bind(db, key)  # the export's own event is keyed like every other
    try:
        result = audit_export.export(db, out, "jsonl", actor_role="coordinator", actor_id=coordinator_id,
                                     phrase=phrases.text)
        anchoring.after_export(db, settings)  # its head to every coordinator's chat, and the anchors file
        return result
    finally:
        db.close()


async def report(update: Update, context: BotContext) -> None:
    """The screening report (`screening-bot report`'s page) as a document; ``/report contacts`` with the
    referring physicians' details. Built on its own connection in a thread, from a trail that verifies; the
    page, its name and caption in the requesting coordinator's language."""
    s = context.services
    turn = Turn(update, context)
    contacts = [a.lower() for a in context.args or ()] == ["contacts"]
    await turn.end()
    with tempfile.TemporaryDirectory(prefix="screening-report-") as tmp:
        path = Path(tmp) / _(REPORT_FILE_NAME).format(stamp=f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        # to_thread carries the update's context over, its language (bot.i18n.current()) with it.
        data = await asyncio.to_thread(_report, s.settings, path, audit.bound(s.store.db), contacts)
        turn = Turn(update, context)
        turn.record_received = False
        if isinstance(data, VerifyResult):  # no numbers from a trail that does not verify
            where = data.bad_seq or data.head_seq + 1
            log.error("report refused: the audit trail is broken at event %s", where)
            turn.say(_(REPORT_BROKEN).format(where=where), key=f"u{update.update_id}.b")
            await turn.end()
            return
        n = data.log
        caption = _(REPORT_CAPTION_CONTACTS if contacts else REPORT_CAPTION).format(
            started=n.started, completed=n.completed, sent=n.sent, seq=n.head_seq)
        if not await s.sender.send_document(turn.chat_id, path, caption):
            turn.say(_(REPORT_FAILED), key=f"u{update.update_id}.x")
            await turn.end()


def _report(settings: Settings, out: Path, key: AuditKey | None, contacts: bool) -> ReportData | VerifyResult:
    db = open_db(settings.db_path)
    try:
        data = verified_report(db, key, contacts=contacts)
        if isinstance(data, ReportData):
            write_report(data, out)  # in the current language: the requesting coordinator's
        return data
    finally:
        db.close()


async def other(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    turn.say(_(USAGE))
    await turn.end()

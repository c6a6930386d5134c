"""Engine outputs and referrals as Telegram messages: HTML-escaped text, keyboards, the 4096-character limit.

Pure functions: no sending, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape

from telegram import InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.i18n import ENGLISH, _, current, number
from bot.phrases import NO_FURTHER_HELP, reason_text, text
from bot.report import (
    INELIGIBLE_NOW,
    MISSING_MORE,
    PENDING_AT_VISIT,
    STATUS_LINES,
    calculated_text,
    clause_sep,
    criterion_text,
    echo_text,
    failure_text,
    key_facts,
    label_text,
    list_sep,
    next_steps,
    reasons_text,
)
from conversations.dialogue import engine
from conversations.dialogue.messages import M, Message
from criteria import TITLES, Facts, Note, Outcome

from . import contact, keyboards

LIMIT = MessageLimit.MAX_TEXT_LENGTH
VERDICT_MARKS = {"met": "✅", "clear": "✅", "not_met": "❌", "excluded": "❌", "unknown": "❔",
                 "pending": "⏳"}
NO_IDENTIFIERS = ("Please send no photos, files, voice notes, contacts or locations: they can identify "
                  "the patient, so I never open them and I remove them from this chat. Type the answer as "
                  "text instead.")


# Where Telegram says it its own way: it has buttons and slash commands where the terminal has words.
OVERRIDES: dict[M, str] = {
    M.FINISH_FIRST: "finish the pre-screen first; /status shows where it stands",
    M.CHANGE_NEEDS_REASON: ("{referral_id} was sent to the study team (version {send_no}); to change it, first "
                            "say why: /amend shows the reasons to choose from"),
    M.AMEND_NEEDS_REASON: ("Please say why the pre-screen changes: tap a reason below, or type it in a few "
                           "words: /amend <reason>."),
    M.AMEND_NEEDS_TEXT: "Please say in a few words why the pre-screen changes: /amend <reason>.",
    M.REVIEW: "Your answers for {referral_id} (/change N corrects any of them):\n{lines}",
}
# The reasons for a change to a pre-screen already sent, as buttons (conversations/dialogue/inputs.AMEND_REASONS).
AMEND_REASON_BUTTONS = {
    "new_result": "🧪 A new test or examination result",
    "entry_error": "✏️ An answer was entered wrongly",
    "clarified": "📋 Checked against the patient's records",
    "team_request": "👥 The study team asked for it",
    "other": "💬 Other (say why in a few words)",
}
# What the reasons' message becomes once one was chosen, and what the coordinators are told.
AMEND_CHOSEN = "<b>{ref}</b> · the reason for the change: {reason}"
AMEND_NOTICE = ("<b>{ref}</b> is being changed by its physician: {reason}. Your decision on version {send_no} no "
                "longer stands; the new version will come as a new summary.")
FINISHED_AGAIN = ("<b>{ref}</b> is finished; here is its outcome again. \"Fill in missing items\" asks what was "
                  "unknown, /back changes the last answer, /screen starts a new pre-screen.")
# The physician's messages around the questions and the outcome (HTML: tags stay as they are in translation).
SENTENCE_END = "{note}."
QUESTION_HEAD = "<b>{ref}</b> · question {number} of at most {most}"
TAP_ITEMS = "<i>Tap each item that applies, then Done.</i>"
TAP_ITEMS_UNSURE = "<i>Tap each item that applies (tap again for ❔ {unsure}), then Done.</i>"
TYPE_ANSWER = "<i>Type the answer, or tap Unknown.</i>"
UNSURE_WORDS = ("not sure", "not assessed")
ALREADY_FAILS = "INELIGIBLE: a criterion already fails."
STOP_OR_GO_ON = "You can stop here with /cancel, or go on so that the coordinator sees the whole picture."
OUTCOME_TITLES = {
    "failing": "Failing criteria", "rechecks": "Re-checks", "flags": "Flags for the investigator",
    "missing": "Still missing ({n})",
}
CANCELLED = "<b>{ref}</b> cancelled. Nothing was sent. /screen starts a new pre-screen."


def send_refused(message: Message) -> str:
    """Why "Send to coordinator" did nothing, on the pressed button."""
    note = text(message, OVERRIDES)
    return _(SENTENCE_END).format(note=f"{note[:1].upper()}{note[1:]}")


def esc(text: str) -> str:
    """HTML-escaped for Telegram (quotes need no escaping outside attributes)."""
    return escape(text, quote=False)


def phrase(message: Message) -> str:
    """A dialogue message as Telegram says it (plain text: escape it for HTML)."""
    return text(message, OVERRIDES)


@dataclass(frozen=True)
class Reply:
    """One message to send (or to put in place of the message ``edit`` when set)."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    edit: bool = False
    question_seq: int | None = None  # the question instance it shows, if it shows one


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut at line ends so that no part exceeds the limit (every line here is complete HTML)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single overlong line: cut hard (only plain text gets this long)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def question(q: engine.Question, ref: str) -> str:
    lines = [_(QUESTION_HEAD).format(ref=esc(ref), number=number(q.number), most=number(q.number + q.remaining)),
             "", f"<b>{esc(_(q.text))}</b>"]
    if q.kind == "multi_choice":
        lines.append(_(TAP_ITEMS_UNSURE).format(unsure=esc(_(q.unsure))) if q.checklist else _(TAP_ITEMS))
    elif q.kind in ("number", "text"):
        lines.append(_(TYPE_ANSWER))
    return "\n".join(lines)


# The physician's outcome lists this many missing items; /summary lists them all.
MISSING_SHOWN = 6


def outcome(result: engine.OutcomeReached, ref: str) -> str:
    """The physician's outcome, short: what fails (ineligible), what is missing (incomplete, the first
    few), what is checked at the visit (eligible), each with its criterion ID, and what happens next."""
    o = result.outcome
    if not result.final:  # mid-way only what fails, and when it may lift: the rest is still to be asked
        lines = [f"<b>{esc(ref)}</b> · {esc(_(ALREADY_FAILS))}",
                 "", f"<b>{esc(_(OUTCOME_TITLES['failing']))}</b>", *_failures(o), *_rechecks(o),
                 "", esc(_(STOP_OR_GO_ON))]
        return "\n".join(lines)
    lines = [f"<b>{esc(ref)}</b> · {esc(_(STATUS_LINES[o.status]))}", *_ineligible_now(o)]
    if o.status == "ineligible":  # what fails decides: nothing still missing can change it
        lines += ["", f"<b>{esc(_(OUTCOME_TITLES['failing']))}</b>", *_failures(o), *_rechecks(o)]
    elif o.status == "incomplete":
        lines += ["", f"<b>{esc(_(OUTCOME_TITLES['missing']).format(n=number(len(o.missing))))}</b>"]
        lines += [f"• <b>{esc(m.criterion)}</b> {esc(_missing_names(m.facts))}" for m in o.missing[:MISSING_SHOWN]]
        if len(o.missing) > MISSING_SHOWN:
            lines.append(esc(_(MISSING_MORE).format(n=number(len(o.missing) - MISSING_SHOWN))))
        lines += _flags(o)
    else:
        if o.pending:
            lines += ["", "⏳ " + esc(_(PENDING_AT_VISIT).format(criteria=list_sep().join(o.pending)))]
        lines += _flags(o)
    return "\n".join([*lines, "", esc(next_steps(o))])


def _missing_names(facts: list[str]) -> str:
    return list_sep().join(label_text(key) for key in facts)


def missing_all(o: Outcome, ref: str) -> str:
    """Every item still missing with why it is needed (/summary of a finished pre-screen)."""
    lines = [f"<b>{esc(ref)}</b> · <b>{esc(_(OUTCOME_TITLES['missing']).format(n=number(len(o.missing))))}</b>"]
    lines += [f"• <b>{esc(m.criterion)}</b> {esc(criterion_text(m.criterion, m.reason, m.detail))}"
              for m in o.missing]
    return "\n".join(lines)


def _failures(o: Outcome) -> list[str]:
    return [f"• <b>{esc(f.criterion)}</b> {esc(failure_text(f))}" for f in o.failures]


def _ineligible_now(o: Outcome) -> list[str]:
    # Said next to the status: "ineligible" alone would read as final to a physician or coordinator.
    return [f"⏱ <b>{esc(_(INELIGIBLE_NOW))}</b>"] if o.ineligible_now else []


def _notes(title: str, mark: str, notes: list[Note]) -> list[str]:
    # One line per note: split() cuts messages at line ends only, so each line stays whole HTML.
    if not notes:
        return []
    return ["", f"<b>{esc(_(title))}</b>",
            *(f"{mark} <b>{esc(n.criterion)}</b> {esc(criterion_text(n.criterion, n.text, n.detail))}"
              for n in notes)]


def _rechecks(o: Outcome) -> list[str]:
    return _notes(OUTCOME_TITLES["rechecks"], "⏱", o.recheck)


def _flags(o: Outcome) -> list[str]:
    return _notes(OUTCOME_TITLES["flags"], "⚑", o.flags)


def outputs(result_outputs: list[engine.Output], ref: str, edit_seq: int | None = None) -> list[Reply]:
    """Messages for one step. Notes are joined to the message that follows them; a question that is the
    one whose button was pressed (``edit_seq``) replaces that message instead of following it."""
    replies: list[Reply] = []
    notes: list[str] = []

    def emit(text: str, markup: InlineKeyboardMarkup | None = None, edit: bool = False,
             seq: int | None = None) -> None:
        if notes and not edit:
            text = "\n\n".join([*notes, text])
            notes.clear()
        replies.append(Reply(text, markup, edit, seq))

    for out in result_outputs:
        if isinstance(out, engine.Info) and out.message.code is M.FINISHED_OUTCOME_AGAIN:
            replies.append(Reply(_(FINISHED_AGAIN).format(ref=esc(ref))))  # a message of its own, before the outcome
        elif isinstance(out, engine.Info) and out.message.code is M.AMEND_NEEDS_REASON:
            reasons = [(n, _(AMEND_REASON_BUTTONS.get(code, code))) for n, code in out.message.params["reasons"]]
            emit(esc(phrase(out.message)), keyboards.amend_reasons(ref, out.message.params["send_no"], reasons))
        elif isinstance(out, engine.Info):
            notes.append(esc(phrase(out.message)))
        elif isinstance(out, engine.Accepted):
            notes.append("✓ " + esc(" ".join([echo_text(out), *(phrase(n) for n in out.notes)])))
        elif isinstance(out, engine.Help):
            if out.question is not None:  # the commands are in the handler's help
                notes.append(esc(_(out.question.help or NO_FURTHER_HELP)))
        elif isinstance(out, engine.Question):
            emit(question(out, ref), keyboards.question(out, ref), edit=out.seq == edit_seq, seq=out.seq)
        elif isinstance(out, engine.Reprompt):
            notes.append("⚠️ " + esc(phrase(out.error)))
            emit(question(out.question, ref), keyboards.question(out.question, ref), seq=out.question.seq)
        elif isinstance(out, engine.OutcomeReached):
            markup = keyboards.outcome(ref, can_reopen=bool(out.outcome.missing)) if out.final else None
            if out.final and notes:  # the review of the answers before it: the outcome is a message of its own
                replies.append(Reply("\n\n".join(notes)))
                notes.clear()
            emit(outcome(out, ref), markup)
        elif isinstance(out, engine.Cancelled):
            emit(_(CANCELLED).format(ref=esc(ref)))
        elif isinstance(out, engine.Stale):
            notes.append(esc(phrase(out.message)))
    if notes:
        replies.append(Reply("\n\n".join(notes)))
    return replies


def amend_chosen(ref: str, payload: dict) -> str:
    """The reasons' message once a reason was tapped: the reason taken, the buttons gone."""
    return _(AMEND_CHOSEN).format(ref=esc(ref), reason=esc(reason_text(payload.get("reason_code"),
                                                                       payload.get("reason", ""))))


def amend_notice(ref: str, payload: dict) -> str:
    """What the coordinators are told when a pre-screen they have is opened for a change (a referral_amended
    event's payload): the reason's phrase with the physician's words, in the current language (the
    coordinator's: ``bot.i18n.using(lang_of(coordinator))``)."""
    return _(AMEND_NOTICE).format(ref=esc(ref), send_no=payload["send_no"],
                               reason=esc(reason_text(payload.get("reason_code"), payload.get("reason", ""))))


def answered(q: engine.Question, ref: str, answer_label: str) -> str:
    """A question message after its button was pressed: the answer shown, the buttons gone."""
    return f"{question(q, ref)}\n\n➡️ {esc(answer_label)}"


# ---- for the coordinators ----------------------------------------------------------------------------

FIRST_SCREEN = 1200  # the coordinator's first screen, counted as Telegram counts: the text without its tags
DETAILS_PAGE = 3600  # characters of HTML a page of details holds (an edit must fit one message)
_TAG = re.compile(r"<[^>]*>")
_FIELD = 80  # a directory field shown at most this long

# The coordinator's summary and details (translated when shown, in the coordinator's language).
PHYSICIAN_ACCOUNT = "Telegram user {uid}"
PHYSICIAN_KNOWN = "👤 Physician {details}"
PHYSICIAN_UNREGISTERED = "👤 Physician {link} (not registered in the directory: no name or contact)"
SUMMARY_TITLE = "📋 <b>Referral {ref}</b>"
DETAILS_TITLE = "📋 <b>Referral {ref}</b> · details"
DETAILS_TITLE_PAGE = "📋 <b>Referral {ref}</b> · details (page {page} of {pages})"
TITLE_VERSION = " · version {send_no}, replaces the earlier summary"
OUTCOME_LINE = "Outcome: <b>{status}</b> · protocol {version}"
AUDIT_HEAD = "Sent {sent} · Audit head #{seq} <code>{hash}</code>"
SECTION_TITLES = {"failing": "Failing", "rechecks": "Re-checks", "missing": "Missing",
                  "pending": "Pending for the screening visit", "flags": "Flags for the investigator"}
SECTION_HEAD = "<b>{title} ({n})</b>"
SECTION_IDS = "<b>{title} ({n})</b>: {ids}"
SECTION_MORE = "… and {n} more: {ids} (Details lists them all)"
VERDICT_WORDS = {"met": "met", "clear": "clear", "not_met": "not met", "excluded": "excluded",
                 "unknown": "not decided yet", "pending": "pending"}
CRITERIA_HEAD = "<b>Criteria</b>"
DETAILS_CALCULATED = "Calculated: {calculated}"
DETAILS_STARTED = "Started {at}"
DETAILS_FINISHED = "Finished {at}"


def visible_len(html: str) -> int:
    """The length Telegram counts: the message's text once its HTML is parsed (tags gone, entities one
    character each)."""
    return len(unescape(_TAG.sub("", html)))


@dataclass(frozen=True)
class Physician:
    """The referring physician as the directory knows them (only the user ID until they registered)."""

    user_id: int
    name: str | None = None
    institution: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class Summary:
    """Everything a coordinator's summary shows: version ``send_no`` of a referral as sent."""

    ref: str
    send_no: int
    physician: Physician
    outcome: Outcome
    facts: Facts
    started: str
    finished: str
    sent: str
    head_seq: int
    head_hash: str


def _short(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= _FIELD else value[:_FIELD - 1] + "…"


def physician_line(p: Physician) -> str:
    """A tap on the link opens the physician's Telegram account."""
    shown = esc(_short(p.name)) if p.name else esc(_(PHYSICIAN_ACCOUNT).format(uid=p.user_id))
    link = f'<a href="tg://user?id={p.user_id}">{shown}</a>'
    # The contact is marked: the trail's copy of this message keeps a placeholder instead (contact.py).
    known = [v for v in (esc(_short(p.institution)) if p.institution else "",
                         contact.marked(esc(_short(p.contact))) if p.contact else "") if v]
    if not p.name and not known:
        return _(PHYSICIAN_UNREGISTERED).format(link=link)
    return _(PHYSICIAN_KNOWN).format(details=" · ".join([link, *known]))


def _title(s: Summary, page: int = 0, pages: int = 0) -> list[str]:
    """The title lines: the summary's (page 0), or its details' (page ``page`` of ``pages``)."""
    o = s.outcome
    title = SUMMARY_TITLE if not page else DETAILS_TITLE if pages <= 1 else DETAILS_TITLE_PAGE
    update = _(TITLE_VERSION).format(send_no=s.send_no) if s.send_no > 1 else ""
    return [_(title).format(ref=esc(s.ref), page=page, pages=pages) + update,
            _(OUTCOME_LINE).format(status=esc(_(STATUS_LINES[o.status])), version=esc(o.protocol_version)),
            *_ineligible_now(o)]


def _head(s: Summary) -> str:
    return _(AUDIT_HEAD).format(sent=esc(s.sent), seq=s.head_seq, hash=esc(s.head_hash))


def _sections(o: Outcome) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The first screen's lists in the order they matter, each item (mark, criterion, plain text)."""
    return [
        ("failing", [("❌", f.criterion, reasons_text(f) or _(f.text)) for f in o.failures]),
        ("rechecks", [("⏱", n.criterion, criterion_text(n.criterion, n.text, n.detail) if n.detail is not None
                       else _(n.text)) for n in o.recheck]),  # the ID names the criterion
        ("missing", [("❔", m.criterion, _missing_names(m.facts)) for m in o.missing]),
        ("pending", [("⏳", p.criterion, _(TITLES[p.criterion]) if p.criterion in TITLES else "")
                     for p in o.pending_details]),
        ("flags", [("⚑", n.criterion, _(n.text)) for n in o.flags]),
    ]


# Where _sections' lists are, as they give way when the first screen is full.
_MISSING = 2
_CUT_BY_TURNS = (4, 1, 0)  # flags, re-checks, what fails


def _section_lines(title: str, items: list[tuple[str, str, str]], shown: int | None) -> list[str]:
    """A list with its first ``shown`` items (all when None); 0: only the criterion IDs, on one line."""
    if not items:
        return []
    name = esc(_(SECTION_TITLES[title]))
    if shown == 0:
        ids = ", ".join(dict.fromkeys(cid for _m, cid, _t in items))
        return [_(SECTION_IDS).format(title=name, n=len(items), ids=esc(ids))]
    keep = items if shown is None else items[:shown]
    lines = [_(SECTION_HEAD).format(title=name, n=len(items)),
             *(f"{mark} <b>{esc(cid)}</b> {esc(text)}" for mark, cid, text in keep)]
    if len(keep) < len(items):
        lines.append(esc(_(SECTION_MORE).format(n=len(items) - len(keep),
                                                ids=", ".join(cid for _m, cid, _t in items[len(keep):]))))
    return lines


def summary(s: Summary) -> str:
    """The coordinator's first screen (at most FIRST_SCREEN characters as Telegram counts them): who
    refers, the key facts with their units, then what fails, re-checks, what is missing, what is pending
    and the flags, each naming its criterion ID; lists too long for the screen are cut, Details has all."""
    facts = key_facts(s.facts)
    top = [*_title(s), physician_line(s.physician),
           f"🧒 {esc(facts['patient'])} · {esc(facts['activity'])}",
           f"🩺 {esc(facts['kidney'])}", f"💊 {esc(facts['i2c'])}", f"🧪 {esc(facts['labs'])}"]
    bottom = ["", _head(s)]
    sections = _sections(s.outcome)
    # Every item while it fits; then fewer items, and the IDs alone.
    # The same few items are pending for nearly every referral: their IDs say enough here.
    caps: list[int | None] = [0 if title == "pending" else None for title, _items in sections]

    def build() -> str:
        body: list[str] = []
        for (title, items), cap in zip(sections, caps, strict=True):
            if items:
                body += ["", *_section_lines(title, items, cap)]
        return "\n".join([*top, *body, *bottom])

    text = build()
    # Missing items give way first (an ineligible referral's rarely matter, and an incomplete one has the
    # room); then the others by turns, an item at a time, down to their IDs alone.
    for order in ((_MISSING,), _CUT_BY_TURNS):
        while visible_len(text) > FIRST_SCREEN and any(caps[i] != 0 for i in order):
            for i in order:
                if caps[i] != 0:
                    size = len(sections[i][1]) if caps[i] is None else caps[i]
                    caps[i] = size - 1 if size > 1 else 0
                    text = build()
                    if visible_len(text) <= FIRST_SCREEN:
                        break
    return text


def criteria_table(o: Outcome) -> list[str]:
    """Every criterion, its verdict and title, and for one that does not pass why: what fails, what is
    missing and why it is needed, what the screening visit decides."""
    failures = {f.criterion: failure_text(f) for f in o.failures}
    missing = {m.criterion: criterion_text(m.criterion, m.reason, m.detail) for m in o.missing}
    pending = {p.criterion: p.reason for p in o.pending_details}
    lines = []
    for cid, v in o.criteria.items():
        head = f"{VERDICT_MARKS.get(v, '')} <code>{esc(cid)}</code> {esc(_(VERDICT_WORDS.get(v, v)))}"
        if cid in failures or cid in missing:  # their texts name the criterion's title already
            lines.append(f"{head}: {esc(failures.get(cid) or missing[cid])}")
        else:
            lines.append(f"{head} · {esc(_(TITLES[cid]))}"
                         + (f": {esc(criterion_text(cid, pending[cid]))}" if cid in pending else ""))
    return lines


def details(s: Summary) -> list[str]:
    """The full criterion list behind the Details button, as pages that each fit one message."""
    o = s.outcome
    body = [_(CRITERIA_HEAD), *criteria_table(o), *_rechecks(o), *_flags(o)]
    if o.calculated:
        body += ["", _(DETAILS_CALCULATED).format(calculated=esc(calculated_text(o.calculated)))]
    body += ["", _(DETAILS_STARTED).format(at=esc(s.started)), _(DETAILS_FINISHED).format(at=esc(s.finished)),
             _head(s)]
    chunks = split("\n".join(body), DETAILS_PAGE)
    pages = []
    for n, chunk in enumerate(chunks, 1):
        pages.append("\n".join([*_title(s, n, len(chunks)), "", chunk.strip("\n")]))
    return pages


DECISION_WORDS = {"accept": "accepted", "need_info": "needs more information", "decline": "declined"}


ANCHOR_TEXTS = {
    "daily": ("🔒 Daily audit anchor, {day}: the trail's head is event {seq}, <code>{head}</code>. Keep this "
              "message: with it, <code>screening-bot audit verify --anchors</code> proves that nothing up to here "
              "was removed or rewritten."),
    "export": ("🔒 Audit anchor of an export, {day}: the trail's head is event {seq}, <code>{head}</code>. Keep "
               "this message: with it, <code>screening-bot audit verify --anchors</code> proves that nothing up to "
               "here was removed or rewritten."),
}


def anchor_text(why: str, day: str, seq: int, head: str) -> str:
    return _(ANCHOR_TEXTS[why]).format(day=day, seq=seq, head=head)


# ---- reminders (bot/telegram/reminders.py) -----------------------------------------------------------

REMINDER_TEXTS = {
    "idle": ("⏰ <b>{ref}</b> is waiting for your next answer: nothing has changed since {since} UTC. Continue shows "
             "the question again, \"In 48 hours\" reminds you later, and Cancel closes the pre-screen (it asks "
             "first)."),
    "again": ("⏰ <b>{ref}</b> is still open: nothing has changed since {since} UTC. Continue shows the question "
              "again, \"In 48 hours\" reminds you later, and Cancel closes the pre-screen (it asks first). This is "
              "the last reminder unless you answer or ask for another."),
    "snoozed": ("⏰ As you asked, a reminder: <b>{ref}</b> is waiting for your next answer (nothing has changed "
                "since {since} UTC). Continue shows the question again, \"In 48 hours\" reminds you later, and "
                "Cancel closes the pre-screen (it asks first)."),
}
REMINDER_BUTTONS = {"continue": "▶️ Continue", "snooze": "⏰ In 48 hours", "cancel": "✖ Cancel the pre-screen",
                    "yes": "✖ Yes, cancel it", "no": "▶️ No, continue"}
REMINDER_SNOOZED = "⏰ <b>{ref}</b>: I will remind you again on {until} UTC."
REMINDER_SNOOZED_TOAST = "I will remind you again on {until} UTC."
REMINDER_MOVED = "This pre-screen has changed since the reminder; there is nothing to snooze."
REMINDER_NOT_OPEN = "This pre-screen is no longer open; there is nothing to cancel."
REMINDER_CANCEL_ASK = ("Cancel <b>{ref}</b>? It is closed for good and nothing of it is sent to the study team; "
                       "what was answered stays in the audit trail.")
DIGEST_HEAD = ("📋 <b>Referrals waiting for a decision</b> for more than {days} working days, {day}: {n}. "
               "/referrals lists every open referral.")
DIGEST_LINE = "• <b>{ref}</b> sent {sent} UTC, {days} working days ago{status}."
DIGEST_NEED_INFO = ", more information asked for"
DIGEST_MORE = "And {n} more, the oldest first above."


def reminder_time(t: str) -> str:
    """A record's time (ISO, UTC) as a reminder says it: ``Wed 2 Dec 2026, 09:00``."""
    from conversations.records.reminders import parse_time

    at = parse_time(t)
    if current() != ENGLISH:  # the numeric form every language reads: 2026-12-02 09:00
        return f"{at:%Y-%m-%d %H:%M}"
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M}"


def reminder_text(kind: str, ref: str, since: str) -> str:
    return _(REMINDER_TEXTS[kind]).format(ref=esc(ref), since=reminder_time(since))


def digest_text(day: str, waiting: list, days: int, most: int) -> str:
    """The coordinators' digest: ``waiting`` (records.reminders.Waiting), oldest first, at most ``most`` listed."""
    lines = [_(DIGEST_HEAD).format(days=days, day=day, n=len(waiting))]
    lines += [_(DIGEST_LINE).format(ref=esc(w.referral_id), sent=reminder_time(w.last_sent_at), days=w.working_days,
                                    status=_(DIGEST_NEED_INFO) if w.status == "need_info" else "")
              for w in waiting[:most]]
    if len(waiting) > most:
        lines.append(_(DIGEST_MORE).format(n=len(waiting) - most))
    return "\n".join(lines)


# ---- the physician directory: registration, /profile, /physicians, /invites (bot/telegram/registration.py,
# coordinator.py) ---------------------------------------------------------------------------------------

REGISTRATION_START = ("Welcome! You are registered as a referring physician. Before your first pre-screen, please "
                      "tell the study team who you are; this is kept in the study's physician directory, never with "
                      "a patient's answers. Three questions, one at a time.")
PROFILE_QUESTIONS = {
    "name": "What is your name, as the study team should address you (for example \"Dr Anna Weber\")?",
    "institution": "Which hospital or practice do you work at?",
    "contact": ("How can the study team reach you? Please send one phone number or e-mail address of your own "
                "(this is the only place where I accept one)."),
}
PROFILE_BAD = {
    "name": "Please send your name in a few words (2 to 100 characters).",
    "institution": "Please send the name of your hospital or practice (2 to 200 characters).",
    "contact": ("That does not look like one phone number or one e-mail address. Please send just the number "
                "(for example +49 30 1234567) or the address (for example a.weber@clinic.example)."),
}
REGISTERED = ("Thank you, {name}: you are registered as a referring physician. /screen starts a pre-screen; "
              "/profile shows or changes your details; /help explains the rest. Please never send patients' "
              "names, dates of birth, record numbers or photos.")
FINISH_REGISTERING = "Please finish registering first; then every command is yours."
ALREADY_REGISTERING = "You are already registered as a referring physician; please finish registering."
PROFILE_SAVED = "Saved. /profile shows your details."
PROFILE_TEXT = ("<b>Your details in the study's physician directory</b>\nName: {name}\nInstitution: {institution}\n"
                "Contact: {contact}\nTap what you want to change.")
PROFILE_NONE = "not given"
CONTACT_KEPT = "[contact: kept in the physician directory only]"
REDEEMED_NOTICE = ("🔔 Invite <code>{invite_id}</code> was redeemed by {link}; they are registering now (name, "
                   "institution, contact).")
REGISTERED_NOTICE = ("✅ {link} finished registering from invite <code>{invite_id}</code>: <b>{name}</b>, "
                     "{institution}. /physicians lists every physician.")
REGISTERED_NOTICE_ALLOW_LIST = ("✅ {link} finished registering (on the allow-list, SCREENING_PHYSICIAN_IDS): "
                                "<b>{name}</b>, {institution}. /physicians lists every physician.")
PHYSICIANS_HEAD = "<b>Physicians ({n})</b>"
PHYSICIANS_NONE = "No physicians yet. /invite makes an invitation link."
PHYSICIAN_UNNAMED = "(no name given yet)"
REVOKE_ASK = ("Revoke {who} ({link})? They can no longer use this bot, and the referrals they sent stay as they "
              "are.")
REVOKE_KEPT = "{who} stays a physician of this bot; nothing was changed."
REVOKED = "{who} was removed."
REVOKED_ALLOW_LIST = (" It is also in SCREENING_PHYSICIAN_IDS: the revocation outranks the list, but remove it there "
                      "too.")
NOT_A_PHYSICIAN = "<code>{uid}</code> is not a physician of this bot; nothing changed."
INVITES_HEAD = "<b>Open invites ({n})</b>"
INVITES_NONE = "No open invites. /invite makes one."
INVITE_LINE = "• <code>{invite_id}</code> · made {created} UTC by <code>{by}</code> · valid until {expires} UTC"
INVITE_CANCELLED = "Invite <code>{invite_id}</code> was cancelled: its link can no longer be used."
INVITE_NOT_OPEN = "Invite <code>{invite_id}</code> is no longer open (used, expired or cancelled); nothing changed."
INVITE_ASK_DAYS = "How long should the invitation link be valid? (Or type /invite 3 for three days.)"
INVITE_USAGE = "Usage: /invite, or /invite <days> with 1 to {most} days."
NOT_FOR_YOU = "That button is not valid for you; nothing was changed."


def user_link(user_id: int, name: str | None = None) -> str:
    """A tap-to-open link to the Telegram account (its name when known, else its numeric ID)."""
    return f'<a href="tg://user?id={user_id}">{esc(name) if name else user_id}</a>'


def when(t: str) -> str:
    """A record's ISO time (UTC) to the minute."""
    return t[:16].replace("T", " ")


# ---- decisions with reasons (decisions.py) ----------------------------------------------------------
DECLINE_REASON_LABELS = {
    "age_range": "outside the age range (5 to 18 years)",
    "not_refractory": "the disease is not refractory",
    "exclusion": "an exclusion criterion is present",
    "incomplete": "the information is incomplete",
    "other": "other (type a few words)",
}
CONFIRM_ASK = {
    "accept": ("Accept referral <b>{ref}</b> (version {send_no})? Its physician will be told that the study team "
               "will contact them about the screening visit."),
    "need_info": ("Ask the physician of <b>{ref}</b> (version {send_no}) for more information? Tap the items they "
                  "should give (what is missing or pending); you may also type a note for them, without patient "
                  "identifiers."),
    "decline": ("Decline referral <b>{ref}</b> (version {send_no})? Choose the reason; you may also type a note for "
                "the physician, without patient identifiers."),
}
CONFIRM_NO_ITEMS = "Nothing is missing or pending in this referral: please type a note saying what is needed."
CONFIRM_ITEMS = "Asked for: {items}."
CONFIRM_REASON = "Reason: {reason}."
CONFIRM_NOTE = "Your note: “{note}”"
CONFIRM_LABELS = {"accept": "✅ Yes, accept", "need_info": "❓ Ask for this", "decline": "✖ Yes, decline"}
CONFIRM_CANCEL_LABEL = "Cancel"
CONFIRM_CANCELLED = "Nothing was decided on <b>{ref}</b>; its summary keeps its buttons."
CONFIRM_NOT_OPEN = "This confirmation is no longer open; tap the decision on the summary again."
CONFIRM_NEEDS_ITEMS = "Please choose at least one item, or type a note saying what is needed."
CONFIRM_NEEDS_REASON = "Please choose a reason first."
CONFIRM_NEEDS_TEXT = "Please type a few words saying why (the reason \"other\")."
NOTE_TAKEN = "Your note for <b>{ref}</b> was taken; it goes to the physician with your decision."
NOTE_TOO_LONG = "Please keep the note to {most} characters; it was not taken."
# Each with and without the decision's reason or items: whole sentences, never a fragment spliced in.
DECIDED_BY_YOU = "Recorded: <b>{ref}</b> {words} by you. You can undo it for 10 minutes."
DECIDED_BY_YOU_DETAIL = "Recorded: <b>{ref}</b> {words} by you ({detail}). You can undo it for 10 minutes."
DECIDED_TOAST = "Recorded: {words}."
UNDONE_TOAST = "Undone."
UNKNOWN_REFERRAL = "Unknown referral; nothing was changed."
UNKNOWN_DECISION = "Unknown decision; nothing was changed."
NEWER_SUMMARY = "A newer summary of this referral exists; please decide on that one."
# A referral's status as a decision left it (registry.referrals.status).
STATUS_WORDS = {"accepted": "accepted", "declined": "declined"}
ALREADY_DECIDED = "Already {status} by {by}; nothing was changed."
DECIDED_NOTICE = "<b>{ref}</b>: {words} by {by}."
DECIDED_NOTICE_DETAIL = "<b>{ref}</b>: {words} by {by} ({detail})."
UNDO_LABEL = "↩ Undo"
TOO_LATE_LABEL = "⏱ Too late to undo (over 10 minutes)"
UNDO_TOO_LATE = "Too late to undo: a decision can be undone for 10 minutes after it was made."
UNDO_NOT_YOURS = "Only the coordinator who made the decision can undo it."
UNDO_MOVED_ON = "This decision can no longer be undone: the referral has moved on since."
UNDONE_BY_YOU = ("Undone: your decision on <b>{ref}</b> ({words}) no longer stands; the referral waits for a decision "
                 "again.")
UNDONE_NOTICE = "<b>{ref}</b>: the decision ({words}) was undone by {by}; the referral waits for a decision again."
PHYSICIAN_DECISION = {
    "accept": "Referral <b>{ref}</b>: the study team accepted this referral and will contact you about the screening "
              "visit.",
    "need_info": "Referral <b>{ref}</b>: the study team needs more information.{items}{note} Tap the button below to "
                 "answer these items again, then send the pre-screen again.",
    "decline": "Referral <b>{ref}</b>: the study team declined this referral. Reason: {reason}.{note}",
}
PHYSICIAN_NEED_INFO_NOTE_ONLY = ("Referral <b>{ref}</b>: the study team needs more information.{note} /amend opens the "
                                 "pre-screen for a change; then send it again.")
PHYSICIAN_ITEMS = " They ask for: {items}."
PHYSICIAN_NOTE = " Their note: “{note}”"
PHYSICIAN_UNDONE = ("Referral <b>{ref}</b>: the study team took back its decision ({words}); the referral waits for "
                    "their decision again.")
REOPEN_ITEMS_LABEL = "✏️ Answer the requested items"
REOPEN_NOT_STANDING = "That request no longer stands; nothing was changed."
PHYSICIAN_REMOVED = ("<b>{ref}</b>: its physician <code>{uid}</code> was removed from this bot and was not told; "
                     "please reach them another way.")


def decline_reason(code: str | None, note: str = "") -> str:
    """A decline's reason as chosen: its label, or the coordinator's words for "other"."""
    if code == "other" and note:
        return esc(note)
    return esc(_(DECLINE_REASON_LABELS[code]) if code in DECLINE_REASON_LABELS else code or "")


def confirm_text(ref: str, send_no: int, decision: str, items: list[str], reason_code: str | None, note: str,
                 offered: int) -> str:
    """The confirmation of a decision being made: what it does, and what was chosen so far."""
    lines = [_(CONFIRM_ASK[decision]).format(ref=esc(ref), send_no=send_no)]
    if decision == "need_info":
        if not offered:
            lines.append(_(CONFIRM_NO_ITEMS))
        if items:
            lines.append(_(CONFIRM_ITEMS).format(items=esc(_items(items))))
    if decision == "decline" and reason_code:
        lines.append(_(CONFIRM_REASON).format(reason=decline_reason(reason_code)))
    if note:
        lines.append(_(CONFIRM_NOTE).format(note=esc(note)))
    return "\n".join(lines)


def decision_detail(decision: str, reason_code: str | None, note: str, items: list[str]) -> str:
    """What the coordinators read with the decision's words: the reason, or the items asked for ("": none)."""
    if decision == "decline":
        return decline_reason(reason_code, note)
    if decision == "need_info" and items:
        return esc(_items(items))
    return ""


def _items(names: list[str]) -> str:
    """The items a "need information" asks for (the questions' short names), in the current language."""
    return clause_sep().join(_(n) for n in names)


def decided_by_you(ref: str, words: str, detail: str) -> str:
    if detail:
        return _(DECIDED_BY_YOU_DETAIL).format(ref=esc(ref), words=words, detail=detail)
    return _(DECIDED_BY_YOU).format(ref=esc(ref), words=words)


def decided_notice(ref: str, words: str, by: str, detail: str) -> str:
    if detail:
        return _(DECIDED_NOTICE_DETAIL).format(ref=esc(ref), words=words, by=by, detail=detail)
    return _(DECIDED_NOTICE).format(ref=esc(ref), words=words, by=by)


def physician_decision(ref: str, decision: str, reason_code: str | None, note: str, items: list[str]) -> str:
    """The physician's notice of a decision, with its reason or the items asked for."""
    said = _(PHYSICIAN_NOTE).format(note=esc(note)) if note and not (decision == "decline" and reason_code == "other") \
        else ""
    if decision == "need_info" and not items:
        return _(PHYSICIAN_NEED_INFO_NOTE_ONLY).format(ref=esc(ref), note=said)
    listed = _(PHYSICIAN_ITEMS).format(items=esc(_items(items))) if items else ""
    return _(PHYSICIAN_DECISION[decision]).format(ref=esc(ref), items=listed, note=said,
                                               reason=decline_reason(reason_code, note))

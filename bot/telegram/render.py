"""Engine outputs and referrals as Telegram messages: HTML-escaped text, keyboards, the 4096-character limit.

Pure functions: no sending, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.phrases import NO_FURTHER_HELP, reason_text, text
from bot.report import INELIGIBLE_NOW, STATUS_LINES, echo_text
from conversations.dialogue import engine
from conversations.dialogue.messages import M, Message
from criteria import TITLES, Note, Outcome

from . import keyboards

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


def send_refused(message: Message) -> str:
    """Why "Send to coordinator" did nothing, on the pressed button."""
    note = text(message, OVERRIDES)
    return f"{note[:1].upper()}{note[1:]}."


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
    lines = [f"<b>{esc(ref)}</b> · question {q.number} of at most {q.number + q.remaining}",
             "", f"<b>{esc(q.text)}</b>"]
    if q.kind == "multi_choice":
        lines.append("<i>Tap each item that applies"
                     + (f" (tap again for ❔ {q.unsure})" if q.checklist else "") + ", then Done.</i>")
    elif q.kind in ("number", "text"):
        lines.append("<i>Type the answer, or tap Unknown.</i>")
    return "\n".join(lines)


def outcome(result: engine.OutcomeReached, ref: str) -> str:
    o = result.outcome
    head = STATUS_LINES[o.status] if result.final else "INELIGIBLE: a criterion already fails."
    lines = [f"<b>{esc(ref)}</b> · {esc(head)}"]
    if result.final:
        lines += _ineligible_now(o) + _details(o)
    else:  # mid-way only what fails, and when it may lift: the rest is still to be asked
        lines += ["", "<b>Failing criteria</b>"] + _failures(o) + _rechecks(o)
    if not result.final:
        lines += ["", "You can stop here with /cancel, or go on so that the coordinator sees the whole "
                  "picture."]
    return "\n".join(lines)


def _failures(o: Outcome) -> list[str]:
    return [f"• <b>{esc(f.criterion)}</b> {esc(f.text)}" for f in o.failures]


def _ineligible_now(o: Outcome) -> list[str]:
    # Said next to the status: "ineligible" alone would read as final to a physician or coordinator.
    return [f"⏱ <b>{esc(INELIGIBLE_NOW)}</b>"] if o.ineligible_now else []


def _notes(title: str, mark: str, notes: list[Note]) -> list[str]:
    # One line per note: split() cuts messages at line ends only, so each line stays whole HTML.
    if not notes:
        return []
    return ["", f"<b>{esc(title)}</b>", *(f"{mark} <b>{esc(n.criterion)}</b> {esc(n.text)}" for n in notes)]


def _rechecks(o: Outcome) -> list[str]:
    return _notes("Re-checks", "⏱", o.recheck)


def _flags(o: Outcome) -> list[str]:
    return _notes("Flags for the investigator", "⚑", o.flags)


def _details(o: Outcome) -> list[str]:
    lines: list[str] = []
    if o.failures:
        lines += ["", "<b>Failing criteria</b>"]
        lines += _failures(o)
    lines += _rechecks(o)
    if o.missing:
        lines += ["", "<b>Still missing</b>"]
        lines += [f"• <b>{esc(m.criterion)}</b> {esc(m.reason)}" for m in o.missing]
    if o.pending_details:
        lines += ["", "<b>Pending for the screening visit</b>"]
        lines += [f"• <b>{esc(p.criterion)}</b> {esc(p.reason)}" for p in o.pending_details]
    return lines + _flags(o)


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
            replies.append(Reply(FINISHED_AGAIN.format(ref=esc(ref))))  # a message of its own, before the outcome
        elif isinstance(out, engine.Info) and out.message.code is M.AMEND_NEEDS_REASON:
            reasons = [(n, AMEND_REASON_BUTTONS.get(code, code)) for n, code in out.message.params["reasons"]]
            emit(esc(phrase(out.message)), keyboards.amend_reasons(ref, out.message.params["send_no"], reasons))
        elif isinstance(out, engine.Info):
            notes.append(esc(phrase(out.message)))
        elif isinstance(out, engine.Accepted):
            notes.append("✓ " + esc(" ".join([echo_text(out), *(phrase(n) for n in out.notes)])))
        elif isinstance(out, engine.Help):
            if out.question is not None:  # the commands are in the handler's help
                notes.append(esc(out.question.help or NO_FURTHER_HELP))
        elif isinstance(out, engine.Question):
            emit(question(out, ref), keyboards.question(out, ref), edit=out.seq == edit_seq, seq=out.seq)
        elif isinstance(out, engine.Reprompt):
            notes.append("⚠️ " + esc(phrase(out.error)))
            emit(question(out.question, ref), keyboards.question(out.question, ref), seq=out.question.seq)
        elif isinstance(out, engine.OutcomeReached):
            markup = keyboards.outcome(ref, can_reopen=bool(out.outcome.missing)) if out.final else None
            emit(outcome(out, ref), markup)
        elif isinstance(out, engine.Cancelled):
            emit(f"<b>{esc(ref)}</b> cancelled. Nothing was sent. /screen starts a new pre-screen.")
        elif isinstance(out, engine.Stale):
            notes.append(esc(phrase(out.message)))
    if notes:
        replies.append(Reply("\n\n".join(notes)))
    return replies


def amend_chosen(ref: str, payload: dict) -> str:
    """The reasons' message once a reason was tapped: the reason taken, the buttons gone."""
    return AMEND_CHOSEN.format(ref=esc(ref), reason=esc(reason_text(payload.get("reason_code"),
                                                                    payload.get("reason", ""))))


def amend_notice(ref: str, payload: dict) -> str:
    """What the coordinators are told when a pre-screen they have is opened for a change (a referral_amended
    event's payload): the reason's phrase with the physician's words."""
    return AMEND_NOTICE.format(ref=esc(ref), send_no=payload["send_no"],
                               reason=esc(reason_text(payload.get("reason_code"), payload.get("reason", ""))))


def answered(q: engine.Question, ref: str, answer_label: str) -> str:
    """A question message after its button was pressed: the answer shown, the buttons gone."""
    return f"{question(q, ref)}\n\n➡️ {esc(answer_label)}"


# ---- for the coordinators ----------------------------------------------------------------------------

def criteria_table(o: Outcome) -> list[str]:
    return [f"{VERDICT_MARKS.get(v, '')} <code>{esc(cid)}</code> {esc(v)} · {esc(TITLES[cid])}"
            for cid, v in o.criteria.items()]


def summary(*, ref: str, physician_id: int, o: Outcome, send_no: int, started: str, finished: str,
            sent: str, head_seq: int, head_hash: str) -> str:
    lines = [f"📋 <b>Referral {esc(ref)}</b>" + (f" (update {send_no}: replaces the earlier summary)"
                                                    if send_no > 1 else ""),
             f"Physician: <code>{physician_id}</code>",
             f"Outcome: <b>{esc(STATUS_LINES[o.status])}</b>", *_ineligible_now(o)]
    lines += _details(o)
    lines += ["", "<b>Criteria</b>", *criteria_table(o), ""]
    lines += [f"Started {esc(started)}", f"Finished {esc(finished)}", f"Sent {esc(sent)}",
              f"Audit head #{head_seq} <code>{esc(head_hash)}</code>",
              f"Protocol {esc(o.protocol_version)}"]
    return "\n".join(lines)


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
    return ANCHOR_TEXTS[why].format(day=day, seq=seq, head=head)


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
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M}"


def reminder_text(kind: str, ref: str, since: str) -> str:
    return REMINDER_TEXTS[kind].format(ref=esc(ref), since=reminder_time(since))


def digest_text(day: str, waiting: list, days: int, most: int) -> str:
    """The coordinators' digest: ``waiting`` (records.reminders.Waiting), oldest first, at most ``most`` listed."""
    lines = [DIGEST_HEAD.format(days=days, day=day, n=len(waiting))]
    lines += [DIGEST_LINE.format(ref=esc(w.referral_id), sent=reminder_time(w.last_sent_at), days=w.working_days,
                                 status=DIGEST_NEED_INFO if w.status == "need_info" else "")
              for w in waiting[:most]]
    if len(waiting) > most:
        lines.append(DIGEST_MORE.format(n=len(waiting) - most))
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
PHYSICIANS_HEAD = "<b>Physicians ({n})</b>"
PHYSICIANS_NONE = "No physicians yet. /invite makes an invitation link."
PHYSICIAN_LINE = "• {who} · {institution} · {link} · {referrals} referral{s}{via}"
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

"""The physician's side: commands, typed answers, button presses, the referral sent to the coordinators.

Each handler translates: find the pre-screen, ask the turn to step the engine and render the result,
then end the turn (one transaction: state, audit, replies as outbox rows; sending after the commit).
Which input a phase allows is the engine's to say, never a handler's.
"""

from __future__ import annotations

import sqlite_utils
from telegram import Update

from bot.i18n import _, lang_of, using
from bot.report import list_sep
from conversations.dialogue import engine
from conversations.dialogue.events import E
from conversations.dialogue.messages import M
from conversations.records import audit
from conversations.records.store import Prescreen, Recorded
from criteria import Outcome

from . import keyboards, render, summaries
from .render import esc, phrase
from .services import BotContext
from .turn import Turn

HELP = (
    "<b>Pre-screening for the pediatric CAR-T lupus study</b>\n"
    "/screen starts a new pre-screen (each is named by its referral ID, e.g. R-7KQ2-9XPM; several can "
    "be open).\n"
    "Answer each question by tapping a button or typing a short answer; \"unknown\" is always allowed.\n"
    "/status shows the current question again (/status R-… switches to another pre-screen)\n"
    "/back changes the last answer · /summary lists the answers · /change N changes answer N · "
    "/amend opens a pre-screen already sent for a change, with a reason to choose (or /amend &lt;reason&gt;) · "
    "/skip answers \"unknown\" · /cancel cancels the pre-screen · /profile shows or changes your name, "
    "institution and contact\n"
    "At the end, \"Send to coordinator\" refers the patient; an incomplete pre-screen can be reopened "
    "later to fill in what was unknown, and sent again.\n"
    "Never send names, dates of birth, record numbers, photos or files."
)
NOTHING_OPEN = "No pre-screen is open. /screen starts one."
NOT_YOURS = "That button does not belong to any of your pre-screens."
INVALID = "That button is not valid any more; nothing was changed."
ALREADY_REGISTERED = "You are already registered as a referring physician. /help explains how I work."
NOT_OPEN_ONE = "{wanted} is not one of your open pre-screens."
NOT_OPEN_ONE_OPEN = "{wanted} is not one of your open pre-screens. Open: {refs}."
OTHER_OPEN = "Your other open pre-screens:"
CHANGE_USAGE = "Usage: /change &lt;number&gt;, the number of the answer in /summary."
ALREADY_SENT_TOAST = "Already sent; nothing has changed since."
ALREADY_SENT = "<b>{ref}</b> was already sent to the coordinators ({at}); nothing has changed since."
SENT_TOAST = "Sent to the coordinators."
SENT = "📨 <b>{ref}</b> was sent to the study coordinators. You will hear their decision here."
NO_EDITS = ("I do not read edited messages. To change an answer, use /back or send the corrected answer when the "
            "question is asked again.")
NOT_UNDERSTOOD = "I did not understand that. /help lists what I can do."
DRAFT_NONE = "none"
DRAFT_UNSURE = "{items}; {unsure}: {unsure_items}"


def _open_refs(context: BotContext, user_id: int) -> list[str]:
    """The physician's pre-screens still asking, or finished and not yet accepted or declined."""
    s = context.services
    closed = ("accepted", "declined")
    return [p.referral_id for p in s.store.prescreens("physician", user_id)
            if p.phase == "asking" or getattr(s.registry.referral(p.referral_id), "status", None) not in closed]


def _shows(turn: Turn, edit_seq: int | None = None, edit_message_id: int | None = None):
    """The usual rendering of a step: every output as a message, the focus on its pre-screen."""
    def fill(res: Recorded) -> None:
        turn.focus = res.referral_id
        pressed = turn.update.callback_query is not None
        for out in res.outputs:
            if isinstance(out, engine.Stale) and pressed:  # on the pressed button; typed text gets a message
                turn.toast = phrase(out.message)
        shown = [o for o in res.outputs if not (pressed and isinstance(o, engine.Stale))]
        turn.replies(render.outputs(shown, res.referral_id, edit_seq), edit_message_id)
    return fill


async def start(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    if context.args:
        turn.say(_(ALREADY_REGISTERED))
    else:
        refs = _open_refs(context, turn.user_id)
        text = "Welcome back. /screen starts a pre-screen; /help explains the rest."
        turn.say(text + (f"\nOpen pre-screens: {esc(', '.join(refs))}" if refs else ""),
                 keyboards.choose(refs[:5]) if refs else None)
    await turn.end()


async def help_(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    turn.say(_(HELP))
    ref = context.services.focus.current(context.services.store, turn.user_id)
    if ref is not None:  # the help of the question on screen, if one is
        turn.referral_id = ref
        turn.step(ref, engine.Command("help"), _shows(turn))
    await turn.end()


async def screen(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    turn.step(None, None, _shows(turn))
    await turn.end()


async def status(update: Update, context: BotContext) -> None:
    s = context.services
    turn = Turn(update, context)
    refs = _open_refs(context, turn.user_id)
    wanted = context.args[0].upper() if context.args else None
    if wanted is not None and wanted not in refs:
        turn.say(_(NOT_OPEN_ONE_OPEN).format(wanted=esc(wanted[:24]), refs=esc(", ".join(refs))) if refs
                 else _(NOT_OPEN_ONE).format(wanted=esc(wanted[:24])))
        await turn.end()
        return
    ref = wanted or s.focus.current(s.store, turn.user_id)
    if ref is None:
        turn.say(_(NOTHING_OPEN))
        await turn.end()
        return
    turn.referral_id = ref
    others = [r for r in refs if r != ref]
    fill = _shows(turn)

    def with_others(res: Recorded) -> None:
        if others:  # first, so that the question on screen stays the last message
            turn.say(_(OTHER_OPEN), keyboards.choose(others[:8]))
        fill(res)

    turn.step(ref, engine.Command("status"), with_others)
    await turn.end()


async def _focused(turn: Turn) -> str | None:
    """The pre-screen typed input is for; when there is none, says so and ends the turn."""
    s = turn.services
    ref = s.focus.current(s.store, turn.user_id)
    if ref is None:
        turn.say(_(NOTHING_OPEN))
        await turn.end()
    turn.referral_id = ref
    return ref


async def command(update: Update, context: BotContext, name: str) -> None:
    turn = Turn(update, context)
    if (ref := await _focused(turn)) is None:
        return
    turn.step(ref, engine.Command(name), _shows(turn))
    await turn.end()


async def back(update: Update, context: BotContext) -> None:
    await command(update, context, "back")


async def skip(update: Update, context: BotContext) -> None:
    await command(update, context, "skip")


async def cancel(update: Update, context: BotContext) -> None:
    await command(update, context, "cancel")


async def summary(update: Update, context: BotContext) -> None:
    """The answers; for a finished pre-screen, every item still missing too (the outcome lists a few)."""
    turn = Turn(update, context)
    if (ref := await _focused(turn)) is None:
        return
    fill = _shows(turn)

    def with_missing(res: Recorded) -> None:
        fill(res)
        if res.state.phase == "done" and (o := engine.outcome_of(res.state)).missing:
            turn.say(render.missing_all(o, ref))

    turn.step(ref, engine.Command("summary"), with_missing)
    await turn.end()


async def change(update: Update, context: BotContext) -> None:
    """/change N: answer N of the summary asked again (the engine says when there is no such answer)."""
    arg = context.args[0] if context.args else ""
    if len(context.args or []) != 1 or not arg.isascii() or not arg.isdigit() or len(arg) > 3:
        turn = Turn(update, context)
        turn.say(_(CHANGE_USAGE))
        await turn.end()
        return
    turn = Turn(update, context)
    if (ref := await _focused(turn)) is None:
        return
    turn.step(ref, engine.Change(int(arg)), _shows(turn))
    await turn.end()


async def amend(update: Update, context: BotContext) -> None:
    """/amend: a pre-screen already sent opened for a change, with a reason: alone, the reasons as buttons;
    /amend <number or code> [words], or /amend <words> (the reason "other")."""
    turn = Turn(update, context)
    if (ref := await _focused(turn)) is None:
        return
    _amend(turn, ref, engine.amend_from_text(" ".join(context.args or [])))
    await turn.end()


def _amend(turn: Turn, ref: str, inp: engine.Amend, message_id: int | None = None) -> None:
    """Step the amendment; once the engine recorded it, the coordinators are told the reason, and their
    decision on the version they have no longer stands (the next summary is a new version). A tapped
    reason (``message_id``: the reasons' message) replaces its buttons."""
    fill = _shows(turn)

    def with_notice(res: Recorded) -> None:
        amended = next((e for e in res.events if e.type == E.REFERRAL_AMENDED), None)
        if amended is not None and message_id is not None:
            turn.edit(message_id, render.amend_chosen(ref, amended.payload))
        fill(res)
        if amended is None:
            return
        turn.services.registry.amend(ref)
        for cid in sorted(turn.services.settings.coordinator_ids):
            with using(lang_of(cid)):
                turn.say(render.amend_notice(ref, amended.payload), chat_id=cid)

    turn.step(ref, inp, with_notice)


def _amend_press(turn: Turn, p: keyboards.Press, message_id: int | None) -> None:
    """A reason tapped under the reasons' message: for the version it was shown for, only."""
    if turn.services.store.load(p.ref).sent != p.number:
        turn.toast = _(INVALID)
        return
    _amend(turn, p.ref, engine.Amend(code=keyboards.amend_reason(p)), message_id)


async def answer(update: Update, context: BotContext) -> None:
    """Typed text: an answer to the focused pre-screen's question, read (or refused) by the engine, which also
    says what text means to a finished pre-screen."""
    turn = Turn(update, context)
    if (ref := await _focused(turn)) is None:
        return
    # Only to the question the physician had in front of them when typing: a tap may have moved on since,
    # or the next question may not have reached them yet.
    shown = turn.services.outbox.question_before(turn.chat_id, update.message.message_id)
    seq = shown[1] if shown is not None and shown[0] == ref else 0
    turn.step(ref, engine.Answer(update.message.text, shown_seq=seq), _shows(turn))
    await turn.end()


async def press(update: Update, context: BotContext) -> None:
    """A button on one of the physician's messages."""
    s = context.services
    query = update.callback_query
    turn = Turn(update, context)
    p = keyboards.parse(query.data)
    prescreen = s.store.get(p.ref) if p is not None else None
    if p is None or p.action == keyboards.Action.DECIDE:
        turn.toast = _(INVALID)
        await turn.end()
        return
    if prescreen is None or prescreen.owner_role != "physician" or prescreen.owner_id != turn.user_id:
        turn.toast = _(NOT_YOURS)
        await turn.end()
        return
    turn.referral_id = p.ref
    message_id = query.message.message_id if query.message is not None else None
    if p.action == keyboards.Action.SEND:
        send_to_coordinators(turn, p.ref)
    elif p.action == keyboards.Action.REOPEN:
        turn.step(p.ref, engine.Command("reopen"), _shows(turn))
    elif p.action == keyboards.Action.CONTINUE:
        turn.step(p.ref, engine.Command("status"), _shows(turn))
    elif p.action == keyboards.Action.AMEND:
        _amend_press(turn, p, message_id)
    else:
        _answer_press(turn, p, message_id)
    await turn.end()


def _answer_press(turn: Turn, p: keyboards.Press, message_id: int | None) -> None:
    s = turn.services
    state = s.store.load(p.ref)
    q = engine.current_question(state) if state.seq == p.number else None
    if p.action == keyboards.Action.TOGGLE:
        inp: engine.Input = engine.Toggle(p.number, keyboards.toggle_choice(q, p) or "")
        label = None
    elif p.action == keyboards.Action.DONE:
        inp = engine.Submit(p.number)
        label = _draft_label(q) if q is not None else None
    else:
        text = keyboards.answer_text(q, p)
        if text is None and q is not None:  # the question is current, the index is not one of its choices
            turn.toast = _(INVALID)
            return
        inp = engine.Answer(text or "unknown", seq=p.number)
        label = _choice_label(q, text) if q is not None and text is not None else None
    fill = _shows(turn, edit_seq=p.number, edit_message_id=message_id)

    def with_answered(res: Recorded) -> None:
        moved = res.state.seq != p.number or res.state.phase != "asking"
        if moved and q is not None and label is not None and message_id is not None:
            turn.edit(message_id, render.answered(q, p.ref, label))
        fill(res)

    turn.step(p.ref, inp, with_answered)


def _choice_label(q: engine.Question, value: str) -> str:
    return _(next((c.label for c in q.choices if c.value == value), value))


def _draft_label(q: engine.Question) -> str:
    labels = {c.value: _(c.label) for c in q.choices}
    yes = [labels.get(k, k) for k, v in q.draft.items() if v == "yes"]
    unsure = [labels.get(k, k) for k, v in q.draft.items() if v == "unknown"]
    text = list_sep().join(yes) if yes else _(DRAFT_NONE)
    if unsure:
        return _(DRAFT_UNSURE).format(items=text, unsure=_(q.unsure), unsure_items=list_sep().join(unsure))
    return text


def send_to_coordinators(turn: Turn, ref: str) -> None:
    """Refer the finished pre-screen (the engine says whether it may be): one summary per coordinator
    (keyed, so never doubled), sent through the outbox; the physician is told. Sending again is possible
    once something changed."""
    s = turn.services

    def on_ready(res: Recorded) -> None:
        ready = next((o for o in res.outputs if isinstance(o, engine.ReadyToSend)), None)
        again = any(isinstance(o, engine.Info) and o.message.code is M.ALREADY_SENT for o in res.outputs)
        prescreen = s.store.get(ref)
        sent = s.registry.referral(ref)
        if ready is None and not again:
            return
        # The engine knows the versions it sent; for a pre-screen sent before it kept them, the registry.
        unchanged = again or (res.state.sent == 0 and sent is not None and sent.last_sent_at >= prescreen.updated_at)
        if unchanged and sent is not None:
            turn.toast = _(ALREADY_SENT_TOAST)
            turn.say(_(ALREADY_SENT).format(ref=esc(ref), at=esc(sent.last_sent_at)))
            return
        turn.toast = _(SENT_TOAST)
        turn.then(lambda db: _summaries(db, turn, ref, ready.outcome, prescreen))

    turn.step(ref, engine.Command("send"), on_ready, refused=render.send_refused)


def _summaries(db: sqlite_utils.Database, turn: Turn, ref: str, outcome: Outcome, prescreen: Prescreen) -> None:
    """After the turn's own events: the summary names the audit head that includes its sending."""
    s = turn.services
    coordinators = sorted(s.settings.coordinator_ids)
    referral = s.registry.record_sent(ref, turn.user_id, outcome.status, outcome.protocol_version)
    s.store.apply(ref, engine.Sent(referral.sends), "physician", turn.user_id)  # changes now need a reason
    audit.append(db, actor_role="physician", actor_id=turn.user_id, type=E.REFERRAL_SENT,
                 payload={"send_no": referral.sends, "outcome_status": outcome.status,
                          "protocol_version": outcome.protocol_version, "criteria": outcome.criteria,
                          "coordinators": coordinators}, referral_id=ref, ts=referral.last_sent_at)
    # The first screen, with the decision buttons and Details (summaries.load: the same as a press shows).
    summary = summaries.load(s, ref, referral.sends)
    if referral.sends > 1:  # the version before is superseded: its summaries lose their buttons
        from . import decisions  # (decisions.py uses this module's rendering)
        decisions.strip_summaries(turn, db, ref, referral.sends - 1)
    for cid in coordinators:  # each in its coordinator's language
        with using(lang_of(cid)):
            text, markup = summaries.view(summary, 0)
            turn.say(text, markup, chat_id=cid, key=f"summary:{ref}:{referral.sends}:{cid}")
    turn.say(_(SENT).format(ref=esc(ref)))


async def attachment(update: Update, context: BotContext) -> None:
    """Photos, files, stickers, voice, contacts, locations, from anyone: refused, never downloaded."""
    turn = Turn(update, context)
    turn.say(_(render.NO_IDENTIFIERS))
    await turn.end()


async def edited(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    turn.say(_(NO_EDITS))
    await turn.end()


async def unknown(update: Update, context: BotContext) -> None:
    turn = Turn(update, context)
    turn.say(_(NOT_UNDERSTOOD))
    await turn.end()

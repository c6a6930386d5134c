"""The conversation engine, sans-IO: ``step(state, input) -> Result`` with plain data in and out.

Every rule of the dialogue is here. Like h11's state machine, what an input may do in each phase is one
table (``RULES``): a step the table does not allow raises IllegalStep and changes nothing; a bad answer is
a Reprompt and changes nothing; a button of a question no longer on screen is Stale and changes nothing.
The outputs carry data and message codes (``messages.M``); each edge phrases them in its own words.

A step plans the referral (facts, outcome, the questions still worth asking) at most once, when the
answers change; what is on screen (the question, its choices, how many may follow) is kept in the state,
so re-prompts, toggles and commands need no planning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from criteria import PROTOCOL_VERSION, Facts, Outcome
from criteria.labels import FACT_LABELS

from . import answers, identifiers, planner
from .answers import AnswerError
from .events import E, Event, event
from .inputs import (
    AMEND_REASONS,
    COMMANDS,
    KINDS,
    Amend,
    AmendReason,
    Answer,
    Change,
    Command,
    CommandName,
    Input,
    Reopen,
    Sent,
    Submit,
    Toggle,
    amend_from_text,
    kind,
)
from .messages import M, Message, msg, validation_message
from .outputs import (
    Accepted,
    Cancelled,
    Choice,
    Help,
    Info,
    OutcomeReached,
    Output,
    Question,
    ReadyToSend,
    Reprompt,
    Stale,
)
from .planner import Plan
from .questions import BY_ID, QuestionDef, read
from .state import Entry, Phase, State

__all__ = [
    "AMEND_REASONS", "Amend", "AmendReason", "Reopen", "Sent", "amend_from_text", "open_items",
    "COMMANDS", "KINDS", "RULES", "Accepted", "Answer", "Cancelled", "Change", "Choice", "Command", "CommandName",
    "Event", "Help",
    "IllegalStep", "Info", "Input", "OutcomeReached", "Output", "Question", "ReadyToSend", "Reprompt", "Result",
    "Stale", "Submit", "Toggle", "current_question", "facts_of", "outcome_event", "outcome_of", "place_next",
    "start", "step", "summary_message",
]


@dataclass(frozen=True)
class Result:
    state: State
    outputs: list[Output]
    events: list[Event]
    # The outcome this step planned (None when it did not plan: nothing it did can change the outcome).
    outcome: Outcome | None = None


class IllegalStep(Exception):
    """The input is not allowed in the current phase; the state is unchanged."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.code)
        self.message = message


Rule = Callable[[State, Any], Result]


def _illegal(code: M) -> Rule:
    def rule(state: State, inp: Input) -> Result:
        raise IllegalStep(msg(code))
    return rule


def _stale(state: State, inp: Input) -> Result:
    return Result(state, [Stale(msg(M.STALE_BUTTON))], [])


# ---- the machine ----------------------------------------------------------------------------------

def start(referral_id: str, channel: str = "terminal") -> Result:
    state = State(referral_id=referral_id, protocol_version=PROTOCOL_VERSION, channel=channel)
    events = [event(E.PRESCREEN_STARTED, channel=channel, protocol_version=PROTOCOL_VERSION)]
    return _advance(state, planner.plan_for([]), [Info(msg(M.STARTED, referral_id=referral_id))], events)


def step(state: State, inp: Input) -> Result:
    result = RULES[state.phase][kind(inp)](state, inp)
    if state.notice is None:
        return result
    # Said once, before whatever the step says.
    return Result(result.state.model_copy(update={"notice": None}),
                  [Info(Message.from_json(state.notice)), *result.outputs], result.events, result.outcome)


def current_question(state: State) -> Question | None:
    """The question on screen, as the physician sees it."""
    if state.phase != "asking" or state.current is None:
        return None
    return _render(state, _on_screen(state))


def facts_of(state: State) -> Facts:
    return planner.plan_for(state.history).facts


def outcome_of(state: State) -> Outcome:
    return planner.plan_for(state.history).outcome


# ---- answers --------------------------------------------------------------------------------------

def _typed(state: State, inp: Answer) -> Result:
    if inp.shown_seq is not None and inp.shown_seq != state.seq:
        # Typed in front of an earlier question (a tap moved on meanwhile), or before this one was
        # delivered: it would answer a question nobody saw. Nothing changes; the question is shown.
        return Result(state, [Stale(msg(M.TYPED_BEFORE_QUESTION)), _render(state, _on_screen(state))], [])
    return _answer(state, inp.text)


def _pressed(state: State, inp: Answer) -> Result:
    if inp.seq != state.seq:
        return _stale(state, inp)
    return _answer(state, inp.text)


def _answer(state: State, text: str, skipped: bool = False) -> Result:
    q = _on_screen(state)
    try:
        answers.check_length(text)
        if (identifier := identifiers.identifier_kind(text)) is not None:
            raise AnswerError(identifiers.warning(identifier))  # refused before any reader can quote it back
    except AnswerError as exc:
        return _reprompt(state, q, exc.message)
    if answers.asks_for_help(text):  # "?" or "help" typed as the answer: the question's help, nothing recorded
        return _help(state, Command(CommandName.HELP))
    notes: tuple[Message, ...] = ()
    also: list[Entry] = []
    if skipped:
        entry = Entry(q=q.id, unknown=True, raw="")
    elif answers.is_unknown(text):
        entry = Entry(q=q.id, unknown=True, raw=text[:200])
    else:
        try:
            value = read(q, text)
        except AnswerError as exc:
            return _reprompt(state, q, exc.message)
        if isinstance(value, answers.Reading):
            notes = value.notes
            answered = {e.q for e in state.history}
            also = [Entry(q=k, value=v, raw=text[:200], via=q.id) for k, v in value.also.items() if k not in answered]
            via = q.id if also else None
            entry = (Entry(q=q.id, unknown=True, raw=text[:200]) if value.unknown
                     else Entry(q=q.id, value=value.value, raw=text[:200], via=via))
        else:
            entry = Entry(q=q.id, value=value, raw=text[:200])
    before = planner.replay(state.history)
    history = [*state.history, entry, *also]
    after = planner.replay(history)
    try:
        plan = planner.plan(after)  # validates the facts; the next question comes from the same plan
    except ValidationError as exc:
        return _reprompt(state, q, validation_message(exc))
    new = state.model_copy(update={"history": history, "draft": {},
                                   "withdrawn": {k: v for k, v in state.withdrawn.items() if k != q.id}})
    change = _change(before.facts, after.facts, entry, q)
    # How it was given, when not simply typed or pressed: skipped, or the same answer as the one taken
    # back (no correction: nothing changed).
    how = {"skipped": True} if skipped else {}
    old = _entry_facts(state.withdrawn[q.id], state.history) if q.id in state.withdrawn else None
    if old is not None and old == change:
        how["unchanged"] = True
    how |= _amendment(state)
    if old is not None and not how.get("unchanged"):
        ev = event(E.ANSWER_CORRECTED, question=q.id, old=old, new=change, raw=entry.raw, **how)
    else:
        ev = event(E.ANSWER_ACCEPTED, question=q.id, **change, raw=entry.raw, **how)
    calculated = {k: v for k, v in plan.outcome.calculated.items() if state.calculated.get(k) != v}
    echo = Accepted(q.id, change["facts"], change["unknown"], calculated, notes)
    return _advance(new, plan, [echo], [ev])


def _reprompt(state: State, q: QuestionDef, error: Message) -> Result:
    return Result(state, [Reprompt(q.id, error, _render(state, q))],
                  [event(E.ANSWER_REJECTED, question=q.id, error=str(error.code), params=error.params)])


def _toggle(state: State, inp: Toggle) -> Result:
    if inp.seq != state.seq:
        return _stale(state, inp)
    q = _on_screen(state)
    if q.kind != "multi_choice" or inp.choice not in {c.value for c in q.choices}:
        return Result(state, [Stale(msg(M.NOT_THIS_QUESTION))], [])
    cycle = ("yes", "unknown", None) if q.checklist else ("yes", None)
    mark = state.draft.get(inp.choice)
    nxt = cycle[(cycle.index(mark) + 1) % len(cycle)] if mark in cycle else "yes"
    draft = {k: v for k, v in state.draft.items() if k != inp.choice}
    if nxt is not None:
        draft[inp.choice] = nxt
    new = state.model_copy(update={"draft": draft})
    return Result(new, [_render(new, q)], [])


def _submit(state: State, inp: Submit) -> Result:
    if inp.seq != state.seq:
        return _stale(state, inp)
    if _on_screen(state).kind != "multi_choice":  # a "Done" no keyboard of this question has
        return Result(state, [Stale(msg(M.NOT_THIS_QUESTION))], [])
    items = [("?" if mark == "unknown" else "") + choice for choice, mark in state.draft.items()]
    return _answer(state, ", ".join(items) if items else "none")


def _finished(state: State, inp: Answer) -> Result:
    """Text typed to a finished pre-screen: nothing to answer; its outcome again, and what can be done."""
    return Result(state, [Info(msg(M.FINISHED_OUTCOME_AGAIN, referral_id=state.referral_id)),
                          OutcomeReached(outcome_of(state), final=True)], [])


# ---- commands -------------------------------------------------------------------------------------

def _skip(state: State, inp: Command) -> Result:
    return _answer(state, "unknown", skipped=True)


def _cancel(state: State, inp: Command) -> Result:
    return Result(state.model_copy(update={"phase": "cancelled", "current": None}), [Cancelled()],
                  [event(E.PRESCREEN_CANCELLED)])


def _back(state: State, inp: Command) -> Result:
    if not state.history:
        return Result(state, [Info(msg(M.NOTHING_TO_TAKE_BACK)), _render(state, _on_screen(state))], [])
    n = 1  # the last answer: one entry, or every entry one answer settled ("all negative")
    via = state.history[-1].via
    while via is not None and n < len(state.history) and state.history[-n - 1].via == via:
        n += 1
    kept, last = state.history[:-n], state.history[-n]
    new = state.model_copy(update={"history": kept, "phase": "asking", "draft": {},
                                   "withdrawn": {**state.withdrawn, last.q: last}})
    note = Info(msg(M.TAKEN_BACK, question=BY_ID[last.q].short, answer=_describe(last)))
    taken = _change(planner.replay(kept).facts, planner.replay(state.history).facts, last, BY_ID[last.q])
    ev = event(E.ANSWER_WITHDRAWN, question=last.q, **taken, **_amendment(state))
    return _advance(new, planner.plan_for(new.history), [note], [ev])


def _change_answer(state: State, inp: Change) -> Result:
    """Answer ``number`` of the summary asked again, the others kept; the next answer to it is a
    correction (audited with the old and the new value)."""
    if not 1 <= inp.number <= len(state.history):
        return Result(state, [Info(msg(M.NO_SUCH_ANSWER, number=inp.number, count=len(state.history)))], [])
    i = inp.number - 1
    entry = state.history[i]
    kept = [*state.history[:i], *state.history[i + 1:]]
    new = state.model_copy(update={"history": kept, "phase": "asking", "draft": {},
                                   "withdrawn": {**state.withdrawn, entry.q: entry}})
    note = Info(msg(M.CHANGING, number=inp.number, question=BY_ID[entry.q].short, answer=_describe(entry)))
    ev = event(E.ANSWER_WITHDRAWN, question=entry.q, **_entry_facts(entry, kept), **_amendment(state))
    plan = planner.plan_for(kept)
    first = next((q for q in plan.asks if q.id == entry.q), None)
    if first is not None:  # the changed question first, then whatever the plan asks next
        plan = plan._replace(asks=[first, *(q for q in plan.asks if q.id != entry.q)])
    return _advance(new, plan, [note], [ev])


AMEND_TEXT_MAX = 300  # characters of a reason's free text kept (after spaces are normalised)
_REASON_LIST = [[n, code] for n, code in enumerate(AMEND_REASONS, 1)]


def _amend(state: State, inp: Amend) -> Result:
    """A pre-screen sent to the study team opened for a change, with the physician's reason (recorded): a
    code of the fixed list and optional free text (required for ``other``; text alone is ``other``)."""
    if not state.sent:
        raise IllegalStep(msg(M.NOT_SENT_YET))
    reason = " ".join(inp.reason.split())[:AMEND_TEXT_MAX]
    code = inp.code if inp.code is not None else (AmendReason.OTHER if reason else None)
    if code not in AMEND_REASONS:  # no reason, or one not on the list: the list
        return Result(state, [Info(msg(M.AMEND_NEEDS_REASON, reasons=_REASON_LIST, send_no=state.sent))], [])
    if reason and (kind := identifiers.identifier_kind(reason)) is not None:  # refused before it is written
        return Result(state, [Info(identifiers.warning(kind))], [])
    if code == AmendReason.OTHER and len(reason) < 3:
        return Result(state, [Info(msg(M.AMEND_NEEDS_TEXT, reasons=_REASON_LIST, send_no=state.sent))], [])
    code = str(code)
    new = state.model_copy(update={"amend_reason": reason, "amend_code": code})
    return Result(new, [Info(msg(M.AMENDING, referral_id=state.referral_id, send_no=state.sent, reason_code=code,
                                 reason=reason))],
                  [event(E.REFERRAL_AMENDED, send_no=state.sent, reason_code=code, reason=reason)])


def _amendment(state: State) -> dict[str, Any]:
    """What ties an answer changed while a sent pre-screen is open for a change to that change's reason:
    its code and the version it changes (nothing before the pre-screen was sent, or between changes)."""
    if not state.sent or state.amend_reason is None:
        return {}
    return {"reason_code": state.amend_code or str(AmendReason.OTHER), "send_no": state.sent}


def _sent(state: State, inp: Sent) -> Result:
    new = state.model_copy(update={"sent": inp.send_no, "amend_reason": None, "amend_code": None})
    return Result(new, [Info(msg(M.SENT, referral_id=state.referral_id, send_no=inp.send_no))], [])


def _needs_reason(rule: Rule) -> Rule:
    """Once sent to the study team, a pre-screen changes only after ``amend <reason>``."""
    def guarded(state: State, inp: Any) -> Result:
        if state.sent and state.amend_reason is None:
            raise IllegalStep(msg(M.CHANGE_NEEDS_REASON, referral_id=state.referral_id, send_no=state.sent))
        return rule(state, inp)
    return guarded


def _reopen(state: State, inp: Command) -> Result:
    kept = [e for e in state.history if not e.has_unknown_part()]
    plan = planner.plan_for(kept)
    if len(kept) == len(state.history) and not plan.asks:
        return Result(state, [Info(msg(M.NOTHING_TO_FILL_IN))], [])
    new = state.model_copy(update={"history": kept, "phase": "asking"})
    return _advance(new, plan, [Info(msg(M.REOPENED))],
                    [event(E.PRESCREEN_REOPENED, questions=[e.q for e in state.history if e.has_unknown_part()],
                           **_amendment(state))])


def open_items(state: State) -> list[tuple[str, str]]:
    """What the study team may ask a finished pre-screen for: the questions answered "unknown" (wholly or in
    part) that serve the outcome's missing facts or its pending criteria, as (question ID, short name), in
    the order they were answered; every question answered "unknown" when none of them serves."""
    unknown = [e.q for e in state.history if e.has_unknown_part() and e.q in BY_ID]
    wanted = planner.relevant_facts(outcome_of(state))
    serving = [q for q in unknown if set(BY_ID[q].serves) & wanted or q in wanted]
    return [(q, BY_ID[q].short) for q in dict.fromkeys(serving or unknown)]


def _reopen_at(state: State, inp: Reopen) -> Result:
    """Reopened at the questions the study team asked for (those still answered "unknown"): they are taken
    out and asked first, the other answers kept. Once sent, it needs a reason: ``inp.code`` opens the change
    (audited as ``amend`` is) when none is open."""
    if state.sent and state.amend_reason is None and inp.code not in AMEND_REASONS:
        raise IllegalStep(msg(M.CHANGE_NEEDS_REASON, referral_id=state.referral_id, send_no=state.sent))
    wanted = set(inp.questions)
    taken = [e.q for e in state.history if e.q in wanted and e.has_unknown_part()]
    if not taken:
        return Result(state, [Info(msg(M.NOTHING_REQUESTED_LEFT))], [])
    events: list[Event] = []
    outputs: list[Output] = []
    if state.sent and state.amend_reason is None:
        code = str(inp.code)
        state = state.model_copy(update={"amend_reason": "", "amend_code": code})
        events.append(event(E.REFERRAL_AMENDED, send_no=state.sent, reason_code=code, reason=""))
        outputs.append(Info(msg(M.AMENDING, referral_id=state.referral_id, send_no=state.sent, reason_code=code,
                                reason="")))
    kept = [e for e in state.history if e.q not in taken]
    new = state.model_copy(update={"history": kept, "phase": "asking", "draft": {}})
    plan = planner.plan_for(kept)
    first = [q for q in plan.asks if q.id in taken]
    plan = plan._replace(asks=[*first, *(q for q in plan.asks if q.id not in taken)])
    outputs.append(Info(msg(M.REOPENED_AT, questions=[BY_ID[q].short for q in taken])))
    events.append(event(E.PRESCREEN_REOPENED, questions=taken, requested=True, **_amendment(new)))
    return _advance(new, plan, outputs, events)


def _summary(state: State, inp: Command) -> Result:
    return Result(state, [Info(summary_message(state))], [])


def _help(state: State, inp: Command) -> Result:
    return Result(state, [Help(current_question(state))], [])


def _status(state: State, inp: Command) -> Result:
    q = current_question(state)
    if q is None:
        return Result(state, [OutcomeReached(outcome_of(state), final=True)], [])
    return Result(state, [Info(msg(M.STATUS, referral_id=state.referral_id, number=q.number,
                                   most=q.number + q.remaining)), q], [])


def _send(state: State, inp: Command) -> Result:
    if state.sent and state.amend_reason is None:  # nothing can have changed since: no second copy
        return Result(state, [Info(msg(M.ALREADY_SENT, referral_id=state.referral_id, send_no=state.sent))], [])
    return Result(state, [ReadyToSend(outcome_of(state))], [])


# ---- the rules: what each input may do in each phase ------------------------------------------------

_ASKING: dict[str, Rule] = {
    "typed": _typed, "pressed": _pressed, "toggle": _toggle, "submit": _submit, "change": _change_answer,
    "amend": _illegal(M.FINISH_FIRST), "sent": _illegal(M.FINISH_FIRST), "reopen": _illegal(M.ONLY_FINISHED_REOPENS),
    "command:back": _back, "command:skip": _skip, "command:status": _status, "command:summary": _summary,
    "command:cancel": _cancel, "command:help": _help,
    "command:reopen": _illegal(M.ONLY_FINISHED_REOPENS), "command:send": _illegal(M.FINISH_FIRST),
}
_DONE: dict[str, Rule] = {
    "typed": _finished, "pressed": _stale, "toggle": _stale, "submit": _stale,
    "change": _needs_reason(_change_answer), "amend": _amend, "sent": _sent, "reopen": _reopen_at,
    "command:back": _needs_reason(_back), "command:skip": _illegal(M.NO_QUESTION_TO_SKIP), "command:status": _status,
    "command:summary": _summary, "command:cancel": _illegal(M.ONLY_OPEN_CANCELS), "command:help": _help,
    "command:reopen": _needs_reason(_reopen), "command:send": _send,
}
RULES: dict[Phase, dict[str, Rule]] = {
    "asking": _ASKING,
    "done": _DONE,
    "cancelled": dict.fromkeys(KINDS, _illegal(M.CANCELLED_ALREADY)),
}


# ---- after a change -------------------------------------------------------------------------------

def _advance(state: State, plan: Plan, outputs: list[Output], events: list[Event], reask: bool = False) -> Result:
    """Announce a newly certain ineligibility, then ask the next question or finish."""
    facts, outcome, asks, _ = plan
    outputs, events = list(outputs), list(events)
    failed = [c for c in outcome.failed if c not in state.announced]
    announced = [c for c in state.announced if c in outcome.failed] + failed
    if failed and asks:
        outputs.append(OutcomeReached(outcome, final=False))
        events.append(outcome_event(outcome, facts, final=False))
    state = place_next(state.model_copy(update={"announced": announced, "calculated": outcome.calculated}), plan,
                       reask)
    if state.phase == "done":
        outputs.append(Info(summary_message(state, review=True)))
        outputs.append(OutcomeReached(outcome, final=True))
        events.append(outcome_event(outcome, facts, final=True))
    else:
        outputs.append(_render(state, _on_screen(state, plan)))
    return Result(state, outputs, events, outcome)


def place_next(state: State, plan: Plan, reask: bool = False) -> State:
    """The state with the plan's next question on screen (a new instance, unless ``reask`` keeps the same
    one), or finished when nothing is left to ask."""
    if not plan.asks:
        return state.model_copy(update={"phase": "done", "current": None, "draft": {}, "shown": None,
                                        "remaining": 0})
    q = plan.asks[0]
    same = reask and q.id == state.current
    return state.model_copy(update={
        "phase": "asking", "current": q.id, "seq": state.seq if same else state.seq + 1,
        "draft": state.draft if same else {}, "remaining": max(plan.most - 1, 0),
        "shown": [c.value for c in q.choices] if q.checklist else None})


def outcome_event(outcome: Outcome, facts: Facts, final: bool) -> Event:
    return event(E.OUTCOME, status=outcome.status, final=final, failed=outcome.failed,
                 missing=outcome.missing_facts, pending=outcome.pending,
                 flags=[f.model_dump() for f in outcome.flags], recheck=[r.model_dump() for r in outcome.recheck],
                 ineligible_now=outcome.ineligible_now, criteria=outcome.criteria,
                 protocol_version=outcome.protocol_version, facts=facts.known())


# ---- what is on screen ----------------------------------------------------------------------------

def _on_screen(state: State, plan: Plan | None = None) -> QuestionDef:
    """The question on screen as it was shown: a checklist of facts with the items shown then."""
    if state.current is None:
        raise IllegalStep(msg(M.NO_QUESTION_TO_SKIP))
    q = BY_ID[state.current]
    if not q.checklist:
        return q
    if not q.fact_checklist:  # an item checklist: the items shown then (the renal ones may be left out)
        return q if state.shown is None else replace(q, choices=tuple(c for c in q.choices if c.value in state.shown))
    shown = state.shown
    if shown is None:  # a state saved before the choices shown were kept: plan once to find them
        plan = plan or planner.plan_for(state.history)
        shown = next(([c.value for c in x.choices] for x in plan.asks if x.id == q.id), None)
    return q if shown is None else planner.shown(q, set(shown))


def _asked(state: State) -> int:
    """Questions answered so far: an answer that settled several ("all negative") counts once."""
    return sum(e.via in (None, e.q) for e in state.history)


def _render(state: State, q: QuestionDef) -> Question:
    return Question(
        seq=state.seq, fact=q.id, kind=q.kind, text=q.text,
        choices=[Choice(c.value, c.label) for c in q.choices], help=q.help,
        number=_asked(state) + 1, remaining=state.remaining, checklist=q.checklist,
        draft=dict(state.draft) if q.id == state.current else {},
        unsure="not sure" if q.fact_checklist or not q.checklist else "not assessed")


# ---- what an answer said ----------------------------------------------------------------------------

# How an item checklist's items are named as parts of the calculator input (criteria.md).
ITEM_PARTS = {"sledai_2k_items": "sledai_2k_items", "eular_acr_2019.items": "eular_acr_2019.items"}


def _change(before: dict[str, Any], after: dict[str, Any], entry: Entry, q: QuestionDef) -> dict[str, Any]:
    facts = {k: v for k, v in after.items() if before.get(k) != v}
    if entry.unknown:
        unknown = list(q.serves) if q.id not in q.serves else [q.id]
    elif isinstance(entry.value, dict):
        # Facts of a checklist of facts; parts of a calculator input for an item checklist.
        prefix = "" if q.fact_checklist else f"{ITEM_PARTS[q.id]}."
        unknown = [prefix + k for k, v in entry.value.items() if v is None]
    else:
        unknown = []
    return {"facts": facts, "unknown": unknown}


def _entry_facts(entry: Entry, earlier: list[Entry]) -> dict[str, Any]:
    return _change(planner.replay(earlier).facts, planner.replay([*earlier, entry]).facts, entry, BY_ID[entry.q])


def _describe(entry: Entry) -> Message:
    if entry.unknown:
        return msg(M.VALUE_UNKNOWN)
    v = entry.value
    q = BY_ID[entry.q]
    if isinstance(v, dict):
        names = {c.value: answers.short_label(c.label) for c in q.choices}
        return msg(M.VALUE_ITEMS, items=[names.get(k, k) for k, x in v.items() if x is True],
                   unsure=[names.get(k, k) for k, x in v.items() if x is None], facts=q.fact_checklist)
    if q.reader == "creatinine":
        return msg(M.VALUE_TEXT, text=f"{v[0]:g} {v[1]}")
    if q.reader in ("number", "integer") and q.id in FACT_LABELS and isinstance(v, int | float):
        # with its unit ("12 months", "62 %"), the value exactly as stored
        return msg(M.VALUE_QUANTITY, value=f"{v:g}", unit=FACT_LABELS[q.id].unit)
    if isinstance(v, list) and v and q.choices:
        return msg(M.VALUE_CODES, fact=q.id, items=list(v))
    return answers.describe(v)


def summary_message(state: State, review: bool = False) -> Message:
    """The answers so far, numbered as ``change N`` takes them (``review``: before the outcome)."""
    if not state.history:
        return msg(M.SUMMARY_EMPTY, referral_id=state.referral_id)
    return msg(M.REVIEW if review else M.SUMMARY, referral_id=state.referral_id, calculated=state.calculated,
               lines=[[i, BY_ID[e.q].short, _describe(e)] for i, e in enumerate(state.history, 1)])

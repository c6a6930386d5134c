"""The conversation engine, sans-IO: ``step(state, input) -> Result`` with plain data in and out.

Like h11's state machine, the rules live here in one place: a step that is illegal in the current phase
raises IllegalStep and changes nothing; a bad answer is a Reprompt and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from criteria import PROTOCOL_VERSION, Facts, Outcome

from . import answers, identifiers, planner
from .answers import UNKNOWN, AnswerError
from .messages import validation_message
from .questions import BY_ID, read
from .questions import Question as QuestionDef
from .state import Entry, State

# ---- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    text: str
    seq: int | None = None  # set by buttons: the question instance the press belongs to


CommandName = Literal["back", "skip", "status", "summary", "cancel", "help", "reopen"]
COMMANDS: tuple[str, ...] = ("back", "skip", "status", "summary", "cancel", "help", "reopen")


@dataclass(frozen=True)
class Command:
    name: CommandName


@dataclass(frozen=True)
class Toggle:
    seq: int
    choice: str


@dataclass(frozen=True)
class Submit:
    seq: int


Input = Answer | Command | Toggle | Submit

# ---- outputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    seq: int
    fact: str
    kind: str
    text: str
    choices: list[Choice]
    help: str
    number: int
    remaining: int
    checklist: bool = False
    draft: dict[str, str] = field(default_factory=dict)
    # The third mark of a checklist: "not sure" of a fact, or an item "not assessed" (a calculator's).
    unsure: str = "not sure"

    def to_json(self) -> dict[str, Any]:
        return {"type": "question", "fact": self.fact, "kind": self.kind, "text": self.text,
                "choices": [c.value for c in self.choices], "labels": [c.label for c in self.choices],
                "checklist": self.checklist, "number": self.number, "remaining": self.remaining}


@dataclass(frozen=True)
class Reprompt:
    fact: str
    error: str
    question: Question

    def to_json(self) -> dict[str, Any]:
        return {"type": "reprompt", "fact": self.fact, "error": self.error}


@dataclass(frozen=True)
class Info:
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "info", "text": self.text}


@dataclass(frozen=True)
class OutcomeReached:
    outcome: Outcome
    final: bool  # False: ineligibility is certain but the physician may go on

    def to_json(self) -> dict[str, Any]:
        return {"type": "outcome", "final": self.final, **self.outcome.model_dump(mode="json")}


@dataclass(frozen=True)
class Cancelled:
    def to_json(self) -> dict[str, Any]:
        return {"type": "cancelled"}


@dataclass(frozen=True)
class Stale:
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "stale", "text": self.text}


Output = Question | Reprompt | Info | OutcomeReached | Cancelled | Stale


@dataclass(frozen=True)
class Event:
    """An audit event the step produced; the store writes it in the step's transaction."""

    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Result:
    state: State
    outputs: list[Output]
    events: list[Event]


class IllegalStep(Exception):
    """The input is not allowed in the current phase; the state is unchanged."""


# ---- the machine ----------------------------------------------------------------------------------


def start(referral_id: str, channel: str = "terminal") -> Result:
    state = State(referral_id=referral_id, protocol_version=PROTOCOL_VERSION, channel=channel)
    events = [Event("prescreen_started", {"channel": channel, "protocol_version": PROTOCOL_VERSION})]
    intro = Info(f"New pre-screen {referral_id}. Please give no names, dates of birth or record numbers: "
                 "the referral ID is the only key. Answer \"unknown\" whenever you don't know.")
    return _advance(state, [intro], events)


def step(state: State, inp: Input) -> Result:
    result = _step(state, inp)
    if state.notice is None:
        return result
    return Result(result.state.model_copy(update={"notice": None}), [Info(state.notice), *result.outputs],
                  result.events)


def _step(state: State, inp: Input) -> Result:
    if state.phase == "cancelled":
        raise IllegalStep("this pre-screen was cancelled")
    if isinstance(inp, Command):
        return _command(state, inp.name)
    pressed = isinstance(inp, Toggle | Submit) or (isinstance(inp, Answer) and inp.seq is not None)
    if pressed and (state.phase != "asking" or inp.seq != state.seq):
        return Result(state, [Stale("That button belongs to an earlier question; nothing was changed.")], [])
    if state.phase != "asking":
        raise IllegalStep("this pre-screen is finished: use back to change an answer or reopen to fill "
                          "in unknown items")
    if isinstance(inp, Toggle):
        return _toggle(state, inp.choice)
    if isinstance(inp, Submit):
        if _current_def(state).kind != "multi_choice":  # a "Done" no keyboard of this question has
            return Result(state, [Stale(NOT_THIS_QUESTION)], [])
        return _answer(state, _draft_text(state))
    return _answer(state, inp.text)


def current_question(state: State) -> Question | None:
    if state.phase != "asking" or state.current is None:
        return None
    _, _, asks = planner.plan_history(state.history)
    q = next((q for q in asks if q.id == state.current), None)
    return None if q is None else _render(state, q, len(asks))


def facts_of(state: State) -> Facts:
    return planner.plan_history(state.history)[0]


def outcome_of(state: State) -> Outcome:
    return planner.plan_history(state.history)[1]


# ---- steps ----------------------------------------------------------------------------------------


def _answer(state: State, text: str) -> Result:
    q = _current_def(state)
    try:
        answers.check_length(text)
        if (kind := identifiers.identifier_kind(text)) is not None:
            raise AnswerError(identifiers.warning(kind))  # refused before any reader can quote it back
    except AnswerError as exc:
        return _reprompt(state, q, str(exc))
    if answers.is_unknown(text):
        entry = Entry(q=q.id, unknown=True, raw=text[:200])
    else:
        try:
            value = read(q, text)
        except AnswerError as exc:
            return _reprompt(state, q, str(exc))
        entry = Entry(q=q.id, value=value, raw=text[:200])
    before = planner.replay(state.history)
    history = [*state.history, entry]
    after = planner.replay(history)
    try:
        planner.plan_history(history, after)  # validates the facts; _advance reuses the plan
    except ValidationError as exc:
        return _reprompt(state, q, validation_message(exc))
    new = state.model_copy(update={"history": history, "draft": {},
                                   "withdrawn": {k: v for k, v in state.withdrawn.items() if k != q.id}})
    change = _change(before.facts, after.facts, entry, q)
    if q.id in state.withdrawn:
        old = state.withdrawn[q.id]
        event = Event("answer_corrected", {"question": q.id, "old": _entry_facts(old, state.history),
                                           "new": change, "raw": entry.raw})
    else:
        event = Event("answer_accepted", {"question": q.id, **change, "raw": entry.raw})
    return _advance(new, [], [event])


def _reprompt(state: State, q: QuestionDef, error: str) -> Result:
    _, _, asks = planner.plan_history(state.history)
    shown = next((x for x in asks if x.id == q.id), q)
    return Result(state, [Reprompt(q.id, error, _render(state, shown, len(asks)))],
                  [Event("answer_rejected", {"question": q.id, "error": error})])


NOT_THIS_QUESTION = "That button does not belong to this question; nothing was changed."


def _toggle(state: State, choice: str) -> Result:
    q = _current_def(state)
    if q.kind != "multi_choice" or choice not in {c.value for c in q.choices}:
        return Result(state, [Stale(NOT_THIS_QUESTION)], [])
    cycle = ("yes", "unknown", None) if q.checklist else ("yes", None)
    mark = state.draft.get(choice)
    nxt = cycle[(cycle.index(mark) + 1) % len(cycle)] if mark in cycle else "yes"
    draft = {k: v for k, v in state.draft.items() if k != choice}
    if nxt is not None:
        draft[choice] = nxt
    new = state.model_copy(update={"draft": draft})
    return Result(new, [_render(new, q, len(planner.plan_history(new.history)[2]))], [])


def _draft_text(state: State) -> str:
    items = [("?" if mark == "unknown" else "") + choice for choice, mark in state.draft.items()]
    return ", ".join(items) if items else "none"


def _command(state: State, name: str) -> Result:
    if name == "skip":
        if state.phase != "asking":
            raise IllegalStep("there is no question to skip: the pre-screen is finished")
        return _answer(state, "unknown")
    if name == "cancel":
        if state.phase != "asking":
            raise IllegalStep("only an open pre-screen can be cancelled")
        return Result(state.model_copy(update={"phase": "cancelled", "current": None}), [Cancelled()],
                      [Event("prescreen_cancelled", {})])
    if name == "back":
        if not state.history:
            return _advance(state, [Info("There is no earlier answer to go back to.")], [], reask=True)
        last = state.history[-1]
        new = state.model_copy(update={
            "history": state.history[:-1], "phase": "asking", "draft": {},
            "withdrawn": {**state.withdrawn, last.q: last}})
        note = Info(f"Your answer \"{BY_ID[last.q].short}: {_describe(last)}\" was taken back.")
        event = Event("answer_withdrawn", {"question": last.q, **_entry_facts(last, state.history[:-1])})
        return _advance(new, [note], [event])
    if name == "reopen":
        if state.phase != "done":
            raise IllegalStep("only a finished pre-screen can be reopened")
        kept = [e for e in state.history if not e.has_unknown_part()]
        if len(kept) == len(state.history) and not planner.plan_history(kept)[2]:
            return Result(state, [Info("Nothing was answered \"unknown\"; there is nothing to fill in.")], [])
        new = state.model_copy(update={"history": kept, "phase": "asking"})
        return _advance(new, [Info("Reopened: I will ask again what was unknown.")],
                        [Event("prescreen_reopened", {"questions": [e.q for e in state.history
                                                                    if e.has_unknown_part()]})])
    if name == "summary":
        return Result(state, [Info(summary_text(state))], [])
    if name == "help":
        q = current_question(state)
        text = (q.help or "No further help for this question.") if q else HELP
        return Result(state, [Info(text)], [])
    if name == "status":
        q = current_question(state)
        if q is None:
            return Result(state, [OutcomeReached(outcome_of(state), final=True)], [])
        return Result(state, [Info(f"Pre-screen {state.referral_id}: question {q.number}, about "
                                   f"{q.remaining} left."), q], [])
    raise IllegalStep(f"unknown command {name!r}")


HELP = ("Answer each question in a few words: numbers like \"12\" or \"1.2\", yes / no, a choice by number "
        "or name, lists separated by commas, or \"unknown\". Commands: back (change the last answer), skip "
        "(unknown), status, summary, cancel, help.")


def _advance(state: State, outputs: list[Output], events: list[Event], reask: bool = False) -> Result:
    """After a change: announce a newly certain ineligibility, then ask the next question or finish."""
    facts, outcome, asks = planner.plan_history(state.history)
    outputs = list(outputs)
    events = list(events)
    failed = [c for c in outcome.failed if c not in state.announced]
    announced = [c for c in state.announced if c in outcome.failed] + failed
    if failed and asks:
        outputs.append(OutcomeReached(outcome, final=False))
        events.append(outcome_event(outcome, facts, final=False))
    if not asks:
        state = state.model_copy(update={"phase": "done", "current": None, "announced": announced,
                                         "draft": {}})
        outputs.append(OutcomeReached(outcome, final=True))
        events.append(outcome_event(outcome, facts, final=True))
        return Result(state, outputs, events)
    q = asks[0]
    same = reask and q.id == state.current
    state = state.model_copy(update={"current": q.id, "seq": state.seq if same else state.seq + 1,
                                     "announced": announced, "draft": state.draft if same else {}})
    outputs.append(_render(state, q, len(asks)))
    return Result(state, outputs, events)


def outcome_event(outcome: Outcome, facts: Facts, final: bool) -> Event:
    return Event("outcome", {"status": outcome.status, "final": final, "failed": outcome.failed,
                             "missing": outcome.missing_facts, "pending": outcome.pending,
                             "flags": [f.model_dump() for f in outcome.flags],
                             "recheck": [r.model_dump() for r in outcome.recheck],
                             "ineligible_now": outcome.ineligible_now, "criteria": outcome.criteria,
                             "protocol_version": outcome.protocol_version, "facts": facts.known()})


def _current_def(state: State) -> QuestionDef:
    if state.current is None:
        raise IllegalStep("no question is open")
    _, _, asks = planner.plan_history(state.history)
    return next((q for q in asks if q.id == state.current), BY_ID[state.current])


def _render(state: State, q: QuestionDef, askable: int) -> Question:
    return Question(
        seq=state.seq, fact=q.id, kind=q.kind, text=q.text,
        choices=[Choice(c.value, c.label) for c in q.choices], help=q.help,
        number=len(state.history) + 1, remaining=max(askable - 1, 0), checklist=q.checklist,
        draft=dict(state.draft) if q.id == state.current else {},
        unsure="not sure" if q.fact_checklist or not q.checklist else "not assessed")


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


# How an item checklist's items are named as parts of the calculator input (criteria.md).
ITEM_PARTS = {"sledai_2k_items": "sledai_2k_items", "eular_acr_2019.items": "eular_acr_2019.items"}


def _entry_facts(entry: Entry, earlier: list[Entry]) -> dict[str, Any]:
    return _change(planner.replay(earlier).facts, planner.replay([*earlier, entry]).facts, entry,
                   BY_ID[entry.q])


def _describe(entry: Entry) -> str:
    if entry.unknown:
        return "unknown"
    v = entry.value
    q = BY_ID[entry.q]
    if isinstance(v, dict):
        names = {c.value: answers.short_label(c.label) for c in q.choices}
        yes = [names.get(k, k) for k, x in v.items() if x is True]
        unsure = [names.get(k, k) for k, x in v.items() if x is None]
        word = "not sure" if q.fact_checklist else "not assessed"
        parts = [", ".join(yes) if yes else "none"] + ([f"{word}: {', '.join(unsure)}"] if unsure else [])
        return "; ".join(parts)
    if q.reader == "creatinine":
        return f"{v[0]:g} {v[1]}"
    return answers.describe(v)


def summary_text(state: State) -> str:
    if not state.history:
        return f"Pre-screen {state.referral_id}: no answers yet."
    lines = [f"Pre-screen {state.referral_id}, answers so far:"]
    lines += [f"{i}. {BY_ID[e.q].short}: {_describe(e)}" for i, e in enumerate(state.history, 1)]
    return "\n".join(lines)


_ = UNKNOWN  # re-exported for edges that build answers programmatically

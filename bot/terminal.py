"""The terminal pre-screen: the same engine and store as Telegram, rendered as text or JSON lines."""

from __future__ import annotations

import functools
import getpass
import json
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TextIO

from pydantic import ValidationError

from conversations.dialogue import engine
from conversations.dialogue.events import E
from conversations.dialogue.questions import BY_ID
from conversations.records import audit
from conversations.records.store import Recorded, Store

from . import session_lock
from .i18n import _, number
from .phrases import HELP, NO_FURTHER_HELP, text
from .report import echo_text, failure_text, outcome_text
from .settings import clip

# The terminal user is a physician at this machine; they have no Telegram ID. Who they are is recorded
# with each session (``Operator``): --as NAME, or the system's user name, and the host.
ACTOR = ("physician", 0)


@dataclass(frozen=True)
class Operator:
    name: str
    host: str

    @classmethod
    def here(cls, name: str | None = None) -> Operator:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no name for this user ID (a container)
            user = f"uid {os.getuid()}"
        return cls(clip((name or user).strip() or user, 64), clip(socket.gethostname(), 64))

    def payload(self) -> dict[str, str]:
        return {"operator": self.name, "host": self.host}
# Referring happens in Telegram: the terminal has no "send".
_WORDS = [name for name in engine.COMMANDS if name != engine.CommandName.SEND]
COMMAND_WORDS = {name: name for name in _WORDS} | {f"/{name}": name for name in _WORDS}
CHANGE = re.compile(r"/?change\s+(\d{1,3})")
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "pause", "/pause"})
# A line of bytes that are not UTF-8 is not read at all: a guess at what it meant could be stored as an answer.
NOT_UTF8 = "That line is not UTF-8 text, so it was not read; type it again."


def decoded(line: str | bytes) -> str | None:
    """The line as text, or None when it is not UTF-8: bytes that do not decode, or text holding the
    surrogates Python keeps undecodable bytes of standard input as (under a UTF-8 locale)."""
    try:
        if isinstance(line, bytes):
            return line.decode("utf-8")
        line.encode("utf-8")
    except UnicodeError:
        return None
    return line


def to_input(line: str) -> engine.Input:
    word = line.strip().lower()
    if word in COMMAND_WORDS:
        return engine.Command(COMMAND_WORDS[word])  # type: ignore[arg-type]
    m = CHANGE.fullmatch(word)
    if m:
        return engine.Change(int(m.group(1)))
    if word.split(" ", 1)[0] in ("amend", "/amend"):
        # "amend" alone lists the reasons; "amend 2", "amend entry_error", "amend 5 <words>", or words alone
        return engine.amend_from_text(line.strip().split(" ", 1)[1] if " " in line.strip() else "")
    return engine.Answer(line)


# The terminal's own sentences (translated whole when shown: bot.i18n).
QUESTION_LINE = "[question {number} of at most {most}] {text}"
YES_NO_HINT = "  (yes / no / unknown)"
GREETING = ("Pre-screen {ref}. Commands: back, skip, status, summary, help, cancel; quit pauses (resume later with "
            "--resume).")
PAUSED = "Paused. Resume with: screening-bot chat --resume {ref}"
ALREADY_FAILS = "Ineligibility is already certain:"
STOP_OR_GO_ON = "You may stop here (cancel) or go on answering."
OUTCOME_HEAD = "Pre-screen {ref}: "
THIS_PRESCREEN = "this pre-screen"
CANCELLED = "Pre-screen cancelled."


def question_text(q: engine.Question) -> str:
    lines = [_(QUESTION_LINE).format(number=number(q.number), most=number(q.number + q.remaining), text=_(q.text))]
    lines += [f"  {i}. {_(c.label)}" for i, c in enumerate(q.choices, 1)]
    if q.kind == "yes_no":
        lines.append(_(YES_NO_HINT))
    return "\n".join(lines)


def help_text(output: engine.Help) -> str:
    if output.question is None:
        return _(HELP)
    return _(output.question.help or NO_FURTHER_HELP)


# What happens after the outcome, in the terminal (Telegram has its buttons).
NEXT_STEPS = ("Next: {ref} is stored; the study team sees it when it is referred (in Telegram, \"Send to "
              "coordinator\"). Here, change N corrects answer N, reopen asks again what was unknown, summary lists "
              "the answers, quit ends.")


def render(output: engine.Output, ref: str | None = None) -> str:
    match output:
        case engine.Question():
            return question_text(output)
        case engine.Reprompt():
            return f"! {text(output.error)}\n{question_text(output.question)}"
        case engine.Accepted():
            return "\n".join(["  " + echo_text(output), *(f"  {text(n)}" for n in output.notes)])
        case engine.Info() | engine.Stale():
            return text(output.message)
        case engine.Help():
            return help_text(output)
        case engine.OutcomeReached(final=False):
            return (_(ALREADY_FAILS) + "\n"
                    + "\n".join(f"  {f.criterion} {failure_text(f)}"
                                for f in output.outcome.failures)
                    + "\n" + _(STOP_OR_GO_ON))
        case engine.OutcomeReached():
            head = "\n" + (_(OUTCOME_HEAD).format(ref=ref) if ref else "")
            return (head + outcome_text(output.outcome) + "\n\n"
                    + _(NEXT_STEPS).format(ref=ref or _(THIS_PRESCREEN)))
        case engine.Cancelled():
            return _(CANCELLED)
    raise AssertionError(output)


def _session(run: Callable[..., int]) -> Callable[..., int]:
    """A terminal session lets go of the pre-screens it held when it ends, however it ends."""
    @functools.wraps(run)
    def session(*args: Any, **kwargs: Any) -> int:
        try:
            return run(*args, **kwargs)
        finally:
            release()
    return session


@_session
def interactive(store: Store, resume: str | None, read: Callable[[str], str] = input,
                write: Callable[[str], None] = print, operator: Operator | None = None) -> int:
    operator = operator or Operator.here()
    result = _begin(store, resume, read, write, operator)
    if result is None:
        return 2
    write(_(GREETING).format(ref=result.referral_id))
    for out in result.outputs:
        write(render(out, result.referral_id))
    state = result.state
    while state.phase != "cancelled":
        try:
            line = decoded(read("> "))
        except (EOFError, KeyboardInterrupt):
            _paused(store, state, operator)
            write("\n" + _(PAUSED).format(ref=state.referral_id))
            return 0
        except UnicodeDecodeError:  # a terminal whose input is decoded strictly
            line = None
        if line is None:
            write(f"! {NOT_UTF8}")
            continue
        if line.strip().lower() in QUIT_WORDS:
            _paused(store, state, operator)
            write(_(PAUSED).format(ref=state.referral_id))
            return 0
        try:
            result = _step(store, state.referral_id, to_input(line))
        except engine.IllegalStep as exc:
            write(f"! {text(exc.message)}")
            continue
        for out in result.outputs:
            write(render(out, result.referral_id))
        state = result.state
    return 0


def _step(store: Store, referral_id: str, inp: engine.Input, opened: Operator | None = None) -> Recorded:
    """One step, committed before anything is shown; with ``opened``, the session it resumes is recorded
    in the same commit."""
    with store.transaction() as db:
        result = store.apply(referral_id, inp, *ACTOR)
        if opened is not None:
            _note(db, referral_id, E.SESSION_OPENED, {**opened.payload(), "resumed": True})
        return result


def _note(db: Any, referral_id: str, type_: E, payload: dict[str, Any]) -> None:
    audit.append(db, actor_role=ACTOR[0], actor_id=ACTOR[1], type=type_, payload=payload, referral_id=referral_id)


def _paused(store: Store, state: Any, operator: Operator) -> None:
    """Quitting (or the input ending) with the pre-screen still asking: a pause, recorded."""
    if state.phase != "asking":
        return
    with store.transaction() as db:
        _note(db, state.referral_id, E.SESSION_PAUSED, operator.payload())


OPEN_ELSEWHERE = ("pre-screen {ref} is open in another terminal; answer it there, or quit that session "
                  "first (a question is answered only where it is shown)")
# The pre-screens this process holds open (one terminal per pre-screen), by referral ID.
_HELD: dict[str, IO[str]] = {}


def _hold(store: Store, referral_id: str) -> bool:
    if referral_id in _HELD:
        return True
    handle = session_lock.hold(store.db, referral_id)
    if handle is None:
        return False
    _HELD[referral_id] = handle
    return True


def release() -> None:
    """Let go of every pre-screen this process holds (at the end of a session)."""
    while _HELD:
        _HELD.popitem()[1].close()


def _start(store: Store, operator: Operator) -> Recorded:
    with store.transaction() as db:
        result = store.start(*ACTOR, channel="terminal")
        _note(db, result.referral_id, E.SESSION_OPENED, {**operator.payload(), "resumed": False})
    _hold(store, result.referral_id)  # new: no other session can know its ID yet
    return result


def _begin(store: Store, resume: str | None, read: Callable[[str], str],
           write: Callable[[str], None], operator: Operator) -> Recorded | None:
    if resume:
        return _resume(store, resume, write, operator)
    open_ones = [p for p in store.prescreens(*ACTOR, phases=("asking",))]
    if open_ones:
        write("Open pre-screens:")
        for i, p in enumerate(open_ones, 1):
            write(f"  {i}. {p.referral_id} (last answer {p.updated_at[:16].replace('T', ' ')} UTC)")
        try:
            choice = read("Number to resume, or Enter for a new pre-screen: ").strip()
        except (EOFError, KeyboardInterrupt):
            return None
        if choice.isdigit() and 1 <= int(choice) <= len(open_ones):
            return _resume(store, open_ones[int(choice) - 1].referral_id, write, operator)
    return _start(store, operator)


def cannot_resume(store: Store, referral_id: str) -> str | None:
    """Why this version cannot continue a stored pre-screen, if it cannot: its state does not read, or
    names a question this version does not have (an edited database, or one of another version). The
    engine would fail on it at the first step; refused here, nothing is written."""
    try:
        state = store.load(referral_id)
    except ValidationError:
        return "its stored state cannot be read"
    named = [state.current, *(q for e in state.history for q in (e.q, e.via))]
    gone = next((q for q in named if q is not None and q not in BY_ID), None)
    if gone is not None:
        return (f"its stored state names a question this version does not have ({clip(gone)!r}); was the "
                "database written by another version?")
    return None


def _resume(store: Store, referral_id: str, write: Callable[[str], None], operator: Operator) -> Recorded | None:
    if store.get(referral_id) is None:
        write(f"No pre-screen {clip(referral_id)} in this database.")
        return None
    if why := cannot_resume(store, referral_id):
        write(f"Pre-screen {referral_id} cannot be resumed: {why}")
        return None
    if not _hold(store, referral_id):
        write(OPEN_ELSEWHERE.format(ref=referral_id))
        return None
    try:
        return _step(store, referral_id, engine.Command("status"), opened=operator)
    except engine.IllegalStep as exc:  # a cancelled pre-screen cannot be resumed
        write(f"Pre-screen {referral_id} cannot be resumed: {text(exc.message)}.")
        return None


@_session
def jsonl(store: Store, resume: str | None, lines: Iterator[str | bytes], out: TextIO = sys.stdout,
          operator: Operator | None = None) -> int:
    """Scriptable: one answer per input line, one JSON object per output line. The session goes on after a
    certain ineligibility (the physician may go on answering) and after the outcome (to change an answer
    or reopen), until the input ends or the pre-screen is cancelled. A line it cannot take is an ``error``
    record (``code``: the message code, or ``not_utf8``) and the session goes on."""
    operator = operator or Operator.here()
    if resume:
        if store.get(resume) is None:
            print(f"screening-bot chat: no pre-screen {clip(resume)} in this database", file=sys.stderr)
            return 2
        if why := cannot_resume(store, resume):
            print(f"screening-bot chat: pre-screen {resume} cannot be resumed: {why}", file=sys.stderr)
            return 2
        if not _hold(store, resume):
            print(f"screening-bot chat: {OPEN_ELSEWHERE.format(ref=resume)}", file=sys.stderr)
            return 2
        try:
            result = _step(store, resume, engine.Command("status"), opened=operator)
        except engine.IllegalStep as exc:  # a cancelled pre-screen cannot be resumed
            print(f"screening-bot chat: pre-screen {resume} cannot be resumed: {text(exc.message)}",
                  file=sys.stderr)
            return 2
    else:
        result = _start(store, operator)
    if _emit(result, out, greeting=True):
        return 0
    for raw in lines:
        line = decoded(raw)
        if line is None:
            _write(out, {"type": "error", "code": "not_utf8", "error": NOT_UTF8})
            continue
        line = line.rstrip("\r\n")  # as the text stream read it, which made a CRLF a newline
        try:
            result = _step(store, result.referral_id, to_input(line))
        except engine.IllegalStep as exc:
            _write(out, {"type": "error", "code": exc.message.code.value, "error": text(exc.message)})
            continue
        if _emit(result, out):
            return 0
    _paused(store, result.state, operator)  # the input ended with the pre-screen still asking
    return 0


def to_json(output: engine.Output) -> dict[str, Any]:
    """One output as a JSON line of ``chat --jsonl``: language-neutral keys and codes, the texts in the
    session's language (``--lang``)."""
    match output:
        case engine.Question():
            q = output
            return {"type": "question", "fact": q.fact, "kind": q.kind, "text": _(q.text),
                    "choices": [c.value for c in q.choices], "labels": [_(c.label) for c in q.choices],
                    "checklist": q.checklist, "number": q.number, "remaining": q.remaining}
        case engine.Reprompt():
            return {"type": "reprompt", "fact": output.fact, "error": text(output.error)}
        case engine.Accepted():
            return {"type": "accepted", "fact": output.fact, "facts": output.facts, "unknown": output.unknown,
                    "calculated": output.calculated,
                    "text": " ".join([echo_text(output), *(text(n) for n in output.notes)])}
        case engine.Info():
            return {"type": "info", "text": text(output.message)}
        case engine.Help():
            return {"type": "info", "text": help_text(output)}
        case engine.OutcomeReached():
            return {"type": "outcome", "final": output.final, **output.outcome.model_dump(mode="json")}
        case engine.Cancelled():
            return {"type": "cancelled"}
        case engine.Stale():
            return {"type": "stale", "text": text(output.message)}
    raise AssertionError(output)


def _emit(result: Recorded, out: TextIO, greeting: bool = False) -> bool:
    """Write the step's outputs; True when the session is over. The greeting of a new or resumed session
    is left out (a script starts reading at the question); answers to commands (summary, help) are not."""
    for o in result.outputs:
        if greeting and isinstance(o, engine.Info):
            continue
        data = to_json(o)
        data["referral_id"] = result.referral_id
        _write(out, data)
        if isinstance(o, engine.Cancelled):
            return True
    return False


def _write(out: TextIO, data: dict) -> None:
    out.write(json.dumps(data, ensure_ascii=False) + "\n")
    out.flush()

"""What the dialogue is given: an answer (typed, or a button of a question), a checklist toggle, a
checklist's "Done", or a command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandName(StrEnum):
    BACK = "back"
    SKIP = "skip"
    STATUS = "status"
    SUMMARY = "summary"
    CANCEL = "cancel"
    HELP = "help"
    REOPEN = "reopen"
    SEND = "send"


COMMANDS: tuple[str, ...] = tuple(CommandName)


@dataclass(frozen=True)
class Answer:
    text: str
    seq: int | None = None  # set by buttons: the question instance the press belongs to
    # Set by an edge that knows what was on screen when the text was typed: the question instance shown
    # then (0: none). A typed answer applies only to it.
    shown_seq: int | None = None


@dataclass(frozen=True)
class Command:
    name: CommandName

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", CommandName(self.name))


@dataclass(frozen=True)
class Change:
    """Change the answer numbered ``number`` in the summary (1 = the first answer given)."""

    number: int


class AmendReason(StrEnum):
    """Why a pre-screen already sent to the study team changes: a short fixed list, numbered from 1 in this
    order (``amend 2`` is ``entry_error``); ``other`` needs a few words of free text."""

    NEW_RESULT = "new_result"        # a new test or examination result
    ENTRY_ERROR = "entry_error"      # an answer was entered wrongly
    CLARIFIED = "clarified"          # checked against the patient's records
    TEAM_REQUEST = "team_request"    # the study team asked for it
    OTHER = "other"                  # free text required


AMEND_REASONS: tuple[str, ...] = tuple(AmendReason)


@dataclass(frozen=True)
class Amend:
    """Open a pre-screen already sent to the study team for a change, saying why: a reason ``code`` of
    ``AMEND_REASONS`` and optional free text. Without a code, text alone is ``other`` with that text (how
    ``amend <reason>`` was always read); neither is a request for the list."""

    reason: str = ""
    code: str | None = None


def amend_from_text(text: str) -> Amend:
    """What ``amend …`` typed after the word says: ``2``, ``entry_error``, ``5 the biopsy report came back``
    (a reason by number or code, then optional text), or free text alone (``other``)."""
    words = text.strip().split(None, 1)
    if not words:
        return Amend()
    first = words[0].rstrip(".:,;)").lower()
    rest = words[1] if len(words) > 1 else ""
    if first.isascii() and first.isdigit() and len(first) == 1 and 1 <= int(first) <= len(AMEND_REASONS):
        return Amend(rest, AMEND_REASONS[int(first) - 1])
    if first in AMEND_REASONS:
        return Amend(rest, first)
    return Amend(text.strip())


@dataclass(frozen=True)
class Sent:
    """The pre-screen was sent to the study team as version ``send_no`` (written by the edge that sent it)."""

    send_no: int


@dataclass(frozen=True)
class Reopen:
    """Reopen a finished pre-screen at ``questions`` (the items the study team asked for): their answers
    are taken out and they are asked first. A pre-screen already sent changes only with a reason: ``code``
    (``team_request`` when the study team's request opens it), recorded as any amendment's."""

    questions: tuple[str, ...]
    code: str | None = None


@dataclass(frozen=True)
class Toggle:
    seq: int
    choice: str


@dataclass(frozen=True)
class Submit:
    seq: int


Input = Answer | Command | Change | Amend | Sent | Reopen | Toggle | Submit


def kind(inp: Input) -> str:
    """The input's kind, as the engine's table of rules names it."""
    if isinstance(inp, Command):
        return f"command:{inp.name}"
    if isinstance(inp, Answer):
        return "typed" if inp.seq is None else "pressed"
    if isinstance(inp, Change):
        return "change"
    if isinstance(inp, Amend):
        return "amend"
    if isinstance(inp, Sent):
        return "sent"
    if isinstance(inp, Reopen):
        return "reopen"
    return "toggle" if isinstance(inp, Toggle) else "submit"


KINDS: tuple[str, ...] = ("typed", "pressed", "toggle", "submit", "change", "amend", "sent", "reopen",
                          *(f"command:{c}" for c in CommandName))

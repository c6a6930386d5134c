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


@dataclass(frozen=True)
class Amend:
    """Open a pre-screen already sent to the study team for a change, saying why."""

    reason: str


@dataclass(frozen=True)
class Sent:
    """The pre-screen was sent to the study team as version ``send_no`` (written by the edge that sent it)."""

    send_no: int


@dataclass(frozen=True)
class Toggle:
    seq: int
    choice: str


@dataclass(frozen=True)
class Submit:
    seq: int


Input = Answer | Command | Change | Amend | Sent | Toggle | Submit


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
    return "toggle" if isinstance(inp, Toggle) else "submit"


KINDS: tuple[str, ...] = ("typed", "pressed", "toggle", "submit", "change", "amend", "sent",
                          *(f"command:{c}" for c in CommandName))

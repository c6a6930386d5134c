"""What the dialogue says back: plain data, with message codes each edge phrases in its own words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from criteria import Outcome

from .messages import Message


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """A question on screen."""

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


@dataclass(frozen=True)
class Reprompt:
    """An answer refused: why, and the same question again."""

    fact: str
    error: Message
    question: Question


@dataclass(frozen=True)
class Accepted:
    """An answer taken: what it was read as (the facts it set, in the spec's units, and those it left
    unknown), what it made the calculators give, and anything the reader left out or assumed."""

    fact: str  # the question's key
    facts: dict[str, Any]
    unknown: list[str]
    calculated: dict[str, Any] = field(default_factory=dict)
    notes: tuple[Message, ...] = ()


@dataclass(frozen=True)
class Info:
    message: Message


@dataclass(frozen=True)
class Help:
    """What the physician can do, and the help of the question on screen (None when nothing is asked)."""

    question: Question | None


@dataclass(frozen=True)
class OutcomeReached:
    outcome: Outcome
    final: bool  # False: ineligibility is certain but the physician may go on


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class Stale:
    """A button of a question no longer on screen: nothing changed."""

    message: Message


@dataclass(frozen=True)
class ReadyToSend:
    """The pre-screen is finished and may be referred to the study team with this outcome."""

    outcome: Outcome


Output = Question | Reprompt | Accepted | Info | Help | OutcomeReached | Cancelled | Stale | ReadyToSend

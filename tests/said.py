"""What the edges say for what the dialogue produced: its outputs carry message codes (issue 11), and
the tests read them as the physician does, in the edges' English (bot/phrases.py)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot import phrases, terminal
from conversations.dialogue import engine
from conversations.dialogue.answers import AnswerError
from conversations.dialogue.messages import Message


def said(x: Any) -> str:
    """The sentence for a message (or one stored as JSON), an AnswerError or IllegalStep, or an Info,
    Stale, Reprompt or Help."""
    if isinstance(x, pytest.ExceptionInfo):
        x = x.value
    if isinstance(x, engine.Help):
        return terminal.help_text(x)
    if isinstance(x, engine.Reprompt):
        return phrases.text(x.error)
    if isinstance(x, AnswerError | engine.IllegalStep | engine.Info | engine.Stale):
        return phrases.text(x.message)
    if isinstance(x, Message | tuple):
        return phrases.text(x)
    if isinstance(x, dict) and "code" in x:  # a message as stored (a state's notice)
        return phrases.text(Message.from_json(x))
    raise TypeError(f"nothing is said for {type(x).__name__}")


@contextlib.contextmanager
def refused(match: str | None = None) -> Iterator[pytest.ExceptionInfo]:
    """Like ``pytest.raises(AnswerError, match=...)``, matching the sentence the physician is shown."""
    with pytest.raises(AnswerError) as exc:
        yield exc
    if match is not None:
        assert re.search(match, said(exc)), f"{match!r} not in {said(exc)!r}"

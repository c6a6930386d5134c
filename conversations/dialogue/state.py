"""The conversation's state: plain, serialisable data, so that a pre-screen survives a restart."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = Literal["asking", "done", "cancelled"]


class Entry(BaseModel):
    """One accepted answer. ``value`` is the parsed answer (None when answered "unknown")."""

    model_config = ConfigDict(frozen=True)

    q: str
    value: Any = None
    unknown: bool = False
    raw: str = ""
    # The question this was the answer to, when one answer settled several ("all negative" at HBsAg
    # answers the tests after it too): "back" takes the whole answer back.
    via: str | None = None

    def has_unknown_part(self) -> bool:
        return self.unknown or (isinstance(self.value, dict) and None in self.value.values())


class State(BaseModel):
    referral_id: str
    protocol_version: str
    channel: str = "terminal"
    phase: Phase = "asking"
    history: list[Entry] = Field(default_factory=list)
    current: str | None = None
    # Identifies the question on screen, so a button of an earlier question is recognised as stale.
    seq: int = 0
    # What is on screen with it: the choices shown of a checklist of facts (only those that can still
    # matter), and how many questions at most follow. An answer is read against what the physician saw,
    # and a re-prompt shows the same, without planning again. None in a state saved before they were kept.
    shown: list[str] | None = None
    remaining: int = 0
    # Toggle selections for the multiple-choice question on screen: choice -> "yes" | "unknown".
    draft: dict[str, Literal["yes", "unknown"]] = Field(default_factory=dict)
    # Failing criteria already announced, so a certain ineligibility is said once.
    announced: list[str] = Field(default_factory=list)
    # Answers taken back with "back", by question: the next answer to it is a correction.
    withdrawn: dict[str, Entry] = Field(default_factory=dict)
    # Said once, before the outputs of the next step (e.g. that a new protocol changed the outcome): a
    # message (code and parameters) as JSON.
    notice: dict[str, Any] | None = None
    # What the calculators gave at the last step, so that an answer's echo shows what it changed.
    calculated: dict[str, Any] = Field(default_factory=dict)
    # The version last sent to the study team (0: never sent), and why it is being changed since, if it is:
    # a pre-screen that was sent changes only with a reason. ``amend_reason`` (the free text, "" when only
    # a code was given) is None while no change is open; ``amend_code`` is the reason's code
    # (inputs.AMEND_REASONS; None in a state saved before codes were kept: "other").
    sent: int = 0
    amend_reason: str | None = None
    amend_code: str | None = None

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str) -> State:
        return cls.model_validate_json(data)

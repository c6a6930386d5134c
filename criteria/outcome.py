"""The result of evaluating a referral: what the physician, the coordinator and `--json` see."""

import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .protocol import Verdict

Status = Literal["eligible", "ineligible", "incomplete"]
STATUSES: tuple[Status, ...] = typing.get_args(Status)


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    title: str
    facts: list[str]
    reasons: list[str]
    # The reasons as message templates with their parameters (criteria.messages), for an edge to say them
    # in its reader's language; never in the JSON (``reasons`` is).
    details: tuple[Any, ...] = Field(default=(), exclude=True)

    @property
    def text(self) -> str:
        """Title and reasons, without saying the same thing twice ("prior CAR-T …: yes", not "prior
        CAR-T …: prior CAR-T …: yes")."""
        reasons = "; ".join(self.reasons)
        return reasons if reasons.lower().startswith(self.title.lower()) else f"{self.title}: {reasons}"


class Missing(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    facts: list[str]
    reason: str
    detail: Any = Field(default=None, exclude=True)  # ``reason`` as a criteria.messages.Msg


class Pending(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    reason: str


class Note(BaseModel):
    """A flag for the investigator, or a re-check: the criterion and a sentence a coordinator can act on."""

    model_config = ConfigDict(frozen=True)

    criterion: str
    text: str
    detail: Any = Field(default=None, exclude=True)  # ``text`` as a criteria.messages.Msg, if not a plain sentence


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    criteria: dict[str, Verdict]
    failed: list[str]
    failures: list[Failure]
    missing: list[Missing]
    pending: list[str]
    pending_details: list[Pending]
    flags: list[Note]
    recheck: list[Note]
    # Ineligible, and every failing criterion is one that time alone can lift: may be re-referred.
    ineligible_now: bool
    calculated: dict[str, Any]
    notes: list[str]
    protocol_version: str

    @property
    def missing_facts(self) -> list[str]:
        """Every fact still worth asking, each once, in criterion order."""
        return list(dict.fromkeys(k for m in self.missing for k in m.facts))

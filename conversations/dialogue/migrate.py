"""A pre-screen stored under an earlier protocol, carried over to the current one (sans-IO).

Protocol 1 → 2: the answers are replayed under protocol 2. An answer to a question that no longer
exists, or whose wording changed its meaning, no longer counts (it stays in the audit trail): the LLDAS
question was "was the target NOT reached?" and is now asked positively, so its old answer is asked
again; E3c left the exclusion checklist. Item lists of the SLEDAI-2K and the 2019 EULAR/ACR criteria
were complete lists and become checklists with every unnamed item absent; the drug's own daily dose of
the glucocorticoid calculator got its own key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from criteria import PROTOCOL_VERSION, Outcome
from criteria.codes import EULAR_ACR_2019_ITEMS, SLEDAI_2K_WEIGHTS

from . import planner
from .engine import outcome_event, place_next
from .events import E, Event, event
from .messages import M, msg
from .questions import BY_ID
from .state import Entry, State

PROTOCOL_1 = "cart-sle-ped-prescreen/1.0"
# Questions of protocol 1 whose answers no longer count, and why (for the audit trail).
DROPPED_QUESTIONS = {
    "target_not_reached": "asked positively in protocol 2 (\"in LLDAS or remission now?\")",
}
RENAMED_QUESTIONS = {"gc_peak_mg_day": "gc_drug_mg_day"}
DROPPED_CHECKLIST_ITEMS = {"exclusion_checklist": ("nephropathy_needs_intensification",)}
ITEM_LISTS = {"sledai_2k_items": tuple(SLEDAI_2K_WEIGHTS), "eular_acr_2019.items": tuple(EULAR_ACR_2019_ITEMS)}


class UnknownProtocol(ValueError):
    """A stored pre-screen names a protocol version this program does not know."""


@dataclass(frozen=True)
class Migration:
    state: State
    events: list[Event]
    outcome_before: str | None
    outcome_after: str | None
    outcome: Outcome | None

    @property
    def changed(self) -> bool:
        return self.outcome_before != self.outcome_after


def _p1_entry(entry: Entry) -> tuple[Entry | None, str | None]:
    """The entry in protocol 2's terms, or (None, why it no longer counts)."""
    q = RENAMED_QUESTIONS.get(entry.q, entry.q)
    if entry.q in DROPPED_QUESTIONS:
        return None, DROPPED_QUESTIONS[entry.q]
    if q not in BY_ID:
        return None, "no such question in protocol 2"
    value: Any = entry.value
    if not entry.unknown and q in DROPPED_CHECKLIST_ITEMS and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k not in DROPPED_CHECKLIST_ITEMS[q]}
    if not entry.unknown and q in ITEM_LISTS and isinstance(value, list):
        value = {code: code in value for code in ITEM_LISTS[q]}
    return entry.model_copy(update={"q": q, "value": value}), None


def migrate(state: State, recorded_status: str | None, *, sent: bool) -> Migration | None:
    """``state`` under the current protocol, or None when it is current already. ``recorded_status`` is
    the outcome stored with it; ``sent``: a referral exists, whose recorded outcome it keeps (no new
    outcome event is written for it)."""
    if state.protocol_version == PROTOCOL_VERSION:
        return None
    if state.protocol_version != PROTOCOL_1:
        raise UnknownProtocol(f"pre-screen {state.referral_id} is stored under protocol "
                              f"{state.protocol_version!r}, which this version does not know")
    kept: list[Entry] = []
    dropped: list[dict[str, str]] = []
    for old in state.history:
        entry, why = _p1_entry(old)
        if entry is not None:
            try:  # an answer protocol 2 refuses (a new contradiction) no longer counts either
                planner.plan_for([*kept, entry])
            except ValidationError:
                entry, why = None, "contradicts an earlier answer under protocol 2"
        if entry is None:
            dropped.append({"question": old.q, "why": why or ""})
        else:
            kept.append(entry)
    withdrawn = {}
    for old in state.withdrawn.values():
        entry, _ = _p1_entry(old)
        if entry is not None:
            withdrawn[entry.q] = entry
    plan = planner.plan_for(kept)
    facts, outcome, _, _ = plan
    after = outcome.status if kept else None
    update: dict[str, Any] = {"protocol_version": PROTOCOL_VERSION, "history": kept, "withdrawn": withdrawn,
                              "draft": {}, "announced": [c for c in state.announced if c in outcome.failed]}
    if recorded_status != after and state.phase != "cancelled":
        update["notice"] = msg(M.PROTOCOL_CHANGED, version=PROTOCOL_VERSION, before=recorded_status, after=after,
                               dropped=len(dropped)).to_json()
    new = state.model_copy(update=update)
    if state.phase == "asking":  # a new question number, so that a button of the old question is stale
        new = place_next(new, plan)
    events = [event(E.PROTOCOL_CHANGED, **{"from": state.protocol_version}, to=PROTOCOL_VERSION, dropped=dropped,
                    outcome_before=recorded_status, outcome_after=after)]
    if new.phase == "done" and not sent:
        events.append(outcome_event(outcome, facts, final=True))
    return Migration(new, events, recorded_status, after, outcome if kept else None)

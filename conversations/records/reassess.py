"""After a protocol amendment: every referral whose outcome the current protocol changes.

A referral keeps the outcome and protocol version it was sent (and decided) under. Its pre-screen is
judged again under the current protocol, and each criterion compared with what was recorded when it was
sent: the verdicts themselves where the ``referral_sent`` event carries them, else the failing and
pending criteria of the last final ``outcome`` before it (protocol-1 events name no other verdicts, so
a criterion recorded as neither failing nor pending counts as passed or unknown then).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from conversations.dialogue.events import E
from criteria import CRITERION_IDS, PROTOCOL_VERSION

from ..dialogue import engine
from . import audit
from .registry import Registry
from .store import Store

# A verdict's class: what a change between two protocols means for the child.
_CLASS = {"met": "passes", "clear": "passes", "not_met": "fails", "excluded": "fails", "pending": "pending",
          "unknown": "unknown"}


@dataclass(frozen=True)
class CriterionChange:
    criterion: str
    before: str  # passes, fails, pending, unknown, or "passes or unknown" for protocol-1 records
    after: str


@dataclass(frozen=True)
class Reassessed:
    referral_id: str
    referral_status: str  # sent, need_info, accepted, declined
    recorded_status: str
    recorded_protocol_version: str | None
    new_status: str
    protocol_version: str
    changes: list[CriterionChange]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _recorded_classes(db: sqlite_utils.Database, referral_id: str) -> dict[str, str]:
    rows = db.conn.execute(
        f"SELECT type, payload FROM {audit.TABLE} WHERE referral_id = ? AND type IN ('outcome', 'referral_sent')"
        " ORDER BY seq", (referral_id,)).fetchall()
    last_final: dict[str, Any] | None = None
    sent: dict[str, Any] | None = None
    for type_, payload in rows:
        p = json.loads(payload)
        if type_ == E.OUTCOME and p.get("final"):
            last_final = p
        elif type_ == E.REFERRAL_SENT:
            sent = {**p, "outcome": last_final}
    if sent is None:
        return {}
    if sent.get("criteria"):
        return {cid: _CLASS[v] for cid, v in sent["criteria"].items()}
    outcome = sent.get("outcome") or {}
    failed, pending = set(outcome.get("failed") or ()), set(outcome.get("pending") or ())
    rest = "passes" if outcome.get("status") == "eligible" else "passes or unknown"
    return {cid: "fails" if cid in failed else "pending" if cid in pending else rest for cid in CRITERION_IDS}


def _differs(before: str | None, after: str) -> bool:
    if before is None:
        return False
    if before == "passes or unknown":
        return after in ("fails", "pending")
    return before != after


def reassess(store: Store) -> list[Reassessed]:
    """Every sent referral whose status or criteria the current protocol judges otherwise."""
    registry = Registry(store.db)
    if "referrals" not in store.db.table_names():
        return []
    out = []
    for r in registry.referrals():
        outcome = engine.outcome_of(store.load(r.referral_id))
        before = _recorded_classes(store.db, r.referral_id)
        changes = [CriterionChange(cid, before[cid], _CLASS[v]) for cid, v in outcome.criteria.items()
                   if _differs(before.get(cid), _CLASS[v])]
        if changes or outcome.status != r.outcome_status:
            out.append(Reassessed(r.referral_id, r.status, r.outcome_status, r.protocol_version, outcome.status,
                                  PROTOCOL_VERSION, changes))
    return out


def render_text(rows: list[Reassessed]) -> str:
    if not rows:
        return f"No referral changes its outcome under protocol {PROTOCOL_VERSION}."
    lines = [f"{len(rows)} referral(s) whose outcome protocol {PROTOCOL_VERSION} changes:"]
    for r in rows:
        lines.append(f"{r.referral_id} ({r.referral_status}): recorded {r.recorded_status} under protocol "
                     f"{r.recorded_protocol_version or 'unknown'}, now {r.new_status}")
        lines += [f"  {c.criterion}: {c.before} -> {c.after}" for c in r.changes]
    return "\n".join(lines)

"""The screening log: how many referrals reached each step, in CONSORT order, counted from the audit trail.

Every number counts referrals, not events:
  started      referrals with a ``prescreen_started`` event
  cancelled    cancelled before any final outcome;  in_progress: started, neither final nor cancelled
  completed    referrals with a final ``outcome``
  by_outcome   status of the latest final outcome of each completed referral
  ineligible_now  of the ineligible ones, those "ineligible now, may be re-referred": every failing
               criterion is one that time lifts (the outcome's ``ineligible_now``; older outcome events
               lack it and count as not); a part of the ineligible count, not a fourth status
  by_failing_criterion  over referrals whose latest final outcome is ineligible; a referral failing
               several criteria counts under each, so these do not add up to the ineligible count
  sent         referrals with a ``referral_sent`` event
  by_decision  every ``coordinator_decision`` made, in the order of the decisions (a referral asked for more
               information, then accepted, counts under both; an undone decision still counts: it was
               made); ``awaiting``: sent referrals with no decision standing (none yet, or the last undone)
  undone       decisions taken back (``decision_undone``)
Counts come from the events as they are: `verified_log` gives them only from a trail that verifies
(``screening-bot log`` prints no numbers from a broken one).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from conversations.dialogue.events import E
from criteria import CRITERION_IDS, STATUSES

from . import audit
from .audit_key import AuditKey
from .audit_verify import VerifyResult, verify
from .registry import DECISIONS

TYPES = (E.PRESCREEN_STARTED, E.PRESCREEN_CANCELLED, E.OUTCOME, E.REFERRAL_SENT, E.COORDINATOR_DECISION,
         E.DECISION_UNDONE)


@dataclass
class ScreeningLog:
    head_seq: int
    head: str
    started: int = 0
    cancelled: int = 0
    in_progress: int = 0
    completed: int = 0
    by_outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    ineligible_now: int = 0
    by_failing_criterion: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    by_decision: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*DECISIONS, "awaiting"), 0))
    undone: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Referral:
    started: bool = False
    cancelled: bool = False
    final: dict[str, Any] | None = None  # latest final outcome
    sent: bool = False
    decisions: list[str] = field(default_factory=list)  # every decision made, in order
    standing: int = 0  # decisions made and not undone


def screening_log(db: sqlite_utils.Database, up_to: int | None = None) -> ScreeningLog:
    """Counted from the events up to ``up_to`` (the head of the trail by default), as they are."""
    head_seq, head = audit.head(db)
    if up_to is not None and up_to < head_seq:
        head_seq = up_to
        head = db.conn.execute(f"SELECT chain_hash FROM {audit.TABLE} WHERE seq = ?", (up_to,)).fetchone()[0] \
            if up_to else audit.GENESIS
    referrals: dict[str, _Referral] = {}
    undone = 0
    # Only the step events are read, and only outcome and decision payloads are parsed.
    rows = db.conn.execute(
        f"SELECT referral_id, type, payload FROM {audit.TABLE} WHERE seq <= ? AND referral_id IS NOT NULL"
        f" AND type IN ({', '.join('?' * len(TYPES))}) ORDER BY seq", (head_seq, *TYPES))
    for rid, type_, payload in rows:
        r = referrals.setdefault(rid, _Referral())
        if type_ == E.PRESCREEN_STARTED:
            r.started = True
        elif type_ == E.PRESCREEN_CANCELLED:
            r.cancelled = True
        elif type_ == E.OUTCOME:
            p = json.loads(payload)
            if p.get("final"):
                r.final = p
        elif type_ == E.REFERRAL_SENT:
            r.sent = True
            r.standing = 0  # a new version waits for a decision of its own
        elif type_ == E.DECISION_UNDONE:
            r.standing = max(r.standing - 1, 0)
            undone += 1
        else:
            r.decisions.append(str(json.loads(payload).get("decision")))
            r.standing += 1

    log = ScreeningLog(head_seq, head)
    failing: dict[str, int] = {}
    for r in referrals.values():
        log.started += r.started
        log.cancelled += r.cancelled and r.final is None
        log.in_progress += r.started and not r.cancelled and r.final is None
        if r.final is not None:
            log.completed += 1
            status = str(r.final.get("status"))
            log.by_outcome[status] = log.by_outcome.get(status, 0) + 1
            if status == "ineligible":
                log.ineligible_now += r.final.get("ineligible_now") is True
                for cid in r.final.get("failed") or ():
                    failing[cid] = failing.get(cid, 0) + 1
        if r.sent:
            log.sent += 1
            for d in r.decisions:
                log.by_decision[d] = log.by_decision.get(d, 0) + 1
            log.by_decision["awaiting"] += r.standing == 0
    log.undone = undone
    # Protocol order (I1…E13), so the table reads like the criteria list; unknown IDs last.
    order = {cid: i for i, cid in enumerate(CRITERION_IDS)}
    log.by_failing_criterion = dict(
        sorted(failing.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    return log


def verified_log(db: sqlite_utils.Database, key: AuditKey | None = None) -> ScreeningLog | VerifyResult:
    """The screening log when the whole trail verifies (with ``key``, its MACs too), otherwise the failed
    `VerifyResult` (no numbers). The log is counted up to the head verified: events appended meanwhile are
    in neither."""
    result = verify(db, key=key)
    if not result.ok:
        return result
    log = screening_log(db, result.head_seq)
    log.head = result.head
    return log


def render_text(log: ScreeningLog) -> str:
    rows: list[tuple[int, str, int]] = [
        (0, "Pre-screens started", log.started),
        (1, "cancelled before an outcome", log.cancelled),
        (1, "still in progress", log.in_progress),
        (0, "Completed (final outcome)", log.completed),
    ]
    for status, n in log.by_outcome.items():
        rows.append((1, status, n))
        if status == "ineligible":
            rows.append((2, "ineligible now, may be re-referred", log.ineligible_now))
            rows += [(2, f"failing {cid}", k) for cid, k in log.by_failing_criterion.items()]
    rows.append((0, "Sent to coordinators", log.sent))
    rows += [(1, f"decision: {d}" if d != "awaiting" else "awaiting a decision", n)
             for d, n in log.by_decision.items()]
    rows.append((1, "decisions undone", log.undone))
    width = max(2 * depth + len(text) for depth, text, _ in rows)
    lines = [f"Screening log (audit trail up to event {log.head_seq}, head {log.head})"]
    lines += [f"{'  ' * depth}{text}".ljust(width + 2) + f"{n:>6}" for depth, text, n in rows]
    return "\n".join(lines)


def render_json(log: ScreeningLog) -> str:
    return json.dumps(log.as_json(), indent=2)

"""What the screening report shows, gathered from the database: the screening log (its CONSORT numbers,
unchanged), one row per referral and the counts by month. Pure over the database: it reads, never writes.

Everything is counted from the audit trail up to the head the log verified, as `screening_log` counts it, so
the page and ``screening-bot log --json`` agree. A row holds the referral ID, the dates of its steps, its
latest final outcome with the criterion IDs behind it (failing, missing, pending, flags), and the decisions
made on it with their reasons when the decision recorded one. No answer and no fact of the child is read
into it: only criterion IDs, statuses, dates and the coordinators' codes. Who referred (the physician's
Telegram ID and whatever the physician directory holds of them) is gathered only when asked for
(``contacts=True``).

Months are UTC calendar months (``YYYY-MM``) of the event: ``started`` of the ``prescreen_started``,
``completed`` of each referral's latest final outcome (once a referral), ``sent`` of its first
``referral_sent`` (once a referral), ``decisions`` every ``coordinator_decision`` made that month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from conversations.dialogue.events import E

from . import audit
from .audit_key import AuditKey
from .audit_verify import VerifyResult
from .registry import PROFILE_FIELDS
from .screening_log import TYPES, ScreeningLog, verified_log

# Of a decision's payload, what a report may show: the decision's reason or the items asked for. A reason's
# free text was checked for identifiers when it was written; a key not listed here is not shown.
REASON_KEYS = ("reason_code", "reason", "items")
# Of the physician directory, the columns that say who a physician is and how to reach them (those it has:
# a database from before the directory has none).
CONTACT_COLUMNS = PROFILE_FIELDS


@dataclass
class Decision:
    decision: str
    at: str
    send_no: int | None
    reason: dict[str, Any] = field(default_factory=dict)
    undone: bool = False  # taken back by its coordinator (``decision_undone``)
    decision_id: int | None = None


@dataclass
class ReferralRow:
    referral_id: str
    started_at: str | None = None
    ended_at: str | None = None  # the latest final outcome, or the cancellation
    first_sent_at: str | None = None
    sends: int = 0
    status: str = "in_progress"  # a final outcome's status, or "cancelled" / "in_progress"
    ineligible_now: bool = False
    protocol_version: str | None = None
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # criteria still unknown
    pending: list[str] = field(default_factory=list)  # criteria pending for the investigator
    flags: list[str] = field(default_factory=list)  # criteria with a flag for the investigator
    decisions: list[Decision] = field(default_factory=list)
    physician_id: int | None = None  # only with contacts

    @property
    def decision(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None


@dataclass
class MonthRow:
    month: str
    started: int = 0
    cancelled: int = 0
    completed: int = 0
    sent: int = 0
    decisions: int = 0


@dataclass
class ReportData:
    log: ScreeningLog
    referrals: list[ReferralRow]
    months: list[MonthRow]
    contacts: dict[int, dict[str, Any]] | None = None  # physician ID → what the directory holds; None: not asked


def report_data(db: sqlite_utils.Database, log: ScreeningLog, *, contacts: bool = False) -> ReportData:
    """The rows and months behind ``log``, from the events up to its head (``log.head_seq``)."""
    rows: dict[str, ReferralRow] = {}
    finals: dict[str, dict[str, Any]] = {}
    months: dict[str, MonthRow] = {}

    def month(ts: str) -> MonthRow:
        key = ts[:7]
        return months.setdefault(key, MonthRow(key))

    cursor = db.conn.execute(
        f"SELECT referral_id, ts, actor_role, actor_id, type, payload FROM {audit.TABLE} WHERE seq <= ?"
        f" AND referral_id IS NOT NULL AND type IN ({', '.join('?' * len(TYPES))}) ORDER BY seq",
        (log.head_seq, *TYPES))
    for rid, ts, role, actor_id, type_, payload in cursor:
        r = rows.setdefault(rid, ReferralRow(rid))
        if type_ == E.PRESCREEN_STARTED:
            r.started_at = r.started_at or ts
            if role == "physician":
                r.physician_id = actor_id
            month(ts).started += 1
        elif type_ == E.PRESCREEN_CANCELLED:
            if rid not in finals and r.status != "cancelled":
                r.status, r.ended_at = "cancelled", ts
        elif type_ == E.OUTCOME:
            p = json.loads(payload)
            if p.get("final"):
                finals[rid] = p
                r.ended_at = ts
        elif type_ == E.REFERRAL_SENT:
            if r.first_sent_at is None:
                r.first_sent_at = ts
                month(ts).sent += 1
            r.sends += 1
        elif type_ == E.DECISION_UNDONE:
            i = json.loads(payload).get("decision_id")
            for d in r.decisions:
                d.undone = d.undone or (i is not None and d.decision_id == i)
        else:  # a coordinator's decision
            p = json.loads(payload)
            r.decisions.append(Decision(str(p.get("decision")), ts, p.get("send_no"),
                                        {k: p[k] for k in REASON_KEYS if p.get(k)}, decision_id=p.get("decision_id")))
            month(ts).decisions += 1

    for rid, r in rows.items():
        if rid in finals:
            _outcome(r, finals[rid])
            month(r.ended_at or "").completed += 1
        elif r.status == "cancelled":
            month(r.ended_at or "").cancelled += 1
    directory = None
    if contacts:
        # A sent referral names its physician in the registry, which wins over the starting event's actor.
        if "referrals" in db.table_names():
            for rid, pid in db.conn.execute("SELECT referral_id, physician_id FROM referrals"):
                if rid in rows:
                    rows[rid].physician_id = pid
        directory = _directory(db, {r.physician_id for r in rows.values() if r.physician_id is not None})
    else:
        for r in rows.values():
            r.physician_id = None
    ordered = sorted(rows.values(), key=lambda r: (r.started_at or r.ended_at or r.first_sent_at or "", r.referral_id))
    return ReportData(log, ordered, [months[k] for k in sorted(months)], directory)


def _outcome(r: ReferralRow, p: dict[str, Any]) -> None:
    r.status = str(p.get("status"))
    r.ineligible_now = p.get("ineligible_now") is True
    r.protocol_version = p.get("protocol_version")
    verdicts = p.get("criteria") or {}
    r.failed = [str(c) for c in p.get("failed") or ()]
    r.missing = [str(c) for c, v in verdicts.items() if v == "unknown"]
    r.pending = [str(c) for c in p.get("pending") or ()]
    r.flags = list(dict.fromkeys(str(f.get("criterion")) for f in p.get("flags") or () if isinstance(f, dict)))


def _directory(db: sqlite_utils.Database, ids: set[int]) -> dict[int, dict[str, Any]]:
    """What the physician directory holds of each of ``ids`` that says who they are (CONTACT_COLUMNS, those
    it has); every ID has an entry, empty when the directory holds nothing of it."""
    found: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if "physicians" not in db.table_names() or not ids:
        return found
    have = [c for c in CONTACT_COLUMNS if c in {col.name for col in db["physicians"].columns}]
    if not have:
        return found
    marks = ", ".join("?" * len(ids))
    for row in db.conn.execute(f"SELECT user_id, {', '.join(have)} FROM physicians WHERE user_id IN ({marks})",
                               tuple(ids)):
        found[row[0]] = {c: v for c, v in zip(have, row[1:], strict=True) if v not in (None, "")}
    return found


def verified_report(db: sqlite_utils.Database, key: AuditKey | None = None, *,
                    contacts: bool = False) -> ReportData | VerifyResult:
    """The report's data when the whole trail verifies (`verified_log`), otherwise the failed `VerifyResult`."""
    log = verified_log(db, key)
    if not isinstance(log, ScreeningLog):
        return log
    return report_data(db, log, contacts=contacts)

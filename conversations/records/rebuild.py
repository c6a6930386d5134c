"""The state tables proven by the trail: every pre-screen, referral, decision, physician, invite and language
choice rebuilt from the audit events and compared with its row.

Pure over a database (opened read-only by the caller; nothing here writes or prints). One pass over the
events in order keeps, for every row the trail says exists, each field's expected value and the event that
last set it; the tables are then read once and compared. A difference names the table, the row's key
(referral ID, ``<referral ID>#<n>`` for the n-th decision, user ID, invite ID), the field, the value the
trail gives, the value found and that event (None for a row no event speaks of).

What the events carry:

- ``invite_created`` (its ts and actor: ``created_at``, ``created_by``; ``code_hash`` and ``expires_at``),
  ``physician_registered`` (the invite used, by whom, when), ``physician_revoked`` (when, by whom, and
  whether a row existed: a physician only on the allow-list gets a row of its own when revoked),
  ``physician_profile`` (a name or institution as given, a contact only as the SHA-256 of the row's salt and
  the contact: the row's contact is proven by hashing it with its salt), ``invite_cancelled``;
- ``referral_sent`` (physician, outcome, send number, protocol), ``coordinator_decision`` (decision, send
  number, coordinator, when, the reason's code and words and the items asked for: the referral's status and
  a ``referral_decisions`` row), ``decision_undone`` (the row's ``undone_at`` and ``undone_by``; the
  referral back at the decision before it on that version, or "sent"), ``referral_amended``;
- ``language_chosen`` (the language a user chose, when: their ``user_languages`` row);
- the pre-screen's ``prescreen_started`` (owner, channel, ``created_at``), and on the last event of every
  step that changed its row the SHA-256 of the state JSON and the outcome column (store.py): the row's
  ``updated_at`` is that event's ts, its ``state`` must hash to it, its ``phase`` and ``current`` must be
  the state's. The answers in the state are also compared, question by question, with the replay of the
  answer events (``raw`` compared, never shown), so that an edit is named by its question.

Events from before a key was carried leave the field it would prove unchecked: counted in
``RebuildResult.unchecked``, never a difference.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ..dialogue.events import ROW_OUTCOME, STATE_SHA, E
from .registry import STATUS_AFTER, contact_digest

TABLES = ("prescreens", "referrals", "referral_decisions", "physicians", "invites", "user_languages")

# Events the rebuild reads; the others (messages, updates: most of a trail) are skipped unparsed.
_READ = frozenset({E.PRESCREEN_STARTED, E.ANSWER_ACCEPTED, E.ANSWER_WITHDRAWN, E.ANSWER_CORRECTED, E.OUTCOME,
                   E.PRESCREEN_CANCELLED, E.PRESCREEN_REOPENED, E.PROTOCOL_CHANGED, E.PRESCREEN_SAVED,
                   E.PHYSICIAN_REGISTERED, E.INVITE_CREATED, E.PHYSICIAN_REVOKED, E.REFERRAL_SENT,
                   E.REFERRAL_AMENDED, E.COORDINATOR_DECISION, E.PHYSICIAN_PROFILE, E.INVITE_CANCELLED,
                   E.DECISION_UNDONE, E.LANGUAGE_CHOSEN})
_UNCHECKED = object()  # a field whose events predate what they now carry


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    field: str  # a column; "row" for a row missing or unexplained; "history.<question>" for an answer
    expected: Any
    found: Any
    seq: int | None  # the event that last set the field; None when no event speaks of the row


@dataclass
class RebuildResult:
    differences: list[Difference] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # rows compared, by table
    unchecked: Counter[str] = field(default_factory=Counter)  # "table.field": fields the events cannot prove
    events: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


class _Row:
    """An expected row: field -> (value, seq of the event that set it)."""

    __slots__ = ("fields", "seq")

    def __init__(self, seq: int) -> None:
        self.fields: dict[str, tuple[Any, int]] = {}
        self.seq = seq  # the event that made the row

    def set(self, seq: int, **values: Any) -> None:
        for k, v in values.items():
            self.fields[k] = (v, seq)


class _Prescreen(_Row):
    __slots__ = ("answers", "answers_known", "last_outcome", "saved")

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.answers: dict[str, tuple[str | None, int]] = {}  # question -> (raw, seq)
        self.answers_known = True  # False after a protocol change, which renames and drops questions
        self.last_outcome: tuple[str, bool, int] | None = None  # (status, final, seq)
        self.saved: tuple[str, int, str] | None = None  # (state sha, seq, ts) of the last step that wrote the row


class _Physician(_Row):
    __slots__ = ("contact",)

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.contact: tuple[str | None, int] | None = None  # (digest or None, seq); None: no event says


def _get(payload: dict[str, Any], key: str) -> Any:
    return payload.get(key, _UNCHECKED)


def compare(db: sqlite_utils.Database) -> RebuildResult:
    """Rebuild every row from the trail and compare it with the tables (see the module's docstring)."""
    prescreens: dict[str, _Prescreen] = {}
    referrals: dict[str, _Row] = {}
    decisions: list[tuple[str, _Row]] = []
    physicians: dict[int, _Physician] = {}
    invites: dict[str, _Row] = {}
    languages: dict[int, _Row] = {}
    sent: Counter[str] = Counter()
    standing: dict[str, list[_Row]] = {}  # the decisions of each referral's current version not undone
    aligned = False
    result = RebuildResult()
    read = {str(t) for t in _READ}
    rows = db.conn.execute("SELECT seq, ts, actor_role, actor_id, referral_id, type, payload FROM audit_events"
                           " ORDER BY seq")
    n = 0
    for seq, ts, role, actor, rid, type_, body in rows:
        n += 1
        if type_ not in read:
            continue
        try:
            p = json.loads(body)
        except ValueError:  # a broken payload is the chain's to report (audit_verify)
            continue
        if not isinstance(p, dict):
            continue
        # Rows and events share their time from the version that records rows in the trail on: the first
        # event carrying what that version added says so (before it, a row took its own clock).
        aligned = aligned or STATE_SHA in p or "code_hash" in p or "existed" in p
        at = ts if aligned else _UNCHECKED
        if type_ == E.PRESCREEN_STARTED:
            row = prescreens[rid] = _Prescreen(seq)
            # The row's creation time is the event's since the event records the row (before: its own clock).
            row.set(seq, owner_role=role, owner_id=actor, channel=_get(p, "channel"),
                    created_at=ts if STATE_SHA in p else _UNCHECKED)
        if rid in prescreens and type_ in _PRESCREEN_TYPES:
            _prescreen_event(prescreens[rid], seq, ts, type_, p)
        if type_ == E.INVITE_CREATED:
            iid = p.get("invite_id")
            row = invites[iid] = _Row(seq)
            row.set(seq, code_hash=_get(p, "code_hash"), created_by=actor, created_at=at,
                    expires_at=_get(p, "expires_at"), used_by=None, used_at=None, cancelled_at=None,
                    cancelled_by=None)
        elif type_ == E.INVITE_CANCELLED:
            if (iid := p.get("invite_id")) in invites:
                invites[iid].set(seq, cancelled_at=at, cancelled_by=actor)
        elif type_ == E.PHYSICIAN_REGISTERED:
            iid = p.get("invite_id")
            if iid in invites:
                invites[iid].set(seq, used_by=actor, used_at=at)
            row = physicians.get(actor) or _Physician(seq)
            physicians[actor] = row
            row.set(seq, via="invite", invite_id=iid, registered_at=at, revoked_at=None, revoked_by=None)
            if aligned:  # a registration asks who they are afresh
                row.set(seq, name=None, institution=None)
                row.contact = (None, seq)
        elif type_ == E.PHYSICIAN_PROFILE:
            row = physicians.get(actor)
            if row is None:
                row = physicians[actor] = _Physician(seq)
                if p.get("existed"):
                    row.set(seq, via=_UNCHECKED, invite_id=_UNCHECKED, registered_at=_UNCHECKED)
                else:  # only on the allow-list: its first detail makes its row
                    row.set(seq, via="allow_list", invite_id=None, registered_at=at, revoked_at=None,
                            revoked_by=None)
            if p.get("field") == "contact":
                row.contact = (p.get("value"), seq)
            elif p.get("field") in ("name", "institution"):
                row.set(seq, **{p["field"]: p.get("value")})
        elif type_ == E.PHYSICIAN_REVOKED:
            uid = p.get("physician_id")
            existed = p.get("existed")
            row = physicians.get(uid)
            if row is None:
                row = physicians[uid] = _Physician(seq)
                if existed:  # registered by no event this trail holds
                    row.set(seq, via=_UNCHECKED, invite_id=_UNCHECKED, registered_at=_UNCHECKED)
                else:  # only on the allow-list: the revocation is its row
                    row.set(seq, via="allow_list", invite_id=None, registered_at=at, name=None, institution=None)
                    row.contact = (None, seq)
            row.set(seq, revoked_at=at, revoked_by=actor)
        elif type_ == E.REFERRAL_SENT:
            row = referrals.get(rid)
            if row is None:
                row = referrals[rid] = _Row(seq)
                row.set(seq, physician_id=actor if role == "physician" else _UNCHECKED, first_sent_at=at)
            sent[rid] += 1  # an older event has no number: its sendings are counted
            row.set(seq, status="sent", sends=p.get("send_no", sent[rid]), outcome_status=_get(p, "outcome_status"),
                    last_sent_at=at,
                    decided_by=None, decided_at=None, protocol_version=_get(p, "protocol_version"))
            standing[rid] = []
        elif type_ == E.COORDINATOR_DECISION and rid in referrals:
            decision = p.get("decision")
            referrals[rid].set(seq, status=STATUS_AFTER.get(decision, _UNCHECKED), decided_by=actor, decided_at=at)
            d = _Row(seq)
            d.set(seq, referral_id=rid, send_no=_get(p, "send_no"), coordinator_id=actor, decision=decision,
                  decided_at=at)
            if "items" in p:  # recorded with its reason since decisions have one
                d.set(seq, reason_code=p.get("reason_code"), reason=p.get("reason"), items=json.dumps(p["items"]),
                      undone_at=None, undone_by=None)
            decisions.append((rid, d))
            standing.setdefault(rid, []).append(d)
        elif type_ == E.DECISION_UNDONE and rid in referrals:
            i = p.get("decision_id")
            if isinstance(i, int) and 1 <= i <= len(decisions) and decisions[i - 1][0] == rid:
                d = decisions[i - 1][1]
                d.set(seq, undone_at=at, undone_by=actor)
                left = [x for x in standing.get(rid, []) if x is not d]
                standing[rid] = left
                if left:
                    before = left[-1].fields
                    referrals[rid].set(seq, status=STATUS_AFTER.get(before["decision"][0], _UNCHECKED),
                                       decided_by=before["coordinator_id"][0], decided_at=before["decided_at"][0])
                else:
                    referrals[rid].set(seq, status="sent", decided_by=None, decided_at=None)
        elif type_ == E.REFERRAL_AMENDED and rid in referrals:
            referrals[rid].set(seq, status="amending")
            standing[rid] = []
        elif type_ == E.LANGUAGE_CHOSEN:  # from the version that records it: row and event share their time
            row = languages.setdefault(actor, _Row(seq))
            row.set(seq, lang=p.get("lang"), chosen_at=ts)
    result.events = n

    _compare_prescreens(db, prescreens, result)
    _compare(result, "referrals", referrals, _table(db, "referrals", "referral_id", str))
    found = _table(db, "referral_decisions", "id", str)
    # Decisions are only ever added: the n-th decision event is row n.
    expected = {str(i): d for i, (_, d) in enumerate(decisions, 1)}
    of = {**{k: r["referral_id"] for k, r in found.items()}, **{str(i): rid for i, (rid, _) in enumerate(decisions, 1)}}
    _compare(result, "referral_decisions", expected, found, label=lambda k: f"{of[k]}#{k}")
    found_physicians = _table(db, "physicians", "user_id", int)
    _compare(result, "physicians", physicians, found_physicians)
    _compare_contacts(physicians, found_physicians, result)
    _compare(result, "invites", invites, _table(db, "invites", "invite_id", str))
    _compare(result, "user_languages", languages, _table(db, "user_languages", "user_id", int))
    return result


def _compare_contacts(expected: dict[int, _Physician], found: dict[int, dict[str, Any]], result: RebuildResult) -> None:
    """Each physician's contact against the digest the trail keeps of it (never shown)."""
    for uid, row in expected.items():
        have = found.get(uid)
        if have is None:
            continue
        if row.contact is None or "contact" not in have:
            result.unchecked["physicians.contact"] += 1
            continue
        digest, seq = row.contact
        contact = have["contact"]
        if digest is None:
            if contact is not None:
                result.differences.append(Difference("physicians", str(uid), "contact", None, "present", seq))
        elif contact is None or contact_digest(have.get("contact_salt") or "", contact) != digest:
            result.differences.append(Difference("physicians", str(uid), "contact", "as recorded", "differs", seq))


_PRESCREEN_TYPES = frozenset({E.ANSWER_ACCEPTED, E.ANSWER_WITHDRAWN, E.ANSWER_CORRECTED, E.OUTCOME,
                              E.PRESCREEN_CANCELLED, E.PRESCREEN_REOPENED, E.PROTOCOL_CHANGED, E.PRESCREEN_SAVED,
                              E.PRESCREEN_STARTED, E.REFERRAL_AMENDED})


def _prescreen_event(row: _Prescreen, seq: int, ts: str, type_: str, p: dict[str, Any]) -> None:
    q = p.get("question")
    if type_ in (E.ANSWER_ACCEPTED, E.ANSWER_CORRECTED):
        row.answers[q] = (p.get("raw"), seq)
    elif type_ == E.ANSWER_WITHDRAWN:
        row.answers.pop(q, None)
    elif type_ == E.PRESCREEN_REOPENED:
        for x in p.get("questions") or []:
            row.answers.pop(x, None)
    elif type_ == E.PROTOCOL_CHANGED:
        row.answers_known = False
    elif type_ == E.OUTCOME:
        row.last_outcome = (p.get("status"), bool(p.get("final")), seq)
    if STATE_SHA in p:
        row.saved = (p[STATE_SHA], seq, ts)
    if ROW_OUTCOME in p:
        row.set(seq, outcome_status=p[ROW_OUTCOME])


def _table(db: sqlite_utils.Database, table: str, key: str, key_type: type) -> dict[Any, dict[str, Any]]:
    """The table's rows by ``key``, each with every column it has (a database not yet migrated may lack
    later ones: those fields are unchecked); none when the table is not there (dropped, or a trail alone)."""
    try:
        cur = db.conn.execute(f"SELECT * FROM {table}")
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return {}
    names = [d[0] for d in cur.description]
    i = names.index(key)
    return {key_type(r[i]): dict(zip(names, r, strict=True)) for r in cur}


def _compare(result: RebuildResult, table: str, expected: dict[Any, _Row], found: dict[Any, dict[str, Any]],
             label: Any = str) -> None:
    result.checked[table] = len(found)
    out = result.differences
    for key, row in expected.items():
        have = found.get(key)
        if have is None:
            out.append(Difference(table, label(key), "row", "present", "missing", row.seq))
            continue
        for name, (value, seq) in row.fields.items():
            if value is _UNCHECKED or name not in have:
                result.unchecked[f"{table}.{name}"] += 1
            elif have.get(name) != value:
                out.append(Difference(table, label(key), name, value, have.get(name), seq))
    for key in found.keys() - expected.keys():
        out.append(Difference(table, label(key), "row", "absent", "present", None))


def _compare_prescreens(db: sqlite_utils.Database, expected: dict[str, _Prescreen], result: RebuildResult) -> None:
    found = _table(db, "prescreens", "referral_id", str)
    _compare(result, "prescreens", expected, found)
    out = result.differences
    for rid, row in expected.items():
        have = found.get(rid)
        if have is None:
            continue
        text = have["state"] or ""
        if row.saved is None:  # no step of it recorded its row yet
            result.unchecked["prescreens.state"] += 1
            result.unchecked["prescreens.updated_at"] += 1
        else:
            sha, seq, ts = row.saved
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != sha:
                out.append(Difference("prescreens", rid, "state", sha, "differs", seq))
            if have["updated_at"] != ts:
                out.append(Difference("prescreens", rid, "updated_at", ts, have["updated_at"], seq))
        if "outcome_status" not in row.fields:
            if row.last_outcome is not None and row.last_outcome[1] and have["phase"] == "done":
                status, _, seq = row.last_outcome
                if have["outcome_status"] != status:
                    out.append(Difference("prescreens", rid, "outcome_status", status, have["outcome_status"], seq))
            else:
                result.unchecked["prescreens.outcome_status"] += 1
        try:
            state = json.loads(text)
        except ValueError:
            out.append(Difference("prescreens", rid, "state", "JSON", "unreadable", row.saved and row.saved[1]))
            continue
        if not isinstance(state, dict):
            out.append(Difference("prescreens", rid, "state", "JSON", "unreadable", row.saved and row.saved[1]))
            continue
        saved_seq = row.saved[1] if row.saved else None
        for column in ("phase", "current"):
            if have[column] != state.get(column):
                out.append(Difference("prescreens", rid, column, state.get(column), have[column], saved_seq))
        if state.get("referral_id") != rid:
            out.append(Difference("prescreens", rid, "state.referral_id", rid, "differs", saved_seq))
        if row.answers_known:
            _compare_answers(rid, row, state.get("history") or [], out)
        else:
            result.unchecked["prescreens.history"] += 1


def _compare_answers(rid: str, row: _Prescreen, history: list[Any], out: list[Difference]) -> None:
    """Each question's answer in the state (its own entry, not those another answer settled with it)
    against the last answer event to it; the answer itself is compared, never reported."""
    answered: dict[str, str | None] = {}
    for e in history:
        if isinstance(e, dict) and e.get("via") in (None, e.get("q")):
            answered[e.get("q")] = e.get("raw")
    for q, (raw, seq) in row.answers.items():
        if q not in answered:
            out.append(Difference("prescreens", rid, f"history.{q}", "answered", "absent", seq))
        elif raw is not None and answered[q] != raw:
            out.append(Difference("prescreens", rid, f"history.{q}", "as recorded", "differs", seq))
    for q in answered.keys() - row.answers.keys():
        out.append(Difference("prescreens", rid, f"history.{q}", "absent", "answered", row.saved and row.saved[1]))


def describe(d: Difference) -> str:
    """One line for a difference, naming the table, the key and the field; the content of a pre-screen's
    state or answers is never shown, only that it differs."""
    where = f"{d.table} {d.key}"
    by = f" (event {d.seq})" if d.seq is not None else ""
    if d.field == "row":
        if d.found == "missing":
            return f"{where}: the row is missing; the trail has it{by}"
        return f"{where}: a row no event of the trail accounts for"
    if d.field.startswith("history."):
        q = d.field.removeprefix("history.")
        if d.found == "absent":
            return f"{where}: the answer to {q} is missing from its state; the trail has it{by}"
        if d.found == "answered":
            return f"{where}: the state holds an answer to {q} that the trail does not{by}"
        return f"{where}: the answer to {q} in its state differs from the trail{by}"
    if d.field == "contact":  # a physician's contact is never shown either
        return f"{where}: its contact differs from what the trail recorded{by}"
    if d.field.startswith("state"):
        return f"{where}: its {d.field} differs from what the trail recorded{by}"
    return f"{where}: {d.field} is {d.found!r}, the trail says {d.expected!r}{by}"

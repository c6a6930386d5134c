"""Who may use the study's chat, and what the coordinators decided: physicians, invites and referrals.

Pure storage (sqlite-utils), no chat library. Every write runs inside the caller's ``write(db)``
transaction, so that it commits together with the audit event that records it, and with that event's
time: a caller passes ``ts=registry.now()`` to both, or takes the time a write returns (``last_sent_at``,
``decided_at``), so that records/rebuild.py can rebuild every row from the trail. An invite code is
stored only as its SHA-256: the code itself exists in the coordinator's message and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlite_utils

from . import audit

INVITE_LIFETIME = timedelta(days=7)
INVITE_DAYS = (1, 7, 30)  # the validities offered as buttons; /invite N takes 1 to MAX_INVITE_DAYS
MAX_INVITE_DAYS = 90
# What a physician registers, asked in this order; the registration ends when all three are given.
PROFILE_FIELDS = ("name", "institution", "contact")
INVITE_CODE_BYTES = 24  # 192 bits; token_urlsafe gives 32 characters, within a deep link's 64

Decision = Literal["accept", "need_info", "decline"]
DECISIONS: tuple[Decision, ...] = ("accept", "need_info", "decline")
# The referral's status after each decision; "need_info" keeps it open for the physician's answer.
STATUS_AFTER: dict[str, str] = {"accept": "accepted", "need_info": "need_info", "decline": "declined"}
OPEN_STATUSES = ("sent", "need_info")

RedeemResult = Literal["registered", "already_registered", "unknown", "used", "expired", "cancelled"]
DecideResult = Literal["decided", "unknown", "superseded", "closed"]
UndoResult = Literal["undone", "unknown", "not_yours", "too_late", "moved_on"]
# How long the coordinator who made a decision may take it back.
UNDO_WINDOW = timedelta(minutes=10)
# Why a referral is declined, offered in this order; "other" needs a few words.
DECLINE_REASONS = ("age_range", "not_refractory", "exclusion", "incomplete", "other")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


_iso = audit.iso_utc


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def contact_digest(salt: str, contact: str) -> str:
    """What the trail keeps of a physician's contact: the SHA-256 of the directory row's salt and the
    contact. The salt stays in the directory, so the trail exported to auditors does not reveal a phone
    number by trying them all, and records/rebuild.py still proves the row's contact."""
    return hashlib.sha256(f"{salt}\x00{contact}".encode()).hexdigest()


@dataclass(frozen=True)
class Physician:
    """A physician of the directory: active (registered or on the allow-list, not revoked)."""

    user_id: int
    via: str
    invite_id: str | None
    registered_at: str | None
    name: str | None
    institution: str | None
    contact: str | None
    referrals: int = 0

    @property
    def registered(self) -> bool:
        return all((self.name, self.institution, self.contact))


@dataclass(frozen=True)
class DecisionRow:
    """One decision made (``items``: the question IDs a "need information" asks for)."""

    id: int
    referral_id: str
    send_no: int
    coordinator_id: int
    decision: str
    decided_at: str
    reason_code: str | None
    reason: str
    items: tuple[str, ...]
    undone_at: str | None


@dataclass(frozen=True)
class Draft:
    """A decision a coordinator is confirming: what they chose so far."""

    coordinator_id: int
    referral_id: str
    send_no: int
    decision: str
    items: tuple[str, ...]
    reason_code: str | None
    reason: str


@dataclass(frozen=True)
class Referral:
    referral_id: str
    physician_id: int
    status: str
    outcome_status: str
    sends: int
    first_sent_at: str
    last_sent_at: str
    decided_by: int | None
    decided_at: str | None
    protocol_version: str | None = None


class Registry:
    def __init__(self, db: sqlite_utils.Database, clock: Callable[[], datetime] | None = None):
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> str:
        return _iso(self.clock())

    def _in_tx(self) -> None:
        if not self.db.conn.in_transaction:
            raise RuntimeError("registry writes run inside the write transaction of their audit event")

    # Physicians ---------------------------------------------------------------------------------

    def is_physician(self, user_id: int, allow_list: frozenset[int] = frozenset()) -> bool:
        """Registered through an invite or on the allow-list, and not revoked since."""
        row = self.db.conn.execute(
            "SELECT revoked_at FROM physicians WHERE user_id = ?", (user_id,)).fetchone()
        if row is not None:
            return row[0] is None
        return user_id in allow_list

    def has_row(self, user_id: int) -> bool:
        """Registered (or revoked) here, as opposed to only on the allow-list."""
        return self.db.conn.execute("SELECT 1 FROM physicians WHERE user_id = ?", (user_id,)).fetchone() is not None

    def revoke(self, user_id: int, by: int, allow_list: frozenset[int] = frozenset(), *, ts: str | None = None) -> bool:
        """Remove a physician (an allow-listed one too: the revocation outranks the list). False when
        the ID is not a physician now."""
        self._in_tx()
        if not self.is_physician(user_id, allow_list):
            return False
        self.stop_asking(user_id)
        now = ts or self.now()
        self.db.conn.execute(
            "INSERT INTO physicians (user_id, via, registered_at, revoked_at, revoked_by)"
            " VALUES (?, 'allow_list', ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
            " revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
            (user_id, now, now, by))
        return True

    # The directory -------------------------------------------------------------------------------

    def physician(self, user_id: int, allow_list: frozenset[int] = frozenset()) -> Physician | None:
        """The active physician's entry (one only on the allow-list has no details yet), or None."""
        if not self.is_physician(user_id, allow_list):
            return None
        found = [p for p in self.physicians(allow_list) if p.user_id == user_id]
        return found[0] if found else None

    def physicians(self, allow_list: frozenset[int] = frozenset()) -> list[Physician]:
        """Every active physician, with the number of referrals they sent: the registered ones in the order
        they registered, then those only on the allow-list."""
        counts = dict(self.db.conn.execute(
            "SELECT physician_id, count(*) FROM referrals GROUP BY physician_id").fetchall())
        rows = self.db.conn.execute(
            "SELECT user_id, via, invite_id, registered_at, name, institution, contact, revoked_at FROM physicians"
            " ORDER BY registered_at, user_id").fetchall()
        out = [Physician(*r[:7], referrals=counts.get(r[0], 0)) for r in rows if r[7] is None]
        have = {r[0] for r in rows}
        out += [Physician(uid, "allow_list", None, None, None, None, None, counts.get(uid, 0))
                for uid in sorted(allow_list - have)]
        return out

    def asking(self, user_id: int) -> tuple[str, bool] | None:
        """(the field asked, whether it is a registration) while a registration or a profile change waits
        for the physician's answer."""
        row = self.db.conn.execute("SELECT field, registering FROM physician_asking WHERE user_id = ?",
                                   (user_id,)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def asking_contact(self, user_id: int) -> bool:
        """The physician's next message is their own contact (the identifier check lets a phone number or
        an e-mail address through there, and nowhere else)."""
        return (self.asking(user_id) or ("", False))[0] == "contact"

    def ask(self, user_id: int, field: str, registering: bool, *, ts: str | None = None) -> None:
        self._in_tx()
        assert field in PROFILE_FIELDS, field
        self.db.conn.execute(
            "INSERT INTO physician_asking (user_id, field, registering, at) VALUES (?, ?, ?, ?) ON CONFLICT(user_id)"
            " DO UPDATE SET field = excluded.field, registering = excluded.registering, at = excluded.at",
            (user_id, field, int(registering), ts or self.now()))

    def stop_asking(self, user_id: int) -> None:
        self._in_tx()
        self.db.conn.execute("DELETE FROM physician_asking WHERE user_id = ?", (user_id,))

    def set_profile(self, user_id: int, field: str, value: str, *,
                    ts: str | None = None) -> tuple[str | None, bool, str]:
        """Put one field of the physician's entry (a row is made for one only on the allow-list) and move the
        registration on: (the next field to ask, or None; whether a row existed; what the trail records
        of the value: itself, or for the contact its digest with a new salt)."""
        self._in_tx()
        assert field in PROFILE_FIELDS, field
        now = ts or self.now()
        existed = self.has_row(user_id)
        if not existed:
            self.db.conn.execute("INSERT INTO physicians (user_id, via, registered_at) VALUES (?, 'allow_list', ?)",
                                 (user_id, now))
        recorded = value
        if field == "contact":
            salt = secrets.token_hex(16)
            recorded = contact_digest(salt, value)
            self.db.conn.execute("UPDATE physicians SET contact = ?, contact_salt = ? WHERE user_id = ?",
                                 (value, salt, user_id))
        else:
            self.db.conn.execute(f"UPDATE physicians SET {field} = ? WHERE user_id = ?", (value, user_id))
        asking = self.asking(user_id)
        following = None
        if asking is not None and asking[1]:  # a registration: the next field not given yet
            row = self.db.conn.execute("SELECT name, institution, contact FROM physicians WHERE user_id = ?",
                                       (user_id,)).fetchone()
            following = next((f for f, v in zip(PROFILE_FIELDS, row, strict=True) if not v), None)
        if following is None:
            self.stop_asking(user_id)
        else:
            self.ask(user_id, following, True, ts=now)
        return following, existed, recorded

    def active_ids(self, allow_list: frozenset[int] = frozenset()) -> list[int]:
        """Every physician who may use the bot now (for their command menus)."""
        return [p.user_id for p in self.physicians(allow_list)]

    # Invites ------------------------------------------------------------------------------------

    def create_invite(self, created_by: int, *, ts: str | None = None,
                      days: int = INVITE_LIFETIME.days) -> tuple[str, str]:
        """A new single-use invite valid ``days`` days: (invite_id, code). Only the code's hash is stored."""
        self._in_tx()
        code = secrets.token_urlsafe(INVITE_CODE_BYTES)
        invite_id = "inv-" + secrets.token_hex(4)
        now = _parse(ts) if ts else self.clock()
        self.db.conn.execute(
            "INSERT INTO invites (invite_id, code_hash, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (invite_id, code_hash(code), created_by, _iso(now), _iso(now + timedelta(days=days))))
        return invite_id, code

    def open_invites(self) -> list[dict[str, object]]:
        """Invites that can still be redeemed: not used, not cancelled, not expired; oldest first."""
        rows = self.db.query("SELECT invite_id, created_by, created_at, expires_at FROM invites WHERE used_by IS NULL"
                             " AND cancelled_at IS NULL AND expires_at > ? ORDER BY created_at, invite_id",
                             [self.now()])
        return list(rows)

    def cancel_invite(self, invite_id: str, by: int, *, ts: str | None = None) -> bool:
        """Cancel an open invite (it can no longer be redeemed). False when it is not open."""
        self._in_tx()
        if invite_id not in {r["invite_id"] for r in self.open_invites()}:
            return False
        self.db.conn.execute("UPDATE invites SET cancelled_at = ?, cancelled_by = ? WHERE invite_id = ?",
                             (ts or self.now(), by, invite_id))
        return True

    def invite(self, invite_id: str) -> dict[str, object] | None:
        """The invite's row (its code only as the hash)."""
        rows = list(self.db.query("SELECT * FROM invites WHERE invite_id = ?", [invite_id]))
        return rows[0] if rows else None

    def redeem(self, code: str, user_id: int, *, ts: str | None = None) -> tuple[RedeemResult, str | None]:
        """Register ``user_id`` with an invite code: (result, invite_id). Single-use, bound to the first
        account that uses it, refused after expiry."""
        self._in_tx()
        row = self.db.conn.execute(
            "SELECT invite_id, expires_at, used_by, cancelled_at FROM invites WHERE code_hash = ?",
            (code_hash(code),)).fetchone()
        if row is None:
            return "unknown", None
        invite_id, expires_at, used_by, cancelled_at = row
        if cancelled_at is not None:
            return "cancelled", invite_id
        if used_by is not None:
            if used_by == user_id and self.is_physician(user_id):
                return "already_registered", invite_id
            return "used", invite_id
        now = ts or self.now()
        if _parse(now) >= _parse(expires_at):
            return "expired", invite_id
        self.db.conn.execute("UPDATE invites SET used_by = ?, used_at = ? WHERE invite_id = ?",
                             (user_id, now, invite_id))
        self.db.conn.execute(
            "INSERT INTO physicians (user_id, via, invite_id, registered_at) VALUES (?, 'invite', ?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET via = 'invite', invite_id = excluded.invite_id,"
            " registered_at = excluded.registered_at, revoked_at = NULL, revoked_by = NULL,"
            " name = NULL, institution = NULL, contact = NULL, contact_salt = NULL",
            (user_id, invite_id, now))
        self.ask(user_id, PROFILE_FIELDS[0], True, ts=now)  # the registration asks who they are
        return "registered", invite_id

    # Referrals ----------------------------------------------------------------------------------

    def referral(self, referral_id: str) -> Referral | None:
        row = self.db.conn.execute(f"SELECT {_REFERRAL_COLS} FROM referrals WHERE referral_id = ?",
                                   (referral_id,)).fetchone()
        return Referral(*row) if row else None

    def referrals(self) -> list[Referral]:
        rows = self.db.conn.execute(f"SELECT {_REFERRAL_COLS} FROM referrals ORDER BY first_sent_at, referral_id")
        return [Referral(*r) for r in rows]

    def record_sent(self, referral_id: str, physician_id: int, outcome_status: str,
                    protocol_version: str, *, ts: str | None = None) -> Referral:
        """A referral (re)sent to the coordinators: opens it again, counts the sending (at ``last_sent_at``)."""
        self._in_tx()
        now = ts or self.now()
        self.db.conn.execute(
            "INSERT INTO referrals (referral_id, physician_id, status, outcome_status, sends, first_sent_at,"
            " last_sent_at, protocol_version) VALUES (?, ?, 'sent', ?, 1, ?, ?, ?) ON CONFLICT(referral_id)"
            " DO UPDATE SET status = 'sent', outcome_status = excluded.outcome_status, sends = sends + 1,"
            " last_sent_at = excluded.last_sent_at, decided_by = NULL, decided_at = NULL,"
            " protocol_version = excluded.protocol_version",
            (referral_id, physician_id, outcome_status, now, now, protocol_version))
        ref = self.referral(referral_id)
        assert ref is not None
        return ref

    def decide(self, referral_id: str, send_no: int, coordinator_id: int, decision: Decision, *,
               reason_code: str | None = None, reason: str = "", items: tuple[str, ...] = (),
               ts: str | None = None) -> tuple[DecideResult, Referral | None, int | None]:
        """Record a coordinator's decision on the summary numbered ``send_no`` (at ``decided_at``), with its
        reason or the items asked for: (result, the referral, the decision's row ID). Accepted and declined
        referrals are closed; a decision on an older summary is superseded."""
        self._in_tx()
        ref = self.referral(referral_id)
        if ref is None:
            return "unknown", None, None
        if send_no != ref.sends or ref.status == "amending":  # a new version is on its way
            return "superseded", ref, None
        if ref.status not in OPEN_STATUSES:
            return "closed", ref, None
        now = ts or self.now()
        cur = self.db.conn.execute(
            "INSERT INTO referral_decisions (referral_id, send_no, coordinator_id, decision, decided_at, reason_code,"
            " reason, items) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (referral_id, send_no, coordinator_id, decision, now, reason_code, reason, json.dumps(list(items))))
        self.db.conn.execute(
            "UPDATE referrals SET status = ?, decided_by = ?, decided_at = ? WHERE referral_id = ?",
            (STATUS_AFTER[decision], coordinator_id, now, referral_id))
        return "decided", self.referral(referral_id), cur.lastrowid

    def decisions(self, referral_id: str) -> list[DecisionRow]:
        """Every decision made on the referral, in order (undone ones too)."""
        rows = self.db.conn.execute(
            f"SELECT {_DECISION_COLS} FROM referral_decisions WHERE referral_id = ? ORDER BY id", (referral_id,))
        return [_decision_row(r) for r in rows]

    def decision(self, decision_id: int) -> DecisionRow | None:
        row = self.db.conn.execute(f"SELECT {_DECISION_COLS} FROM referral_decisions WHERE id = ?",
                                   (decision_id,)).fetchone()
        return _decision_row(row) if row else None

    def undo(self, decision_id: int, coordinator_id: int, *,
             ts: str | None = None) -> tuple[UndoResult, DecisionRow | None, Referral | None]:
        """Take back decision ``decision_id``: only its coordinator, within ``UNDO_WINDOW``, and only while it
        is the referral's standing decision on the version it was made on (nothing happened since). The
        referral returns to the decision before it on that version, or to "sent"."""
        self._in_tx()
        d = self.decision(decision_id)
        if d is None:
            return "unknown", None, None
        ref = self.referral(d.referral_id)
        if d.coordinator_id != coordinator_id:
            return "not_yours", d, ref
        now = ts or self.now()
        if d.undone_at is not None or ref is None:
            return "moved_on", d, ref
        if _parse(now) - _parse(d.decided_at) > UNDO_WINDOW:
            return "too_late", d, ref
        standing = [x for x in self.decisions(d.referral_id) if x.send_no == d.send_no and x.undone_at is None]
        if ref.sends != d.send_no or ref.status != STATUS_AFTER[d.decision] or standing[-1].id != d.id:
            return "moved_on", d, ref
        self.db.conn.execute("UPDATE referral_decisions SET undone_at = ?, undone_by = ? WHERE id = ?",
                             (now, coordinator_id, d.id))
        before = standing[-2] if len(standing) > 1 else None
        self.db.conn.execute(
            "UPDATE referrals SET status = ?, decided_by = ?, decided_at = ? WHERE referral_id = ?",
            (STATUS_AFTER[before.decision] if before else "sent", before.coordinator_id if before else None,
             before.decided_at if before else None, d.referral_id))
        return "undone", self.decision(d.id), self.referral(d.referral_id)

    # Decisions being confirmed ------------------------------------------------------------------

    def draft(self, coordinator_id: int) -> Draft | None:
        row = self.db.conn.execute(
            "SELECT coordinator_id, referral_id, send_no, decision, items, reason_code, reason FROM decision_drafts"
            " WHERE coordinator_id = ?", (coordinator_id,)).fetchone()
        if row is None:
            return None
        return Draft(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6])

    def put_draft(self, draft: Draft) -> None:
        """The coordinator's decision being confirmed (one at a time: a new one replaces the last)."""
        self._in_tx()
        self.db.conn.execute(
            "INSERT INTO decision_drafts (coordinator_id, referral_id, send_no, decision, items, reason_code, reason,"
            " at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(coordinator_id) DO UPDATE SET"
            " referral_id = excluded.referral_id, send_no = excluded.send_no, decision = excluded.decision,"
            " items = excluded.items, reason_code = excluded.reason_code, reason = excluded.reason, at = excluded.at",
            (draft.coordinator_id, draft.referral_id, draft.send_no, draft.decision, json.dumps(list(draft.items)),
             draft.reason_code, draft.reason, self.now()))

    def drop_draft(self, coordinator_id: int) -> None:
        self._in_tx()
        self.db.conn.execute("DELETE FROM decision_drafts WHERE coordinator_id = ?", (coordinator_id,))

    def amend(self, referral_id: str) -> None:
        """The physician is changing the referral (with a reason, in the trail): the decision on the version
        sent no longer stands until the next version is sent."""
        self._in_tx()
        self.db.conn.execute("UPDATE referrals SET status = 'amending' WHERE referral_id = ?", (referral_id,))

    def open_referrals(self) -> list[Referral]:
        rows = self.db.conn.execute(
            f"SELECT {_REFERRAL_COLS} FROM referrals WHERE status IN ('sent', 'need_info')"
            " ORDER BY last_sent_at, referral_id").fetchall()
        return [Referral(*r) for r in rows]


_DECISION_COLS = ("id, referral_id, send_no, coordinator_id, decision, decided_at, reason_code, reason, items,"
                  " undone_at")


def _decision_row(r: tuple) -> DecisionRow:
    return DecisionRow(*r[:7], r[7] or "", tuple(json.loads(r[8] or "[]")), r[9])


_REFERRAL_COLS = ("referral_id, physician_id, status, outcome_status, sends, first_sent_at, last_sent_at, decided_by,"
                  " decided_at, protocol_version")

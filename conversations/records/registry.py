"""Who may use the study's chat, and what the coordinators decided: physicians, invites and referrals.

Pure storage (sqlite-utils), no chat library. Every write runs inside the caller's ``write(db)``
transaction, so that it commits together with the audit event that records it, and with that event's
time: a caller passes ``ts=registry.now()`` to both, or takes the time a write returns (``last_sent_at``,
``decided_at``), so that records/rebuild.py can rebuild every row from the trail. An invite code is
stored only as its SHA-256: the code itself exists in the coordinator's message and nowhere else.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlite_utils

from . import audit

INVITE_LIFETIME = timedelta(days=7)
INVITE_CODE_BYTES = 24  # 192 bits; token_urlsafe gives 32 characters, within a deep link's 64

Decision = Literal["accept", "need_info", "decline"]
DECISIONS: tuple[Decision, ...] = ("accept", "need_info", "decline")
# The referral's status after each decision; "need_info" keeps it open for the physician's answer.
STATUS_AFTER: dict[str, str] = {"accept": "accepted", "need_info": "need_info", "decline": "declined"}
OPEN_STATUSES = ("sent", "need_info")

RedeemResult = Literal["registered", "already_registered", "unknown", "used", "expired"]
DecideResult = Literal["decided", "unknown", "superseded", "closed"]


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


_iso = audit.iso_utc


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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
        now = ts or self.now()
        self.db.conn.execute(
            "INSERT INTO physicians (user_id, via, registered_at, revoked_at, revoked_by)"
            " VALUES (?, 'allow_list', ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
            " revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
            (user_id, now, now, by))
        return True

    # Invites ------------------------------------------------------------------------------------

    def create_invite(self, created_by: int, *, ts: str | None = None) -> tuple[str, str]:
        """A new single-use invite: (invite_id, code). Only the code's hash is stored."""
        self._in_tx()
        code = secrets.token_urlsafe(INVITE_CODE_BYTES)
        invite_id = "inv-" + secrets.token_hex(4)
        now = _parse(ts) if ts else self.clock()
        self.db.conn.execute(
            "INSERT INTO invites (invite_id, code_hash, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (invite_id, code_hash(code), created_by, _iso(now), _iso(now + INVITE_LIFETIME)))
        return invite_id, code

    def invite(self, invite_id: str) -> dict[str, object] | None:
        """The invite's row (its code only as the hash)."""
        rows = list(self.db.query("SELECT * FROM invites WHERE invite_id = ?", [invite_id]))
        return rows[0] if rows else None

    def redeem(self, code: str, user_id: int, *, ts: str | None = None) -> tuple[RedeemResult, str | None]:
        """Register ``user_id`` with an invite code: (result, invite_id). Single-use, bound to the first
        account that uses it, refused after expiry."""
        self._in_tx()
        row = self.db.conn.execute(
            "SELECT invite_id, expires_at, used_by FROM invites WHERE code_hash = ?",
            (code_hash(code),)).fetchone()
        if row is None:
            return "unknown", None
        invite_id, expires_at, used_by = row
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
            " registered_at = excluded.registered_at, revoked_at = NULL, revoked_by = NULL",
            (user_id, invite_id, now))
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

    def decide(self, referral_id: str, send_no: int, coordinator_id: int,
               decision: Decision, *, ts: str | None = None) -> tuple[DecideResult, Referral | None]:
        """Record a coordinator's decision on the summary numbered ``send_no`` (at ``decided_at``). Accepted
        and declined referrals are closed; a decision on an older summary is superseded."""
        self._in_tx()
        ref = self.referral(referral_id)
        if ref is None:
            return "unknown", None
        if send_no != ref.sends or ref.status == "amending":  # a new version is on its way
            return "superseded", ref
        if ref.status not in OPEN_STATUSES:
            return "closed", ref
        now = ts or self.now()
        self.db.conn.execute(
            "INSERT INTO referral_decisions (referral_id, send_no, coordinator_id, decision, decided_at)"
            " VALUES (?, ?, ?, ?, ?)", (referral_id, send_no, coordinator_id, decision, now))
        self.db.conn.execute(
            "UPDATE referrals SET status = ?, decided_by = ?, decided_at = ? WHERE referral_id = ?",
            (STATUS_AFTER[decision], coordinator_id, now, referral_id))
        return "decided", self.referral(referral_id)

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


_REFERRAL_COLS = ("referral_id, physician_id, status, outcome_status, sends, first_sent_at, last_sent_at, decided_by,"
                  " decided_at, protocol_version")

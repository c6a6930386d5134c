"""Durable pre-screens: every step's new state and its audit events commit in one SQLite transaction,
before any reply is shown. The engine stays pure; this is the only place it meets the database."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from criteria import PROTOCOL_VERSION

from ..dialogue import engine
from ..dialogue.migrate import migrate
from ..dialogue.state import State
from . import audit
from .db import open_db, write

# Events the system itself says (the verdict), as opposed to what the actor said or did.
SYSTEM_EVENTS = frozenset({"outcome"})
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


def new_referral_id() -> str:
    """Random and pseudonymous: 40 bits, shaped for reading over the phone (R-7KQ2-9XPM)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"R-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class StepResult:
    referral_id: str
    state: State
    outputs: list[engine.Output]
    events: list[audit.Event]


@dataclass(frozen=True)
class Prescreen:
    referral_id: str
    owner_role: str
    owner_id: int
    channel: str
    phase: str
    current: str | None
    outcome_status: str | None
    created_at: str
    updated_at: str


Hook = Callable[[sqlite_utils.Database, StepResult], None]


class Store:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        ensure_schema(db)
        self.migrate_protocol()

    def migrate_protocol(self) -> int:
        """Carry every pre-screen stored under an earlier protocol over to the current one, each with a
        ``protocol_changed`` audit event, in one transaction; returns how many. A referral already sent
        keeps the outcome and version it was sent and decided under (in ``referrals``)."""
        rows = self.db.conn.execute(
            "SELECT referral_id, state, outcome_status FROM prescreens"
            " WHERE json_extract(state, '$.protocol_version') IS NOT ?", (PROTOCOL_VERSION,)).fetchall()
        if not rows:
            return 0
        sent = set()
        if "referrals" in self.db.table_names():
            sent = {r[0] for r in self.db.conn.execute("SELECT referral_id FROM referrals")}
        with write(self.db):
            for referral_id, state_json, status in rows:
                m = migrate(State.from_json(state_json), status, sent=referral_id in sent)
                if m is None:
                    continue
                self._save(referral_id, m.state)
                for e in m.events:
                    audit.append(self.db, actor_role="system", actor_id=0, type=e.type, payload=e.payload,
                                 referral_id=referral_id)
        return len(rows)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        return cls(open_db(path))

    def close(self) -> None:
        self.db.close()

    def start(self, owner_role: str, owner_id: int, channel: str = "terminal",
              hook: Hook | None = None) -> StepResult:
        with write(self.db):
            referral_id = new_referral_id()
            while self.db.conn.execute("SELECT 1 FROM prescreens WHERE referral_id = ?",
                                       (referral_id,)).fetchone():
                referral_id = new_referral_id()
            result = engine.start(referral_id, channel)
            now = audit.utc_now()
            self.db["prescreens"].insert({
                "referral_id": referral_id, "owner_role": owner_role, "owner_id": owner_id,
                "channel": channel, "created_at": now, **_columns(result.state, now)})
            return self._record(result, owner_role, owner_id, hook)

    def apply(self, referral_id: str, inp: engine.Input, actor_role: str, actor_id: int,
              hook: Hook | None = None) -> StepResult:
        """Load, step, save and audit in one transaction. IllegalStep propagates and nothing is written."""
        with write(self.db):
            state = self._load(referral_id)
            result = engine.step(state, inp)
            if result.state != state:
                self._save(referral_id, result.state)
            return self._record(result, actor_role, actor_id, hook)

    def _save(self, referral_id: str, state: State) -> None:
        columns = _columns(state, audit.utc_now())
        self.db.conn.execute(
            f"UPDATE prescreens SET {', '.join(f'{k} = ?' for k in columns)} WHERE referral_id = ?",
            (*columns.values(), referral_id))

    def load(self, referral_id: str) -> State:
        return self._load(referral_id)

    def get(self, referral_id: str) -> Prescreen | None:
        row = self.db.conn.execute(f"SELECT {_COLS} FROM prescreens WHERE referral_id = ?",
                                   (referral_id,)).fetchone()
        return Prescreen(*row) if row else None

    def prescreens(self, owner_role: str | None = None, owner_id: int | None = None,
                   phases: tuple[str, ...] = ("asking", "done")) -> list[Prescreen]:
        sql = f"SELECT {_COLS} FROM prescreens WHERE phase IN ({','.join('?' * len(phases))})"
        params: list[object] = list(phases)
        if owner_role is not None:
            sql += " AND owner_role = ? AND owner_id = ?"
            params += [owner_role, owner_id]
        return [Prescreen(*r) for r in self.db.conn.execute(sql + " ORDER BY updated_at DESC", params)]

    def _load(self, referral_id: str) -> State:
        row = self.db.conn.execute("SELECT state FROM prescreens WHERE referral_id = ?",
                                   (referral_id,)).fetchone()
        if row is None:
            raise KeyError(referral_id)
        return State.from_json(row[0])

    def _record(self, result: engine.Result, actor_role: str, actor_id: int,
                hook: Hook | None) -> StepResult:
        rid = result.state.referral_id
        written = [
            audit.append(self.db, actor_role="system" if e.type in SYSTEM_EVENTS else actor_role,
                         actor_id=0 if e.type in SYSTEM_EVENTS else actor_id, type=e.type,
                         payload=e.payload, referral_id=rid)
            for e in result.events
        ]
        step = StepResult(rid, result.state, result.outputs, written)
        if hook is not None:
            hook(self.db, step)
        return step


_COLS = ("referral_id, owner_role, owner_id, channel, phase, current, outcome_status, created_at, "
         "updated_at")


def _columns(state: State, now: str) -> dict[str, object]:
    status = engine.outcome_of(state).status if state.history else None
    return {"phase": state.phase, "current": state.current, "outcome_status": status,
            "state": state.to_json(), "updated_at": now}


def ensure_schema(db: sqlite_utils.Database) -> None:
    audit.ensure_schema(db)
    db["prescreens"].create({
        "referral_id": str, "owner_role": str, "owner_id": int, "channel": str, "phase": str,
        "current": str, "outcome_status": str, "created_at": str, "updated_at": str, "state": str,
    }, pk="referral_id", if_not_exists=True, not_null={"owner_role", "owner_id", "phase", "state"})
    db["prescreens"].create_index(["owner_role", "owner_id", "phase"], if_not_exists=True)

"""Durable pre-screens: a step's new state and its audit events are written in the transaction the caller
opened (``with store.transaction():``), together with whatever else the caller's turn writes (the
Telegram inbox and outbox), and commit before any reply is shown. The engine stays pure; this is the only
place it meets the database.

A step's row and its events share one time (the row's ``updated_at`` is its events' ``ts``), and a step that
changes the row says so in the trail: its last event carries the SHA-256 of the new state JSON (and the
outcome column, when the step set it), or, when the step has no event of its own (a toggle, a sending), a
``prescreen_saved`` event does. records/rebuild.py proves every row from these."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from criteria import PROTOCOL_VERSION, Outcome

from ..dialogue import engine
from ..dialogue.events import ROW_OUTCOME, STATE_SHA, SYSTEM_EVENTS, E
from ..dialogue.migrate import migrate
from ..dialogue.state import State
from . import audit, schema
from .db import open_db, write

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


def new_referral_id() -> str:
    """Random and pseudonymous: 40 bits, shaped for reading over the phone (R-7KQ2-9XPM)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"R-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class Recorded:
    """A step as the store recorded it: the engine's outputs and the audit events written."""

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


class Store:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        schema.upgrade(db)  # outside any transaction: each migration takes its own

    @classmethod
    def open(cls, path: str | Path) -> Store:
        return cls(open_db(path))

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite_utils.Database]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any error) for the caller's turn."""
        return write(self.db)

    def start(self, owner_role: str, owner_id: int, channel: str = "terminal") -> Recorded:
        """A new pre-screen, inside the caller's transaction."""
        self._in_transaction()
        referral_id = new_referral_id()
        while self.db.conn.execute("SELECT 1 FROM prescreens WHERE referral_id = ?", (referral_id,)).fetchone():
            referral_id = new_referral_id()
        result = engine.start(referral_id, channel)
        now = audit.utc_now()
        columns = _columns(result.state, result.outcome, now)
        self.db["prescreens"].insert({
            "referral_id": referral_id, "owner_role": owner_role, "owner_id": owner_id,
            "channel": channel, "created_at": now, **columns})
        return self._record(result, owner_role, owner_id, now, columns)

    def apply(self, referral_id: str, inp: engine.Input, actor_role: str, actor_id: int) -> Recorded:
        """Load, step, save and audit, inside the caller's transaction. IllegalStep propagates and nothing
        is written."""
        self._in_transaction()
        state = self._load(referral_id)
        result = engine.step(state, inp)
        now = audit.utc_now()
        columns = None
        if result.state != state:
            columns = _columns(result.state, result.outcome, now)
            self.db.conn.execute(
                f"UPDATE prescreens SET {', '.join(f'{k} = ?' for k in columns)} WHERE referral_id = ?",
                (*columns.values(), referral_id))
        return self._record(result, actor_role, actor_id, now, columns)

    def _in_transaction(self) -> None:
        if not self.db.conn.in_transaction:
            raise RuntimeError("a step runs inside the caller's transaction: with store.transaction(): ...")

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

    def _record(self, result: engine.Result, actor_role: str, actor_id: int, ts: str,
                columns: dict[str, object] | None) -> Recorded:
        rid = result.state.referral_id
        written = _append(self.db, rid, result.events, actor_role, actor_id, ts, columns)
        return Recorded(rid, result.state, result.outputs, written)


_COLS = ("referral_id, owner_role, owner_id, channel, phase, current, outcome_status, created_at, "
         "updated_at")


def row_record(columns: dict[str, object]) -> dict[str, object]:
    """What the trail keeps of a pre-screen's row as a step wrote it (``columns``): its state's SHA-256,
    and its outcome column when the step set it."""
    record: dict[str, object] = {STATE_SHA: audit.sha256(str(columns["state"]))}
    if "outcome_status" in columns:
        record[ROW_OUTCOME] = columns["outcome_status"]
    return record


def _append(db: sqlite_utils.Database, rid: str, events: list, actor_role: str, actor_id: int, ts: str,
            columns: dict[str, object] | None) -> list[audit.Event]:
    """A step's events at the row's time ``ts``; when it changed the row (``columns``), the last of them
    records it (a ``prescreen_saved`` event when the step has none)."""
    todo = [(e.type, e.payload) for e in events]
    if columns is not None:
        if todo:
            todo[-1] = (todo[-1][0], {**todo[-1][1], **row_record(columns)})
        else:
            todo.append((E.PRESCREEN_SAVED, row_record(columns)))
    return [audit.append(db, actor_role="system" if t in SYSTEM_EVENTS else actor_role,
                         actor_id=0 if t in SYSTEM_EVENTS else actor_id, type=t, payload=payload,
                         referral_id=rid, ts=ts)
            for t, payload in todo]


def _columns(state: State, outcome: Outcome | None, now: str) -> dict[str, object]:
    """The row of a pre-screen; the outcome's status only when the step planned one (a toggle, a command
    or a refused answer cannot change it)."""
    columns: dict[str, object] = {"phase": state.phase, "current": state.current, "state": state.to_json(),
                                  "updated_at": now}
    if outcome is not None:
        columns["outcome_status"] = outcome.status if state.history else None
    return columns


def ensure_schema(db: sqlite_utils.Database) -> None:
    """The database brought up to date (every table of every room; conversations/records/schema.py)."""
    schema.upgrade(db)


def carry_over(db: sqlite_utils.Database) -> int:
    """Carry every pre-screen stored under an earlier protocol over to the current one, each with a
    ``protocol_changed`` audit event, in the caller's transaction; returns how many. A referral already
    sent keeps the outcome and version it was sent and decided under (in ``referrals``)."""
    rows = db.conn.execute(
        "SELECT referral_id, state, outcome_status FROM prescreens"
        " WHERE json_extract(state, '$.protocol_version') IS NOT ?", (PROTOCOL_VERSION,)).fetchall()
    sent = {r[0] for r in db.conn.execute("SELECT referral_id FROM referrals")}
    for referral_id, state_json, status in rows:
        m = migrate(State.from_json(state_json), status, sent=referral_id in sent)
        if m is None:
            continue
        now = audit.utc_now()
        columns = _columns(m.state, m.outcome, now)
        db.conn.execute(f"UPDATE prescreens SET {', '.join(f'{k} = ?' for k in columns)} WHERE referral_id = ?",
                        (*columns.values(), referral_id))
        _append(db, referral_id, m.events, "system", 0, now, columns)
    return len(rows)

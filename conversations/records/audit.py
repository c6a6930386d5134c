"""The audit trail: append-only, hash-chained events written in the same transaction as the change.

Each event stores SHA-256 of its canonical JSON payload and a chain hash over the previous chain hash,
its own fields and that payload hash, so altering, removing, inserting or reordering a row breaks the
chain from that row on. Triggers refuse UPDATE and DELETE; the chain catches what bypasses them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

TABLE = "audit_events"
GENESIS = "0" * 64

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    referral_id TEXT,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    chain_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_referral ON {TABLE}(referral_id, seq);
CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;
"""

# Actor roles. "system" is the bot itself (its own messages, retries, exports run from the shell).
ROLES = ("physician", "coordinator", "stranger", "system", "operator")


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the table and its append-only triggers; run at start-up, outside any transaction."""
    db.conn.executescript(SCHEMA)


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev: str, seq: int, ts: str, actor_role: str, actor_id: int, referral_id: str | None,
               type_: str, payload_hash: str) -> str:
    fields = canonical([seq, ts, actor_role, actor_id, referral_id, type_])
    return sha256(f"{prev}\n{fields}\n{payload_hash}")


def iso_utc(t: datetime) -> str:
    """The one time format of the records (UTC, microseconds, "Z"): times of every table and of the trail
    compare as text."""
    return t.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso_utc(datetime.now(UTC))


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    actor_role: str
    actor_id: int
    referral_id: str | None
    type: str
    payload: dict[str, Any]
    payload_hash: str
    chain_hash: str


def append(db: sqlite_utils.Database, *, actor_role: str, actor_id: int, type: str,
           payload: dict[str, Any] | None = None, referral_id: str | None = None,
           ts: str | None = None) -> Event:
    """Append one event. Must run inside the caller's write transaction (``db.write``), so that the
    event and the change it records commit together, and the chain head cannot move under us."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit.append must run inside the write transaction of the change it records")
    if actor_role not in ROLES:
        raise ValueError(f"unknown actor role {actor_role!r}")
    payload = payload or {}
    row = db.conn.execute(f"SELECT seq, chain_hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    ts = ts or utc_now()
    body = canonical(payload)
    p_hash = sha256(body)
    c_hash = chain_hash(prev, seq, ts, actor_role, int(actor_id), referral_id, type, p_hash)
    db.conn.execute(
        f"INSERT INTO {TABLE} (seq, ts, actor_role, actor_id, referral_id, type, payload, payload_hash,"
        " chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, ts, actor_role, int(actor_id), referral_id, type, body, p_hash, c_hash),
    )
    return Event(seq, ts, actor_role, int(actor_id), referral_id, type, payload, p_hash, c_hash)


def head(db: sqlite_utils.Database) -> tuple[int, str]:
    """(number of the last event, its chain hash); (0, GENESIS) for an empty trail."""
    row = db.conn.execute(f"SELECT seq, chain_hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)

"""The audit trail: append-only, hash-chained events written in the same transaction as the change.

Each event stores SHA-256 of its canonical JSON payload and a chain hash over the previous chain hash,
its own fields and that payload hash, so altering, removing, inserting or reordering a row breaks the
chain from that row on. Triggers refuse UPDATE and DELETE; the chain catches what bypasses them.

Keyed: once a key is bound to the database (`bind`), the chain hash is an HMAC-SHA-256 under that key
(audit_key.py), so that only its holder can append or rewrite events. The first keyed event is an
``audit_keyed`` event recording the key's ID and the plain head it continues; every event after it must
be keyed with the same key (its ``key_id`` column), and appending to a keyed trail without its key is
refused (`KeyRequired`). Events before it keep their plain hashes, and the keyed MAC over the plain head
pins them too: a trail from before keys was keyed from a recorded point on with nothing rewritten.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from .audit_key import AuditKey

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

TRIGGERS = (f"{TABLE}_no_update", f"{TABLE}_no_delete")

# Actor roles. "system" is the bot itself (its own messages, retries, exports run from the shell).
ROLES = ("physician", "coordinator", "stranger", "system", "operator")


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the table and its append-only triggers (with the key_id column of schema migration 6), outside
    any transaction: for tools and tests that hold a trail alone; the bot's database is shaped by schema.py."""
    db.conn.executescript(SCHEMA)
    if "key_id" not in {r[1] for r in db.conn.execute(f"PRAGMA table_info({TABLE})")}:
        db.conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN key_id TEXT")


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev: str, seq: int, ts: str, actor_role: str, actor_id: int, referral_id: str | None,
               type_: str, payload_hash: str, key: AuditKey | None = None) -> str:
    """The event's chain hash: SHA-256, or with ``key`` its HMAC, over the previous one, its fields and
    its payload hash."""
    fields = canonical([seq, ts, actor_role, actor_id, referral_id, type_])
    text = f"{prev}\n{fields}\n{payload_hash}"
    return key.mac(text) if key is not None else sha256(text)


KEYED = "audit_keyed"  # the event a keyed chain starts with (conversations.dialogue.events.E.AUDIT_KEYED)


class KeyRequired(RuntimeError):
    """An append to a keyed trail without its key (none bound, or another one): nothing is written."""


_keys: weakref.WeakKeyDictionary[sqlite_utils.Database, AuditKey] = weakref.WeakKeyDictionary()


def bind(db: sqlite_utils.Database, key: AuditKey | None) -> None:
    """Every event appended through ``db`` from now on is keyed with ``key`` (None: unbind)."""
    if key is None:
        _keys.pop(db, None)
    else:
        _keys[db] = key


def bound(db: sqlite_utils.Database) -> AuditKey | None:
    return _keys.get(db)


def trail_key_id(db: sqlite_utils.Database) -> str | None:
    """The ID of the key the trail is keyed with, None while it is not keyed (or has no key_id column yet)."""
    try:
        row = db.conn.execute(f"SELECT key_id FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # a database from before keys: not migrated yet
        return None
    return row[0] if row else None


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
    key = _keys.get(db)
    try:
        row = db.conn.execute(f"SELECT seq, chain_hash, key_id FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # during the migrations of a database from before keys: plain
        if key is not None:
            raise
        row = db.conn.execute(f"SELECT seq, chain_hash, NULL FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev, trail_key = (row[0] + 1, row[1], row[2]) if row else (1, GENESIS, None)
    if trail_key is not None and (key is None or key.key_id != trail_key):
        raise KeyRequired(f"the audit trail is keyed (key {trail_key}); "
                          + ("no key was given" if key is None else f"the key given is {key.key_id}"))
    if key is not None and trail_key is None:  # the first keyed event says where keying starts
        keyed = _keying(db, seq, prev, key, ts)
        seq, prev = seq + 1, keyed.chain_hash
    return _insert(db, seq, ts or utc_now(), actor_role, int(actor_id), referral_id, type, payload, prev, key)


def _keying(db: sqlite_utils.Database, seq: int, prev: str, key: AuditKey, ts: str | None) -> Event:
    return _insert(db, seq, ts or utc_now(), "system", 0, None, KEYED,
                   {"key_id": key.key_id, "from_seq": seq, "plain_head": prev}, prev, key)


def _insert(db: sqlite_utils.Database, seq: int, ts: str, actor_role: str, actor_id: int, referral_id: str | None,
            type_: str, payload: dict[str, Any], prev: str, key: AuditKey | None) -> Event:
    body = canonical(payload)
    p_hash = sha256(body)
    c_hash = chain_hash(prev, seq, ts, actor_role, actor_id, referral_id, type_, p_hash, key)
    if key is None:
        db.conn.execute(
            f"INSERT INTO {TABLE} (seq, ts, actor_role, actor_id, referral_id, type, payload, payload_hash,"
            " chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, ts, actor_role, actor_id, referral_id, type_, body, p_hash, c_hash))
    else:
        db.conn.execute(
            f"INSERT INTO {TABLE} (seq, ts, actor_role, actor_id, referral_id, type, payload, payload_hash,"
            " chain_hash, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, ts, actor_role, actor_id, referral_id, type_, body, p_hash, c_hash, key.key_id))
    return Event(seq, ts, actor_role, actor_id, referral_id, type_, payload, p_hash, c_hash)


def head(db: sqlite_utils.Database) -> tuple[int, str]:
    """(number of the last event, its chain hash); (0, GENESIS) for an empty trail."""
    row = db.conn.execute(f"SELECT seq, chain_hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)
